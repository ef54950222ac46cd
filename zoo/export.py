"""Versioned, atomic SavedModel exports that take raw strings.

``export_model`` writes ``<base_dir>/<name>/<version>/``, the layout TensorFlow Serving
reads. Each export wraps the trained ``TextVectorization`` layers around a portable twin
of the model (rebuilt with ``use_cudnn=False``, so no CudnnRNN op is baked in and an
export made on a GPU loads on a CPU-only server), and adds the endpoints of the model's
task (``Task.endpoints``; each task's ``signatures`` module, or ``task`` module, says
what they take and give).

Text inputs are batches of strings (``[None]``); the other inputs are scalars shared by
the batch. TensorFlow Serving's row format (``"instances"``) needs every input batched,
so signatures with scalars are called in the columnar format
(``{"inputs": {"prompt": [...], "max_length": 50, ...}}``), every input given, by TF
Serving and ``zoo serve`` alike; ``Predictor`` fills scalars left out from the defaults
recorded in ``assets/config.json``.

Decoding runs inside the graph (``tf.while_loop``s, one recurrent cell call per token);
out-of-range settings fail in-graph checks (``InvalidArgumentError`` naming the setting).

``assets/`` holds ``model_card.json``, ``config.json`` (settings, recipe config, limits,
signature defaults), ``vocabulary.json`` (per vectorizer), ``metrics.json`` and, for
classifiers, ``labels.json``: copying a version directory copies its metadata.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import shutil
import tempfile
from pathlib import Path

from zoo.atomic import sync_tree
from zoo.checks import check_int
from zoo.layout import versions
from zoo.registry import build, model_card
from zoo.tasks import task_of

DEFAULT_MAX_LENGTH = 256


def export_model(
    model,
    *,
    name: str,
    settings: dict,
    vectorizers: dict,
    labels=None,
    config=None,
    metrics=None,
    base_dir="saved_models",
    version: int | None = None,
    max_length: int | None = None,
    portable: bool = False,
) -> Path:
    """Export ``model`` with its vectorizers as ``<base_dir>/<name>/<version>/``; return that path.

    ``settings`` are the builder overrides ``model`` was built with (they rebuild the
    portable twin). ``vectorizers``, ``labels`` follow ``zoo.data.TaskData``. ``version``
    defaults to the next free integer; an existing version is a ``ValueError``.
    ``max_length`` caps the tokens read from each input text (classifiers and chatbot keep
    the first ones, language models the last ones) and the tokens of a chatbot reply.
    ``portable``: ``model`` is already its portable float32 twin (``portable_twin``), as
    training passes it; otherwise the twin is built here.

    The SavedModel is written to a dot-prefixed directory beside its final place, flushed
    and renamed into place, so a crash never leaves a partial version (servers skip dot
    names). Built with ``keras.export.ExportArchive``, which tracks the vectorizers' lookup
    tables and makes each endpoint a signature with named inputs and outputs; it traces
    without autograph, hence the explicit ``tf.while_loop``s.
    """
    import keras

    from zoo.tasks.common import vocabulary

    task = task_of(name)
    if max_length is None:
        max_length = DEFAULT_MAX_LENGTH
    max_length = check_int("max_length", max_length, 1)
    model_dir = Path(base_dir) / name
    version = _free_version(model_dir, version)

    twin = model if portable else portable_twin(model, name, settings)
    endpoints, details = task.endpoints(twin, vectorizers, labels, max_length)
    labels = details.pop("labels", None)
    if "edge" in details:  # what zoo.edge.tokenizer needs to reproduce each vectorizer
        details["edge"] = {
            **details["edge"],
            "vectorizers": {
                key: _vectorizer_settings(v)
                for key, v in vectorizers.items()
                if hasattr(v, "get_vocabulary")
            },
        }
    method_names = details.pop("method_names", {})
    archive = keras.export.ExportArchive()
    archive.track(twin)
    for vectorizer in vectorizers.values():
        if (
            not vectorizer.built
        ):  # adapt() leaves a TextVectorization unbuilt; track() wants it built
            vectorizer.build(None)
        archive.track(vectorizer)  # its lookup table
    for endpoint, (fn, specs) in endpoints.items():
        archive.add_endpoint(endpoint, fn, input_signature=specs)

    assets = {
        "model_card.json": model_card(name).to_dict(),
        "config.json": {
            "name": name,
            "task": task.name,
            "version": version,
            "settings": settings,
            "recipe_config": _plain(config),
            "max_length": max_length,
            **details,
            "signature_defaults": {
                k: v for k, v in task.signature_defaults.items() if k in endpoints
            },
            "exported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "versions": _library_versions(),
        },
        "vocabulary.json": {
            key: vocabulary(v) for key, v in vectorizers.items() if hasattr(v, "get_vocabulary")
        },
        "metrics.json": _plain(metrics) or {},
    }
    if labels is not None:
        assets["labels.json"] = labels

    model_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{version}.partial-", dir=model_dir))
    try:
        os.chmod(staging, 0o755)  # mkdtemp makes it private; servers may run as another user
        archive.write_out(str(staging), verbose=False)
        _set_method_names(staging / "saved_model.pb", method_names)
        (staging / "assets").mkdir(exist_ok=True)
        for filename, content in assets.items():
            (staging / "assets" / filename).write_text(json.dumps(content, indent=2, default=str))
        sync_tree(staging)
        final = model_dir / str(version)
        if final.exists():
            raise ValueError(f"{final} appeared while exporting; nothing was overwritten")
        os.rename(staging, final)
        sync_tree(model_dir, recursive=False)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def _set_method_names(saved_model_pb: Path, method_names: dict) -> None:
    """Give signatures TF Serving's method names (``tensorflow/serving/classify``, ...).

    ``tf.saved_model.save`` marks every signature as a prediction; TF Serving's
    Classify and Regress APIs only run signatures marked as theirs.
    """
    if not method_names:
        return
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString(saved_model_pb.read_bytes())
    for meta_graph in saved.meta_graphs:
        for name, method in method_names.items():
            if name in meta_graph.signature_def:
                meta_graph.signature_def[name].method_name = method
    saved_model_pb.write_bytes(saved.SerializeToString())


def portable_twin(model, name: str, settings: dict, compile: bool = False):
    """``model`` rebuilt with ``use_cudnn=False`` in float32, with the same weights.

    The twin's graph has no CudnnRNN ops and no float16 compute (mixed precision keeps
    float32 weights), so it runs on any CPU server.
    """
    import keras

    settings = {k: v for k, v in settings.items() if k not in ("use_cudnn", "compile")}
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        twin = build(name, **settings, use_cudnn=False, compile=compile)
    finally:
        keras.config.set_dtype_policy(policy)
    try:
        twin.set_weights(model.get_weights())
    except ValueError as err:
        raise ValueError(f"settings {settings} do not rebuild the exported model: {err}") from err
    return twin


def _vectorizer_settings(layer) -> dict:
    """A vectorizer's standardization (by name) and split; a plain lookup has neither."""
    config = layer.get_config()
    standardize = config.get("standardize")
    return {
        "standardize": getattr(standardize, "__name__", standardize),
        "split": config.get("split"),
    }


def _free_version(model_dir: Path, version) -> int:
    present = versions(model_dir)
    if version is None:
        return (present[-1] + 1) if present else 1
    version = check_int("version", version, 1)
    if version in present:
        raise ValueError(f"{model_dir / str(version)} already exists; pick another version")
    return version


# ---------------------------------------------------------------- plain-data helpers


def _plain(value):
    """Configs may be dataclasses; everything in assets is plain JSON."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def _library_versions() -> dict:
    from importlib.metadata import version

    return {name: version(name) for name in ("tensorflow", "keras", "zoo")}
