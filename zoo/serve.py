"""Load exports and serve them: a Python ``Predictor`` and a TensorFlow Serving REST server.

    >>> predictor = zoo.load("saved_models/sentiment_lstm")   # highest version
    >>> predictor.predict(["a fine film"])["label"]

``zoo serve saved_models/`` answers TF Serving's REST API for every model under the
directory (``POST /v1/models/<name>[/versions/<v>]:predict``, ``GET /v1/models/<name>``,
``GET /v1/models/<name>[/versions/<v>]/metadata``), so a TF Serving client works unchanged.
It picks up versions exported while it runs, skips broken ones, and answers bad requests
with 4xx ``{"error": "..."}``. Beyond TF Serving, scalar inputs (``k``, ``max_length``,
``temperature``, ``seed``, ``beam_width``) may be left out, taking the defaults recorded in
the export, and may appear in ``"instances"`` rows (equal in every row).

FastAPI, uvicorn and TensorFlow are imported inside the functions that need them, so
``import zoo.serve`` stays light.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import sys
import threading
from pathlib import Path

from zoo.export import versions

log = logging.getLogger("zoo.serve")

MAX_BODY_BYTES = 10 * 2**20


def load(path) -> "Predictor":
    """A model directory (its highest integer version) or one version directory -> ``Predictor``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if (path / "saved_model.pb").exists():
        return Predictor(path)
    found = versions(path)
    if not found:
        raise FileNotFoundError(f"{path} holds no version directories (1/, 2/, ...) "
                                "and no saved_model.pb")
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
        self.metadata = {"config": self.config,
                         "metrics": _read_json(assets / "metrics.json", missing={}),
                         "labels": _read_json(assets / "labels.json")}
        self.task = self.card["task"]
        self.version = int(self.path.name) if self.path.name.isdigit() else None
        self._saved = tf.saved_model.load(str(self.path))  # keeps the signatures' variables alive
        self.signatures = dict(self._saved.signatures)

    def __repr__(self):
        return f"Predictor({self.card['name']!r}, task={self.task!r}, path='{self.path}')"

    def input_specs(self, signature: str) -> dict:
        """``{input name: tf.TensorSpec}`` of a signature."""
        return self._signature(signature).structured_input_signature[1]

    def run(self, signature: str, inputs: dict) -> dict:
        """Call a signature with plain Python values; returns numpy arrays (strings as ``str``).

        Missing scalar inputs take the export's defaults. Wrong names, types, shapes
        and values rejected by the graph's own checks raise ``ValueError``.
        """
        import tensorflow as tf

        specs = self.input_specs(signature)
        unknown = sorted(set(inputs) - set(specs))
        if unknown:
            raise ValueError(f"unknown input(s) {unknown} for signature {signature!r}; "
                             f"it takes {sorted(specs)}")
        defaults = self.config.get("signature_defaults", {}).get(signature, {})
        missing = sorted(set(specs) - set(inputs) - set(defaults))
        if missing:
            raise ValueError(f"signature {signature!r} needs input(s) {missing}")
        tensors = {name: _to_tensor(name, inputs.get(name, defaults.get(name)), spec)
                   for name, spec in specs.items()}
        try:
            outputs = self._signature(signature)(**tensors)
        except tf.errors.InvalidArgumentError as err:
            raise ValueError(_graph_error(err)) from None
        return {name: _to_numpy(value) for name, value in outputs.items()}

    def predict(self, texts) -> dict:
        """``serving_default`` on a batch of texts (or one text, as a batch of one)."""
        return self.run("serving_default", {"text": _batch(texts)})

    def next_words(self, text, k: int | None = None):
        """The ``k`` likeliest next tokens as ``(token, probability)`` pairs (per text)."""
        self._need("language-modeling", "next_words")
        out = self.run("next_words", _given(text=_batch(text), k=k))
        rows = [list(zip(t, map(float, p)))
                for t, p in zip(out["tokens"].tolist(), out["probabilities"])]
        return rows[0] if isinstance(text, str) else rows

    def generate(self, prompt, max_length: int | None = None, temperature: float | None = None,
                 seed: int | None = None):
        """The prompt continued by ``max_length`` tokens (greedy at temperature 0)."""
        self._need("language-modeling", "generate")
        out = self.run("generate", _given(prompt=_batch(prompt), max_length=max_length,
                                          temperature=temperature, seed=seed))["text"].tolist()
        return out[0] if isinstance(prompt, str) else out

    def reply(self, text, temperature: float = 0.0, beam_width: int | None = None,
              seed: int = 0):
        """A chatbot reply: the export's default (``reply``: a beam of 4), a beam of
        ``beam_width`` (1 is greedy), or sampled at ``temperature`` > 0."""
        self._need("dialogue", "reply")
        if beam_width is not None and temperature:
            raise ValueError("use sampling (temperature > 0) or beam search (beam_width), "
                             "not both")
        if beam_width is not None:
            out = self.run("reply_beam", {"text": _batch(text), "beam_width": beam_width})
        elif temperature:
            out = self.run("reply_sampled", {"text": _batch(text), "temperature": temperature,
                                             "seed": seed})
        else:
            out = self.run("reply", {"text": _batch(text)})
        replies = out["reply"].tolist()
        return replies[0] if isinstance(text, str) else replies

    @functools.cached_property
    def signature_defs(self) -> dict:
        """Signature definitions as TF Serving's metadata endpoint spells them."""
        from google.protobuf import json_format
        from tensorflow.core.protobuf import saved_model_pb2

        saved = saved_model_pb2.SavedModel()
        saved.ParseFromString((self.path / "saved_model.pb").read_bytes())
        defs = json_format.MessageToDict(saved.meta_graphs[0],
                                         preserving_proto_field_name=True)["signature_def"]
        defs.pop("__saved_model_init_op", None)
        return defs

    def _signature(self, name: str):
        if not isinstance(name, str) or name not in self.signatures:
            raise ValueError(f"unknown signature {name!r}; this export has "
                             f"{sorted(self.signatures)}")
        return self.signatures[name]

    def _need(self, task: str, what: str):
        if self.task != task:
            raise ValueError(f"{what} needs a {task} export; {self.path} is {self.task}")


