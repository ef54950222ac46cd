"""Load test: ``zoo serve`` under concurrent predict requests, valid and malformed,
without and with server-side batching (``--enable-batching``).

Starts ``zoo serve`` in a subprocess on 127.0.0.1 over a tiny untrained text
classifier exported here (or over ``--model-dir``, a model directory of integer
versions), then ``--clients`` threads send ``--requests`` predict requests between
them, about 20% malformed (bad JSON, bytes that are not UTF-8, unknown fields,
numbers for strings, empty lists, unknown signatures, models and versions, bodies
over the size limit, the wrong HTTP method). It fails when

- any answer is a 5xx, or a request gets no answer at all;
- a valid request's answer differs from the predictor's own (``zoo.load(...)`` in
  this process, on the same texts), or a malformed one gets another status than its 4xx;
- the server's memory grows: the median resident set size (``VmRSS`` of the server
  process, sampled every 50 ms) over the last quarter of the run exceeds that over
  the first quarter by more than ``max(16 MiB, 2%)``. Those medians lie about 75% of
  the requests apart, so over 2,000 requests a leak of some 11 KiB per request
  fails; the allocator's warm-up does not, as a warm-up round precedes the run;
- not every request was answered within ``--seconds`` (server start included).

Latency percentiles are those of valid single-text requests, at the client. By default
the same requests run twice, back to back: against a server without batching (the
baseline) and one with it; ``batching_speedup`` is the ratio of their requests/s.

    python -m benchmarks.load_test                          # 2,000 requests, 32 clients
    python -m benchmarks.load_test --requests 200 --clients 8 --batching on
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.common import add_record_flag, print_machine, report
from zoo.layout import versions

MAX_BODY_BYTES = 256 * 1024
MALFORMED_SHARE = 0.2
RSS_GROWTH_LIMIT = (16 * 2**20, 0.02)  # bytes, fraction of the first quarter's median
WORDS = (
    "the market rallied as shares of the chip maker rose after strong earnings "
    "the striker scored twice and the champions won the final at home "
    "leaders met in geneva to discuss the ceasefire and the border talks "
    "researchers released a faster processor and a new phone app"
).split()
LABELS = ["World", "Sports", "Business", "Sci/Tech"]


# ---------------------------------------------------------------- the served model


def export_tiny_classifier(base_dir: Path) -> Path:
    """An untrained ``topic_gru`` (8 units) with an adapted vectorizer, exported; its model dir."""
    import keras

    import zoo
    from zoo.export import export_model

    keras.utils.set_random_seed(0)
    sentences = [" ".join(WORDS[i : i + 12]) for i in range(0, len(WORDS), 6)]
    vectorizer = keras.layers.TextVectorization()
    vectorizer.adapt(sentences)
    settings = dict(
        vocab_size=vectorizer.vocabulary_size(), num_classes=len(LABELS), units=8, embedding_dim=8
    )
    model = zoo.build("topic_gru", **settings)
    path = export_model(
        model,
        name="topic_gru",
        settings=settings,
        vectorizers={"text": vectorizer},
        labels=LABELS,
        base_dir=base_dir,
        max_length=32,
    )
    return path.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def zoo_serve(model_dir: Path, log_path: Path, deadline: float, batching: bool = False):
    """``zoo serve model_dir`` on a free loopback port (REST only); yields
    ``(base url, process)``."""
    import httpx

    port = free_port()
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "zoo.cli",
                "serve",
                str(model_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--grpc-port",
                "0",
                "--poll-seconds",
                "60",
                "--max-body-bytes",
                str(MAX_BODY_BYTES),
            ]
            + (["--enable-batching"] if batching else []),
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if server.poll() is not None:
                raise RuntimeError(
                    f"zoo serve exited ({server.returncode}):\n"
                    + log_path.read_text(errors="replace")[-3000:]
                )
            if time.monotonic() > deadline:
                raise TimeoutError("zoo serve did not start in time")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/v1/models/{model_dir.name}", timeout=5).status_code == 200:
                    break
            time.sleep(0.2)
        yield url, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# ---------------------------------------------------------------- the requests


def texts(rng: random.Random, count: int) -> list[str]:
    """Short texts of known and unknown words, an empty one and a 100,000-character one."""
    pool = [
        " ".join(rng.choice(WORDS + ["zyzzyva", "quokka"]) for _ in range(rng.randint(1, 40)))
        for _ in range(count - 2)
    ]
    return pool + ["", "x" * 100_000]


def plan(requests: int, seed: int) -> tuple[list[dict], dict]:
    """``requests`` request descriptions in random order, and the distinct valid payloads.

    Each description: ``kind``, ``path`` suffix, ``method``, ``body`` (bytes), ``expect``
    (status) and, for valid ones, ``key`` into the payloads ``{key: (texts, rows)}``.
    """
    rng = random.Random(seed)
    pool = texts(rng, 64)
    batches = [rng.sample(pool, rng.randint(2, 6)) for _ in range(16)]
    payloads = {("one", i): ([t], True) for i, t in enumerate(pool)}
    payloads.update({("rows", i): (b, True) for i, b in enumerate(batches)})
    payloads.update({("columns", i): (b, False) for i, b in enumerate(batches)})
    malformed = [
        ("bad_json", ":predict", "POST", b'{"instances": ["unterminated', 400),
        ("not_utf8", ":predict", "POST", b'{"instances": ["caf\xe9"]}', 400),
        ("unknown_field", ":predict", "POST", b'{"instance": ["x"]}', 400),
        ("not_a_string", ":predict", "POST", b'{"instances": [1, null]}', 400),
        ("empty_list", ":predict", "POST", b'{"instances": []}', 400),
        (
            "unknown_signature",
            ":predict",
            "POST",
            b'{"signature_name": "nope", "instances": ["x"]}',
            400,
        ),
        ("unknown_model", "@nope:predict", "POST", b'{"instances": ["x"]}', 404),
        ("unknown_version", "/versions/999:predict", "POST", b'{"instances": ["x"]}', 404),
        (
            "too_large",
            ":predict",
            "POST",
            b'{"instances": ["' + b"y" * (MAX_BODY_BYTES + 1) + b'"]}',
            413,
        ),
        ("wrong_method", ":predict", "GET", b"", 400),
    ]
    out = []
    for _ in range(requests):
        if rng.random() < MALFORMED_SHARE:
            kind, path, method, body, expect = rng.choice(malformed)
            out.append(dict(kind=kind, path=path, method=method, body=body, expect=expect))
            continue
        key = (
            ("one", rng.randrange(len(pool)))
            if rng.random() < 0.8
            else (rng.choice(["rows", "columns"]), rng.randrange(len(batches)))
        )
        batch, rows = payloads[key]
        body = {"instances": batch} if rows else {"inputs": {"text": batch}}
        out.append(
            dict(
                kind="valid_" + key[0],
                path=":predict",
                method="POST",
                body=json.dumps(body).encode(),
                expect=200,
                key=key,
            )
        )
    return out, payloads


def expected_answers(model_dir: Path, payloads: dict) -> dict:
    """What the server should answer for each valid payload: the predictor's own outputs."""
    from zoo import load
    from zoo.serving import format_response

    predictor = load(model_dir)
    return {
        key: json.loads(json.dumps(format_response(predictor.predict(batch), rows)))
        for key, (batch, rows) in payloads.items()
    }


