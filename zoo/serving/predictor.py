"""One loaded export as a Python object: ``load`` and ``Predictor``.

    >>> predictor = zoo.load("saved_models/sentiment_lstm")   # highest version
    >>> predictor.predict(["a fine film"])["label"]

TensorFlow is imported when an export is loaded, not with this module.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from zoo.layout import versions


def load(path) -> Predictor:
    """A model directory (its highest integer version) or one version directory -> ``Predictor``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if (path / "saved_model.pb").exists():
        return Predictor(path)
    found = versions(path)
    if not found:
        raise FileNotFoundError(
            f"{path} holds no version directories (1/, 2/, ...) and no saved_model.pb"
        )
    return Predictor(path / str(found[-1]))


class Predictor:
    """One loaded export version: its signatures, model card and metadata.

    ``run(signature, inputs)`` is the general call, shared with the REST server;
    ``predict``, ``next_words``, ``generate`` and ``reply`` are conveniences per task.
    """

    def __init__(self, path):
        import tensorflow as tf

        self.path = Path(path)
        _check_export(self.path)
        assets = self.path / "assets"
        self.card = _read_json(assets / "model_card.json")
        self.config = _read_json(assets / "config.json")
        self.metadata = {
            "config": self.config,
            "metrics": _read_json(assets / "metrics.json", missing={}),
            "labels": _read_json(assets / "labels.json"),
        }
        self.task = self.card["task"]
        self.version = int(self.path.name) if self.path.name.isdigit() else None
        self._saved = tf.saved_model.load(str(self.path))  # keeps the signatures' variables alive
        self.signatures = dict(self._saved.signatures)

    def __repr__(self):
        return f"Predictor({self.card['name']!r}, task={self.task!r}, path='{self.path}')"

    def input_specs(self, signature: str) -> dict:
        """``{input name: tf.TensorSpec}`` of a signature."""
        return self._signature(signature).structured_input_signature[1]

    def run(self, signature: str, inputs: dict, defaults: bool = True) -> dict:
        """Call a signature with plain Python values; returns numpy arrays (strings as ``str``,
        but as ``bytes`` in outputs whose names end in ``_bytes``).

        With ``defaults``, scalar inputs left out take the export's defaults; without
        (servers, as TF Serving), every input must be given. Wrong names, types, shapes
        and values rejected by the graph's own checks raise ``ValueError``.
        """
        return self.call(signature, self.tensors(signature, inputs, defaults))

    def tensors(self, signature: str, inputs: dict, defaults: bool = True) -> dict:
        """``run``'s first half: plain values checked and made the signature's tensors."""
        specs = self.input_specs(signature)
        given = dict(
            self.config.get("signature_defaults", {}).get(signature, {}) if defaults else {},
            **inputs,
        )
        if set(given) != set(specs):
            raise ValueError(_inputs_mismatch(inputs, specs))
        return {name: _to_tensor(name, given[name], spec) for name, spec in specs.items()}

    def call(self, signature: str, tensors: dict) -> dict:
        """``run``'s second half: the signature on tensors, its outputs as numpy arrays."""
        import tensorflow as tf

        try:
            outputs = self._signature(signature)(**tensors)
        except tf.errors.InvalidArgumentError as err:
            raise ValueError(_graph_error(err)) from None
        # Outputs named "*_bytes" hold binary strings (TF Serving's convention): kept as bytes.
        return {
            name: value.numpy() if name.endswith("_bytes") else _to_numpy(value)
            for name, value in outputs.items()
        }

    def run_arrays(self, signature: str, arrays: dict) -> dict:
        """A signature on numpy arrays as they are, checked by the graph alone: the quick
        path for clients that call often with arrays they made (``zoo.edge.Stream``)."""
        import tensorflow as tf

        return self.call(signature, {k: tf.convert_to_tensor(v) for k, v in arrays.items()})

    def method_name(self, signature: str) -> str:
        """A signature's method name (``tensorflow/serving/predict``, ``.../classify``)."""
        self._signature(signature)
        return self.signature_def_protos[signature].method_name

    def predict(self, texts) -> dict:
        """``serving_default`` on a batch of texts (or one text, as a batch of one)."""
        return self.run("serving_default", {"text": _batch(texts)})

    def forecast(self, history, covariates=None) -> dict:
        """A forecaster's ``serving_default``: ``history`` [B, T, C] (or one window [T, C])
        of raw values -> ``forecast`` (and ``quantiles``) in the same units."""
        import numpy as np

        history = np.asarray(history, dtype=np.float32)
        one = history.ndim == 2
        inputs = {"history": history[None] if one else history}
        if covariates is not None:
            covariates = np.asarray(covariates, dtype=np.float32)
            inputs["covariates"] = covariates[None] if one else covariates
        outputs = self.run("serving_default", inputs)
        return {name: value[0] for name, value in outputs.items()} if one else outputs

    def next_words(self, text, k: int | None = None):
        """The ``k`` likeliest next tokens as ``(token, probability)`` pairs (per text)."""
        self._need("next_words")
        out = self.run("next_words", _given(text=_batch(text), k=k))
        rows = [
            list(zip(t, map(float, p)))
            for t, p in zip(out["tokens"].tolist(), out["probabilities"])
        ]
        return rows[0] if isinstance(text, str) else rows

    def stream(self):
        """A ``zoo.edge.Stream`` over this language model: text fed piece by piece, each
        token read once (``step``), with ``next_words`` and ``generate`` from the state."""
        from zoo.edge import Stream

        return Stream(self)

    def generate(
        self,
        prompt,
        max_length: int | None = None,
        temperature: float | None = None,
        seed: int | None = None,
    ):
        """The prompt continued by ``max_length`` tokens (greedy at temperature 0)."""
        self._need("generate")
        out = self.run(
            "generate",
            _given(
                prompt=_batch(prompt), max_length=max_length, temperature=temperature, seed=seed
            ),
        )["text"].tolist()
        return out[0] if isinstance(prompt, str) else out

    def reply(self, text, temperature: float = 0.0, beam_width: int | None = None, seed: int = 0):
        """A chatbot reply: the export's default (``reply``: a beam of 4), a beam of
        ``beam_width`` (1 is greedy), or sampled at ``temperature`` > 0."""
        self._need("reply")
        if beam_width is not None and temperature:
            raise ValueError("use sampling (temperature > 0) or beam search (beam_width), not both")
        if beam_width is not None:
            out = self.run("reply_beam", {"text": _batch(text), "beam_width": beam_width})
        elif temperature:
            out = self.run(
                "reply_sampled", {"text": _batch(text), "temperature": temperature, "seed": seed}
            )
        else:
            out = self.run("reply", {"text": _batch(text)})
        replies = out["reply"].tolist()
        return replies[0] if isinstance(text, str) else replies

    @functools.cached_property
    def signature_def_protos(self) -> dict:
        """``{name: SignatureDef}`` of the export's meta graph, ``__saved_model_init_op`` included."""
        from tensorflow.core.protobuf import saved_model_pb2

        saved = saved_model_pb2.SavedModel()
        saved.ParseFromString((self.path / "saved_model.pb").read_bytes())
        return dict(saved.meta_graphs[0].signature_def)

    @functools.cached_property
    def signature_defs(self) -> dict:
        """Signature definitions as TF Serving's metadata endpoint prints them: proto field
        names, fields at their defaults too (``unknown_rank``, each dim's ``name``), and the
        ``__saved_model_init_op`` entry."""
        from google.protobuf import json_format

        return {
            name: json_format.MessageToDict(
                signature,
                preserving_proto_field_name=True,
                always_print_fields_with_no_presence=True,
            )
            for name, signature in self.signature_def_protos.items()
        }

    def _signature(self, name: str):
        if not isinstance(name, str) or name not in self.signatures:
            raise ValueError(
                f"unknown signature {name!r}; this export has {sorted(self.signatures)}"
            )
        return self.signatures[name]

    def _need(self, signature: str):
        if signature not in self.signatures:
            raise ValueError(
                f"{signature} needs an export with a {signature!r} signature; "
                f"{self.path} is a {self.task} export with {sorted(self.signatures)}"
            )


