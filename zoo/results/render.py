"""The documentation's tables and charts, drawn from the results files.

A page marks each machine-written part with ``<!-- results:NAME -->`` and
``<!-- /results:NAME -->``; ``rewrite`` puts the block ``NAME`` between them. Charts go to
``docs/img/``. ``python -m zoo.results`` (from a clone) rewrites README.md and docs/ and
draws the charts; ``--check`` only says whether anything is out of date.
"""

from __future__ import annotations

import re
from pathlib import Path

from zoo import results

MARKED = re.compile(
    r"(<!-- results:(?P<name>[\w-]+) -->\n)(.*?)(<!-- /results:(?P=name) -->)", re.S
)
PAGES = ("README.md", "docs/*.md")
CHARTS = "docs/img"
NAMES = {
    "bleu": "BLEU",
    "bleu_greedy": "BLEU, greedy",
    "token_accuracy": "token accuracy",
    "carried_loss": "nats/char, state carried",
    "loss": "nats/char, independent windows",
    "block_loss": "nats/char, 256-character blocks",
    "perplexity": "perplexity",
}


def _number(value) -> str:
    return f"{value:#.4g}" if isinstance(value, float) else f"{value:,}"


def catalog_block() -> str:
    import zoo  # every task unit registered

    return f"```\n$ zoo list\n{zoo.registry.catalog()}\n```\n"


def models_block() -> str:
    """Every model's figures and baselines, then how each was measured: command, date, machine."""
    rows = ["| model | figure | data | measured | baseline |", "|---|---|---|---|---|"]
    how: dict[tuple[str, str, str], list[str]] = {}
    for model in results.names():
        for f in results.figures(model):
            data = f.data if f.split == "test" else f"{f.data} ({f.split})"
            spread = f" ± {f.detail['std']:.4f}" if "std" in f.detail else ""
            seeds = f", {f.detail['seeds']} seeds" if "seeds" in f.detail else ""
            baseline = f"{f.baseline['name']} {_number(f.baseline['value'])}" if f.baseline else ""
            rows.append(
                f"| `{model}` | {NAMES.get(f.metric, f.metric)} | {data} | "
                f"**{_number(f.value)}**{spread}{seeds} | {baseline} |"
            )
            models = how.setdefault((f.command, f.date, f.hardware), [])
            if model not in models:
                models.append(model)
    rows.append("\nMeasured with:\n")
    rows += [
        f"- `{command}` ({', '.join(f'`{m}`' for m in models)}; {date}, {hardware})"
        for (command, date, hardware), models in how.items()
    ]
    return "\n".join(rows) + "\n"


def classifiers_block() -> str:
    """Accuracy per set: each classifier (mean ± sd over seeds) beside NBSVM."""
    models = [m for m in results.names() if _accuracies(m)]
    sets = list(dict.fromkeys(s for m in models for s in _accuracies(m)))
    rows = [
        f"| set | {' | '.join(f'`{m}`' for m in models)} | NBSVM |",
        "|---" * (len(models) + 2) + "|",
    ]
    for name in sets:
        cells, baseline = [], ""
        for model in models:
            f = _accuracies(model).get(name)
            cells.append(f"{f.value:.4f} ± {f.detail.get('std', 0):.4f}" if f else "")
            baseline = baseline or (f"{f.baseline['value']:.4f}" if f and f.baseline else "")
        rows.append(f"| {name} | {' | '.join(cells)} | {baseline} |")
    return "\n".join(rows) + "\n"


def _accuracies(model: str) -> dict:
    return {f.data: f for f in results.figures(model) if f.metric == "accuracy"}


def benchmarks_block() -> str:
    """Each benchmark's recorded figures, a row per command and data."""
    rows = ["| command | data | figures | date and machine |", "|---|---|---|---|"]
    for name in results.names("benchmarks"):
        if name in OWN_TABLES:
            rows.append(f"| `python -m benchmarks.{name}` | see [{name}]({OWN_TABLES[name]}) | | |")
            continue
        runs: dict[tuple[str, str], list] = {}
        for f in results.figures(name, "benchmarks"):
            runs.setdefault((f.command, f.data), []).append(f)
        for (command, data), found in runs.items():
            shown = ", ".join(f"{f.metric} {_short(f.value)}" for f in found)
            note = found[0].detail.get("note")
            data = f"{data} ({note})" if note else data
            rows.append(
                f"| `{command}` | {data} | {shown} | {found[0].date}, {found[0].hardware} |"
            )
    return "\n".join(rows) + "\n"


# Benchmarks with a table of their own, shown on their page rather than in one row here.
OWN_TABLES = {"edge": "edge.md"}


