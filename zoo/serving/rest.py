"""TensorFlow Serving's REST API over a model service: ``make_app``; ``serve`` runs it
beside the gRPC API (``grpc_api.py``).

``zoo serve saved_models/`` answers, for every model under the directory,
``POST /v1/models/<name>[/versions/<v> | /labels/<label>]:predict|:classify|:regress``,
``GET /v1/models/<name>[/versions/<v> | /labels/<label>]`` (status) and ``.../metadata``,
as TF Serving answers them, and ``GET /monitoring/prometheus/metrics``. It picks up
versions exported while it runs, skips broken ones, and answers bad requests with 4xx
``{"error": "..."}``. As in TF Serving, every input of a signature must be given, and
signatures with scalar inputs take the columnar format (``"inputs"``).

FastAPI and uvicorn are imported inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re

from zoo.serving.predictor import Predictor
from zoo.serving.store import ModelStore

MAX_BODY_BYTES = 10 * 2**20


def parse_predict_request(body: bytes, predictor: Predictor) -> tuple[str, dict, bool]:
    """A TF Serving predict body -> ``(signature, inputs, rows)``, or ``ValueError`` saying why not.

    ``rows`` is true for ``"instances"`` (answered as ``"predictions"``), false for
    ``"inputs"`` (answered as ``"outputs"``).
    """
    request = _json_object(body)
    unknown = sorted(set(request) - {"signature_name", "instances", "inputs"})
    if unknown or ("instances" in request) == ("inputs" in request):
        extra = f"unknown field(s) {unknown}; " if unknown else ""
        raise ValueError(
            f'{extra}the request needs exactly one of "instances" (rows) or '
            f'"inputs" (columns), and may name a "signature_name"'
        )
    signature = request.get("signature_name", "serving_default")
    specs = predictor.input_specs(signature)
    batched = [name for name, spec in specs.items() if spec.shape.rank]
    if "inputs" in request:
        inputs = request["inputs"]
        if not isinstance(inputs, dict):
            if len(specs) != 1:
                raise ValueError(f'"inputs" must be an object with {sorted(specs)}')
            inputs = {next(iter(specs)): inputs}
        return signature, inputs, False
    return signature, _columns(request["instances"], specs, batched), True


def _columns(instances, specs, batched) -> dict:
    """Rows -> columns. TF Serving batches every input of the row format, so a signature
    with scalar inputs cannot be called in it."""
    scalars = sorted(set(specs) - set(batched))
    if scalars:
        raise ValueError(
            f"the signature's input(s) {scalars} are scalars, which the row "
            f'format ("instances") cannot carry; send every input in the '
            f'columnar format: {{"inputs": {{...}}}}'
        )
    if not isinstance(instances, list) or not instances:
        raise ValueError('"instances" must be a non-empty list')
    columns = {name: [] for name in batched}
    for i, row in enumerate(instances):
        if not isinstance(row, dict) or set(row) == {"b64"}:  # a bare value, maybe base64
            if len(batched) != 1:
                raise ValueError(f"instance {i} must be an object with {sorted(specs)}")
            row = {batched[0]: row}
        if set(row) != set(specs):
            raise ValueError(
                f"instance {i} has input(s) {sorted(row)}; the signature takes {sorted(specs)}"
            )
        for name in batched:
            columns[name].append(row[name])
    return columns


def parse_examples_request(body: bytes, method: str = "classify") -> tuple[str, list[bytes]]:
    """A TF Serving classify or regress body -> ``(signature, serialized tf.Examples)``:
    ``{"signature_name": ..., "context": {...}, "examples": [{...}, ...]}``, each example
    merged with the context; ``ValueError`` with TF Serving's messages otherwise."""
    from zoo.serving.service import example_from_json, merged

    request = _json_object(body)
    unknown = sorted(set(request) - {"signature_name", "context", "examples"})
    if unknown:
        raise ValueError(
            f"unknown field(s) {unknown}; a {method} request has "
            '"examples" and may have "context" and "signature_name"'
        )
    signature = request.get("signature_name", "")
    if not isinstance(signature, str):
        raise ValueError("'signature_name' key must be a string value.")
    if "examples" not in request:
        raise ValueError(f"When method is {method}, key 'examples' is expected and was not found")
    examples = request["examples"]
    if not isinstance(examples, list):
        raise ValueError("Expecting 'examples' value to be an list/array")
    if not examples:
        raise ValueError("'examples' value is an empty array")
    context = example_from_json(request["context"]) if "context" in request else None
    return signature, [merged(example_from_json(e), context).SerializeToString() for e in examples]


