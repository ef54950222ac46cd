"""TensorFlow Serving's REST API over a model store: ``make_app`` and ``serve``.

``zoo serve saved_models/`` answers TF Serving's REST API for every model under the
directory (``POST /v1/models/<name>[/versions/<v>]:predict``, ``GET /v1/models/<name>``,
``GET /v1/models/<name>[/versions/<v>]/metadata``), so a TF Serving client works unchanged;
string inputs may come as TF Serving's ``{"b64": "..."}``.
It picks up versions exported while it runs, skips broken ones, and answers bad requests
with 4xx ``{"error": "..."}``. Beyond TF Serving, scalar inputs (``k``, ``max_length``,
``temperature``, ``seed``, ``beam_width``) may be left out, taking the defaults recorded in
the export, and may appear in ``"instances"`` rows (equal in every row).

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
    try:
        request = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ValueError(f"the request body is not valid UTF-8 (byte {err.start})") from None
    except ValueError as err:
        raise ValueError(f"the request body is not valid JSON: {err}") from None
    if not isinstance(request, dict):
        raise ValueError('the request must be a JSON object with "instances" or "inputs"')
    unknown = sorted(set(request) - {"signature_name", "instances", "inputs"})
    if unknown or ("instances" in request) == ("inputs" in request):
        extra = f"unknown field(s) {unknown}; " if unknown else ""
        raise ValueError(f'{extra}the request needs exactly one of "instances" (rows) or '
                         f'"inputs" (columns), and may name a "signature_name"')
    signature = request.get("signature_name", "serving_default")
    specs = predictor.input_specs(signature)
    batched = [name for name, spec in specs.items() if spec.shape.rank]
    if "inputs" in request:
        inputs = request["inputs"]
        if not isinstance(inputs, dict):
            if len(batched) != 1:
                raise ValueError(f'"inputs" must be an object with {sorted(specs)}')
            inputs = {batched[0]: inputs}
        return signature, inputs, False
    return signature, _columns(request["instances"], specs, batched), True


def _columns(instances, specs, batched) -> dict:
    """Rows -> columns: batched inputs stacked, scalar inputs equal in every row."""
    if not isinstance(instances, list) or not instances:
        raise ValueError('"instances" must be a non-empty list')
    columns, scalars = {name: [] for name in batched}, {}
    for i, row in enumerate(instances):
        if not isinstance(row, dict) or set(row) == {"b64"}:  # a bare value, maybe base64
            if len(batched) != 1:
                raise ValueError(f"instance {i} must be an object with {sorted(specs)}")
            row = {batched[0]: row}
        unknown = sorted(set(row) - set(specs))
        if unknown:
            raise ValueError(f"instance {i} has unknown input(s) {unknown}; "
                             f"expected {sorted(specs)}")
        for name in specs:
            if name in batched:
                if name not in row:
                    raise ValueError(f"instance {i} lacks input {name!r}")
                columns[name].append(row[name])
            elif name in row:
                if scalars.setdefault(name, row[name]) != row[name]:
                    raise ValueError(f"scalar input {name!r} must be the same in every instance")
    return {**columns, **scalars}


def format_response(outputs: dict, rows: bool) -> dict:
    """Outputs -> ``{"predictions": [row, ...]}`` or ``{"outputs": ...}``, as TF Serving does:
    float32 values printed as float32 (``0.9``, not ``0.8999999761581421``), and strings of
    outputs whose names end in ``_bytes`` as ``{"b64": "<base64>"}``."""
    plain = {name: _plain(name, value) for name, value in outputs.items()}
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


_ROUTE = re.compile(r"(?P<name>[^/:]+)(?:/versions/(?P<version>[0-9]+))?"
                    r"(?P<verb>/metadata|:[A-Za-z]+)?")


def make_app(root="saved_models", *, poll_seconds: float = 2.0,
             max_body_bytes: int = MAX_BODY_BYTES, version_policy: str = "latest"):
    """The FastAPI app serving the exports under ``root`` with TF Serving's REST API
    (each model's latest version, or with ``version_policy="all"`` every version)."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException

    store = ModelStore(root, version_policy)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await run_in_threadpool(store.refresh)
        stop = store.start_polling(poll_seconds)
        try:
            yield
        finally:
            stop()

    app = FastAPI(title="zoo serve", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.store = store

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

    # One catch-all route: Starlette's path parameters and TF Serving's ":predict" suffix
    # do not mix well, so the rest of the path is matched here.
    async def models(request):
        path = request.path_params["path"]
        match = _ROUTE.fullmatch(path)
        if not match:
            raise HTTPException(404, f"no such endpoint: /v1/models/{path}")
        name, version, verb = match["name"], match["version"], match["verb"]
        expected = "POST" if verb and verb.startswith(":") else "GET"
        if request.method != expected:
            raise HTTPException(405, f"use {expected} for /v1/models/{path}")
        if verb and verb.startswith(":") and verb != ":predict":
            raise HTTPException(400, f"{verb} is not supported; this server answers :predict")
        try:
            if verb == "/metadata":
                return JSONResponse(store.metadata(name, version))
            if verb is None:
                return JSONResponse(store.status(name, version))
            predictor = store.get(name, version)
            signature, inputs, rows = parse_predict_request(await read_body(request), predictor)
            outputs = await run_in_threadpool(predictor.run, signature, inputs)
            return JSONResponse(format_response(outputs, rows))
        except LookupError as err:
            raise HTTPException(404, err.args[0]) from None
        except ValueError as err:
            raise HTTPException(400, str(err)) from None

    app.add_route("/v1/models/{path:path}", models, methods=["GET", "POST"])
    return app


def serve(root="saved_models", *, host: str = "127.0.0.1", port: int = 8501,
          poll_seconds: float = 2.0, max_body_bytes: int = MAX_BODY_BYTES,
          version_policy: str = "latest"):
    """Run the REST server until interrupted."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:%(name)s: %(message)s")
    uvicorn.run(make_app(root, poll_seconds=poll_seconds, max_body_bytes=max_body_bytes,
                         version_policy=version_policy), host=host, port=port)