def _check_export(path: Path):
    if not (path / "saved_model.pb").is_file():
        raise FileNotFoundError(f"{path} has no saved_model.pb")
    if not (path / "variables" / "variables.index").is_file():
        raise FileNotFoundError(f"{path} is missing its variables (variables/variables.index)")
    for name in ("model_card.json", "config.json"):
        if not (path / "assets" / name).is_file():
            raise ValueError(f"{path} is a SavedModel but not a zoo export (no assets/{name})")


def _inputs_mismatch(inputs, specs) -> str:
    """TF Serving's message for a request whose input names differ from the signature's."""
    sent, wanted = sorted(inputs), sorted(specs)
    return (
        f"input size does not match signature: {len(sent)}!={len(wanted)} "
        f"len({{{','.join(sent)}}}) != len({{{','.join(wanted)}}}). "
        f"Sent extra: {{{','.join(sorted(set(sent) - set(wanted)))}}}. "
        f"Missing but required: {{{','.join(sorted(set(wanted) - set(sent)))}}}."
    )


def _read_json(path: Path, missing=None):
    """Parsed JSON, or ``missing`` where there is no file (``_check_export`` vouches for the rest)."""
    if not path.exists():
        return missing
    try:
        return json.loads(path.read_text())
    except ValueError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None


