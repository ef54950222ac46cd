"""What a run leaves beside its checkpoints: ``metrics.json``, ``config.json``, ``curves.png``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from zoo.atomic import replace_text


def data_source(config) -> dict:
    """What the run read: the user's files when given (the tfds ``dataset`` goes unused
    then, so it is not named), else the tfds dataset."""
    if config.train_file is not None:
        return {"dataset": "files", "train_file": config.train_file, "eval_file": config.eval_file}
    return {"dataset": config.dataset}


def recorded_config(config) -> dict:
    """The config as written beside a run and an export, naming the data it read."""
    return {**dataclasses.asdict(config), "dataset": data_source(config)["dataset"]}


def write_reports(run_dir: Path, config, metrics: dict) -> None:
    """The run's metrics, its config (naming the data it read) and its learning curves;
    each JSON file is replaced whole, never left half written."""
    replace_text(run_dir / "metrics.json", json.dumps(metrics, indent=2, default=str))
    replace_text(run_dir / "config.json", json.dumps(recorded_config(config), indent=2))
    plot_curves(metrics["history"], run_dir / "curves.png", title=config.model)


def plot_curves(history: dict, path: Path, title: str) -> None:
    """Training and validation curves, one panel per metric, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [k for k in history if not k.startswith("val_") and k != "learning_rate"]
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.5), squeeze=False)
    for ax, name in zip(axes[0], names):
        epochs = range(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], marker="o", label="train")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], marker="o", label="validation")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