def same(a, b, rtol=1e-4, atol=1e-6) -> bool:
    """Equal JSON values, floats within tolerance (the server batches as the predictor does)."""
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, (int, float))
            and isinstance(b, (int, float))
            and math.isclose(a, b, rel_tol=rtol, abs_tol=atol)
        )
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(same, a, b))
    return a == b


# ---------------------------------------------------------------- memory


class RSSSampler:
    """Samples ``VmRSS`` of a process every ``interval`` seconds in a daemon thread."""

    def __init__(self, pid: int, interval: float = 0.05):
        self.pid, self.interval, self.samples = pid, interval, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int | None:
        try:
            with open(f"/proc/{self.pid}/status", encoding="ascii") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def _run(self):
        while not self._stop.is_set():
            value = self.rss()
            if value is not None:
                self.samples.append(value)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def median(values):
    values = sorted(values)
    return values[len(values) // 2] if values else math.nan


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else math.nan


# ---------------------------------------------------------------- the run


def run(
    requests: int = 2000,
    clients: int = 32,
    seconds: float = 300.0,
    model_dir: Path | None = None,
    seed: int = 0,
    batching: bool = False,
) -> dict:
    """Run the load test; returns its figures, ``failures`` (a list of strings) among them."""
    import httpx

    started = time.monotonic()
    deadline = started + seconds
    with tempfile.TemporaryDirectory(prefix="zoo-load-") as tmp:
        tmp = Path(tmp)
        model_dir = Path(model_dir) if model_dir else export_tiny_classifier(tmp / "models")
        if not versions(model_dir):
            raise ValueError(f"{model_dir} holds no version directories (1/, 2/, ...)")
        todo, payloads = plan(requests, seed)
        expected = expected_answers(model_dir, payloads)
        warmup, _ = plan(2 * clients, seed + 1)
        with zoo_serve(model_dir, tmp / "serve.log", deadline, batching) as (url, server):
            base = f"{url}/v1/models/{model_dir.name}"
            local, opened = threading.local(), []

            def send(request):
                if time.monotonic() > deadline:
                    return None
                if not hasattr(local, "client"):
                    local.client = httpx.Client(timeout=60)
                    opened.append(local.client)
                path = request["path"]
                target = f"{url}/v1/models/{path[1:]}" if path.startswith("@") else base + path
                began = time.perf_counter()
                try:
                    response = local.client.request(
                        request["method"],
                        target,
                        content=request["body"] or None,
                        headers={"Content-Type": "application/json"},
                    )
                except httpx.HTTPError as err:
                    return request, None, f"{type(err).__name__}: {err}", 0.0
                latency = time.perf_counter() - began
                try:
                    answer = response.json()
                except ValueError:
                    answer = None
                return request, response.status_code, answer, latency

            with ThreadPoolExecutor(clients) as pool:
                list(pool.map(send, warmup))
                with RSSSampler(server.pid) as sampler:
                    began = time.perf_counter()
                    results = [r for r in pool.map(send, todo) if r is not None]
                    wall = time.perf_counter() - began
            for client in opened:
                client.close()
            log_tail = (tmp / "serve.log").read_text(errors="replace")[-2000:]
    return summarize(todo, results, expected, sampler.samples, wall, clients, log_tail)


def summarize(todo, results, expected, samples, wall, clients, log_tail) -> dict:
    failures, latencies, statuses = [], [], {}
    wrong = no_answer = server_errors = unexpected = 0
    for request, status, answer, latency in results:
        if status is None:
            no_answer += 1
            failures.append(f"{request['kind']}: no answer ({answer})")
            continue
        statuses[f"{status // 100}xx"] = statuses.get(f"{status // 100}xx", 0) + 1
        if status >= 500:
            server_errors += 1
            failures.append(f"{request['kind']}: {status} {answer}")
        elif status != request["expect"]:
            unexpected += 1
            failures.append(
                f"{request['kind']}: {status} where {request['expect']} was due: "
                f"{str(answer)[:200]}"
            )
        elif "key" in request and not same(answer, expected[request["key"]]):
            wrong += 1
            failures.append(
                f"{request['kind']}: answer {str(answer)[:200]} differs from the "
                f"predictor's {str(expected[request['key']])[:200]}"
            )
        if request["kind"] == "valid_one" and status == 200:
            latencies.append(latency)
    if len(results) < len(todo):
        failures.append(f"timed out: {len(results)} of {len(todo)} requests sent")
    quarter = max(1, len(samples) // 4)
    first, last = median(samples[:quarter]), median(samples[-quarter:])
    limit = max(RSS_GROWTH_LIMIT[0], RSS_GROWTH_LIMIT[1] * first) if samples else math.nan
    if not samples:
        failures.append("no memory samples of the server process")
    elif last - first > limit:
        failures.append(
            f"server memory grew by {(last - first) / 2**20:.1f} MiB between the "
            f"first and last quarters (limit {limit / 2**20:.1f} MiB)"
        )
    if failures and log_tail:
        failures.append("server log ends with:\n" + log_tail)
    mib = 2**20
    return {
        "requests": len(todo),
        "answered": len(results) - no_answer,
        "clients": clients,
        "malformed": sum(1 for r in todo if "key" not in r),
        "status_2xx": statuses.get("2xx", 0),
        "status_4xx": statuses.get("4xx", 0),
        "status_5xx": server_errors,
        "unexpected_status": unexpected,
        "wrong_answers": wrong,
        "no_answer": no_answer,
        "seconds": wall,
        "requests_per_second": len(results) / wall if wall else math.nan,
        "p50_ms_single_text": 1000 * percentile(latencies, 0.50),
        "p99_ms_single_text": 1000 * percentile(latencies, 0.99),
        "rss_start_mib": samples[0] / mib if samples else math.nan,
        "rss_end_mib": samples[-1] / mib if samples else math.nan,
        "rss_max_mib": max(samples) / mib if samples else math.nan,
        "rss_growth_mib": (last - first) / mib,
        "rss_growth_limit_mib": limit / mib,
        "failures": failures,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--clients", type=int, default=32)
    p.add_argument(
        "--seconds",
        type=float,
        default=300.0,
        help="hard bound on the whole run, server start included",
    )
    p.add_argument(
        "--model-dir",
        type=Path,
        default=None,
        help="serve this model directory (integer versions) instead of a tiny export",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--batching",
        choices=("off", "on", "both"),
        default="both",
        help="serve without batching, with it, or both back to back (default)",
    )
    add_record_flag(p)
    args = p.parse_args(argv)
    if args.requests < 1 or args.clients < 1 or args.seconds <= 0:
        p.error("--requests and --clients must be >= 1 and --seconds > 0")
    print_machine()
    print(
        f"settings: requests={args.requests} clients={args.clients} seconds={args.seconds:g} "
        f"malformed share={MALFORMED_SHARE:.0%} model_dir={args.model_dir or 'tiny topic_gru'}"
    )
    print(
        f"memory criterion: median VmRSS of the last quarter minus that of the first "
        f"<= max({RSS_GROWTH_LIMIT[0] // 2**20} MiB, {RSS_GROWTH_LIMIT[1]:.0%} of the first)"
    )
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.batching]
    failed, speed = False, {}
    for batching in modes:
        print(f"\n--- batching {'on' if batching else 'off'}")
        figures = run(
            args.requests, args.clients, args.seconds, args.model_dir, args.seed, batching
        )
        failures = figures.pop("failures")
        for failure in failures[:20]:
            print(f"FAIL {failure}")
        figures["result"] = "FAIL" if failures else "PASS"
        failed |= bool(failures)
        speed[batching] = figures["requests_per_second"]
        report(
            {f"{'batching' if batching else 'no_batching'}_{k}": v for k, v in figures.items()},
            record=args.record and "load_test",
            data=Path(args.model_dir).name if args.model_dir else "tiny classifier",
        )
    if len(speed) == 2:
        report(
            {"batching_speedup": speed[True] / speed[False]},
            record=args.record and "load_test",
            data=Path(args.model_dir).name if args.model_dir else "tiny classifier",
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
