"""Training throughput of the sentiment_lstm pipeline against the TensorFlow RNN tutorial's.

Both train the same network shape on the same texts, back to back in one process:

- **zoo**: ``classification_data`` of ``zoo.tasks.text_classification.data`` on CSV files
  (vectorization in the ``tf.data`` pipeline, cached ids, batches bucketed by length) and
  ``zoo.build("sentiment_lstm")``: Embedding(mask_zero) -> Bidirectional(LSTM)
  -> Dense(relu) -> Dense softmax, Adam with global-norm clipping.
- **tutorial**: the setup of TensorFlow's "Text classification with an RNN"
  (tensorflow.org/text/tutorials/text_classification_rnn): raw strings batched by
  ``dataset.shuffle(10000).batch(64).prefetch(AUTOTUNE)``, a ``Sequential`` whose
  first layer is ``TextVectorization`` (default output: each batch padded to its
  longest text), then Embedding(mask_zero=True) -> Bidirectional(LSTM(64)) ->
  Dense(64, relu) -> Dense(1), ``BinaryCrossentropy(from_logits=True)``.

Kept equal on purpose: the texts and their train/test split, the vocabulary cap
(the tutorial uses 1000; both use ``--vocab-size``), the layer sizes (the
tutorial's embedding is 64 wide; both use ours, 128), the optimizer's learning
rate (the tutorial uses Adam(1e-4), which learns slowly; ``--tutorial-learning-rate
1e-4`` restores it) and the truncation: the tutorial does not truncate, so a
layer slicing ids to ``--sequence-length`` follows its encoder (it only shortens
the longest batches; without it the tutorial would be slower still). Left as each
has it: the zoo's dropout (0.3) and gradient clipping, which the tutorial's model
lacks. Accuracy of the tutorial model is read at logit 0 (its
``metrics=['accuracy']`` thresholds the logits at 0.5).

The texts are synthetic reviews with IMDB-like lengths (lognormal word counts,
median 174 and mean about 230, long tail; ``--examples`` of them): neutral filler
drawn with Zipf frequencies from ``--words`` pseudo-words, plus sentiment words
(5% of words) from 30 positive or 30 negative ones, each agreeing with the
review's label with probability 0.75, so the label is learnable from word choice
while short reviews stay ambiguous.

The sides take turns, one epoch each (``fit(epochs=1)``), so changes in the
machine's load hit both alike. Throughput is training examples per second in the
median of epochs 2..N (epoch 1 traces the step functions), without validation:
per wall second, and per CPU second of this process (steadier when other
programs share the cores; wall time also counts stalls in which the process
waits without computing, seen here at some epochs' start, mostly on the
tutorial's side). Accuracy is on the held-out test texts after the
same number of epochs. One run's reading moves by a point or two from seed to seed,
so the comparison is repeated for ``--seeds`` seeds (reviews and weights drawn anew):
throughput is the median over all seeds' timed epochs, and the accuracy difference is
the mean of the per-seed differences with its standard error.

    python -m benchmarks.train_throughput                 # about 13 minutes on 2 cores
    python -m benchmarks.train_throughput --quick         # smoke run
    python -m benchmarks.train_throughput --batch-size 128 --jit-compile
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks.common import add_record_flag, print_machine, report

SENTIMENT_WORDS = 30  # positive words, and as many negative ones
SENTIMENT_RATE = 0.05  # share of a review's words that carry sentiment
AGREEMENT = 0.75  # probability that a sentiment word agrees with the label


def _pseudo_words(count: int, rng: np.random.Generator) -> list[str]:
    """``count`` distinct pronounceable words of 2-4 syllables."""
    onsets = list("bcdfghjklmnprstvwz") + "br ch cl dr gr pl sh st th tr".split()
    vowels = ["a", "e", "i", "o", "u", "ai", "ea", "ou"]
    words: set[str] = set()
    while len(words) < count:
        syllables = rng.integers(2, 5)
        words.add("".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(syllables)))
    return sorted(words)


def make_reviews(n: int, *, words: int, seed: int) -> tuple[list[str], list[int]]:
    """``n`` synthetic reviews and their 0/1 labels (see the module docstring)."""
    rng = np.random.default_rng(seed)
    vocabulary = np.array(_pseudo_words(words, np.random.default_rng(1234)))
    positive = vocabulary[:SENTIMENT_WORDS]
    negative = vocabulary[SENTIMENT_WORDS : 2 * SENTIMENT_WORDS]
    filler = vocabulary[2 * SENTIMENT_WORDS :]
    zipf = 1.0 / np.arange(1, len(filler) + 1) ** 1.07
    zipf /= zipf.sum()
    lengths = np.clip(np.rint(rng.lognormal(np.log(174), 0.77, size=n)), 10, 2500).astype(int)
    labels = rng.integers(0, 2, size=n)
    texts = []
    for length, label in zip(lengths, labels):
        tokens = filler[rng.choice(len(filler), size=length, p=zipf)]
        sentiment = rng.random(length) < SENTIMENT_RATE
        agrees = rng.random(length) < AGREEMENT
        positive_word = agrees == bool(label)
        tokens = np.where(sentiment & positive_word, rng.choice(positive, size=length), tokens)
        tokens = np.where(sentiment & ~positive_word, rng.choice(negative, size=length), tokens)
        # Sentences of 8-20 words, capitalised, ended by a period, "!" or a comma.
        sentences, start = [], 0
        while start < length:
            end = min(length, start + int(rng.integers(8, 21)))
            sentence = " ".join(tokens[start:end])
            sentences.append(sentence[0].upper() + sentence[1:] + rng.choice([".", ".", "!", ","]))
            start = end
        texts.append(" ".join(sentences))
    return texts, [int(label) for label in labels]


def write_csv(path: Path, texts, labels) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels))


def steady_rate(examples: int, seconds: list[float]) -> float:
    """Examples per second in the median of epochs 2..N (epoch 1 traces the step functions).

    The median, so that one epoch stretched by a stall or a burst of other programs'
    load (printed beside the figures) does not move the figure.
    """
    return examples / float(np.median(seconds[1:] or seconds))


def prepare_zoo(args, train_file: Path, test_file: Path) -> dict:
    """The zoo's pipeline and model, as ``zoo train sentiment_lstm`` builds them."""
    import keras

    import zoo
    from zoo.tasks.text_classification.data import classification_data

    keras.utils.set_random_seed(args.seed)
    start = time.perf_counter()
    data = classification_data(
        train_file=str(train_file),
        eval_file=str(test_file),
        vocab_size=args.vocab_size,
        sequence_length=args.sequence_length,
        batch_size=args.batch_size,
        seed=args.seed,
    )
    prepare = time.perf_counter() - start
    model = zoo.build(
        "sentiment_lstm",
        vocab_size=data.vectorizers["text"].vocabulary_size(),
        num_classes=len(data.labels),
        learning_rate=args.learning_rate,
    )
    model.jit_compile = args.jit_compile  # read when the train step is first built
    return {
        "model": model,
        "train": data.train,
        "test": data.test,
        "examples": data.train_examples,
        "prepare": prepare,
    }


