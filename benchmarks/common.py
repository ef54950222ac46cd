"""Helpers shared by the benchmarks: describe the machine, report the figures."""

from __future__ import annotations

import platform


def print_machine() -> None:
    """Print cores, CPU model, accelerators and the TensorFlow/Keras versions."""
    import tensorflow as tf  # noqa: F401  (imported first, so the GPUs are counted)

    from zoo.results import library_versions, machine

    versions = library_versions()
    print(f"machine: {machine()}, Python {platform.python_version()}")
    print(f"versions: TensorFlow {versions['tensorflow']}, Keras {versions['keras']}")


def add_record_flag(parser) -> None:
    parser.add_argument(
        "--record",
        action="store_true",
        help="also write the figures to zoo/results/ (the documentation's "
        "tables and the model cards read them)",
    )


def report(figures: dict, record: str | None = None, data: str = "") -> None:
    """Print one ``name: value`` line per figure (floats to 4 significant digits); with
    ``record``, a benchmark's name, also write the numeric ones to its results file."""
    for name, value in figures.items():
        shown = f"{value:.4g}" if isinstance(value, float) else value
        print(f"{name}: {shown}")
    if record:
        from zoo.results import Figure
        from zoo.results import record as write

        path = write(
            record,
            [
                Figure(metric=name, value=float(value), data=data, split="")
                for name, value in figures.items()
                if isinstance(value, (int, float)) and not isinstance(value, bool)
            ],
            kind="benchmarks",
        )
        print(f"recorded: {path}")


def record_model(model: str, figures: list) -> None:
    """Write a model's figures (``zoo.results.Figure``s) to its results file."""
    from zoo.results import record

    print(f"recorded: {record(model, figures)}")
