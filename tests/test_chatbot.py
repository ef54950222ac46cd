"""The chatbot on real dialogue: it learns, it copies, its beams beat greedy and do not loop.

``data/sgd_pairs`` holds 600 training and 150 test pairs of the Schema-Guided Dialogue
dataset (its README gives the source and license).
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo import training
from zoo.recipes.chatbot import ChatbotRecipe
from zoo.tasks.dialogue.data import dialogue_data
from zoo.tasks.dialogue.search import LENGTH_PENALTY, reply_search

PAIRS = Path(__file__).parent / "data" / "sgd_pairs"
TRAIN, TEST = str(PAIRS / "train.tsv"), str(PAIRS / "test.tsv")


def most_frequent_token_accuracy(dataset) -> float:
    """Token accuracy of always answering the training targets' most frequent token."""
    counts = collections.Counter()
    for _, target_out in dataset:
        counts.update(int(t) for t in np.asarray(target_out).ravel() if t)
    return counts.most_common(1)[0][1] / sum(counts.values())


@pytest.mark.slow
def test_default_chatbot_learns_real_dialogue(tmp_path):
    """Seven short epochs of the recipe's defaults on 600 real pairs beat the most frequent
    token (the training token accuracy reads 3.7 times its rate after seven, 5.2 after ten)."""
    config = ChatbotRecipe(
        train_file=TRAIN,
        eval_file=TEST,
        epochs=7,
        verbose=0,
        run_dir=str(tmp_path / "run"),
        export=False,
    )
    metrics = training.run(config)
    data = dialogue_data(
        vocab_size=config.vocab_size,
        sequence_length=config.sequence_length,
        batch_size=config.batch_size,
        train_file=TRAIN,
        eval_file=TEST,
    )
    floor = most_frequent_token_accuracy(data.train)
    # With a tanh on the attention combination (the stalled model) ten epochs ended at
    # 0.091 against a floor of 0.065, and full sgd_dev training sat at 0.064 for epochs.
    assert metrics["history"]["token_accuracy"][-1] > 1.8 * floor, (floor, metrics["history"])
    assert metrics["test"]["token_accuracy"] > 1.5 * floor, (floor, metrics["test"])


@pytest.fixture(scope="module")
def trained():
    """A small chatbot fitted on the real pairs, with its data."""
    keras.utils.set_random_seed(0)
    data = dialogue_data(
        vocab_size=2000, sequence_length=24, batch_size=32, train_file=TRAIN, eval_file=TEST
    )
    model = zoo.build(
        "chatbot",
        vocab_size=data.vectorizers["text"].vocabulary_size(),
        units=64,
        embedding_dim=32,
        learning_rate=5e-3,
    )
    model.fit(data.train, epochs=8, verbose=0)
    return model, data


def log_probability(model, data, message, ids):
    """Sum of log p of ``ids`` (extended ids, [end] included) given ``message``, by teacher forcing."""
    vectorizer = data.vectorizers["text"]
    vocab_size = vectorizer.vocabulary_size()
    source = np.asarray(vectorizer([message]))[:, :24]
    source = np.pad(source, [[0, 0], [0, max(0, 1 - source.shape[1])]])
    fed = [2] + [int(t) if t < vocab_size else int(source[0, t - vocab_size]) for t in ids[:-1]]
    probs = np.asarray(model([source, np.array([fed])], training=False))[0]
    return float(np.sum(np.log([probs[i, t] for i, t in enumerate(ids)])))


def reply_ids(result, row):
    ids = [int(t) for t in np.asarray(result["ids"][row]) if t]
    return ids  # ends with [end] (id 3) unless the reply ran to the maximum length


@pytest.mark.slow
def test_beam_scores_at_least_as_high_as_greedy_and_never_loops(trained):
    model, data = trained
    search = reply_search(model, data.vectorizers["text"], 24)
    messages = [m.decode() for m, _ in data.test_pairs.take(40).as_numpy_iterator()]
    greedy, beam = search(tf.constant(messages), 1), search(tf.constant(messages), 4)

    def normalized(ids, message):
        return log_probability(model, data, message, ids) / ((5 + len(ids)) / 6) ** LENGTH_PENALTY

    better = 0
    for row, message in enumerate(messages):
        g, b = reply_ids(greedy, row), reply_ids(beam, row)
        beam_score, greedy_score = normalized(b, message), normalized(g, message)
        # The search's own score is the model's: teacher forcing gives it back.
        assert float(beam["score"][row]) == pytest.approx(beam_score, abs=1e-3)
        assert beam_score >= greedy_score - 1e-4, (message, g, b)
        better += beam_score > greedy_score + 1e-4
        for ids in (g, b):
            trigrams = [tuple(ids[i : i + 3]) for i in range(len(ids) - 2)]
            assert len(trigrams) == len(set(trigrams)), (message, ids)
    assert better > 0  # the beam finds likelier replies somewhere
    replies = [r.decode() for r in beam["reply"].numpy()]
    assert all(r and r == r.strip() and "[end]" not in r and "[UNK]" not in r for r in replies)


