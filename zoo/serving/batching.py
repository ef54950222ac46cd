"""Server-side batching: concurrent requests of one signature run as one batch.

TF Serving's ``--enable_batching`` in small: a request joins the open batch of its model
version, signature and scalar inputs (requests that differ in a scalar such as
``beam_width`` cannot share a run); the first request of a batch waits up to
``timeout_seconds`` for others, or until ``max_batch_size`` rows are in, then runs them
all at once and hands each request its rows. At most ``max_enqueued_batches`` batches
may wait per key; beyond that a request is refused (``Overloaded``), as TF Serving's
bounded queue refuses with UNAVAILABLE.
"""

from __future__ import annotations

import threading


class Overloaded(RuntimeError):
    """The batch queue is full: the request is refused (HTTP 503, gRPC UNAVAILABLE)."""


class _Batch:
    def __init__(self):
        self.parts: list[dict] = []  # each request's tensors
        self.rows = 0
        self.full = threading.Event()
        self.done = threading.Event()
        self.results: list = []  # per part: outputs dict or an exception


class Batcher:
    """Runs ``predictor.call`` on batches merged from concurrent requests (see the module)."""

    def __init__(
        self,
        max_batch_size: int = 32,
        timeout_seconds: float = 0.002,
        max_enqueued_batches: int = 64,
        on_batch=None,
    ):
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size={max_batch_size}; expected an integer >= 1")
        if timeout_seconds < 0:
            raise ValueError(f"timeout_seconds={timeout_seconds}; expected >= 0")
        if max_enqueued_batches < 1:
            raise ValueError(f"max_enqueued_batches={max_enqueued_batches}; expected >= 1")
        self.max_batch_size, self.timeout = max_batch_size, timeout_seconds
        self.max_enqueued_batches = max_enqueued_batches
        self.on_batch = on_batch  # called with each batch's size, e.g. for metrics
        self._open: dict = {}  # key -> the batch still taking requests
        self._waiting: dict = {}  # key -> batches formed and not yet run
        self._lock = threading.Lock()

    def call(self, predictor, signature: str, tensors: dict) -> dict:
        """``predictor.call(signature, tensors)``, run together with concurrent requests."""
        batched = {name for name, t in tensors.items() if t.shape.rank}
        rows = _rows(tensors, batched)
        if not batched or rows is None or rows > self.max_batch_size:
            return predictor.call(signature, tensors)  # nothing to merge, or too big to
        scalars = tuple(
            sorted(
                (name, t.numpy().tobytes()) for name, t in tensors.items() if name not in batched
            )
        )
        key = (id(predictor), signature, scalars)
        with self._lock:
            batch = self._open.get(key)
            if batch is not None and batch.rows + rows > self.max_batch_size:
                batch.full.set()  # closed: this request starts the next one
                self._open.pop(key)
                batch = None
            leader = batch is None
            if leader:
                if self._waiting.get(key, 0) >= self.max_enqueued_batches:
                    raise Overloaded(
                        f"the batch queue of {signature!r} is full "
                        f"({self.max_enqueued_batches} batches waiting)"
                    )
                batch = self._open[key] = _Batch()
                self._waiting[key] = self._waiting.get(key, 0) + 1
            index = len(batch.parts)
            batch.parts.append(tensors)
            batch.rows += rows
            if batch.rows >= self.max_batch_size:
                batch.full.set()
        if leader:
            batch.full.wait(self.timeout)
            with self._lock:
                if self._open.get(key) is batch:
                    self._open.pop(key)
            try:
                self._run(predictor, signature, batch, batched)
            finally:
                with self._lock:
                    self._waiting[key] -= 1
                    if not self._waiting[key]:
                        self._waiting.pop(key)
                batch.done.set()
        else:
            batch.done.wait()
        result = batch.results[index]
        if isinstance(result, BaseException):
            raise result
        return result

    def _run(self, predictor, signature, batch, batched):
        import numpy as np
        import tensorflow as tf

        parts = batch.parts
        if self.on_batch is not None:
            self.on_batch(batch.rows)
        merged = {
            name: (
                tf.concat([p[name] for p in parts], axis=0) if name in batched else parts[0][name]
            )
            for name in parts[0]
        }
        try:
            outputs = predictor.call(signature, merged)
        except Exception as err:  # noqa: BLE001 - every request of the batch gets it
            batch.results = [err] * len(parts)
            return
        bounds = np.cumsum([0] + [_rows(p, batched) for p in parts])
        batch.results = [
            {
                name: (
                    value[bounds[i] : bounds[i + 1]]
                    if np.ndim(value) and len(value) == bounds[-1]
                    else value
                )
                for name, value in outputs.items()
            }
            for i in range(len(parts))
        ]


def _rows(tensors: dict, batched: set) -> int | None:
    """The rows of a request (None when its batched inputs disagree)."""
    sizes = {int(tensors[name].shape[0]) for name in batched}
    return sizes.pop() if len(sizes) == 1 else None
