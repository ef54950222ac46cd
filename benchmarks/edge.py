"""LiteRT and ONNX files beside the SavedModel they came from, and streaming beside
re-reading the prefix.

    python -m benchmarks.edge saved_models/next_word_rnn/1 [EXPORT ...] \\
        [--text-file data/tiny_shakespeare/input.txt] [--record]

For each export and each format (LiteRT float, dynamic-range and float16; ONNX float and
dynamic): the model files' size against the SavedModel's variables, the load time, and
one example's latency (p50, p99) and examples a second through the export's first id
signature, in its own runtime, the SavedModel measured in the same process with the same
inputs. For a language model with ``--text-file``: perplexity over the file's last
``--tokens`` tokens read one at a time with the state carried, in every format, and the
streaming ``step`` (one token, the state kept) against re-reading a prefix of 10, 100 and
1,000 tokens (the same signature from a zero state), both in the SavedModel and in LiteRT.
For a classifier with ``--labeled-file`` (a CSV or TSV of text and label): accuracy on it
in every format.
"""

from __future__ import annotations

import argparse
import functools
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import add_record_flag, print_machine, report

FORMATS = [
    ("litert", None),
    ("litert", "dynamic"),
    ("litert", "float16"),
    ("onnx", None),
    ("onnx", "dynamic"),
]
PREFIXES = (10, 100, 1000)
SENTENCE = "the film was a quiet delight from start to end , and i would see it again"


def timed(fn, repeats: int) -> dict:
    """p50 and p99 latency in milliseconds and calls a second, after two warm-up calls."""
    fn(), fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times = np.array(times) * 1000
    return {
        "p50_ms": float(np.percentile(times, 50)),
        "p99_ms": float(np.percentile(times, 99)),
        "per_second": float(1000 / times.mean()),
    }


def example_inputs(predictor, signature: str, text: str) -> dict:
    """One example's inputs of an id signature, made by the export's tokenizer."""
    from zoo.edge import Tokenizer

    tokenizer = Tokenizer.from_folder(predictor.path)
    config = predictor.config
    if signature == "forecast_window":
        columns = len(config["standardization"]["columns"])
        rng = np.random.default_rng(0)
        return {"history": rng.normal(size=[1, config["lookback"], columns]).astype(np.float32)}
    if signature == "step":
        return {
            "ids": np.array([[2]], np.int64),
            "state": np.zeros([1, config["state_size"]], np.float32),
        }
    return tokenizer.inputs(text)


def folder_bytes(path: Path, pattern: str = "*") -> int:
    return sum(p.stat().st_size for p in Path(path).rglob(pattern) if p.is_file())


def perplexity(model, ids) -> float:
    """exp of the mean negative log-likelihood of each token after the first, one token a
    ``step`` call with the state carried."""
    state = np.zeros([1, model.config["state_size"]], np.float32)
    nll = 0.0
    for current, following in zip(ids[:-1], ids[1:]):
        out = model.run_arrays("step", {"ids": np.array([[current]], np.int64), "state": state})
        state = out["next_state"]
        nll -= math.log(max(float(out["probabilities"][0][following]), 1e-30))
    return math.exp(nll / (len(ids) - 1))


def accuracy(model, texts, labels, names) -> float:
    """Share of texts classified as labeled, one text a ``classify_ids`` call."""
    from zoo.edge import Tokenizer

    tokenizer = Tokenizer.from_folder(model.path)
    right = 0
    for text, label in zip(texts, labels):
        probabilities = model.run_arrays("classify_ids", tokenizer.inputs([text]))["probabilities"]
        right += names[int(np.argmax(probabilities[0]))] == label
    return right / len(texts)


