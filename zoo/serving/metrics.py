"""The server's Prometheus metrics, named as TF Serving names its own.

``/monitoring/prometheus/metrics`` (TF Serving's path) prints, per model and signature:
``:tensorflow:serving:request_count_total`` by status (``OK`` or the error's code),
``:tensorflow:serving:request_latency`` (microseconds, from request to answer) by API
(``predict``, ``classify``, ...) and entrypoint (``REST``, ``GRPC``), and
``:tensorflow:serving:runtime_latency`` (microseconds in the model itself). With
batching on, ``:tensorflow:serving:batching_session:batch_size`` too. The names and
the microsecond buckets (10 times powers of 1.8) are TF Serving's, so its dashboards
read them; the ``signature`` label is this server's addition. ``FAILURES`` says which
status each kind of failure answers with, for the metrics, REST and gRPC alike.
"""

from __future__ import annotations

import contextlib
import time

from zoo.serving.batching import Overloaded

PATH = "/monitoring/prometheus/metrics"
PREFIX = ":tensorflow:serving:"
LATENCY_BUCKETS = tuple(10 * 1.8**i for i in range(33))  # microseconds, ~20 minutes


class Metrics:
    """Counters and histograms of one server, in a registry of their own."""

    def __init__(self):
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter(
            PREFIX + "request_count",
            "The total number of requests.",
            ["model_name", "signature", "status"],
            registry=self.registry,
        )
        self.request_latency = Histogram(
            PREFIX + "request_latency",
            "Distribution of wall time (in microseconds) for Tensorflow Serving request.",
            ["model_name", "signature", "API", "entrypoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.runtime_latency = Histogram(
            PREFIX + "runtime_latency",
            "Distribution of wall time (in microseconds) for Tensorflow runtime.",
            ["model_name", "signature", "API", "runtime"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            PREFIX + "batching_session:batch_size",
            "Rows in each batch the model ran.",
            buckets=tuple(2**i for i in range(11)),
            registry=self.registry,
        )

    @contextlib.contextmanager
    def request(self, model: str, signature: str, api: str, entrypoint: str):
        """Count one request and time it; an exception counts under its status code."""
        started = time.perf_counter()
        status = "OK"
        try:
            yield
        except BaseException as err:
            status = status_code(err)
            raise
        finally:
            self.requests.labels(model, signature, status).inc()
            self.request_latency.labels(model, signature, api, entrypoint).observe(
                (time.perf_counter() - started) * 1e6
            )

    @contextlib.contextmanager
    def runtime(self, model: str, signature: str, api: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.runtime_latency.labels(model, signature, api, "TF").observe(
                (time.perf_counter() - started) * 1e6
            )

    def exposition(self) -> tuple[bytes, str]:
        """The metrics in Prometheus's text format, and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


# The failures a request may end in, by the gRPC status TF Serving answers them with;
# REST answers the HTTP status TF Serving gives each (``HTTP_STATUS``).
FAILURES = (
    (LookupError, "NOT_FOUND"),
    (ValueError, "INVALID_ARGUMENT"),
    (Overloaded, "UNAVAILABLE"),
)
EXPECTED_FAILURES = tuple(kind for kind, _ in FAILURES)
HTTP_STATUS = {"NOT_FOUND": 404, "INVALID_ARGUMENT": 400, "UNAVAILABLE": 503}


def status_code(err: BaseException) -> str:
    """The gRPC status name a failure answers with (``INVALID_ARGUMENT``, ``NOT_FOUND``, ...)."""
    return next((code for kind, code in FAILURES if isinstance(err, kind)), "INTERNAL")


def message(err: BaseException) -> str:
    """What a failure says (a ``KeyError``'s text without the quotes ``str`` adds)."""
    return err.args[0] if err.args and isinstance(err.args[0], str) else str(err)