def prepare_tutorial(args, train_file: Path, test_file: Path) -> dict:
    """The tutorial's pipeline and model on the very same train and test texts."""
    import keras
    import tensorflow as tf

    from zoo.data import files

    keras.utils.set_random_seed(args.seed)
    start = time.perf_counter()
    # The split classification_data makes: train, validation (unused here), test.
    splits, _ = files.labeled_splits(str(train_file), str(test_file), seed=args.seed)
    train_dataset = splits["train"].map(lambda text, label: (text, tf.cast(label, tf.float32)))
    test_dataset = splits["test"].map(lambda text, label: (text, tf.cast(label, tf.float32)))
    train_dataset = train_dataset.shuffle(10000).batch(args.batch_size).prefetch(tf.data.AUTOTUNE)
    test_dataset = test_dataset.batch(args.batch_size).prefetch(tf.data.AUTOTUNE)

    encoder = keras.layers.TextVectorization(max_tokens=args.vocab_size)
    encoder.adapt(train_dataset.map(lambda text, label: text))
    prepare = time.perf_counter() - start

    class Truncate(keras.layers.Layer):
        """Keep the first ``length`` ids (the tutorial itself keeps all)."""

        def __init__(self, length, **kwargs):
            super().__init__(**kwargs)
            self.length = length

        def call(self, ids):
            return ids[:, : self.length]

    model = keras.Sequential(
        [
            encoder,
            Truncate(args.sequence_length),
            keras.layers.Embedding(
                input_dim=len(encoder.get_vocabulary()), output_dim=128, mask_zero=True
            ),
            keras.layers.Bidirectional(keras.layers.LSTM(64)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    learning_rate = args.tutorial_learning_rate or args.learning_rate
    model.compile(
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        optimizer=keras.optimizers.Adam(learning_rate),
        metrics=[keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")],
        jit_compile=False,
    )  # TextVectorization does not compile with XLA
    return {
        "model": model,
        "train": train_dataset,
        "test": test_dataset,
        "examples": int(splits["train"].cardinality()),
        "prepare": prepare,
    }


def train_interleaved(sides: dict, epochs: int, verbose: int) -> None:
    """Train every side one epoch at a time, taking turns, timing each epoch.

    Taking turns spreads any change in the machine's load over both sides alike.
    After each epoch (untimed), the side's test accuracy is recorded.
    """
    for side in sides.values():
        side["seconds"], side["cpu_seconds"], side["accuracy"] = [], [], []
    for epoch in range(epochs):
        for name, side in sides.items():
            start, cpu = time.perf_counter(), time.process_time()
            # shuffle=False: tf.data shuffles (and Keras ignores the flag for datasets).
            side["model"].fit(side["train"], epochs=1, shuffle=False, verbose=verbose)
            side["seconds"].append(time.perf_counter() - start)
            side["cpu_seconds"].append(time.process_time() - cpu)
            metrics = side["model"].evaluate(side["test"], verbose=0, return_dict=True)
            side["accuracy"].append(float(metrics["accuracy"]))
            print(
                f"  epoch {epoch + 1} {name:<9} {side['seconds'][-1]:6.1f}s wall, "
                f"{side['cpu_seconds'][-1]:6.1f}s CPU; test accuracy "
                f"{side['accuracy'][-1]:.4f}",
                flush=True,
            )


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--examples",
        type=int,
        default=10000,
        help="training reviews (a tenth of them is held out for validation)",
    )
    p.add_argument("--test-examples", type=int, default=2500)
    p.add_argument("--epochs", type=int, default=4, help="epochs 2..N are timed")
    p.add_argument("--batch-size", type=int, default=64, help="both pipelines")
    p.add_argument("--vocab-size", type=int, default=10000, help="vocabulary cap of both")
    p.add_argument(
        "--sequence-length",
        type=int,
        default=400,
        help="both keep at most this many tokens of a review",
    )
    p.add_argument("--words", type=int, default=5000, help="distinct words in the reviews")
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument(
        "--tutorial-learning-rate",
        type=float,
        default=None,
        help="the tutorial's optimizer rate (its own is 1e-4); default: --learning-rate",
    )
    p.add_argument(
        "--jit-compile",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="compile the zoo's training step with XLA",
    )
    p.add_argument("--only", choices=["zoo", "tutorial"], help="run one side only")
    p.add_argument("--seed", type=int, default=0, help="first seed")
    p.add_argument(
        "--seeds",
        type=int,
        default=3,
        help="comparisons on reviews and weights of seeds seed..seed+N-1",
    )
    p.add_argument("--verbose", type=int, default=0)
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny settings for a smoke run (too few reviews to fill the length "
        "buckets: its ratio means nothing)",
    )
    add_record_flag(p)
    args = p.parse_args(argv)
    if args.quick:
        args.examples, args.test_examples, args.epochs, args.seeds = 600, 200, 2, 1
    if args.seeds < 1:
        p.error("--seeds must be at least 1")
    if args.epochs < 2:
        p.error("--epochs must be at least 2: epoch 1 traces, epochs 2..N are timed")
    return args


def run_seed(args) -> dict:
    """One back-to-back comparison on reviews and weights drawn from ``args.seed``."""
    print(f"seed {args.seed}:", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        train_file, test_file = Path(tmp) / "train.csv", Path(tmp) / "test.csv"
        texts, labels = make_reviews(
            args.examples + args.test_examples, words=args.words, seed=args.seed
        )
        write_csv(train_file, texts[: args.examples], labels[: args.examples])
        write_csv(test_file, texts[args.examples :], labels[args.examples :])
        lengths = np.array([len(t.split()) for t in texts])
        print(
            f"  reviews: words per review mean {lengths.mean():.0f}, median "
            f"{np.median(lengths):.0f}, 90th percentile {np.percentile(lengths, 90):.0f}, "
            f"max {lengths.max()}; longer than {args.sequence_length}: "
            f"{(lengths > args.sequence_length).mean():.1%}",
            flush=True,
        )

        makers = {"zoo": prepare_zoo, "tutorial": prepare_tutorial}
        sides = {
            name: make(args, train_file, test_file)
            for name, make in makers.items()
            if args.only in (None, name)
        }
        for name, side in sides.items():
            print(
                f"  {name:<9} prepared in {side['prepare']:.1f}s; {side['examples']} training "
                f"examples",
                flush=True,
            )
        train_interleaved(sides, args.epochs, args.verbose)
        if "zoo" in sides:
            jit = bool(sides["zoo"]["model"].jit_compile)
            print(f"  zoo training step compiled with XLA: {jit}")
        return {
            name: {key: side[key] for key in ("examples", "seconds", "cpu_seconds", "accuracy")}
            for name, side in sides.items()
        }


def main(argv=None) -> None:
    args = parse_args(argv)
    # Bucketed batches have no known count, so every epoch ends by running out of data.
    warnings.filterwarnings("ignore", message="Your input ran out of data")
    print_machine()
    print(
        f"settings: examples={args.examples} test_examples={args.test_examples} "
        f"epochs={args.epochs} (timed: 2..{args.epochs}) batch_size={args.batch_size} "
        f"vocab_size={args.vocab_size} sequence_length={args.sequence_length} "
        f"words={args.words} learning_rate={args.learning_rate} "
        f"tutorial_learning_rate={args.tutorial_learning_rate or args.learning_rate} "
        f"jit_compile={args.jit_compile} seeds={args.seed}..{args.seed + args.seeds - 1}"
    )

    runs = [
        run_seed(argparse.Namespace(**{**vars(args), "seed": args.seed + i}))
        for i in range(args.seeds)
    ]
    figures = {}
    for name in runs[0]:
        # Epochs 2..N of every seed (epoch 1 traces the step functions).
        timed = [r[name] for r in runs]
        figures[f"{name}_examples_per_second"] = steady_rate(
            timed[0]["examples"], [s for r in timed for s in r["seconds"][1:]]
        )
        figures[f"{name}_examples_per_cpu_second"] = steady_rate(
            timed[0]["examples"], [s for r in timed for s in r["cpu_seconds"][1:]]
        )
        figures[f"{name}_test_accuracy_mean_over_seeds"] = float(
            np.mean([r["accuracy"][-1] for r in timed])
        )
    if len(runs[0]) == 2:
        figures["ratio_zoo_over_tutorial"] = (
            figures["zoo_examples_per_second"] / figures["tutorial_examples_per_second"]
        )
        figures["cpu_ratio_zoo_over_tutorial"] = (
            figures["zoo_examples_per_cpu_second"] / figures["tutorial_examples_per_cpu_second"]
        )
        # Paired by seed: both sides saw the same reviews.
        differences = [r["zoo"]["accuracy"][-1] - r["tutorial"]["accuracy"][-1] for r in runs]
        figures["accuracy_difference_zoo_minus_tutorial"] = float(np.mean(differences))
        figures["accuracy_difference_standard_error"] = (
            float(np.std(differences, ddof=1) / np.sqrt(len(differences)))
            if len(differences) > 1
            else float("nan")
        )
    print()
    report(figures, record=args.record and "train_throughput", data="IMDB-like synthetic reviews")


if __name__ == "__main__":
    main()