def _check_export(path: Path):
    if not (path / "saved_model.pb").is_file():
        raise FileNotFoundError(f"{path} has no saved_model.pb")
    if not (path / "variables" / "variables.index").is_file():
        raise FileNotFoundError(f"{path} is missing its variables (variables/variables.index)")
    for name in ("model_card.json", "config.json"):
        if not (path / "assets" / name).is_file():
            raise ValueError(f"{path} is a SavedModel but not a zoo export (no assets/{name})")


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

    if spec.shape.rank == 1:
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
            if not isinstance(v, (str, bytes)):
                raise ValueError(f"{where} must be a string; got {_kind(v)}")
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
    found = re.search(r"assertion failed: \[(.*)\]$", err.message, re.MULTILINE)
    if found:
        return found.group(1)
    lines = [line.strip() for line in err.message.splitlines()
             if line.strip() and not line.startswith(("Graph execution error", "Detected at"))]
    return lines[0] if lines else "invalid input"


# ---------------------------------------------------------------- the model directory


class ModelStore:
    """Every servable version under a directory, kept current by ``refresh``.

    ``root`` holds model directories (``root/<name>/<version>/``) or is one itself.
    A version that fails to load is logged and skipped, and tried again only when one of
    its files changes; a model directory without versions is logged once and skipped;
    dot-prefixed directories (exports in progress) are never looked at.
    """

    def __init__(self, root):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root} is not a directory")
        self._models: dict[str, dict[int, Predictor]] = {}
        self._broken: dict[tuple[str, int], tuple[list, str]] = {}
        self._empty: set[str] = set()  # model directories without versions, logged once
        self._lock = threading.Lock()

    def refresh(self):
        """Load versions that appeared, forget those that went."""
        with self._lock:
            models, broken, empty = {}, {}, set()
            for name, model_dir in self._model_dirs().items():
                loaded = self._models.get(name, {})
                found = versions(model_dir)
                if not found:
                    empty.add(name)
                    if name not in self._empty:
                        log.warning("skipping %s: no version directories (1/, 2/, ...)",
                                    model_dir)
                for version in found:
                    path = model_dir / str(version)
                    if version in loaded:
                        models.setdefault(name, {})[version] = loaded[version]
                        continue
                    stamp = _fingerprint(path)
                    if self._broken.get((name, version), (None,))[0] == stamp:
                        broken[name, version] = self._broken[name, version]
                        continue
                    try:
                        models.setdefault(name, {})[version] = Predictor(path)
                        log.info("serving %s version %d from %s", name, version, path)
                    except Exception as err:  # noqa: BLE001 - any broken export is skipped
                        log.warning("skipping %s: %s", path, err)
                        broken[name, version] = (stamp, f"{type(err).__name__}: {err}")
            self._models, self._broken, self._empty = models, broken, empty

    def _model_dirs(self) -> dict[str, Path]:
        if versions(self.root):
            return {self.root.name: self.root}
        try:
            return {p.name: p for p in sorted(self.root.iterdir())
                    if p.is_dir() and not p.name.startswith(".")}
        except OSError as err:
            log.warning("cannot list %s: %s", self.root, err)
            return {}

    def get(self, name: str, version: str | None = None) -> Predictor:
        """The predictor for a model's version (default: its highest); ``LookupError`` if none."""
        loaded = self._models.get(name)
        if not loaded:
            known = ", ".join(sorted(self._models)) or "none"
            raise LookupError(f"model {name!r} is not being served (models: {known})")
        if version is None:
            return loaded[max(loaded)]
        if int(version) not in loaded:
            raise LookupError(f"model {name!r} has no servable version {version} "
                              f"(versions: {', '.join(map(str, sorted(loaded)))})")
        return loaded[int(version)]

    def status(self, name: str, version: str | None = None) -> dict:
        """TF Serving's model status: every version, available or failed."""
        states = {v: ("AVAILABLE", "OK", "") for v in self._models.get(name, {})}
        states.update({v: ("END", "UNKNOWN", reason)
                       for (n, v), (_, reason) in self._broken.items() if n == name})
        if version is not None:
            states = {v: s for v, s in states.items() if v == int(version)}
        if not states:
            self.get(name, version)  # raises the LookupError that says what is there
        return {"model_version_status": [
            {"version": str(v), "state": state,
             "status": {"error_code": code, "error_message": message}}
            for v, (state, code, message) in sorted(states.items(), reverse=True)]}

    def metadata(self, name: str, version: str | None = None) -> dict:
        """TF Serving's model metadata: the signature definitions."""
        predictor = self.get(name, version)
        return {"model_spec": {"name": name, "signature_name": "",
                               "version": str(predictor.version)},
                "metadata": {"signature_def": {
                    "@type": "type.googleapis.com/tensorflow.serving.SignatureDefMap",
                    "signature_def": predictor.signature_defs}}}

    def start_polling(self, seconds: float):
        """Refresh every ``seconds`` in a daemon thread; returns a function that stops it."""
        stop = threading.Event()

        def poll():
            while not stop.wait(seconds):
                try:
                    self.refresh()
                except Exception:  # noqa: BLE001 - keep polling whatever happened
                    log.exception("refreshing %s failed", self.root)

        threading.Thread(target=poll, name="zoo-serve-poll", daemon=True).start()
        return stop.set