def _json_object(body: bytes) -> dict:
    try:
        request = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ValueError(f"the request body is not valid UTF-8 (byte {err.start})") from None
    except ValueError as err:
        raise ValueError(f"the request body is not valid JSON: {err}") from None
    if not isinstance(request, dict):
        raise ValueError("the request body must be a JSON object")
    return request


def format_response(outputs: dict, rows: bool) -> dict:
    """Outputs -> ``{"predictions": [row, ...]}`` or ``{"outputs": ...}``, as TF Serving does:
    float32 values printed as float32 (``0.9``, not ``0.8999999761581421``), and strings of
    outputs whose names end in ``_bytes`` as ``{"b64": "<base64>"}``. Names are sorted, so every
    response of a signature lists them in one order."""
    plain = {name: _plain(name, outputs[name]) for name in sorted(outputs)}
    if not rows:
        return {"outputs": next(iter(plain.values())) if len(plain) == 1 else plain}
    if len(plain) == 1:
        return {"predictions": next(iter(plain.values()))}
    names = list(plain)
    return {"predictions": [dict(zip(names, row)) for row in zip(*plain.values())]}


def _plain(name: str, value):
    """One output as JSON-ready lists (see ``format_response``)."""
    import base64

    import numpy as np

    if name.endswith("_bytes") and value.dtype == object:
        items = [{"b64": base64.b64encode(raw).decode("ascii")} for raw in value.ravel()]
    elif value.dtype == np.float32:  # the shortest decimal that reads back as the same float32
        items = [float(str(x)) for x in value.ravel()]  # str of an np.float32, not a float
    else:
        return value.tolist()
    return np.array(items, dtype=object).reshape(value.shape).tolist()


# TF Serving's request paths: /v1/models/<name>[/versions/<v> | /labels/<l>][/metadata | :verb]
_ROUTE = re.compile(
    r"(?P<name>[^/:]+)(?:/versions/(?P<version>[0-9]+)|/labels/(?P<label>[^/:]+))?"
    r"(?P<verb>/metadata|:predict|:classify|:regress)?"
)


