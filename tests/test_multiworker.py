"""Two worker processes on this machine, each a real ``zoo train``, training one model
with TensorFlow's collective ops (``--distribute multiworker``, one ``TF_CONFIG`` each)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

from helpers import REPO, tiny_lm_flags


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_train_one_model_and_only_the_chief_writes(shakespeare_dirs, tmp_path):
    data_dir, _ = shakespeare_dirs
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    flags = [flag for flag in tiny_lm_flags(data_dir, tmp_path / "run", "--epochs", "2",
                                            "--max-steps", "5", "--batch-size", "8",
                                            "--distribute", "multiworker", "--verbose", "2",
                                            "--export-dir", str(tmp_path / "exports"),
                                            "--max-minutes", "10")
             if flag != "--no-export"]
    scratch = tmp_path / "scratch"  # the workers' temporary folders go here
    scratch.mkdir()
    workers = [subprocess.Popen(
        [sys.executable, "-m", "zoo.cli", *flags], cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "TMPDIR": str(scratch), "TF_CPP_MIN_LOG_LEVEL": "3",
             "TF_CONFIG": json.dumps({"cluster": cluster,
                                      "task": {"type": "worker", "index": index}})})
        for index in range(2)]
    outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], [out[-3000:] for out in outputs]

    def figures(output):  # each epoch's line and the test line, without timings
        return [line.split(" - ", 3)[-1] if "/step" in line else line
                for line in output.splitlines() if "/step" in line or line.startswith("test:")]

    # Every step averaged over both workers, the weights kept equal: the same figures.
    assert len(figures(outputs[0])) == 3 and figures(outputs[0]) == figures(outputs[1])
    assert "exported:" in outputs[0] and "exported:" not in outputs[1]
    assert sorted(p.name for p in (tmp_path / "exports" / "stacked_lstm").iterdir()) == ["1"]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["replicas"] == 2 and metrics["epochs"] == [1, 2]
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "best.weights.h5", "config.json", "curves.png", "logs", "metrics.json"]
    assert not list(scratch.iterdir())  # the non-chief worker removed what it wrote