def edge_block() -> str:
    """Per model and format: size, load time, latency and, for language models, perplexity
    and streaming, from ``benchmarks.edge``'s ``<model>/<format>/<figure>`` figures."""
    found: dict = {}
    for f in results.figures("edge", "benchmarks"):
        model, key, column = f.metric.split("/")
        found.setdefault(model, {}).setdefault(key, {})[column] = f.value
    columns = {
        "size_kb": "size (KB)",
        "size_ratio": "of SavedModel",
        "load_ms": "load (ms)",
        "p50_ms": "p50 (ms)",
        "p99_ms": "p99 (ms)",
        "per_second": "examples/s",
        "perplexity": "perplexity",
        "perplexity_change": "its change",
        "accuracy": "accuracy",
        "accuracy_change": "its change",
    }
    rows = [
        f"| model | format | {' | '.join(columns.values())} |",
        "|---" * (len(columns) + 2) + "|",
    ]
    stream = []
    for model, by_key in found.items():
        for key, row in by_key.items():
            cells = [_edge_cell(c, row[c]) if c in row else "" for c in columns]
            rows.append(f"| {model} | {key} | {' | '.join(cells)} |")
            prefixes = sorted(int(c.rsplit("_", 1)[1]) for c in row if c.startswith("speedup_"))
            for n in prefixes:
                stream.append(
                    f"| {model} | {key} | {n:,} | {row[f'stream_ms_{n}']:.3f} | "
                    f"{row[f'reread_ms_{n}']:.3f} | {row[f'speedup_{n}']:.1f}x |"
                )
    if stream:
        rows += [
            "",
            "| model | format | prefix tokens | step, state kept (ms) | re-reading (ms) | faster |",
            "|---|---|---|---|---|---|",
            *stream,
        ]
    return "\n".join(rows) + "\n"


def _edge_cell(column: str, value: float) -> str:
    if column == "size_ratio":
        return f"{value:.2f}"
    if column == "perplexity_change":
        return f"{value:+.2%}"
    if column == "accuracy_change":
        return f"{100 * value:+.2f} points"
    if column == "accuracy":
        return f"{value:.4f}"
    return _short(value)


