"""Mocked tfds datasets with realistic text, for datasets that cannot be downloaded here.

``mock_tfds`` serves examples through ``tfds.testing.mock_data`` while the real
builder's metadata (features, split names) stays in place, so the loading code
under test is the real one.
"""

from __future__ import annotations

import random

import tensorflow as tf
import tensorflow_datasets as tfds

PRAISE = [
    "The performances are wonderful, especially the lead, who carries every scene.",
    "I laughed out loud more than once.",
    "A moving story, beautifully shot and scored.",
    "The screenplay is sharp and the pacing never drags.",
    "One of the best films I have seen this year!",
    "The supporting cast is terrific.",
    "It's a warm, funny and surprisingly honest film.",
    "The ending left me in tears, in the best way.",
    "Brilliant direction; every frame feels deliberate.",
    "I would happily watch it again.",
]
CRITICISM = [
    "The plot makes no sense and the dialogue is painful.",
    "I was bored after twenty minutes.",
    "Terrible acting, cheap effects and a lazy script.",
    "Why does every character behave like an idiot?",
    "The worst film I have seen in a long time.",
    "It drags on for two hours with nothing happening.",
    "Save your money; this one isn't worth it.",
    "The twist was obvious from the first scene.",
    "Even the music is annoying.",
    "I wanted to like it, but it falls apart completely.",
]
NEUTRAL = [
    "I watched this on a rainy Sunday afternoon with my family.",
    "It is based on a novel from the nineteen seventies.",
    "The film runs for about ninety minutes.",
    "My friend recommended it after the festival.",
    "It was shot in Canada, although it is set in Chicago.",
    "The director's earlier work was a documentary.",
]
TOPICS = {  # ag_news_subset's classes, in id order
    "World": (
        [
            "Leaders meet for climate talks",
            "Ceasefire holds in border region",
            "Elections called after government collapses",
        ],
        [
            "Delegates from forty nations gathered in Geneva on Monday.",
            "Officials said the agreement would be reviewed next month.",
            "Thousands of refugees crossed the border over the weekend.",
            "The prime minister resigned after a vote of no confidence.",
        ],
    ),
    "Sports": (
        [
            "Late goal lifts champions",
            "Injury rules star out of final",
            "Record crowd watches marathon",
        ],
        [
            "The striker scored in the ninetieth minute to seal the title.",
            "The coach said the team would appeal the suspension.",
            "She broke the course record by nearly two minutes.",
            "Tickets for Sunday's final sold out within an hour.",
        ],
    ),
    "Business": (
        [
            "Shares slide as profits fall",
            "Oil prices climb on supply fears",
            "Retailer to cut jobs",
        ],
        [
            "The company reported quarterly earnings below analysts' forecasts.",
            "Crude futures rose three percent in early trading.",
            "The central bank left interest rates unchanged on Thursday.",
            "The chain plans to close forty stores by the end of the year.",
        ],
    ),
    "Sci/Tech": (
        [
            "New chip doubles battery life",
            "Telescope spots distant galaxy",
            "Software flaw exposes user data",
        ],
        [
            "Researchers say the processor uses half the power of its predecessor.",
            "The images were captured by an infrared camera in orbit.",
            "A patch for the vulnerability will be released next week.",
            "The startup's app lets users share files without a server.",
        ],
    ),
}
EXCHANGES = [  # (user, system) turns of a service dialogue
    ("I'd like to book a table for two tonight.", "Sure. Which restaurant would you like?"),
    (
        "Somewhere Italian in San Jose, please.",
        "I found 5 Italian restaurants. Il Fornaio is a popular one in San Jose.",
    ),
    ("What time is the reservation?", "The reservation is at 7:30 pm."),
    (
        "Can you find me a flight to Seattle on March 3rd?",
        "I found a Delta flight leaving at 8:15 am for $214.",
    ),
    ("Is it a direct flight?", "Yes, it is non-stop."),
    ("I need a hotel near the airport.", "How about the Hilton Garden Inn? It has 3 stars."),
    ("What's the weather like in Denver tomorrow?", "It will be sunny with a high of 64 degrees."),
    ("Play some jazz music.", "Now playing Take Five by Dave Brubeck."),
    ("Set an alarm for 6 am.", "Your alarm is set for 6:00 am."),
    ("How much is a ride to downtown?", "A shared ride costs about $12 and takes 20 minutes."),
    ("Please confirm the booking.", "Your booking is confirmed. Is there anything else?"),
    ("No, that's all. Thanks!", "You're welcome. Have a great day!"),
]
GREETING = "Hello! How can I help you today?"


def long_tailed(rng, cap):
    """1 mostly, sometimes many: a Pareto-like length, as real text lengths are."""
    return min(cap, int(rng.paretovariate(1.2)))


def imdb_example(split, index, size):
    rng = random.Random(f"imdb-{split}-{index}")
    label = index % 2
    sentences = [rng.choice(PRAISE if label else CRITICISM) for _ in range(long_tailed(rng, 30))]
    sentences += rng.sample(NEUTRAL, rng.randint(0, 2))
    rng.shuffle(sentences)
    if split == "test":
        sentences.append("The zyzzyva cameo is odd.")  # a word only the test split has
    elif index >= 0.9 * size:
        sentences.append("A quokka appears.")  # only in the slice carved off for validation
    return {"text": " ".join(sentences), "label": label}


def ag_news_example(split, index, size):
    rng = random.Random(f"ag-{split}-{index}")
    label = index % 4
    titles, descriptions = TOPICS[list(TOPICS)[label]]
    count = long_tailed(rng, len(descriptions))
    return {
        "title": rng.choice(titles),
        "label": label,
        "description": " ".join(rng.sample(descriptions, count)),
    }


def dialogue_example(split, index, size):
    rng = random.Random(f"sgd-{split}-{index}")
    system_first = index % 3 == 0
    turns = [GREETING] if system_first else []
    for user, system in rng.sample(EXCHANGES, long_tailed(rng, 8)):
        turns += [user, system]
    if index % 4 == 1:
        turns.append("Actually, never mind.")  # a last user turn with no reply
    return {
        "utterances": turns,
        "first_speaker": int(system_first),
        "metadata": {"services": {"name": ["Restaurants_1", "Flights_1"]}},
    }


def mock_tfds(tmp_path, name, split_sizes, make_example):
    """``tfds.testing.mock_data`` serving ``make_example(split, index, split_size)`` examples.

    Writes the dataset's metadata as if prepared with ``split_sizes``, so split names
    and sizes are the real ones and split slices (``train[:90%]``) resolve.
    """
    builder = tfds.builder(name, data_dir=tmp_path)
    builder.info.set_splits(
        tfds.core.SplitDict(
            [
                tfds.core.SplitInfo(name=split, shard_lengths=[size], num_bytes=0)
                for split, size in split_sizes.items()
            ]
        )
    )
    builder.data_path.mkdir(parents=True, exist_ok=True)
    builder.info.write_to_directory(builder.data_path)

    def as_dataset(self, split, decoders=None, read_config=None, **kwargs):
        spec = self.info.features.get_tensor_spec()
        examples = [
            make_example(part.splitname, index, split_sizes[part.splitname])
            for part in tfds.core.ReadInstruction.from_spec(split).to_absolute(self.info.splits)
            for index in range(split_sizes[part.splitname])[part.from_ : part.to]
        ]
        return tf.data.Dataset.from_generator(lambda: iter(examples), output_signature=spec)

    return tfds.testing.mock_data(as_dataset_fn=as_dataset, data_dir=str(tmp_path))