def _fingerprint(path: Path) -> list:
    """Names, sizes and times of a version's files: tells when a broken version changed."""
    try:
        return sorted((str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns)
                      for p in path.rglob("*"))
    except OSError:  # removed while looking
        return []


# ---------------------------------------------------------------- the REST API


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
        if not isinstance(row, dict):
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
    """Outputs -> ``{"predictions": [row, ...]}`` or ``{"outputs": ...}``, as TF Serving does."""
    plain = {name: value.tolist() for name, value in outputs.items()}
    if not rows:
        return {"outputs": next(iter(plain.values())) if len(plain) == 1 else plain}
    if len(plain) == 1:
        return {"predictions": next(iter(plain.values()))}
    names = list(plain)
    return {"predictions": [dict(zip(names, row)) for row in zip(*plain.values())]}


_ROUTE = re.compile(r"(?P<name>[^/:]+)(?:/versions/(?P<version>[0-9]+))?"
                    r"(?P<verb>/metadata|:[A-Za-z]+)?")


def make_app(root="saved_models", *, poll_seconds: float = 2.0,
             max_body_bytes: int = MAX_BODY_BYTES):
    """The FastAPI app serving every export under ``root`` with TF Serving's REST API."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException

    store = ModelStore(root)

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
          poll_seconds: float = 2.0, max_body_bytes: int = MAX_BODY_BYTES):
    """Run the REST server until interrupted."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:%(name)s: %(message)s")
    uvicorn.run(make_app(root, poll_seconds=poll_seconds, max_body_bytes=max_body_bytes),
                host=host, port=port)


# ---------------------------------------------------------------- the zoo commands


def cli_predict(args) -> int:
    """``zoo predict PATH TEXT...``: one JSON line of outputs per text."""
    outputs = {name: value.tolist() for name, value in load(args.path).predict(args.texts).items()}
    for i, text in enumerate(args.texts):
        print(json.dumps({"text": text, **{name: value[i] for name, value in outputs.items()}}))
    return 0


def cli_generate(args) -> int:
    """``zoo generate PATH PROMPT``: the prompt and its continuation."""
    print(load(args.path).generate(args.prompt, max_length=args.max_length,
                                   temperature=args.temperature, seed=args.seed))
    return 0


def cli_chat(args) -> int:
    """``zoo chat PATH``: a conversation at a terminal; with piped stdin, one reply per line.

    Blank lines are no message, at a terminal or in a pipe: they get no reply.
    """
    predictor = load(args.path)
    interactive = sys.stdin.isatty()

    def answer(message):
        return predictor.reply(message, temperature=args.temperature,
                               beam_width=args.beam_width)

    if not interactive:
        for line in sys.stdin:
            if line.strip():
                print(answer(line.rstrip("\r\n")), flush=True)
        return 0
    print(f"Talking to {predictor.card['name']} ({predictor.path}); Ctrl-D ends.")
    while True:
        try:
            message = input("you> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if message.strip():
            print(f"bot> {answer(message)}")


def cli_serve(args) -> int:
    """``zoo serve [PATH]``: the REST server on every export under PATH."""
    serve(args.path, host=args.host, port=args.port, poll_seconds=args.poll_seconds,
          max_body_bytes=getattr(args, "max_body_bytes", MAX_BODY_BYTES))
    return 0