def _short(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def long_range_memory_block() -> str:
    """Accuracy by cell (rows) and distractor count (columns), from ``accuracy_<cell>_T<n>``."""
    found = {}
    for f in results.figures("long_range_memory", "benchmarks"):
        match = re.fullmatch(r"accuracy_(\w+)_T(\d+)", f.metric)
        if match:
            found.setdefault(match[1], {})[int(match[2])] = f.value
    counts = sorted({t for row in found.values() for t in row})
    names = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
    rows = [f"| cell | {' | '.join(f'T={t}' for t in counts)} |", "|---" * (len(counts) + 1) + "|"]
    rows += [
        f"| {names.get(cell, cell)} | {' | '.join(f'{row[t]:.3f}' if t in row else '' for t in counts)} |"
        for cell, row in found.items()
    ]
    return "\n".join(rows) + "\n"


def forecasting_block() -> str:
    """Test MSE / MAE per horizon: the forecaster beside the baselines measured with it."""
    found = _forecasts()
    if not found:
        return ""
    horizons = sorted(
        {h for by_model in found.values() for h in by_model.get("rnn_forecaster", {})}
    )
    rows = [
        f"| series | model | {' | '.join(f'h{h}' for h in horizons)} |",
        "|---" * (len(horizons) + 2) + "|",
    ]
    for series, by_model in found.items():
        for model, by_horizon in by_model.items():
            cells = [
                f"{by_horizon[h]['mse']:.3f} / {by_horizon[h]['mae']:.3f}"
                if h in by_horizon
                else ""
                for h in horizons
            ]
            name = f"**`{model}`**" if model == "rnn_forecaster" else model
            rows.append(f"| {series} | {name} | {' | '.join(cells)} |")
    return "\n".join(rows) + "\n"


def _forecasts() -> dict:
    """``{series: {model: {horizon: {"mse", "mae"}}}}`` from the forecaster's figures (split
    ``test h96`` or ``test h96 (OT)``), their DLinear baselines and the naive forecasts kept
    in their detail."""
    found: dict = {}
    for f in results.figures("rnn_forecaster"):
        match = re.fullmatch(r"test h(\d+)(?: \((\w+)\))?", f.split)
        if not match or f.metric not in ("mse", "mae"):
            continue
        horizon = int(match[1])
        series = f"{f.data} {match[2]}" if match[2] else f"{f.data}, every column"
        models = found.setdefault(series, {})
        models.setdefault("rnn_forecaster", {}).setdefault(horizon, {})[f.metric] = f.value
        if f.baseline:
            models.setdefault(f.baseline["name"], {}).setdefault(horizon, {})[f.metric] = (
                f.baseline["value"]
            )
        for key, name in (("seasonal_naive", "seasonal naive"), ("last_value", "last value")):
            if key in f.detail:
                models.setdefault(name, {})[horizon] = f.detail[key]
    return found


def curves_block() -> str:
    return "".join(
        f"![{model} on {data}: loss by epoch](img/curves_{model}.png)\n\n"
        for model, (data, _) in _histories().items()
    )


def _histories() -> dict:
    """``{model: (data, history)}``: the per-epoch history of each model's last recorded
    run that kept one."""
    found = {}
    for model in results.names():
        for f in results.figures(model):
            if "history" in f.detail:
                found[model] = f.data, f.detail["history"]
    return found


BLOCKS = {
    "catalog": catalog_block,
    "models": models_block,
    "classifiers": classifiers_block,
    "benchmarks": benchmarks_block,
    "long-range-memory": long_range_memory_block,
    "curves": curves_block,
    "forecasting": forecasting_block,
    "edge": edge_block,
}


def rewrite(text: str) -> str:
    """``text`` with every marked block rendered afresh (``KeyError`` for an unknown one)."""
    made = {}

    def fill(match):
        name = match["name"]
        if name not in BLOCKS:
            raise KeyError(f"<!-- results:{name} --> names no block; known: {', '.join(BLOCKS)}")
        made.setdefault(name, BLOCKS[name]())
        return match[1] + made[name] + match[4]

    return MARKED.sub(fill, text)


def pages(root) -> list[Path]:
    return sorted({p for pattern in PAGES for p in Path(root).glob(pattern)})


def draw_charts(directory) -> list[Path]:
    """The classifier and language-model comparisons and the learning curves, as PNGs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    drawn = []

    def save(fig, name):
        fig.tight_layout()
        fig.savefig(directory / name, dpi=100)
        plt.close(fig)
        drawn.append(directory / name)

    models = [m for m in results.names() if _accuracies(m)]
    if models:
        sets = list(dict.fromkeys(s for m in models for s in _accuracies(m)))
        fig, ax = plt.subplots(figsize=(7, 3.5))
        width = 0.8 / (len(models) + 1)
        for i, model in enumerate([*models, "NBSVM"]):
            values = []
            for name in sets:
                f = next((_accuracies(m)[name] for m in models if name in _accuracies(m)), None)
                own = _accuracies(model).get(name) if model != "NBSVM" else None
                values.append(own.value if own else f.baseline.get("value", 0) if f else 0)
            ax.bar([x + i * width for x in range(len(sets))], values, width, label=model)
        ax.set_xticks([x + width * len(models) / 2 for x in range(len(sets))], sets)
        lows = [f.baseline.get("value", f.value) for m in models for f in _accuracies(m).values()]
        ax.set_ylim(min(lows) - 0.05, 1.0)
        ax.set_ylabel("test accuracy")
        ax.legend(fontsize=8, ncol=len(models) + 1, loc="upper right")
        save(fig, "classifiers.png")

    language = [
        m
        for m in results.names()
        if any(f.metric in ("carried_loss", "perplexity") for f in results.figures(m))
    ]
    if language:
        fig, axes = plt.subplots(1, len(language), figsize=(4 * len(language), 3.5))
        for ax, model in zip(axes if len(language) > 1 else [axes], language):
            labels, values, colors = [], [], []
            for f in results.figures(model):
                labels.append(f"{NAMES.get(f.metric, f.metric)}\n{f.split}")
                values.append(f.value)
                colors.append("C0")
                if f.baseline:
                    labels.append(f"{f.baseline['name']}\n{f.split}")
                    values.append(f.baseline["value"])
                    colors.append("C1")
            ax.barh(labels, values, color=colors)
            ax.set_xlim(min(values) * 0.9, max(values) * 1.02)
            ax.set_title(model, fontsize=10)
            ax.tick_params(labelsize=7)
        save(fig, "language_models.png")

    forecasts = _forecasts()
    if forecasts:
        fig, axes = plt.subplots(1, len(forecasts), figsize=(4.5 * len(forecasts), 3.2))
        for ax, (series, by_model) in zip(
            axes if len(forecasts) > 1 else [axes], forecasts.items()
        ):
            for model, by_horizon in by_model.items():
                horizons = sorted(h for h in by_horizon if "mse" in by_horizon[h])
                ax.plot(horizons, [by_horizon[h]["mse"] for h in horizons], "o-", label=model)
            ax.set_xlabel("horizon (steps)")
            ax.set_ylabel("test MSE (standardised)")
            ax.set_title(series, fontsize=10)
            ax.legend(fontsize=8)
        save(fig, "forecasting.png")

    for model, (data, history) in _histories().items():
        fig, ax = plt.subplots(figsize=(5, 3))
        for key in ("loss", "val_loss"):
            if key in history:
                ax.plot(range(1, len(history[key]) + 1), history[key], label=key)
        ax.set_xlabel("epoch")
        ax.set_title(f"{model} on {data}", fontsize=10)
        ax.legend(fontsize=8)
        save(fig, f"curves_{model}.png")
    return drawn


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m zoo.results", description=__doc__)
    parser.add_argument("--root", default=".", help="the clone's root (default: here)")
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a page is out of date"
    )
    args = parser.parse_args(argv)
    stale = []
    for page in pages(args.root):
        text = page.read_text(encoding="utf-8")
        fresh = rewrite(text)
        if fresh != text:
            stale.append(page)
            if not args.check:
                page.write_text(fresh, encoding="utf-8")
    if not args.check:
        for path in draw_charts(Path(args.root) / CHARTS):
            print(f"drawn: {path}")
    for page in stale:
        print(f"{'out of date' if args.check else 'rewritten'}: {page}")
    return 1 if args.check and stale else 0
