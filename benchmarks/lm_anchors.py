"""The language models beside the strongest small baselines, each on its own protocol.

``stacked_lstm``: loss in nats per character on nanoGPT's ``shakespeare_char`` validation
split, the last 10% of tiny_shakespeare's ``input.txt`` (tfds's validation and test splits
together; the first 90%, which both train on, is tfds's train split), read two ways: the
whole split in order with the state carried (as the recipe's ``carried_loss``), and in
independent blocks of 256 characters from a zero state (nanoGPT's ``block_size``: each
block of 257 characters gives 256 predictions). Beside it, nanoGPT's published 1.4697
(a 6-layer, 10.7M-parameter transformer trained on a GPU) and the run's own figures on
tfds's test split.

``next_word_rnn``: test perplexity beside interpolated Kneser-Ney bigram and trigram
models fitted on the recipe's training windows with its vocabulary, scored on exactly
the (history, next word) positions its test perplexity counts: each word given the words
before it in its window (the first word of a window has one word of history, so the
trigram falls back to its bigram there).

    python -m benchmarks.lm_anchors --manual-dir data/tiny_shakespeare \\
        [--stacked-lstm EXPORT] [--next-word-rnn EXPORT] [--only stacked_lstm] [--quick]

Without an export, the model's recipe is trained with its defaults first (30 minutes
for stacked_lstm, 10 for next_word_rnn on 2 cores).
"""

from __future__ import annotations

import argparse
import collections
import math
from pathlib import Path

import numpy as np

from benchmarks.common import add_record_flag, print_machine, record_model, report

NANOGPT_VAL_LOSS = 1.4697  # nanoGPT README, shakespeare_char, 6 layers, block 256
BLOCK = 256
DISCOUNT = 0.75
MODELS = ("stacked_lstm", "next_word_rnn")


def nanogpt_split(text: str) -> tuple[str, str]:
    """nanoGPT's ``shakespeare_char`` split: the first 90% of the characters, the rest."""
    cut = int(len(text) * 0.9)
    return text[:cut], text[cut:]


def blocks(text: str, size: int = BLOCK) -> list[str]:
    """Consecutive blocks of ``size + 1`` characters (``size`` predictions each), no overlap."""
    return [text[i : i + size + 1] for i in range(0, len(text) - size, size)]


def char_losses(predictor, text: str, batch: int = 64) -> dict:
    """Nats per character of ``text``: read whole, state carried; and in independent blocks."""
    whole = predictor.run("log_likelihood", {"text": [text]})
    nats, tokens = 0.0, 0
    pieces = blocks(text)
    for start in range(0, len(pieces), batch):
        out = predictor.run("log_likelihood", {"text": pieces[start : start + batch]})
        nats += float(np.sum(out["nats"]))
        tokens += int(np.sum(out["tokens"]))
    return {
        "carried": float(whole["nats"][0]) / int(whole["tokens"][0]),
        "blocks": nats / tokens,
        "characters": int(whole["tokens"][0]),
        "block_count": len(pieces),
    }


def kneser_ney_bigram(prev, nxt, vocab_size: int, discount: float = DISCOUNT) -> np.ndarray:
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


def triples(dataset):
    """(history-2, history-1, next) ids of every position of a windowed split; -1 where a
    window's first word has one word of history."""
    first, second, nxt = [], [], []
    for x, y in dataset:
        x, y = np.asarray(x), np.asarray(y)
        before = np.concatenate([np.full((x.shape[0], 1), -1), x[:, :-1]], axis=1)
        first.append(before.ravel())
        second.append(x.ravel())
        nxt.append(y.ravel())
    return np.concatenate(first), np.concatenate(second), np.concatenate(nxt)


