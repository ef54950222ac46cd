"""One worker against two: the stacked_lstm recipe for the same steps and global batch.

Runs ``zoo train stacked_lstm`` as one process (``--distribute none``), then as two worker
processes on 127.0.0.1 (``--distribute multiworker``, one ``TF_CONFIG`` each), with the same
``--batch-size`` (the global batch: two workers take half each), steps and seed. Prints the
examples per second of each (the chief's ``metrics.json``), their ratio, and the training
and validation loss after the same steps. Both workers share this machine's cores, so the
ratio shows the cost of the collective ops here, not what two machines gain; the losses
show that two workers learn as one does (their data shards and gradient sums differ from
one process's batches, so they are close, not equal).

    python -m benchmarks.multiworker --manual-dir data/tiny_shakespeare
    python -m benchmarks.multiworker --manual-dir data/tiny_shakespeare --quick
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import add_record_flag, print_machine, report


def free_ports(count: int) -> list[int]:
    """``count`` ports on 127.0.0.1 that were free a moment ago (one per worker)."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _train(flags: list[str], run_dir: Path, workers: int) -> dict:
    """``zoo train`` on ``workers`` processes; the chief's metrics.json."""
    base = [
        sys.executable,
        "-m",
        "zoo.cli",
        "train",
        "stacked_lstm",
        *flags,
        "--run-dir",
        str(run_dir),
        "--no-export",
        "--verbose",
        "0",
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if workers == 1:
        processes = [subprocess.Popen([*base, "--distribute", "none"], env=env)]
    else:
        cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(workers)]}
        processes = [
            subprocess.Popen(
                [*base, "--distribute", "multiworker"],
                env={
                    **env,
                    "TF_CONFIG": json.dumps(
                        {"cluster": cluster, "task": {"type": "worker", "index": i}}
                    ),
                },
            )
            for i in range(workers)
        ]
    codes = [p.wait() for p in processes]
    if any(codes):
        raise SystemExit(f"zoo train exited with {codes}")
    return json.loads((run_dir / "metrics.json").read_text())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--manual-dir", required=True, help="folder holding tiny_shakespeare's input.txt"
    )
    parser.add_argument("--data-dir", help="tfds data directory (default: a temporary one)")
    parser.add_argument("--steps", type=int, default=200, help="training steps (one epoch)")
    parser.add_argument("--batch-size", type=int, default=32, help="the global batch")
    parser.add_argument("--quick", action="store_true", help="a few steps of a small model")
    add_record_flag(parser)
    args = parser.parse_args(argv)

    print_machine()
    with tempfile.TemporaryDirectory() as root:
        root = Path(root)
        size = (
            ["--units", "32", "--embedding-dim", "8", "--sequence-length", "32"]
            if args.quick
            else []
        )
        steps = 10 if args.quick else args.steps
        data_dir = args.data_dir or str(root / "tfds")
        flags = [
            "--manual-dir",
            args.manual_dir,
            "--data-dir",
            data_dir,
            "--epochs",
            "1",
            "--max-steps",
            str(steps),
            "--batch-size",
            str(args.batch_size),
            "--precision",
            "float32",
            *size,
        ]
        print(f"settings: stacked_lstm {' '.join(flags[4:])}")
        from zoo.data import find_builder, prepare

        # The dataset prepared once (if it is not already), before either run is timed.
        prepare(find_builder("tiny_shakespeare", data_dir=data_dir), manual_dir=args.manual_dir)
        started = time.perf_counter()
        one = _train(flags, root / "one", 1)
        two = _train(flags, root / "two", 2)
        print(f"wall: {time.perf_counter() - started:.0f} s for both")
    report(
        {
            "one_worker_examples_per_second": one["examples_per_second"],
            "two_workers_examples_per_second": two["examples_per_second"],
            "ratio_two_over_one": two["examples_per_second"] / one["examples_per_second"],
            "one_worker_loss": one["history"]["loss"][-1],
            "two_workers_loss": two["history"]["loss"][-1],
            "one_worker_val_loss": one["history"]["val_loss"][-1],
            "two_workers_val_loss": two["history"]["val_loss"][-1],
            "two_workers_replicas": two["replicas"],
        },
        record=args.record and "multiworker",
        data="tiny_shakespeare",
    )


if __name__ == "__main__":
    main()
