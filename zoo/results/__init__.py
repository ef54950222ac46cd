"""Measured figures as data: one JSON file per model and per benchmark, written by the code
that measured them.

``models/<model>.json`` holds a model's figures, each with the data and split it was
measured on, the baseline measured beside it, the command that reproduces it, the hardware,
the library versions and the date; recipes write there with ``--record`` and the benchmarks
that train a model with ``--record`` too. ``benchmarks/<name>.json`` holds a benchmark's
other figures (speeds, ratios). Model cards (``zoo.cards``), ``zoo list`` and the tables of
the documentation read these files (``python -m zoo.results`` rewrites the tables); nothing
types a figure twice.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import shlex
import sys
from pathlib import Path

from zoo.atomic import replace_text

RESULTS_DIR = Path(__file__).parent
KINDS = ("models", "benchmarks")


@dataclasses.dataclass(frozen=True)
class Figure:
    """One measured figure and what it takes to measure it again.

    ``(metric, data, split)`` names it: a newer figure of the same name replaces it.
    ``baseline`` is ``{"name": ..., "value": ...}`` measured on the same split;
    ``detail`` holds what explains the figure (seeds and spread, epochs, training time,
    per-epoch history).
    """

    metric: str
    value: float
    data: str
    split: str = "test"
    command: str = ""
    hardware: str = ""
    versions: dict = dataclasses.field(default_factory=dict)
    date: str = ""
    baseline: dict = dataclasses.field(default_factory=dict)
    detail: dict = dataclasses.field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.metric, self.data, self.split


def path_of(name: str, kind: str = "models", directory=None) -> Path:
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r}; expected one of {', '.join(KINDS)}")
    return Path(directory or RESULTS_DIR) / kind / f"{name}.json"


def figures(name: str, kind: str = "models", directory=None) -> list[Figure]:
    """The recorded figures of a model (or a benchmark), in their file's order; [] if none."""
    path = path_of(name, kind, directory)
    if not path.exists():
        return []
    return [Figure(**f) for f in json.loads(path.read_text(encoding="utf-8"))["figures"]]


def names(kind: str = "models", directory=None) -> list[str]:
    """The models (or benchmarks) with a results file, sorted."""
    return sorted(p.stem for p in (Path(directory or RESULTS_DIR) / kind).glob("*.json"))


def record(name: str, new: list[Figure], kind: str = "models", directory=None) -> Path:
    """Add ``new`` figures to ``name``'s file, each replacing the one of its key, atomically.

    Fields left empty are filled in: the command (this process's), the hardware, the
    library versions and today's date.
    """
    stamp = {
        "command": command(),
        "hardware": machine(),
        "versions": library_versions(),
        "date": datetime.date.today().isoformat(),
    }
    new = [
        dataclasses.replace(f, **{k: v for k, v in stamp.items() if not getattr(f, k)}) for f in new
    ]
    keys = {f.key for f in new}
    kept = [f for f in figures(name, kind, directory) if f.key not in keys]
    path = path_of(name, kind, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"name": name, "figures": [dataclasses.asdict(f) for f in kept + new]}
    replace_text(path, json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    return path


def command() -> str:
    """How this process was started, as a shell command line."""
    program = Path(sys.argv[0])
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:  # python -m package.module (or package/__main__.py)
        start = ["python", "-m", spec.name.removesuffix(".__main__")]
    else:
        start = [program.name if program.name == "zoo" else str(program)]
    return shlex.join(start + sys.argv[1:])


def machine() -> str:
    """Cores, CPU model and GPUs of this machine, e.g. ``2 cores (AMD EPYC 7B13), no GPU``."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu
            )
    except OSError:
        pass
    gpus = []
    if "tensorflow" in sys.modules:  # never imported only to ask
        gpus = sys.modules["tensorflow"].config.list_physical_devices("GPU")
    return f"{cores} cores ({cpu}), {len(gpus) or 'no'} GPU{'s' if len(gpus) > 1 else ''}"


def library_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("tensorflow", "keras", "zoo"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            pass
    return found


def summary(name: str, metrics=(), directory=None, limit: int | None = None) -> str:
    """A model's figures (those of ``metrics``, or all) in one line, by metric: ``accuracy:
    subj 0.9247 (NBSVM 0.9150), cr ...``; a split other than test is named after the data.
    ``limit``: at most that many figures a metric, then how many more. Empty where nothing
    is recorded."""
    groups: dict[str, list[str]] = {metric: [] for metric in metrics}
    for f in figures(name, directory=directory):
        if metrics and f.metric not in metrics:
            continue
        shown = f"{f.data}{'' if f.split == 'test' else ' ' + f.split} {f.value:#.4g}"
        if f.baseline:
            shown += f" ({f.baseline['name']} {f.baseline['value']:#.4g})"
        groups.setdefault(f.metric, []).append(shown)
    if limit is not None:
        groups = {
            metric: items[:limit] + ([f"{len(items) - limit} more"] if len(items) > limit else [])
            for metric, items in groups.items()
        }
    return "; ".join(f"{metric}: {', '.join(items)}" for metric, items in groups.items() if items)
