"""A zoo export converted to LiteRT or ONNX: ``convert(export_dir, "litert"|"onnx")``.

The converted files hold the export's numeric signatures (``assets/config.json``'s
``edge.signatures``: ids in, probabilities and states out; a forecaster's whole
``serving_default``), converted from the SavedModel as Keras' own ``model.export(format=
...)`` converts a model: ``tf.lite.TFLiteConverter.from_saved_model`` with built-in ops
only (no Select TF ops: no model needs them), and ``tf2onnx``. Text goes through
``zoo.edge.tokenizer``, which reproduces the export's own vectorizers in plain Python.

Written to ``<export_dir>/<format>[-<quantize>]/`` (or ``output``), beside the SavedModel
and atomically (a staging folder renamed into place): ``model.tflite`` (every signature)
or ``<signature>.onnx`` (one graph each), with ``config.json``, ``model_card.json``,
``vocabulary.json`` and ``labels.json`` copied from ``assets/`` and ``edge.json`` (the
format, quantisation and each signature's inputs and outputs).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from zoo.atomic import sync_tree
from zoo.checks import check_choice
from zoo.layout import versions

FORMATS = ("litert", "onnx")
QUANTIZATIONS = {"litert": ("dynamic", "float16"), "onnx": ("dynamic",)}
ONNX_OPSET = 17
PACKAGES = {
    "ai_edge_litert.interpreter": "ai-edge-litert",
    "onnxruntime": "onnxruntime",
    "tf2onnx": "tf2onnx",
    "onnx": "onnx",
    "farmhash": "pyfarmhash",
    "regex": "regex",
}
COPIED_ASSETS = ("config.json", "model_card.json", "vocabulary.json", "labels.json")


def convert(export_dir, format: str, quantize: str | None = None, output=None) -> Path:
    """Convert the export at ``export_dir`` (one version directory, or a model directory:
    its highest version) and return the folder written.

    ``quantize``: ``dynamic`` (weights stored as int8, LiteRT's dynamic-range quantisation
    and ONNX Runtime's ``quantize_dynamic``) or ``float16`` (LiteRT only). An existing
    output folder is a ``ValueError``; nothing is overwritten.
    """
    check_choice("format", format, FORMATS)
    if quantize is not None:
        check_choice("quantize", quantize, QUANTIZATIONS[format])
    export_dir = Path(export_dir)
    if not (export_dir / "saved_model.pb").exists() and versions(export_dir):
        export_dir = export_dir / str(versions(export_dir)[-1])
    config = _zoo_config(export_dir)
    signatures = config["edge"]["signatures"]
    output = Path(output) if output else export_dir / "-".join(filter(None, [format, quantize]))
    if output.exists():
        raise ValueError(f"{output} already exists; remove it or give another output")
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.partial-", dir=output.parent))
    try:
        os.chmod(staging, 0o755)
        loaded = _load(export_dir)  # read once: each ONNX graph and edge.json come from it
        if format == "litert":
            files = {"model.tflite": _litert(export_dir, signatures, quantize)}
        else:
            files = {f"{name}.onnx": _onnx(loaded, name, quantize) for name in signatures}
        for filename, content in files.items():
            (staging / filename).write_bytes(content)
        for name in COPIED_ASSETS:
            if (export_dir / "assets" / name).exists():
                shutil.copy(export_dir / "assets" / name, staging / name)
        edge = {
            "format": format,
            "quantize": quantize,
            "files": sorted(files),
            "signatures": _signature_io(loaded, signatures),
        }
        (staging / "edge.json").write_text(json.dumps(edge, indent=2))
        sync_tree(staging)
        if output.exists():
            raise ValueError(f"{output} appeared while converting; nothing was overwritten")
        os.rename(staging, output)
        sync_tree(output.parent, recursive=False)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return output


def need(module: str):
    """``module`` imported, or a ``ModuleNotFoundError`` saying how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError(
            f'{module} is missing: pip install -e ".[edge]" (or pip install '
            f"{PACKAGES.get(module, module)})"
        ) from err


def _zoo_config(export_dir: Path) -> dict:
    path = export_dir / "assets" / "config.json"
    if not (export_dir / "saved_model.pb").is_file() or not path.is_file():
        raise FileNotFoundError(
            f"{export_dir} is not a zoo export (a version directory with saved_model.pb "
            "and assets/config.json, or a model directory of versions)"
        )
    config = json.loads(path.read_text())
    if "edge" not in config:
        raise ValueError(
            f"{export_dir} was exported before the zoo's LiteRT and ONNX conversion; "
            "export it again (zoo train ... or zoo.export.export_model) to convert it"
        )
    return config


def _load(export_dir: Path):
    import tensorflow as tf

    return tf.saved_model.load(str(export_dir))


def _signature_io(loaded, signatures) -> dict:
    """Each converted signature's inputs and outputs: ``{name: [dtype, shape]}`` (None: any)."""

    def described(specs):
        return {k: [v.dtype.name, v.shape.as_list()] for k, v in sorted(specs.items())}

    return {
        name: {
            "inputs": described(loaded.signatures[name].structured_input_signature[1]),
            "outputs": described(loaded.signatures[name].structured_outputs),
        }
        for name in signatures
    }


def _litert(export_dir: Path, signatures, quantize) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(
        str(export_dir), signature_keys=list(signatures)
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def _onnx(loaded, signature: str, quantize) -> bytes:
    """One signature of the loaded SavedModel (held by the caller: the function needs its
    variables) as an ONNX graph."""
    import tensorflow as tf

    tf2onnx = need("tf2onnx")
    function = loaded.signatures[signature]
    specs = function.structured_input_signature[1]
    names = sorted(specs)
    model, _ = tf2onnx.convert.from_function(
        tf.function(lambda *args: function(**dict(zip(names, args)))),
        input_signature=[tf.TensorSpec(specs[n].shape, specs[n].dtype, name=n) for n in names],
        opset=ONNX_OPSET,
    )
    content = model.SerializeToString()
    if quantize == "dynamic":
        content = _onnx_dynamic(content)
    return content


def _onnx_dynamic(content: bytes) -> bytes:
    """ONNX Runtime's dynamic quantisation: int8 weights, activations quantised per call.

    The recurrent steps run inside ONNX ``Loop`` bodies, which ``tf2onnx`` hands their
    weights as carried values; those become initializers of the bodies first, where the
    quantiser (with subgraphs enabled) finds them beside their ``MatMul``s. Embedding
    lookups (``Gather``) are quantised too where ONNX Runtime can load the result: its
    release 1.32 aborts the process on some such graphs (an assertion in its graph code), so each
    file is loaded in a child process first, and quantised at its ``MatMul``s alone if that
    fails.
    """
    onnx = need("onnx")
    quantization = need("onnxruntime.quantization")
    QuantType, quantize_dynamic = quantization.QuantType, quantization.quantize_dynamic

    model = onnx.load_from_string(content)
    _weights_into_loops(model.graph)
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "float.onnx", Path(tmp) / "dynamic.onnx"
        onnx.save(model, source)
        for ops in (["MatMul", "Gather"], ["MatMul"]):
            quantize_dynamic(
                source,
                target,
                weight_type=QuantType.QInt8,
                op_types_to_quantize=ops,
                extra_options={"EnableSubgraph": True},
            )
            if _loads_in_onnxruntime(target):
                return target.read_bytes()
    raise ValueError("ONNX Runtime cannot load this model quantised; convert it without --quantize")


def _loads_in_onnxruntime(path: Path) -> bool:
    import subprocess
    import sys

    check = "import onnxruntime, sys; onnxruntime.InferenceSession(sys.argv[1])"
    return (
        subprocess.run([sys.executable, "-c", check, str(path)], capture_output=True).returncode
        == 0
    )


def _weights_into_loops(graph) -> None:
    """Make weights that a ``Loop`` carries unchanged from step to step initializers of its
    body (``tf2onnx`` passes a ``while_loop``'s captured variables as carried values)."""
    outer = {init.name: init for init in graph.initializer}
    read_outside = {name for node in graph.node for name in node.input}
    read_outside |= {out.name for out in graph.output}
    for node in graph.node:
        if node.op_type != "Loop":
            continue
        body = next(a.g for a in node.attribute if a.name == "body")
        made = {n.output[0]: n.input[0] for n in body.node if n.op_type == "Identity"}
        drop = []
        for k in range(2, len(node.input)):  # carried values: loop input k, body input k
            source, inner = node.input[k], body.input[k].name
            passed = body.output[k - 1].name
            unchanged = passed == inner or made.get(passed) == inner
            final = node.output[k - 2] if k - 2 < len(node.output) else ""
            if source in outer and unchanged and final not in read_outside:
                weight = onnx_copy(outer[source], inner)
                body.initializer.append(weight)
                drop.append(k)
        for k in reversed(drop):
            del node.input[k]
            del body.input[k]
            del body.output[k - 1]
            if k - 2 < len(node.output):
                del node.output[k - 2]
    still_read = _names_read(graph)
    kept = [init for init in graph.initializer if init.name in still_read]
    del graph.initializer[:]
    graph.initializer.extend(kept)


def _names_read(graph) -> set:
    """Every name a node of ``graph`` or of its subgraphs reads (outer-scope names too)."""
    names = {out.name for out in graph.output}
    for node in graph.node:
        names.update(node.input)
        for attribute in node.attribute:
            for sub in (
                [attribute.g, *attribute.graphs] if attribute.HasField("g") else attribute.graphs
            ):
                names |= _names_read(sub)
    return names


def onnx_copy(tensor, name):
    """An ONNX initializer under another name."""
    copy = type(tensor)()
    copy.CopyFrom(tensor)
    copy.name = name
    return copy
