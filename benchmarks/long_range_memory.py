"""Long-range memory: can SimpleRNN, LSTM and GRU carry one token across T distractors?

Each sequence starts with one of K class markers and continues with random
distractor tokens; the label is the marker. A many-to-one classifier
(``sentiment_lstm`` with ``cell=`` overridden, one direction) reads the whole
sequence and answers at its end, so the only useful signal lies at the start.
Training sequences hold 1..T distractors (right-padded, masked); held-out
sequences hold exactly T, the longest gap.

Why the cells differ: the gradient that reaches the marker is a product of one
step Jacobian per token. In a SimpleRNN each factor is ``diag(1 - h**2) @ W``, and
holding a value robustly for an unknown time needs contracting dynamics (Bengio
et al., 1994), so the factors have norm below one: the gradient shrinks
geometrically with the gap, long-gap examples teach nothing, and accuracy at
large T falls towards chance (1/K). LSTM and GRU update their state additively
through gates (``c_t = f * c_{t-1} + i * g``); once the forget/update gates are
near one, the path back to the marker neither vanishes nor explodes, and
accuracy stays near 100%.

Lengths vary in training on purpose: with one fixed length a SimpleRNN, whose
recurrent kernel starts orthogonal and whose inputs start small, can keep the
marker in a near-linear rotation and read it at the known time; it then solves
even T=200, while LSTM and GRU, whose forget/update gates start well below one,
stay near chance at long T within this budget (``--fixed-length`` shows it).

Every (cell, T) gets the same budget: training sequences, epochs, batch size.

    python -m benchmarks.long_range_memory            # full run, about 8 minutes on 2 cores
    python -m benchmarks.long_range_memory --quick    # smoke run
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.common import add_record_flag, print_machine, report

CELL_NAMES = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


def make_data(
    n: int, length: int, *, num_classes: int, vocab_size: int, rng: np.random.Generator, vary: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sequences: a class marker, then ``length`` distractors (or 1..length if ``vary``).

    Markers are tokens ``1..num_classes`` and the label is ``marker - 1``;
    distractors are drawn from ``num_classes+1 .. vocab_size-1``. Token 0 is the
    padding that the embedding masks; shorter sequences are right-padded with it.
    """
    labels = rng.integers(0, num_classes, size=n)
    distractors = rng.integers(num_classes + 1, vocab_size, size=(n, length))
    if vary:
        kept = rng.integers(1, length + 1, size=n)
        distractors[np.arange(length)[None, :] >= kept[:, None]] = 0
    tokens = np.concatenate([labels[:, None] + 1, distractors], axis=1)
    return tokens.astype("int64"), labels.astype("int64")


def run_one(cell: str, length: int, args) -> tuple[float, float]:
    """Train one cell at one length; return (held-out accuracy, seconds)."""
    import keras

    import zoo

    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng([args.seed, length])
    kwargs = dict(num_classes=args.classes, vocab_size=args.vocab_size, rng=rng)
    x_train, y_train = make_data(args.examples, length, vary=not args.fixed_length, **kwargs)
    x_test, y_test = make_data(args.test_examples, length, vary=False, **kwargs)

    model = zoo.build(
        "sentiment_lstm",
        cell=cell,
        bidirectional=False,
        vocab_size=args.vocab_size,
        num_classes=args.classes,
        units=args.units,
        embedding_dim=args.embedding_dim,
        dropout=0.0,
        learning_rate=args.learning_rate,
    )
    start = time.perf_counter()
    model.fit(
        x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, shuffle=True, verbose=0
    )
    _, accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    seconds = time.perf_counter() - start
    keras.backend.clear_session()
    return float(accuracy), seconds


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--lengths",
        type=int,
        nargs="+",
        default=[10, 50, 100, 200],
        help="numbers of distractors T after the marker",
    )
    p.add_argument("--cells", nargs="+", default=list(CELL_NAMES), choices=list(CELL_NAMES))
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--examples", type=int, default=3000, help="training sequences per (cell, T)")
    p.add_argument("--test-examples", type=int, default=1000, help="held-out sequences")
    p.add_argument("--classes", type=int, default=4, help="K class markers; chance is 1/K")
    p.add_argument("--vocab-size", type=int, default=20)
    p.add_argument("--units", type=int, default=32)
    p.add_argument("--embedding-dim", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--fixed-length", action="store_true", help="train on exactly T distractors instead of 1..T"
    )
    p.add_argument("--quick", action="store_true", help="tiny settings for a smoke run")
    add_record_flag(p)
    args = p.parse_args(argv)
    if args.vocab_size < args.classes + 2:
        p.error("--vocab-size must leave room for distractors: at least --classes + 2")
    if args.quick:
        args.lengths, args.epochs = [10, 50], 2
        args.examples, args.test_examples = 256, 128
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    print_machine()
    print(
        f"settings: lengths={args.lengths} cells={args.cells} epochs={args.epochs} "
        f"examples={args.examples} test_examples={args.test_examples} "
        f"classes={args.classes} (chance {1 / args.classes:.2f}) vocab_size={args.vocab_size} "
        f"units={args.units} embedding_dim={args.embedding_dim} "
        f"batch_size={args.batch_size} learning_rate={args.learning_rate} seed={args.seed}"
    )
    print(
        f"task: label = first token; training sequences hold "
        f"{'exactly T' if args.fixed_length else '1..T'} distractors, "
        f"held-out sequences exactly T"
    )

    accuracy: dict[tuple[str, int], float] = {}
    total = time.perf_counter()
    for cell in args.cells:
        for length in args.lengths:
            acc, seconds = run_one(cell, length, args)
            accuracy[cell, length] = acc
            print(
                f"  {CELL_NAMES[cell]:<9} T={length:<4} accuracy {acc:.3f}  ({seconds:.0f}s)",
                flush=True,
            )
    total = time.perf_counter() - total

    print("\nheld-out accuracy by cell (rows) and distractors T (columns)")
    print(f"{'cell':<10}" + "".join(f"{'T=' + str(t):>8}" for t in args.lengths))
    for cell in args.cells:
        print(
            f"{CELL_NAMES[cell]:<10}" + "".join(f"{accuracy[cell, t]:>8.3f}" for t in args.lengths)
        )
    print(f"chance: {1 / args.classes:.3f}; training and evaluation took {total:.0f}s\n")

    figures = {
        f"accuracy_{cell}_T{t}": accuracy[cell, t] for cell in args.cells for t in args.lengths
    }
    longest = max(args.lengths)
    if "lstm" in args.cells and "simple_rnn" in args.cells:
        figures[f"ratio_lstm_over_simple_rnn_T{longest}"] = (
            accuracy["lstm", longest] / accuracy["simple_rnn", longest]
        )
    report(figures, record=args.record and "long_range_memory", data="synthetic sequences")


if __name__ == "__main__":
    main()
