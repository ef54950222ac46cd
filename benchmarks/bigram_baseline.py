"""The baseline next_word_rnn must beat: an interpolated Kneser-Ney bigram model.

Fitted on the train split of tiny_shakespeare with the recipe's own vocabulary
and windows, scored on exactly the (word, next word) pairs the recipe's test
perplexity counts. Pass the recipe's ``metrics.json`` to print the ratio.

    python -m benchmarks.bigram_baseline --manual-dir data/tiny_shakespeare \
        --metrics runs/next_word_rnn/latest/metrics.json
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np

from benchmarks.common import print_machine, report


def pairs(dataset) -> tuple[np.ndarray, np.ndarray]:
    """All (previous, next) id pairs of a windowed language-model split."""
    prev, nxt = zip(*((x.numpy().ravel(), y.numpy().ravel()) for x, y in dataset))
    return np.concatenate(prev), np.concatenate(nxt)


def kneser_ney_bigram(prev, nxt, vocab_size: int, discount: float = 0.75) -> np.ndarray:
    """P(next | prev) as a dense (vocab, vocab) matrix, interpolated Kneser-Ney.

    P(w | v) = max(c(v, w) - d, 0) / c(v) + d * N1+(v, .) / c(v) * P_cont(w), where
    P_cont(w) counts the distinct words w follows (mixed with a uniform floor so no
    word has zero probability); unseen histories fall back to P_cont.
    """
    counts = np.zeros((vocab_size, vocab_size))
    np.add.at(counts, (prev, nxt), 1)
    seen = counts > 0
    continuation = (seen.sum(axis=0) + 1.0) / (seen.sum() + vocab_size)
    history = counts.sum(axis=1, keepdims=True)
    followers = seen.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        probs = (np.maximum(counts - discount, 0) + discount * followers * continuation) / history
    probs[history[:, 0] == 0] = continuation
    return probs


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--manual-dir")
    parser.add_argument("--metrics", help="metrics.json of a next_word_rnn recipe run")
    parser.add_argument("--discount", type=float, default=0.75)
    args = parser.parse_args(argv)

    from recipes.next_word_rnn import NextWordRNNRecipe
    from zoo.tasks.language_modeling.data import language_model_data

    recipe = NextWordRNNRecipe()
    if args.metrics:  # the run's own data settings, so both score the same pairs
        config = json.loads(open(args.metrics).read())["config"]
        recipe.vocab_size, recipe.sequence_length = config["vocab_size"], config["sequence_length"]
    print_machine()
    print(f"settings: vocab_size={recipe.vocab_size}, sequence_length={recipe.sequence_length}, "
          f"discount={args.discount}")
    data = language_model_data(dataset=recipe.dataset, level="word",
                               vocab_size=recipe.vocab_size, sequence_length=recipe.sequence_length,
                               batch_size=256, data_dir=args.data_dir, manual_dir=args.manual_dir)
    vocab_size = data.vectorizers["text"].vocabulary_size()
    probs = kneser_ney_bigram(*pairs(data.train), vocab_size, args.discount)
    prev, nxt = pairs(data.test)
    bigram = math.exp(-np.mean(np.log(probs[prev, nxt])))
    figures = {"test_words": len(nxt), "bigram_test_perplexity": bigram}
    if args.metrics:
        rnn = json.loads(open(args.metrics).read())["test"]["perplexity"]
        figures |= {"next_word_rnn_test_perplexity": rnn, "bigram_over_rnn_perplexity": bigram / rnn}
    report(figures)


if __name__ == "__main__":
    main()