def _batch(texts) -> list:
    return [texts] if isinstance(texts, str) else list(texts)


def _given(**inputs) -> dict:
    """The inputs that were given; the rest take the export's defaults."""
    return {k: v for k, v in inputs.items() if v is not None}


def _to_tensor(name: str, value, spec):
    """A plain value -> tensor of ``spec``'s dtype and rank, or ``ValueError`` saying why not."""
    import tensorflow as tf

    if spec.shape.rank and spec.shape.rank > 1:  # a matrix (or more): equally long rows
        import numpy as np

        array = np.empty(0, dtype=object)
        if isinstance(value, (list, tuple, np.ndarray)) and len(value):
            array = np.array(value, dtype=object)
        if array.ndim != spec.shape.rank or not array.size:
            raise ValueError(
                f"{name!r} must be a non-empty {spec.shape.rank}-dimensional list whose rows "
                f"are equally long; got {_kind(value)}"
            )
        flat = _to_tensor(name, array.ravel().tolist(), tf.TensorSpec([None], spec.dtype))
        return tf.reshape(flat, array.shape)
    if spec.shape.rank == 1:
        if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy
            value = value.tolist()
        if not isinstance(value, (list, tuple)) or not value:
            raise ValueError(f"{name!r} must be a non-empty list; got {_kind(value)}")
        values = list(value)
    elif isinstance(value, (list, tuple, dict)):
        raise ValueError(f"{name!r} must be a single value; got {_kind(value)}")
    else:
        values = [value]
    for i, v in enumerate(values):
        where = f"{name!r}" + (f" item {i}" if spec.shape.rank == 1 else "")
        if spec.dtype == tf.string:
            if isinstance(v, dict):  # TF Serving's binary form: {"b64": "<base64>"}
                v = _from_b64(where, v)
            if not isinstance(v, (str, bytes)):
                raise ValueError(f'{where} must be a string or {{"b64": ...}}; got {_kind(v)}')
            try:
                values[i] = v.encode("utf-8") if isinstance(v, str) else v
            except UnicodeEncodeError:
                raise ValueError(f"{where} is not valid Unicode (a lone surrogate?)") from None
        elif spec.dtype.is_integer:
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(f"{where} must be an integer; got {_kind(v)}")
            if not spec.dtype.min <= v <= spec.dtype.max:
                raise ValueError(f"{where}={v} is out of range for {spec.dtype.name}")
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"{where} must be a number; got {_kind(v)}")
    return tf.constant(values if spec.shape.rank == 1 else values[0], dtype=spec.dtype)


def _from_b64(where: str, value: dict) -> bytes:
    """The bytes of TF Serving's ``{"b64": "<base64>"}`` form, or ``ValueError`` saying why not."""
    if set(value) != {"b64"} or not isinstance(value["b64"], str):
        raise ValueError(
            f'{where} must be a string or {{"b64": "<base64 string>"}}; got an '
            f"object with {sorted(value)}"
        )
    return decode_b64(value["b64"], f"{where}: the b64 value is not valid base64")


def decode_b64(text, error: str) -> bytes:
    """The bytes that TF Serving's ``{"b64": text}`` stands for; ``ValueError(error)`` where
    ``text`` is not base64."""
    import base64
    import binascii

    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise ValueError(error) from None


def _kind(value) -> str:
    return "null" if value is None else type(value).__name__


def _to_numpy(tensor):
    import numpy as np

    array = tensor.numpy()
    if array.dtype == object:  # tf.string: bytes -> str
        return np.vectorize(lambda b: b.decode("utf-8", "replace"), otypes=[object])(array)
    return array


def _graph_error(err) -> str:
    """The message of a failed in-graph check, without TensorFlow's node details."""
    found = re.search(r"assertion failed: \[(.*?)\](?: \[|\s*$)", err.message, re.MULTILINE)
    if found:  # the check's own message, the first of its bracketed parts
        return found.group(1)
    lines = [
        line.strip()
        for line in err.message.splitlines()
        if line.strip()
        and not line.startswith(("Graph execution error", "Detected at", "<stack traces"))
    ]
    return lines[0] if lines else "invalid input"
