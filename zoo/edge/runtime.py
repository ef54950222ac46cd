"""A converted folder loaded in its own runtime: ``load(path)`` -> ``EdgeModel``.

LiteRT files run in ``ai_edge_litert``'s interpreter, ONNX files in ONNX Runtime; neither
needs TensorFlow. ``EdgeModel.run(signature, inputs)`` takes and gives numpy arrays under
the signature's own names, as ``zoo.serving.Predictor.run`` does for the SavedModel.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def load(path) -> EdgeModel:
    """A folder written by ``zoo.edge.convert`` (``edge.json`` beside the model files)."""
    path = Path(path)
    if not (path / "edge.json").is_file():
        raise FileNotFoundError(
            f"{path} has no edge.json; convert an export first: zoo export EXPORT_DIR "
            "--format litert|onnx"
        )
    return EdgeModel(path)


class EdgeModel:
    """One converted export: ``run`` its signatures; ``tokenizer`` makes their ids."""

    def __init__(self, path):
        from zoo.edge.convert import need
        from zoo.edge.tokenizer import Tokenizer

        self.path = Path(path)
        self.edge = json.loads((self.path / "edge.json").read_text())
        self.config = json.loads((self.path / "config.json").read_text())
        self.format = self.edge["format"]
        self.signatures = self.edge["signatures"]
        self.tokenizer = Tokenizer.from_folder(self.path)
        labels = self.path / "labels.json"
        self.labels = json.loads(labels.read_text()) if labels.exists() else None
        if self.format == "litert":
            Interpreter = need("ai_edge_litert.interpreter").Interpreter
            self._interpreter = Interpreter(model_path=str(self.path / "model.tflite"))
            self._runners = {n: self._interpreter.get_signature_runner(n) for n in self.signatures}
        else:
            onnxruntime = need("onnxruntime")
            options = onnxruntime.SessionOptions()
            options.log_severity_level = 3  # warnings about unused initializers are noise
            self._sessions = {
                n: onnxruntime.InferenceSession(
                    str(self.path / f"{n}.onnx"), options, providers=["CPUExecutionProvider"]
                )
                for n in self.signatures
            }

    def __repr__(self):
        return f"EdgeModel({self.config['name']!r}, format={self.format!r}, path='{self.path}')"

    def run_arrays(self, signature: str, inputs: dict) -> dict:
        """``run``, the name ``Stream`` calls on a SavedModel's ``Predictor`` and here alike."""
        return self.run(signature, inputs)

    def run(self, signature: str, inputs: dict) -> dict:
        """The signature on numpy arrays (cast to its dtypes) -> ``{output name: array}``."""
        if signature not in self.signatures:
            raise ValueError(
                f"unknown signature {signature!r}; this file has {sorted(self.signatures)}"
            )
        wanted = self.signatures[signature]["inputs"]
        if set(inputs) != set(wanted):
            raise ValueError(f"{signature} takes {sorted(wanted)}; got {sorted(inputs)}")
        arrays = {k: np.asarray(v, dtype=wanted[k][0]) for k, v in inputs.items()}
        if self.format == "litert":
            return dict(self._runners[signature](**arrays))
        session = self._sessions[signature]
        names = [o.name for o in session.get_outputs()]
        return dict(zip(names, session.run(names, arrays)))