def streaming(model, ids, repeats: int) -> dict:
    """Per-token ms: one ``step`` with the state kept, against re-reading each prefix."""
    figures = {}
    state0 = np.zeros([1, model.config["state_size"]], np.float32)
    for n in PREFIXES:
        prefix = np.array([ids[:n]], np.int64)
        kept = model.run_arrays("step", {"ids": prefix, "state": state0})["next_state"]
        token = np.array([[ids[n]]], np.int64)
        whole = np.array([ids[: n + 1]], np.int64)
        stream = timed(
            functools.partial(model.run_arrays, "step", {"ids": token, "state": kept}), repeats
        )
        reread = timed(
            functools.partial(model.run_arrays, "step", {"ids": whole, "state": state0}),
            max(5, repeats // 10),
        )
        figures[f"stream_ms_{n}"] = stream["p50_ms"]
        figures[f"reread_ms_{n}"] = reread["p50_ms"]
        figures[f"speedup_{n}"] = reread["p50_ms"] / stream["p50_ms"]
    return figures


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("exports", nargs="+", help="export version directories")
    p.add_argument("--text-file", help="text for the language models' perplexity and prefixes")
    p.add_argument("--tokens", type=int, default=2000, help="tokens read for perplexity")
    p.add_argument("--labeled-file", help="text and labels for the classifiers' accuracy")
    p.add_argument("--repeats", type=int, default=300, help="timed calls per figure")
    add_record_flag(p)
    args = p.parse_args(argv)

    import zoo
    from zoo.edge import Tokenizer, convert
    from zoo.edge import load as load_edge

    print_machine()
    figures = {}
    for export in map(Path, args.exports):
        start = time.perf_counter()
        saved = zoo.load(export)
        name = saved.config["name"]
        loaded = {"saved_model": (saved, time.perf_counter() - start)}
        signature = saved.config["edge"]["signatures"][-1]  # decode_step for the chatbot
        inputs = example_inputs(saved, signature, SENTENCE)
        if signature == "decode_step":
            source = Tokenizer.from_folder(export).inputs(SENTENCE)["source"]
            encoded = saved.run_arrays("encode", {"source": source})
            inputs = {
                "token": np.array([2], np.int64),
                "state": encoded["state"],
                "keys": encoded["keys"],
                "source": source,
            }
        variables = folder_bytes(export / "variables")
        rows = {"saved_model": {"size_kb": variables / 1024}}
        with tempfile.TemporaryDirectory() as tmp:
            for fmt, quantize in FORMATS:
                key = "-".join(filter(None, [fmt, quantize]))
                folder = convert(export, fmt, quantize, output=Path(tmp) / key)
                start = time.perf_counter()
                loaded[key] = (load_edge(folder), time.perf_counter() - start)
                model_bytes = folder_bytes(folder, "*.tflite") + folder_bytes(folder, "*.onnx")
                rows[key] = {"size_kb": model_bytes / 1024, "size_ratio": model_bytes / variables}
            for key, (model, load_s) in loaded.items():
                rows[key]["load_ms"] = load_s * 1000
                rows[key].update(
                    timed(functools.partial(model.run_arrays, signature, inputs), args.repeats)
                )
            if signature == "step" and args.text_file:
                tokenizer = Tokenizer.from_folder(export)
                text = Path(args.text_file).read_text()
                ids = tokenizer.encode(text[-max(200 * args.tokens, 20000) :])[-args.tokens :]
                for key, (model, _) in loaded.items():
                    rows[key]["perplexity"] = perplexity(model, ids)
                    rows[key]["perplexity_change"] = (
                        rows[key]["perplexity"] / rows["saved_model"]["perplexity"] - 1
                    )
                long_ids = tokenizer.encode(text[: 200 * max(PREFIXES)])
                for key in ("saved_model", "litert"):
                    rows[key].update(streaming(loaded[key][0], long_ids, args.repeats))
            if signature == "classify_ids" and args.labeled_file:
                from zoo.data.files import read_labeled

                texts, labels = read_labeled(args.labeled_file)
                for key, (model, _) in loaded.items():
                    rows[key]["accuracy"] = accuracy(model, texts, labels, saved.metadata["labels"])
                    rows[key]["accuracy_change"] = (
                        rows[key]["accuracy"] - rows["saved_model"]["accuracy"]
                    )
        print(f"\n{name} ({signature}, one example a call)")
        columns = sorted({c for row in rows.values() for c in row}, key=_order)
        print(f"{'':16}" + "".join(f"{c:>18}" for c in columns))
        for key, row in rows.items():
            print(
                f"{key:16}"
                + "".join(f"{row[c]:>18.4g}" if c in row else f"{'':>18}" for c in columns)
            )
            figures.update({f"{name}/{key}/{c}": v for c, v in row.items()})
    print()
    if args.record:
        report(figures, record="edge", data=", ".join(Path(e).parent.name for e in args.exports))


def _order(column: str) -> tuple:
    first = [
        "size_kb",
        "size_ratio",
        "load_ms",
        "p50_ms",
        "p99_ms",
        "per_second",
        "perplexity",
        "perplexity_change",
    ]
    return (first.index(column) if column in first else len(first), column)


if __name__ == "__main__":
    main()