def make_app(
    root="saved_models",
    *,
    poll_seconds: float = 2.0,
    max_body_bytes: int = MAX_BODY_BYTES,
    version_policy: str = "latest",
    service=None,
):
    """The FastAPI app answering TF Serving's REST API for the exports under ``root`` (each
    model's latest version, or with ``version_policy="all"`` every version), or for a
    ``service`` (``zoo.serving.service.Service``: a model config, batching) given instead;
    the app refreshes its store while it runs."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse, Response
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException

    from zoo.serving.metrics import EXPECTED_FAILURES, HTTP_STATUS, message, status_code
    from zoo.serving.metrics import PATH as METRICS_PATH
    from zoo.serving.service import Service

    if service is None:
        service = Service(ModelStore(root, version_policy))
    store = service.store

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await run_in_threadpool(store.refresh)
        stop = store.start_polling(poll_seconds)
        try:
            yield
        finally:
            stop()

    app = FastAPI(
        title="zoo serve", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.store, app.state.service = store, service

    @app.exception_handler(HTTPException)
    async def http_error(request, err):
        return JSONResponse({"error": str(err.detail)}, status_code=err.status_code)

    async def read_body(request) -> bytes:
        too_big = HTTPException(413, f"the request body exceeds {max_body_bytes} bytes")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body_bytes:
            raise too_big
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body_bytes:
                raise too_big
        return bytes(body)

    async def predict(spec, body):
        predictor = store.get(**spec)
        signature, inputs, rows = parse_predict_request(body, predictor)
        # The predictor the request was parsed against runs it, whatever lands meanwhile.
        _, outputs = await run_in_threadpool(
            service.predict, spec, signature, inputs, "REST", predictor
        )
        return format_response(outputs, rows)

    async def classify(spec, body):
        signature, examples = parse_examples_request(body)
        _, results = await run_in_threadpool(service.classify, spec, signature, examples, "REST")
        return {"results": [[[label, _float32(score)] for label, score in row] for row in results]}

    async def regress(spec, body):
        signature, examples = parse_examples_request(body, "regress")
        _, results = await run_in_threadpool(service.regress, spec, signature, examples, "REST")
        return {"results": [_float32(value) for value in results]}

    verbs = {":predict": predict, ":classify": classify, ":regress": regress}

    # One catch-all route: Starlette's path parameters and TF Serving's ":predict" suffix
    # do not mix well, so the rest of the path is matched here.
    async def models(request):
        path = request.path_params["path"]
        match = _ROUTE.fullmatch(path)
        verb = match and match["verb"]
        if not match or request.method != ("POST" if verb in verbs else "GET"):
            raise HTTPException(400, f"Malformed request: {request.method} {request.url.path}")
        spec = {"name": match["name"], "version": match["version"], "label": match["label"]}
        try:
            if verb in verbs:
                return JSONResponse(await verbs[verb](spec, await read_body(request)))
            if verb == "/metadata":
                return JSONResponse(store.metadata(**spec))
            return JSONResponse(store.status(**spec))
        except EXPECTED_FAILURES as err:
            raise HTTPException(HTTP_STATUS[status_code(err)], message(err)) from None

    async def malformed(request):
        raise HTTPException(400, f"Malformed request: {request.method} {request.url.path}")

    async def metrics(request):
        content, media_type = service.metrics.exposition()
        return Response(content, media_type=media_type)

    app.add_route("/v1/models/{path:path}", models, methods=["GET", "POST"])
    app.add_route("/v1/models", malformed, methods=["GET", "POST"])
    app.add_route(METRICS_PATH, metrics, methods=["GET"])
    return app


def _float32(value: float) -> float:
    """A float32 value printed as float32 (``0.9``, not ``0.8999999761581421``)."""
    import numpy as np

    return float(str(np.float32(value)))


def serve(
    root="saved_models",
    *,
    host: str = "127.0.0.1",
    port: int = 8501,
    grpc_port: int | None = 8500,
    poll_seconds: float = 2.0,
    max_body_bytes: int = MAX_BODY_BYTES,
    version_policy: str = "latest",
    model_config_file=None,
    batching: dict | None = None,
):
    """Run the REST server (and the gRPC one on ``grpc_port``, unless None) until interrupted.

    ``model_config_file`` (TF Serving's ``ModelServerConfig`` text format) names the
    models instead of ``root``; ``batching`` (``Batcher``'s settings) merges concurrent
    requests.
    """
    import uvicorn

    from zoo.serving.batching import Batcher
    from zoo.serving.service import Service

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:%(name)s: %(message)s")
    store = (
        ModelStore(config_file=model_config_file)
        if model_config_file
        else ModelStore(root, version_policy)
    )
    metrics = None
    batcher = None
    if batching is not None:
        from zoo.serving.metrics import Metrics

        metrics = Metrics()
        batcher = Batcher(**batching, on_batch=metrics.batch_size.observe)
    service = Service(store, batcher, metrics)
    grpc_server = None
    if grpc_port is not None:
        from zoo.serving.grpc_api import start_grpc_server

        store.refresh()
        grpc_server = start_grpc_server(service, host, grpc_port)
        logging.getLogger("zoo.serve").info("gRPC API on %s:%d", host, grpc_port)
    try:
        uvicorn.run(
            make_app(poll_seconds=poll_seconds, max_body_bytes=max_body_bytes, service=service),
            host=host,
            port=port,
        )
    finally:
        if grpc_server is not None:
            grpc_server.stop(grace=1)