def kneser_ney_trigram(train, vocab_size: int, discount: float = DISCOUNT):
    """``probability(u, v, w)`` of an interpolated Kneser-Ney trigram model (Chen & Goodman).

    P(w | u, v) = max(c(u v w) - d, 0) / c(u v .) + d N1+(u v .) / c(u v .) * P2(w | v),
    with the middle order on continuation counts, P2(w | v) = max(N1+(. v w) - d, 0) /
    N1+(. v .) + d N1+(v .) / N1+(. v .) * P1(w), and P1(w) = N1+(. w) / N1+(. .) mixed
    with a uniform floor; an unseen history falls back one order.
    """
    u, v, w = train
    trigram = collections.Counter(zip(u[u >= 0].tolist(), v[u >= 0].tolist(), w[u >= 0].tolist()))
    history = collections.Counter()
    history_types = collections.Counter()
    continuation = collections.Counter()  # N1+(. v w)
    for (a, b, c), count in trigram.items():
        continuation[b, c] += 1
        history[a, b] += count
        history_types[a, b] += 1
    middle = collections.Counter()  # N1+(. v .)
    middle_types = collections.Counter()  # N1+(v .) over continuation counts
    for (b, _), count in continuation.items():
        middle[b] += count
        middle_types[b] += 1
    bigram_types = collections.Counter(zip(v.tolist(), w.tolist()))
    follows = np.zeros(vocab_size)
    for _, c in bigram_types:
        follows[c] += 1
    unigram = (follows + 1.0) / (follows.sum() + vocab_size)

    def bigram(b, c):
        if middle[b] == 0:
            return unigram[c]
        return (
            max(continuation[b, c] - discount, 0) / middle[b]
            + discount * middle_types[b] / middle[b] * unigram[c]
        )

    def probability(a, b, c):
        lower = bigram(b, c)
        if a < 0 or history[a, b] == 0:
            return lower
        return (
            max(trigram[a, b, c] - discount, 0) / history[a, b]
            + discount * history_types[a, b] / history[a, b] * lower
        )

    return probability


def word_baselines(predictor, manual_dir, data_dir) -> dict:
    """Kneser-Ney bigram and trigram test perplexities on the export's own data settings."""
    from zoo.tasks.language_modeling.data import language_model_data

    config = predictor.config["recipe_config"]
    data = language_model_data(
        dataset="tiny_shakespeare",
        level="word",
        vocab_size=config["vocab_size"],
        sequence_length=config["sequence_length"],
        batch_size=256,
        data_dir=data_dir,
        manual_dir=manual_dir,
    )
    vocab_size = data.vectorizers["text"].vocabulary_size()
    train, test = triples(data.train), triples(data.test)  # one read: train windows move
    bigram = kneser_ney_bigram(*train[1:], vocab_size)
    probability = kneser_ney_trigram(train, vocab_size)
    _, prev, nxt = test
    trigram_nll = -np.mean([math.log(probability(a, b, c)) for a, b, c in zip(*map(list, test))])
    return {
        "test_words": len(nxt),
        "bigram_perplexity": math.exp(-np.mean(np.log(bigram[prev, nxt]))),
        "trigram_perplexity": math.exp(trigram_nll),
    }


