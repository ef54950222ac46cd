"""Helpers shared by the benchmarks: describe the machine, report the figures."""

from __future__ import annotations

import os
import platform


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def print_machine() -> None:
    """Print cores, CPU model, accelerators and the TensorFlow/Keras versions."""
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    print(f"machine: {_cores()} cores, {_cpu_model()}, "
          f"{len(gpus)} GPU(s), Python {platform.python_version()}")
    print(f"versions: TensorFlow {tf.__version__}, Keras {keras.__version__}")


def report(figures: dict) -> None:
    """Print one ``name: value`` line per figure (floats to 4 significant digits)."""
    for name, value in figures.items():
        shown = f"{value:.4g}" if isinstance(value, float) else value
        print(f"{name}: {shown}")
