"""Where and how a run computes: distribution strategy, precision policy, hardware."""

from __future__ import annotations

import contextlib
import os
import platform
import re
from pathlib import Path


def choose_strategy(distribute: str):
    """CPU or one GPU by default; MirroredStrategy over local GPUs; multi-worker from TF_CONFIG."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if distribute == "multiworker":
        from zoo.training.multiworker import patch_keras

        if "TF_CONFIG" not in os.environ:
            raise ValueError("distribute='multiworker' needs the TF_CONFIG environment variable")
        strategy = tf.distribute.MultiWorkerMirroredStrategy()  # before any other op runs
        patch_keras()
    elif distribute == "mirrored" or (distribute == "auto" and len(gpus) > 1):
        strategy = tf.distribute.MirroredStrategy()
    else:
        strategy = tf.distribute.get_strategy()
    devices = ", ".join(d.name for d in gpus) or "CPU"
    print(
        f"devices: {devices}; strategy: {type(strategy).__name__} "
        f"({strategy.num_replicas_in_sync} replica(s))",
        flush=True,
    )
    return strategy


def choose_precision(precision: str) -> str:
    """The Keras dtype policy for a ``precision`` setting.

    ``auto`` is ``mixed_bfloat16`` where there is no GPU and the CPU computes bfloat16
    natively (AVX512-BF16 or AMX): float32 weights, bfloat16 math, about 1.5x the LSTM
    training throughput (``benchmarks/lm_throughput.py``) and no loss scaling, since
    bfloat16 keeps float32's range. Elsewhere ``auto`` is float32.
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if precision == "mixed_float16" and not gpus:
        raise ValueError(
            "precision='mixed_float16' needs a GPU and none is visible; "
            "use 'mixed_bfloat16' or 'float32'"
        )
    if precision != "auto":
        return precision
    return "mixed_bfloat16" if not gpus and cpu_has_bfloat16() else "float32"


def cpu_has_bfloat16() -> bool:
    """Whether this CPU has bfloat16 instructions (Linux's /proc/cpuinfo flags)."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return re.search(r"\b(avx512_bf16|amx_bf16)\b", cpuinfo) is not None


@contextlib.contextmanager
def precision_policy(precision: str):
    """Keras's global dtype policy set for one run and restored after it."""
    import keras

    policy = choose_precision(precision)
    previous = keras.config.dtype_policy()
    print(f"precision: {policy}", flush=True)
    keras.config.set_dtype_policy(policy)
    try:
        yield policy
    finally:
        keras.config.set_dtype_policy(previous)


def hardware() -> str:
    import tensorflow as tf

    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return (
        f"{os.cpu_count()} CPU cores ({platform.machine()}), "
        f"{'GPU: ' + ', '.join(gpus) if gpus else 'no GPU'}, TensorFlow {tf.__version__}"
    )
