"""The ``zoo`` command: list, train, evaluate, predict, generate, export, chat, serve."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _cmd_list(args) -> int:
    from zoo.registry import catalog

    print(catalog(args.pattern))
    return 0


def _cmd_train(args) -> int:
    from zoo.recipes import run_recipe
    from zoo.registry import list_models

    if args.help:
        args.train_parser.print_help()
        return 0
    if args.model is None:
        args.train_parser.print_usage(sys.stderr)
        print("zoo train: error: name a MODEL: " + ", ".join(list_models()), file=sys.stderr)
        return 2
    return run_recipe(args.model, args.recipe_args)


def _cmd_evaluate(args) -> int:
    import json

    from zoo.evaluation import evaluate

    metrics = evaluate(args.path, args.file)
    print(
        ", ".join(
            f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
            for k, v in metrics.items()
            if k not in ("model", "export", "file") and not isinstance(v, dict)
        )
    )
    for name, table in ((k, v) for k, v in metrics.items() if isinstance(v, dict)):
        for row, figures in table.items():  # per_tag NOUN: precision=..., ...
            print(
                f"{name} {row}: "
                + ", ".join(
                    f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in figures.items()
                )
            )
    if args.output:
        Path(args.output).write_text(json.dumps(metrics, indent=2) + "\n")
    return 0


def _cmd_predict(args) -> int:
    """``zoo predict PATH TEXT...``: a line per text, its outputs as the task shows them (JSON;
    a tagger's ``token/TAG`` pairs); ``--file F``: the task reads F (texts a line each, a
    forecaster's CSV series)."""
    from zoo.serving import load
    from zoo.tasks import get_task

    if bool(args.texts) == bool(args.file):
        print("zoo predict: error: give TEXT arguments or --file, not both", file=sys.stderr)
        return 2
    predictor = load(args.path)
    if args.file:
        print(get_task(predictor.task).predict_file(predictor, args.file, plot=args.plot))
        if args.plot:
            print(f"drawn: {args.plot}")
        return 0
    if args.plot:
        print("zoo predict: error: --plot needs --file (a forecaster's series)", file=sys.stderr)
        return 2
    outputs = {name: value.tolist() for name, value in predictor.predict(args.texts).items()}
    task = get_task(predictor.task)
    for i, text in enumerate(args.texts):
        print(task.prediction_line(text, outputs, i))
    return 0


def _cmd_generate(args) -> int:
    """``zoo generate PATH PROMPT``: the prompt and its continuation, read and written through
    the export's streaming ``step`` signature (the state carried, each token read once);
    exports made before ``step`` existed run their ``generate`` signature."""
    from zoo.edge import Stream
    from zoo.serving import load

    predictor = load(args.path)
    if "step" not in predictor.signatures:
        print(
            predictor.generate(
                args.prompt,
                max_length=args.max_length,
                temperature=args.temperature,
                seed=args.seed,
            )
        )
        return 0
    stream = Stream(predictor).feed(args.prompt)
    continuation = stream.generate(args.max_length, temperature=args.temperature, seed=args.seed)
    joint = "" if not args.prompt or not continuation else stream.separator
    print(f"{args.prompt}{joint}{continuation}")
    return 0


def _cmd_export(args) -> int:
    """``zoo export EXPORT_DIR --format litert|onnx [--quantize ...]``: the converted folder."""
    from zoo.edge import convert

    print(f"written: {convert(args.path, args.format, args.quantize, args.output)}")
    return 0


def _cmd_chat(args) -> int:
    """``zoo chat PATH``: a conversation at a terminal; with piped stdin, one reply per line.

    Blank lines are no message, at a terminal or in a pipe: they get no reply.
    """
    from zoo.serving import load

    predictor = load(args.path)
    interactive = sys.stdin.isatty()

    def answer(message):
        return predictor.reply(message, temperature=args.temperature, beam_width=args.beam_width)

    if not interactive:
        for line in sys.stdin:
            if line.strip():
                print(answer(line.rstrip("\r\n")), flush=True)
        return 0
    print(f"Talking to {predictor.card['name']} ({predictor.path}); Ctrl-D ends.")
    while True:
        try:
            message = input("you> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if message.strip():
            print(f"bot> {answer(message)}")


def _cmd_serve(args) -> int:
    """``zoo serve [PATH]``: TF Serving's REST and gRPC APIs on every export under PATH."""
    from zoo.serving import serve

    batching = (
        dict(
            max_batch_size=args.max_batch_size,
            timeout_seconds=args.batch_timeout_micros / 1e6,
            max_enqueued_batches=args.max_enqueued_batches,
        )
        if args.enable_batching
        else None
    )
    serve(
        args.path,
        host=args.host,
        port=args.port,
        grpc_port=args.grpc_port or None,
        poll_seconds=args.poll_seconds,
        max_body_bytes=args.max_body_bytes,
        version_policy=args.model_version_policy,
        model_config_file=args.model_config_file,
        batching=batching,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    from importlib.metadata import version

    from zoo.edge.convert import FORMATS, QUANTIZATIONS
    from zoo.registry import list_models
    from zoo.serving.config import SCANNED_POLICIES

    parser = argparse.ArgumentParser(
        prog="zoo",
        description="Recurrent models for Keras: list, train, evaluate, predict, "
        "generate, export, chat, serve.",
        epilog="`zoo COMMAND --help` describes a command.",
    )
    parser.add_argument("--version", action="version", version=f"zoo {version('zoo')}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="print the catalog of models")
    p.add_argument("pattern", nargs="?", default="*", help="shell wildcard, e.g. '*lstm*'")
    p.set_defaults(func=_cmd_list)

    # The recipe parses its own flags, so `zoo train MODEL --help` reaches it.
    p = sub.add_parser(
        "train",
        help="run a model's recipe: load data, train, evaluate, export",
        description="Run a model's recipe: load its data, train, evaluate on "
        "the test split and export a SavedModel.",
        epilog="`zoo train MODEL --help` lists the recipe's flags and defaults.",
        add_help=False,
    )
    p.add_argument("-h", "--help", action="store_true", help="show this help and exit")
    p.add_argument("model", nargs="?", metavar="MODEL", help="one of: " + ", ".join(list_models()))
    p.add_argument(
        "recipe_args",
        nargs=argparse.REMAINDER,
        metavar="FLAGS",
        help="recipe flags, e.g. --epochs 3 --train-file data.csv",
    )
    p.set_defaults(func=_cmd_train, train_parser=p)

    p = sub.add_parser("predict", help="run an export's serving_default on texts or a file")
    p.add_argument("path", help="model directory (highest version) or one version directory")
    p.add_argument("texts", nargs="*", help="texts to classify, tag or continue")
    p.add_argument(
        "--file", help="read the inputs from a file: texts one a line, or a forecaster's CSV"
    )
    p.add_argument("--plot", help="a forecaster: also draw history and forecast to this PNG")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser(
        "evaluate",
        help="score an export on your own labeled file, text or pairs",
        description="Score an export on a file, as its recipe scores the test "
        "split: a classifier on a CSV/TSV with text and label "
        "columns (accuracy, loss), a language model on plain text "
        "(loss in nats per token, perplexity), a chatbot on "
        "message<TAB>reply lines (BLEU).",
    )
    p.add_argument("path", help="model directory (highest version) or one version directory")
    p.add_argument("file", help="the data to score")
    p.add_argument("--output", help="also write the figures to this JSON file")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("generate", help="continue a prompt with a language-model export")
    p.add_argument("path", help="model directory (highest version) or one version directory")
    p.add_argument("prompt", help="text to continue")
    p.add_argument("--max-length", type=int, default=100, help="tokens to add (default: 100)")
    p.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="0 picks the likeliest token; higher is more varied (default: 1.0)",
    )
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser(
        "export",
        help="convert an export to LiteRT or ONNX",
        description="Convert one export version to LiteRT (model.tflite) or ONNX "
        "(<signature>.onnx), with its vocabulary and config, for "
        "phones and other runtimes; written to EXPORT_DIR/<format>[-<quantize>].",
    )
    p.add_argument(
        "path",
        metavar="EXPORT_DIR",
        help="model directory (highest version) or one version directory",
    )
    p.add_argument("--format", required=True, choices=FORMATS, help="the file format")
    p.add_argument(
        "--quantize",
        choices=sorted({q for qs in QUANTIZATIONS.values() for q in qs}),
        default=None,
        help="dynamic: int8 weights (LiteRT, ONNX); float16: half-size weights (LiteRT)",
    )
    p.add_argument("--output", default=None, help="folder to write instead")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("chat", help="talk to a chatbot export (reads stdin when piped)")
    p.add_argument("path", help="model directory (highest version) or one version directory")
    p.add_argument(
        "--temperature",
        type=float,
        default=0.0,
        help="above 0 samples replies (default: 0, the export's reply)",
    )
    p.add_argument(
        "--beam-width",
        type=int,
        default=None,
        help="beam search of this width (1: greedy); default: the export's reply",
    )
    p.set_defaults(func=_cmd_chat)

    p = sub.add_parser(
        "serve",
        help="serve exports with TF Serving's REST and gRPC APIs",
        description="Serve every export under PATH (or the models of a TF "
        "Serving model config file) with TensorFlow Serving's REST "
        "API, its gRPC API and Prometheus metrics.",
    )
    p.add_argument(
        "path",
        nargs="?",
        default="saved_models",
        help="folder of model folders (default: saved_models)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8501, help="REST port (default: 8501)")
    p.add_argument(
        "--grpc-port", type=int, default=8500, help="gRPC port, 0 for none (default: 8500)"
    )
    p.add_argument(
        "--model-config-file",
        default=None,
        help="TF Serving's ModelServerConfig in text format: model names, base "
        "paths, version policies and labels (instead of PATH); read again "
        "when it changes",
    )
    p.add_argument(
        "--poll-seconds",
        type=float,
        default=2.0,
        help="seconds between looks for new versions (default: 2.0)",
    )
    p.add_argument(
        "--max-body-bytes",
        type=int,
        default=10 * 2**20,
        help="larger request bodies are refused with 413 (default: 10 MiB)",
    )
    p.add_argument(
        "--model-version-policy",
        choices=SCANNED_POLICIES,
        default="latest",
        help="serve each model's latest version that loads, or all of them "
        "(default: latest, as TF Serving)",
    )
    p.add_argument(
        "--enable-batching",
        action="store_true",
        help="run concurrent requests of a signature as one batch",
    )
    p.add_argument(
        "--max-batch-size", type=int, default=32, help="most rows in a batch (default: 32)"
    )
    p.add_argument(
        "--batch-timeout-micros",
        type=int,
        default=2000,
        help="how long a batch waits for more requests (default: 2000)",
    )
    p.add_argument(
        "--max-enqueued-batches",
        type=int,
        default=64,
        help="batches that may wait per signature before requests are refused "
        "with 503 (default: 64)",
    )
    p.set_defaults(func=_cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command not in ("list", "train"):  # a recipe imports it after reading its flags
        from zoo.startup import import_tensorflow

        import_tensorflow()
    try:
        return args.func(args)
    except (ValueError, KeyError, FileNotFoundError, ModuleNotFoundError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"zoo {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
