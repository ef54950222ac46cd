"""What TF Serving's APIs do, whichever protocol asks: predict, classify, regress, status,
metadata; REST (``rest.py``) and gRPC (``grpc_api.py``) only translate requests and answers.

Predict runs any signature on named inputs, every input given. Classify and Regress run
signatures of their method (``tensorflow/serving/classify``, ``.../regress``) on
``tf.Example``s, each merged with the request's context, as TF Serving does; a
signature of another method is refused with TF Serving's message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zoo.layout import CLASSIFY_METHOD, REGRESS_METHOD
from zoo.serving.metrics import Metrics
from zoo.serving.store import ModelStore

if TYPE_CHECKING:
    from zoo.serving.predictor import Predictor

DEFAULT_SIGNATURE = "serving_default"


class Service:
    """A model store behind TF Serving's API, with optional batching and metrics."""

    def __init__(self, store: ModelStore, batcher=None, metrics: Metrics | None = None):
        self.store, self.batcher = store, batcher
        self.metrics = metrics or Metrics()

    # Each call answers with the predictor (model version) that ran it beside its result: a
    # new version may land meanwhile, and the answer must name the one that answered.

    def predict(
        self, spec: dict, signature: str, inputs: dict, entrypoint: str, predictor=None
    ) -> tuple[Predictor, dict]:
        """``(predictor, outputs)``: ``signature`` on ``inputs`` (plain values), outputs as
        numpy arrays, run by ``predictor`` (default: the store's for ``spec``)."""
        signature = signature or DEFAULT_SIGNATURE
        with self.metrics.request(spec["name"], signature, "predict", entrypoint):
            if predictor is None:
                predictor = self.store.get(**spec)
            tensors = predictor.tensors(signature, inputs, defaults=False)
            return predictor, self._call(spec["name"], predictor, signature, tensors, "predict")

    def classify(
        self, spec: dict, signature: str, examples: list[bytes], entrypoint: str
    ) -> tuple[Predictor, list[list[tuple[str, float]]]]:
        """``(predictor, rows)``: per serialized example, ``(label, score)`` of every class."""
        predictor, out = self._on_examples(spec, signature, examples, entrypoint, "classify")
        classes, scores = out.get("classes"), out.get("scores")
        rows, columns = (scores if scores is not None else classes).shape
        return predictor, [
            [
                (
                    str(classes[i, j]) if classes is not None else "",
                    float(scores[i, j]) if scores is not None else 0.0,
                )
                for j in range(columns)
            ]
            for i in range(rows)
        ]

    def regress(
        self, spec: dict, signature: str, examples: list[bytes], entrypoint: str
    ) -> tuple[Predictor, list[float]]:
        """``(predictor, values)``: per serialized example, the regression signature's value."""
        predictor, out = self._on_examples(spec, signature, examples, entrypoint, "regress")
        return predictor, [float(v) for v in out["outputs"].reshape(-1)]

    def _on_examples(self, spec, signature, examples, entrypoint, api):
        """``(predictor, outputs)`` of a classify or regress signature on serialized examples."""
        signature = signature or DEFAULT_SIGNATURE
        method, kind = {
            "classify": (CLASSIFY_METHOD, "classification"),
            "regress": (REGRESS_METHOD, "regression"),
        }[api]
        with self.metrics.request(spec["name"], signature, api, entrypoint):
            predictor = self.store.get(**spec)
            if signature not in predictor.signatures:
                raise ValueError(f"No signature was found with the name: {signature}")
            found = predictor.method_name(signature)
            if found != method:
                raise ValueError(
                    f"Expected {kind} signature method_name to be {method}. Was: {found}"
                )
            specs = predictor.input_specs(signature)
            if len(specs) != 1:
                raise ValueError("Expected one input Tensor.")
            tensors = predictor.tensors(signature, {next(iter(specs)): examples}, defaults=False)
            return predictor, self._call(spec["name"], predictor, signature, tensors, api)

    def _call(self, model, predictor, signature, tensors, api):
        with self.metrics.runtime(model, signature, api):
            if self.batcher is None:
                return predictor.call(signature, tensors)
            return self.batcher.call(predictor, signature, tensors)


def example_from_json(features, where: str = "Example"):
    """A ``tf.train.Example`` from TF Serving's JSON form of one, by its rules: a feature
    is a value or a list of values, strings and ``{"b64": ...}`` are bytes, whole numbers
    and booleans int64, decimals float, one kind per feature; ``ValueError`` otherwise,
    with TF Serving's messages."""
    from tensorflow.core.example import example_pb2

    from zoo.serving.predictor import decode_b64

    if not isinstance(features, dict):
        raise ValueError(f"{where} must be JSON object but got JSON {_json_type(features)}")
    example = example_pb2.Example()
    for name, content in features.items():
        feature = example.features.feature[name]
        for value in content if isinstance(content, list) else [content]:
            if isinstance(value, (bool, int)):
                kind, item = "int64_list", int(value)
                if not -(2**63) <= item < 2**63:
                    raise ValueError(
                        f"Feature: {name} has uint64_t element. Only int64_t is supported."
                    )
            elif isinstance(value, float):
                kind, item = "float_list", value
            elif isinstance(value, str):
                kind, item = "bytes_list", value.encode("utf-8", "surrogatepass")
            elif isinstance(value, dict) and set(value) == {"b64"}:
                kind, item = (
                    "bytes_list",
                    decode_b64(value["b64"], f"Feature: {name} has an invalid b64 value"),
                )
            else:
                raise ValueError(
                    f"Feature: {name} has element with unexpected JSON type: {_json_type(value)}"
                )
            present = feature.WhichOneof("kind")
            if present not in (None, kind):
                raise ValueError(
                    f"Unexpected element type in feature: {name} expecting "
                    f"type: {present.split('_')[0]}"
                )
            getattr(feature, kind).value.append(item)
    return example


def _json_type(value) -> str:
    return {dict: "Object", list: "Array", str: "String", bool: "Boolean", type(None): "Null"}.get(
        type(value), "Number"
    )


def merged(example, context):
    """``example`` with the context's features added, as TF Serving merges them."""
    if context is None:
        return example
    out = type(example)()
    out.CopyFrom(context)
    out.MergeFrom(example)
    return out
