"""The ``zoo`` command: list, train, predict, generate, chat, serve."""

from __future__ import annotations

import argparse
import os
import sys


def _cmd_list(args) -> int:
    from zoo.registry import list_models, model_card

    rows = [("name", "task", "architecture", "dataset", "params", "measured / anchor")]
    for name in list_models(args.pattern):
        card = model_card(name)
        rows.append((name, card.task, card.architecture, card.dataset, f"{card.num_params:,}",
                     card.measured or f"anchor: {card.anchor}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])
    return 0


def _cmd_train(args) -> int:
    from recipes import run_recipe

    return run_recipe(args.model, args.recipe_args)


def _serve_command(name):
    def run(args) -> int:
        from zoo import serve

        return getattr(serve, name)(args)

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zoo", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="print the catalog of models")
    p.add_argument("pattern", nargs="?", default="*", help="shell wildcard, e.g. '*lstm*'")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("train", help="run a model's recipe: load data, train, evaluate, export",
                       add_help=False)
    p.add_argument("model")
    p.add_argument("recipe_args", nargs=argparse.REMAINDER,
                   help="recipe flags; see `zoo train MODEL --help`")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("predict", help="run an export's serving_default on texts")
    p.add_argument("path", help="model directory (highest version) or one version directory")
    p.add_argument("texts", nargs="+")
    p.set_defaults(func=_serve_command("cli_predict"))

    p = sub.add_parser("generate", help="continue a prompt with a language-model export")
    p.add_argument("path")
    p.add_argument("prompt")
    p.add_argument("--max-length", type=int, default=100)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_serve_command("cli_generate"))

    p = sub.add_parser("chat", help="talk to a chatbot export (reads stdin when piped)")
    p.add_argument("path")
    p.add_argument("--temperature", type=float, default=0.0, help="> 0 samples replies")
    p.add_argument("--beam-width", type=int, default=None,
                   help="beam search of this width (1: greedy); default: the export's reply")
    p.set_defaults(func=_serve_command("cli_chat"))

    p = sub.add_parser("serve", help="serve every export under a directory (TF Serving REST API)")
    p.add_argument("path", nargs="?", default="saved_models")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--poll-seconds", type=float, default=2.0,
                   help="how often to look for new versions")
    p.add_argument("--max-body-bytes", type=int, default=10 * 2**20,
                   help="larger request bodies are refused with 413")
    p.set_defaults(func=_serve_command("cli_serve"))
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, KeyError, FileNotFoundError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"zoo {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
