"""An export directory as exports write it and servers read it: a model directory of integer
version directories (``saved_models/<model>/<version>/``), and the method names TF Serving
gives signatures of its classify and regress APIs."""

from __future__ import annotations

from pathlib import Path

CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"


def versions(model_dir) -> list[int]:
    """The integer versions present in a model directory, ascending (dot-names skipped)."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())
