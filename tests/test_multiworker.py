"""Two worker processes on this machine, each a real ``zoo train``, training one model
with TensorFlow's collective ops (``--distribute multiworker``, one ``TF_CONFIG`` each)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from benchmarks.multiworker import free_ports

from helpers import REPO, tiny_lm_flags


def start_workers(flags, tmp_path, count=2) -> list[subprocess.Popen]:
    """``zoo train *flags`` once per worker of a cluster on 127.0.0.1, each with its TF_CONFIG."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(count)]}
    scratch = tmp_path / "scratch"  # the workers' temporary folders go here
    scratch.mkdir(exist_ok=True)
    return [
        subprocess.Popen(
            [sys.executable, "-m", "zoo.cli", "train", *flags, "--distribute", "multiworker"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={
                **os.environ,
                "TMPDIR": str(scratch),
                "TF_CPP_MIN_LOG_LEVEL": "3",
                "TF_CONFIG": json.dumps(
                    {"cluster": cluster, "task": {"type": "worker", "index": index}}
                ),
            },
        )
        for index in range(count)
    ]


def finish(workers) -> list[str]:
    outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    assert [w.returncode for w in workers] == [0] * len(workers), [o[-3000:] for o in outputs]
    return outputs


def figures(output: str) -> list[str]:
    """Each epoch's line and the test line, without timings."""
    return [
        line.split(" - ", 3)[-1] if "/step" in line else line
        for line in output.splitlines()
        if "/step" in line or line.startswith("test:")
    ]


def lm_flags(data_dir, tmp_path, *extra) -> list[str]:
    flags = tiny_lm_flags(
        data_dir,
        tmp_path / "run",
        "--batch-size",
        "8",
        "--verbose",
        "2",
        "--export-dir",
        str(tmp_path / "exports"),
        "--max-minutes",
        "10",
        *extra,
    )
    return [flag for flag in flags[1:] if flag != "--no-export"]  # without "train"


REVIEWS = "text,label\n" + "".join(
    f"a fine good film number {i} with more words,pos\n" if i % 2 else f"a dull film {i},neg\n"
    for i in range(80)
)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["stacked_lstm", "sentiment_lstm", "chatbot"])
def test_each_task_trains_one_model_on_two_workers_and_only_the_chief_writes(
    model, shakespeare_dirs, tmp_path
):
    """One recipe per task, as the tasks own the data paths: a tfds source and the language
    models' windows; files and the length-bucketed classifier and dialogue batches (each
    worker's of another length). The other recipes differ from these in sizes and cells."""
    common = [
        "--epochs",
        "2",
        "--max-steps",
        "4",
        "--units",
        "8",
        "--embedding-dim",
        "8",
        "--batch-size",
        "8",
        "--verbose",
        "2",
        "--run-dir",
        str(tmp_path / "run"),
        "--export-dir",
        str(tmp_path / "exports"),
    ]
    if model == "stacked_lstm":
        data = ["--data-dir", str(shakespeare_dirs[0]), "--sequence-length", "8"]
    elif model == "chatbot":
        pairs = REPO / "tests" / "data" / "sgd_pairs"
        data = [
            "--train-file",
            str(pairs / "train.tsv"),
            "--eval-file",
            str(pairs / "test.tsv"),
            "--vocab-size",
            "200",
            "--sequence-length",
            "12",
        ]
    else:
        (tmp_path / "reviews.csv").write_text(REVIEWS)
        data = [
            "--train-file",
            str(tmp_path / "reviews.csv"),
            "--vocab-size",
            "50",
            "--sequence-length",
            "12",
        ]
    outputs = finish(start_workers([model, *common, *data], tmp_path))
    # Every step averaged over both workers, the weights kept equal: the same figures.
    assert len(figures(outputs[0])) == 3 and figures(outputs[0]) == figures(outputs[1])
    assert "exported:" in outputs[0] and "exported:" not in outputs[1]
    assert sorted(p.name for p in (tmp_path / "exports" / model).iterdir()) == ["1"]
    assert (tmp_path / "exports" / model / "1" / "saved_model.pb").is_file()
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["replicas"] == 2 and metrics["epochs"] == [1, 2]
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "best.weights.h5",
        "config.json",
        "curves.png",
        "logs",
        "metrics.json",
    ]
    assert not list((tmp_path / "scratch").iterdir())  # the other worker removed its files


@pytest.mark.slow
def test_a_lost_worker_stops_the_run_and_every_worker_resumes_from_the_backup(
    shakespeare_dirs, tmp_path
):
    flags = lm_flags(
        shakespeare_dirs[0],
        tmp_path,
        "--epochs",
        "3",
        "--max-steps",
        "12",
        "--early-stopping-patience",
        "10",
    )
    chief, worker = start_workers(flags, tmp_path)
    backup = tmp_path / "run" / "backup" / "training_metadata.json"
    deadline = time.monotonic() + 240
    while not backup.exists() and chief.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.communicate(timeout=60)
    output = chief.communicate(timeout=300)[0]
    assert chief.returncode == 1, output[-3000:]
    assert "a worker of this multi-worker run stopped" in output and "--resume" in output
    saved = json.loads(backup.read_text())["epoch"]
    assert 1 <= saved < 3 and not (tmp_path / "exports").exists()

    outputs = finish(start_workers([*flags, "--resume"], tmp_path))
    for output in outputs:
        assert f"resuming at epoch {saved + 1} from" in output
    assert figures(outputs[0]) == figures(outputs[1])
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["resumed_at_epoch"] == saved + 1 and metrics["epochs"] == [1, 2, 3]
    assert (tmp_path / "exports" / "stacked_lstm" / "1" / "saved_model.pb").is_file()


FIRST_BATCH = """
import json, sys
from zoo.training.runtime import choose_strategy
strategy = choose_strategy("multiworker")
from zoo.recipes.stacked_lstm import StackedLSTMRecipe
from zoo.tasks import task_of
config = StackedLSTMRecipe(data_dir=sys.argv[1], batch_size=8, sequence_length=16)
data = task_of("stacked_lstm").load_data(config)
# As Keras's fit does: the dataset distributed by the strategy, each worker's part of a step.
inputs, _ = next(iter(strategy.experimental_distribute_dataset(data.train)))
local = strategy.experimental_local_results(inputs)[0].numpy()
print(json.dumps({"shape": list(local.shape), "ids": local.tolist()}))
"""


@pytest.mark.slow
def test_each_worker_reads_its_own_shard_and_half_the_global_batch(shakespeare_dirs, tmp_path):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", FIRST_BATCH, str(shakespeare_dirs[0])],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={
                **os.environ,
                "TF_CPP_MIN_LOG_LEVEL": "3",
                "TF_CONFIG": json.dumps(
                    {"cluster": cluster, "task": {"type": "worker", "index": index}}
                ),
            },
        )
        for index in range(2)
    ]
    outputs = [worker.communicate(timeout=120) for worker in workers]
    assert [w.returncode for w in workers] == [0, 0], [err[-2000:] for _, err in outputs]
    first, second = (json.loads(out.strip().splitlines()[-1]) for out, _ in outputs)
    assert first["shape"] == second["shape"] == [4, 16]  # --batch-size 8 over two workers
    assert first["ids"] != second["ids"]  # different examples