def export_of(model: str, given, manual_dir, data_dir):
    """The export to measure: ``given``, or one trained now with the recipe's defaults."""
    import zoo

    if given:
        return zoo.load(given)
    settings = {"manual_dir": manual_dir, "data_dir": data_dir}
    print(f"training {model} with its recipe defaults ...", flush=True)
    metrics = zoo.train(model, **{k: v for k, v in settings.items() if v is not None})
    return zoo.load(metrics["export"])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--manual-dir", required=True, help="tiny_shakespeare's manual folder (holding input.txt)"
    )
    parser.add_argument("--data-dir", help="tfds data folder")
    parser.add_argument("--stacked-lstm", help="a stacked_lstm export (default: train one)")
    parser.add_argument("--next-word-rnn", help="a next_word_rnn export (default: train one)")
    parser.add_argument("--only", choices=MODELS, help="measure one model only")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: the first 5,000 characters of nanoGPT's split only",
    )
    add_record_flag(parser)
    args = parser.parse_args(argv)
    source = Path(args.manual_dir) / "input.txt"
    if not source.is_file():
        parser.error(
            f"--manual-dir {args.manual_dir}: no input.txt there; place "
            f"tiny_shakespeare's input.txt in it"
        )

    print_machine()
    from zoo.results import Figure

    figures, measured = {}, {}
    if args.only in (None, "stacked_lstm"):
        predictor = export_of("stacked_lstm", args.stacked_lstm, args.manual_dir, args.data_dir)
        _, validation = nanogpt_split(source.read_text(encoding="utf-8"))
        validation = validation[:5000] if args.quick else validation
        losses = char_losses(predictor, validation)
        test = predictor.metadata["metrics"].get("test", {})
        print(
            f"\nstacked_lstm ({predictor.path}), nats per character:\n"
            f"| split and protocol | stacked_lstm | nanoGPT |\n|---|---|---|\n"
            f"| nanoGPT's (last 10%), state carried | {losses['carried']:.4f} | |\n"
            f"| nanoGPT's (last 10%), blocks of {BLOCK} from zero | {losses['blocks']:.4f} | "
            f"{NANOGPT_VAL_LOSS} |\n"
            f"| tfds test (last 5%), state carried | {test.get('carried_loss', math.nan):.4f} | |\n"
            f"| tfds test, windows of {predictor.config['max_length']} from zero | "
            f"{test.get('loss', math.nan):.4f} | |"
        )
        detail = {
            "epochs": predictor.metadata["metrics"].get("epochs_run"),
            "training_seconds": predictor.metadata["metrics"].get("wall_seconds"),
        }
        measured["stacked_lstm"] = [
            Figure(
                metric="carried_loss",
                value=losses["carried"],
                data="tiny_shakespeare",
                split="nanogpt_val",
                detail=detail,
            ),
            Figure(
                metric="block_loss",
                value=losses["blocks"],
                data="tiny_shakespeare",
                split="nanogpt_val",
                detail={**detail, "blocks": BLOCK},
                baseline={"name": "nanoGPT (published)", "value": NANOGPT_VAL_LOSS},
            ),
            *[
                Figure(metric=name, value=test[name], data="tiny_shakespeare", detail=detail)
                for name in ("carried_loss", "loss")
                if name in test
            ],
        ]
        figures |= {
            "nanogpt_split_characters": losses["characters"],
            "nanogpt_split_blocks": losses["block_count"],
            "stacked_lstm_nanogpt_split_carried_loss": losses["carried"],
            "stacked_lstm_nanogpt_split_block_loss": losses["blocks"],
            "nanogpt_published_val_loss": NANOGPT_VAL_LOSS,
            "stacked_lstm_blocks_minus_nanogpt": losses["blocks"] - NANOGPT_VAL_LOSS,
            "stacked_lstm_tfds_test_carried_loss": test.get("carried_loss", math.nan),
            "stacked_lstm_tfds_test_loss": test.get("loss", math.nan),
        }
    if args.only in (None, "next_word_rnn"):
        predictor = export_of("next_word_rnn", args.next_word_rnn, args.manual_dir, args.data_dir)
        rnn = predictor.metadata["metrics"]["test"]["perplexity"]
        baselines = word_baselines(predictor, args.manual_dir, args.data_dir)
        print(
            f"\nnext_word_rnn ({predictor.path}), test perplexity on the same positions:\n"
            f"| model | perplexity |\n|---|---|\n| next_word_rnn | {rnn:.1f} |\n"
            f"| Kneser-Ney trigram | {baselines['trigram_perplexity']:.1f} |\n"
            f"| Kneser-Ney bigram | {baselines['bigram_perplexity']:.1f} |"
        )
        measured["next_word_rnn"] = [
            Figure(
                metric="perplexity",
                value=rnn,
                data="tiny_shakespeare",
                baseline={"name": "Kneser-Ney trigram", "value": baselines["trigram_perplexity"]},
                detail={
                    "bigram_perplexity": baselines["bigram_perplexity"],
                    "epochs": predictor.metadata["metrics"].get("epochs_run"),
                    "training_seconds": predictor.metadata["metrics"].get("wall_seconds"),
                },
            )
        ]
        figures |= {
            "test_words": baselines["test_words"],
            "next_word_rnn_test_perplexity": rnn,
            "kneser_ney_bigram_perplexity": baselines["bigram_perplexity"],
            "kneser_ney_trigram_perplexity": baselines["trigram_perplexity"],
            "trigram_over_rnn_perplexity": baselines["trigram_perplexity"] / rnn,
        }
    print()
    report(figures, record=args.record and not args.quick and "lm_anchors", data="tiny_shakespeare")
    for model, found in measured.items() if args.record and not args.quick else ():
        record_model(model, found)


if __name__ == "__main__":
    main()