def test_replies_are_cased_and_detokenized(trained):
    model, data = trained
    search = reply_search(model, data.vectorizers["text"], 24)
    messages = [m.decode() for m, _ in data.test_pairs.take(40).as_numpy_iterator()]
    replies = [r.decode() for r in search(tf.constant(messages), 4)["reply"].numpy()]
    assert sum(r[:1].isupper() for r in replies) > len(replies) / 2, replies
    assert not any(" ." in r or " ," in r or " ?" in r for r in replies), replies


NAMES = [
    "Sino",
    "Alamo",
    "Delfina",
    "Nopa",
    "Tacolicious",
    "Zuni",
    "Kokkari",
    "Boulevard",
    "Quince",
    "Atelier",
    "Benu",
    "Saison",
    "Lazy",
    "Frances",
    "Octavia",
    "Mourad",
]


@pytest.mark.slow
def test_the_export_copies_a_name_it_never_saw(tmp_path):
    """Names outside the vocabulary come back as written, from the message, in the export,
    and the export scores the test file as the run did."""
    lines = [
        f"Book a table at {name} for {n}.\tConfirming: a table at {name} for {n} people."
        for n in range(2, 7)
        for name in NAMES
    ]
    write = lambda name, rows: (tmp_path / name).write_text("\n".join(rows))  # noqa: E731
    write("train.tsv", lines), write("test.tsv", lines[:8])
    config = ChatbotRecipe(
        train_file=str(tmp_path / "train.tsv"),
        eval_file=str(tmp_path / "test.tsv"),
        vocab_size=18,
        units=32,
        embedding_dim=16,
        epochs=12,
        batch_size=16,
        learning_rate=1e-2,
        verbose=0,
        run_dir=str(tmp_path / "run"),
        export_dir=str(tmp_path / "exports"),
    )
    metrics = training.run(config)
    vocabulary = json.loads((Path(metrics["export"]) / "assets" / "vocabulary.json").read_text())
    assert "Zzyzx" not in vocabulary["text"] and "Sino" not in vocabulary["text"]
    reply = tf.saved_model.load(metrics["export"]).signatures["reply"]
    out = reply(text=tf.constant(["Book a table at Zzyzx for 4."]))["reply"].numpy()[0].decode()
    assert out == "Confirming: a table at Zzyzx for 4 people.", out
    # The export, scored on its own on the test file, gives the BLEU the run reported.
    replies = json.loads((Path(metrics["export"]) / "assets" / "metrics.json").read_text())
    assert replies["test"]["bleu"] == metrics["test"]["bleu"] > 0
    assert zoo.evaluate(metrics["export"], str(tmp_path / "test.tsv"))["bleu"] == pytest.approx(
        metrics["test"]["bleu"], abs=1e-6
    )


def test_copy_distribution_adds_copy_mass_to_known_ids_and_positions_of_unknown_words():
    from zoo.tasks.dialogue.pointer import CopyDistribution

    rng = np.random.default_rng(0)
    b, t, s, v = 4, 3, 6, 20
    vocabulary = rng.dirichlet(np.ones(v), size=(b, t)).astype("float32")
    gate = rng.random((b, t, 1)).astype("float32")
    attention = rng.dirichlet(np.ones(s), size=(b, t)).astype("float32")
    source = np.array([[5, 1, 5, 7, 1, 0]] * b)  # known 5 twice, unknown twice, padding
    attention[..., -1] = 0  # padding gets no attention
    attention /= attention.sum(-1, keepdims=True)
    out = np.asarray(CopyDistribution()([vocabulary, gate, attention, source]))
    assert out.shape == (b, t, v + s)
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)
    copied = (1 - gate[..., 0])[..., None] * attention
    np.testing.assert_allclose(
        out[..., 5], gate[..., 0] * vocabulary[..., 5] + copied[..., 0] + copied[..., 2], rtol=1e-5
    )
    np.testing.assert_allclose(out[..., v + 1], copied[..., 1], rtol=1e-5)
    np.testing.assert_allclose(out[..., [v, v + 2, v + 3, v + 5]], 0.0)
