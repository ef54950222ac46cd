"""Every recipe end to end for a few steps: data in, metrics, curves and an export out."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo import training
from zoo.recipes.chatbot import ChatbotRecipe
from zoo.recipes.next_word_rnn import NextWordRNNRecipe
from zoo.recipes.sentiment_lstm import SentimentLSTMRecipe
from zoo.recipes.stacked_lstm import StackedLSTMRecipe
from zoo.recipes.topic_gru import TopicGRURecipe
from zoo.training import callbacks as zoo_callbacks
from zoo.training import runtime

from helpers import slow_epochs, tiny_lm_flags
from mock_datasets import ag_news_example, dialogue_example, imdb_example, mock_tfds

TINY = dict(
    epochs=1, max_steps=2, batch_size=8, units=8, embedding_dim=8, verbose=0, precision="float32"
)  # "auto" would differ by machine


def run_recipe(recipe, tmp_path, **settings):
    config = recipe(
        run_dir=str(tmp_path / "run"), export_dir=str(tmp_path / "exports"), **{**TINY, **settings}
    )
    metrics = training.run(config)
    run_dir = tmp_path / "run"
    written = json.loads((run_dir / "metrics.json").read_text())
    assert written["test"] == metrics["test"]
    assert written["config"]["model"] == config.model
    assert written["epochs"] == [1] and written["wall_seconds"] > 0
    assert written["examples_per_second"] > 0 and "CPU" in written["hardware"]
    assert all(len(v) == 1 for v in written["history"].values())
    assert (run_dir / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((run_dir / "config.json").read_text())["epochs"] == 1
    assert (tmp_path / "exports" / config.model / "1" / "saved_model.pb").is_file()
    return metrics["test"]


@pytest.mark.slow
@pytest.mark.parametrize("recipe", [StackedLSTMRecipe, NextWordRNNRecipe])
def test_language_model_recipes_on_real_tiny_shakespeare(recipe, shakespeare_dirs, tmp_path):
    data_dir, _ = shakespeare_dirs
    test = run_recipe(recipe, tmp_path, data_dir=str(data_dir), sequence_length=20, vocab_size=500)
    assert {
        "loss",
        "perplexity",
        "accuracy",
        "top5_accuracy",
        "carried_loss",
        "carried_perplexity",
        "carried_accuracy",
        "carried_top5_accuracy",
    } <= set(test)
    assert test["perplexity"] == pytest.approx(2.718281828 ** test["loss"], rel=1e-6)
    assert test["carried_perplexity"] == pytest.approx(
        2.718281828 ** test["carried_loss"], rel=1e-6
    )


@pytest.mark.slow
def test_sentiment_recipe_on_mocked_imdb(tmp_path):
    with mock_tfds(tmp_path / "tfds", "imdb_reviews", {"train": 40, "test": 16}, imdb_example):
        test = run_recipe(SentimentLSTMRecipe, tmp_path, vocab_size=200)
    assert 0 <= test["accuracy"] <= 1


@pytest.mark.slow
def test_topic_recipe_on_mocked_ag_news(tmp_path):
    with mock_tfds(tmp_path / "tfds", "ag_news_subset", {"train": 40, "test": 16}, ag_news_example):
        test = run_recipe(TopicGRURecipe, tmp_path, vocab_size=200)
    assert 0 <= test["accuracy"] <= 1


@pytest.mark.slow
def test_chatbot_recipe_on_mocked_schema_guided_dialogue(tmp_path):
    with mock_tfds(
        tmp_path / "tfds",
        "schema_guided_dialogue",
        {"train": 30, "dev": 10, "test": 10},
        dialogue_example,
    ):
        test = run_recipe(ChatbotRecipe, tmp_path, vocab_size=200)
    assert {"token_accuracy", "bleu", "loss"} <= set(test)


@pytest.mark.slow
def test_chatbot_recipe_on_real_chatterbot(chatterbot_dir, tmp_path):
    test = run_recipe(ChatbotRecipe, tmp_path, dataset="chatterbot", data_dir=str(chatterbot_dir))
    assert 0 <= test["bleu"] <= 100


# --- text classification from the user's files ----------------------------------------------


def separable_csv(path, count=300, seed=0):
    """Reviews whose label shows in every text: praise words or complaint words among filler."""
    import random

    rng = random.Random(seed)
    cue = {
        "pos": ["great", "wonderful", "excellent", "loved"],
        "neg": ["awful", "terrible", "boring", "hated"],
    }
    filler = ["the", "film", "plot", "cast", "it", "was", "a", "story", "and", "music"]
    lines = ["text,label"]
    for i in range(count):
        label = ("pos", "neg")[i % 2]
        words = rng.choices(cue[label], k=3) + rng.choices(filler, k=5)
        rng.shuffle(words)
        lines.append(f"{' '.join(words)},{label}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow
def test_an_easily_separable_file_exports_a_confident_classifier(tmp_path):
    """The best epoch is chosen by validation loss: validation accuracy reaches 1.0 in
    the second epoch and ties there while the loss keeps falling; a checkpoint kept on
    accuracy held that epoch's unsure weights (probabilities of 0.6 to 0.9)."""
    config = training.parse_config(
        SentimentLSTMRecipe,
        [
            "--train-file",
            str(separable_csv(tmp_path / "reviews.csv")),
            "--units",
            "8",
            "--embedding-dim",
            "8",
            "--vocab-size",
            "50",
            "--epochs",
            "6",
            "--batch-size",
            "16",
            "--learning-rate",
            "5e-3",
            "--verbose",
            "0",
            "--precision",
            "float32",
            "--run-dir",
            str(tmp_path / "run"),
            "--export-dir",
            str(tmp_path / "exports"),
        ],
    )
    training.run(config)
    out = zoo.load(tmp_path / "exports" / "sentiment_lstm").predict(
        ["a wonderful film, i loved it, great cast", "an awful film, boring and terrible"]
    )
    assert list(out["label"]) == ["pos", "neg"]
    assert np.max(out["probabilities"], axis=1).min() > 0.9, out["probabilities"]


@pytest.mark.slow
def test_a_run_from_files_names_them_declares_its_labels_and_knows_its_epoch(
    tmp_path, recwarn, monkeypatch
):
    """``--labels`` orders the classes; metrics.json names the files; an epoch's end is
    known, so Keras never warns that the input ran out of data; ``record`` writes the test
    figures to the model's results file."""
    from zoo import results

    monkeypatch.setattr(results, "RESULTS_DIR", tmp_path / "results")
    train_file = separable_csv(tmp_path / "train.csv", count=60)
    eval_file = separable_csv(tmp_path / "eval.csv", count=20, seed=1)
    # Through the Python API, which runs the recipe as `zoo train` does.
    metrics = zoo.train(
        "topic_gru",
        train_file=str(train_file),
        eval_file=str(eval_file),
        labels="pos, neg",
        units=8,
        embedding_dim=8,
        vocab_size=50,
        epochs=2,
        batch_size=8,
        verbose=0,
        run_dir=str(tmp_path / "run"),
        export_dir=str(tmp_path / "exports"),
        record=True,
    )
    assert not [w for w in recwarn if "ran out of data" in str(w.message)]
    recorded = {f.metric: f for f in results.figures("topic_gru")}
    assert recorded["accuracy"].value == metrics["test"]["accuracy"]
    assert recorded["accuracy"].data == tmp_path.name and recorded["accuracy"].split == "test"
    assert len(recorded["accuracy"].detail["history"]["val_loss"]) == 2  # the headline's
    assert "history" not in recorded["loss"].detail
    assert recorded["loss"].date and recorded["loss"].versions["keras"]
    written = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert (written["dataset"], written["train_file"], written["eval_file"]) == (
        "files",
        str(train_file),
        str(eval_file),
    )
    assert written["config"]["dataset"] == "files" and "ag_news" not in json.dumps(written)
    assets = Path(metrics["export"]) / "assets"
    assert json.loads((assets / "labels.json").read_text()) == ["pos", "neg"]
    assert json.loads((assets / "config.json").read_text())["recipe_config"]["dataset"] == "files"
    # The export, scored on its own on the eval file, gives the figures the run reported.
    scored = zoo.evaluate(metrics["export"], eval_file)
    assert scored["examples"] == 20
    assert scored["accuracy"] == pytest.approx(metrics["test"]["accuracy"], abs=1e-6)
    # float32 probabilities: a loss near 0 is known to about 1e-7 absolute
    assert scored["loss"] == pytest.approx(metrics["test"]["loss"], rel=1e-4, abs=1e-6)


def test_the_python_api_names_an_unknown_setting_before_any_work():
    with pytest.raises(ValueError, match=r"unknown setting\(s\) unitz for the topic_gru recipe"):
        zoo.train("topic_gru", unitz=8)
    with pytest.raises(KeyError, match="did you mean topic_gru"):
        zoo.train("topic_gr")


# --- command line ----------------------------------------------------------------------------


def zoo_command(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "zoo.cli", *args], capture_output=True, text=True, **kwargs
    )


@pytest.mark.slow
def test_zoo_train_from_the_command_line(shakespeare_dirs, tmp_path):
    data_dir, _ = shakespeare_dirs
    result = zoo_command(
        "train",
        "stacked_lstm",
        "--data-dir",
        str(data_dir),
        "--epochs",
        "1",
        "--max-steps",
        "2",
        "--units",
        "8",
        "--sequence-length",
        "16",
        "--run-dir",
        str(tmp_path / "run"),
        "--no-export",
        "--verbose",
        "0",
    )
    assert result.returncode == 0, result.stderr
    assert "strategy:" in result.stdout and "test: " in result.stdout
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["settings"]["units"] == 8


def test_recipe_flags_are_validated_before_training(tmp_path):
    result = zoo_command("train", "topic_gru", "--epochs", "0")
    assert result.returncode == 2 and "epochs=0" in result.stderr
    result = zoo_command(
        "train", "topic_gru", "--units", "0", "--train-file", str(tmp_path / "missing.csv")
    )
    assert result.returncode == 2 and "train_file=" in result.stderr
    result = zoo_command("train", "topic_grux")
    assert result.returncode == 2 and "topic_gru" in result.stderr


def test_recipe_module_runs_as_a_script():
    result = subprocess.run(
        [sys.executable, "-m", "recipes.sentiment_lstm", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "--early-stopping-patience" in result.stdout


# `zoo` in a process whose connections all fail, as on a machine without a network: where the
# dataset host is reachable, tfds would otherwise download the data and start a long run.
OFFLINE_ZOO = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("network is unreachable")
socket.create_connection = refuse
from zoo.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_missing_dataset_fails_fast_saying_what_to_place_where(tmp_path):
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            OFFLINE_ZOO,
            "train",
            "stacked_lstm",
            "--data-dir",
            str(tmp_path / "empty"),
            "--run-dir",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 2
    assert "input.txt" in result.stderr and "manual" in result.stderr
    assert elapsed < 10 + 8  # the 10 s budget, plus TensorFlow's import in a fresh process


# --- precision -------------------------------------------------------------------------------


@pytest.mark.slow
def test_bfloat16_training_is_evaluated_and_exported_in_float32(
    shakespeare_dirs, tmp_path, monkeypatch
):
    import keras

    import zoo
    from zoo import export

    twins = []

    def recording_twin(*args, **kwargs):
        twins.append(real_twin(*args, **kwargs))
        return twins[-1]

    real_twin = export.portable_twin
    monkeypatch.setattr(export, "portable_twin", recording_twin)
    data_dir, _ = shakespeare_dirs
    config = StackedLSTMRecipe(
        **{**TINY, "precision": "mixed_bfloat16"},
        data_dir=str(data_dir),
        sequence_length=16,
        run_dir=str(tmp_path / "run"),
        export_dir=str(tmp_path / "exports"),
    )
    metrics = training.run(config)

    assert metrics["precision"] == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == "float32"  # restored after the run
    # One twin, built once: the test split is measured on exactly what is exported.
    (twin,) = twins
    assert twin.compiled
    assert {layer.dtype_policy.name for layer in twin.layers} == {"float32"}
    assert all(v.dtype == "float32" for v in twin.weights)
    pairs = zoo.load(metrics["export"]).next_words("To be", k=3)
    assert len(pairs) == 3 and all(0 <= p <= 1 for _, p in pairs)


def test_auto_precision_follows_the_hardware(monkeypatch):
    import tensorflow as tf

    # The device list is patched both ways, so the test reads the same on any machine.
    monkeypatch.setattr(
        tf.config,
        "list_physical_devices",
        lambda kind=None: ["GPU:0"] if kind == "GPU" else ["CPU:0", "GPU:0"],
    )
    monkeypatch.setattr(runtime, "cpu_has_bfloat16", lambda: True)
    assert runtime.choose_precision("auto") == "float32"  # a GPU: float32 unless asked
    assert runtime.choose_precision("mixed_float16") == "mixed_float16"

    monkeypatch.setattr(
        tf.config, "list_physical_devices", lambda kind=None: [] if kind == "GPU" else ["CPU:0"]
    )
    monkeypatch.setattr(runtime, "cpu_has_bfloat16", lambda: True)
    assert runtime.choose_precision("auto") == "mixed_bfloat16"
    monkeypatch.setattr(runtime, "cpu_has_bfloat16", lambda: False)
    assert runtime.choose_precision("auto") == "float32"
    assert runtime.choose_precision("mixed_bfloat16") == "mixed_bfloat16"
    with pytest.raises(ValueError, match="mixed_float16.*needs a GPU"):
        runtime.choose_precision("mixed_float16")
    with pytest.raises(ValueError, match="precision='half'.*float32"):
        StackedLSTMRecipe(precision="half").validate()


# --- resume ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_killed_run_resumes_from_the_next_epoch(shakespeare_dirs, tmp_path):
    data_dir, _ = shakespeare_dirs
    args = tiny_lm_flags(
        data_dir,
        tmp_path / "run",
        "--epochs",
        "4",
        "--max-steps",
        "15",
        "--early-stopping-patience",
        "10",
    )
    backup = tmp_path / "run" / "backup" / "training_metadata.json"
    first = subprocess.Popen([sys.executable, "-m", "zoo.cli", *args])
    deadline = time.monotonic() + 240
    while not backup.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert backup.exists(), "the first epoch never finished"
    assert not (tmp_path / "run" / "metrics.json").exists()

    result = zoo_command(*args, "--resume")
    assert result.returncode == 0, result.stderr
    assert "resuming at epoch " in result.stdout, result.stdout[-2000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["resumed_at_epoch"] >= 2  # continued, not restarted
    assert metrics["epochs"] == [1, 2, 3, 4] and len(metrics["history"]["loss"]) == 4


@pytest.mark.slow
def test_ctrl_c_stops_training_and_says_how_to_resume(shakespeare_dirs, tmp_path):
    data_dir, _ = shakespeare_dirs
    # Long enough (no early stopping, 200 epochs) that the signal finds it training.
    args = [
        "train",
        "stacked_lstm",
        "--data-dir",
        str(data_dir),
        "--epochs",
        "200",
        "--max-steps",
        "20",
        "--units",
        "8",
        "--sequence-length",
        "16",
        "--batch-size",
        "8",
        "--early-stopping-patience",
        "1000",
        "--run-dir",
        str(tmp_path / "run"),
        "--no-export",
        "--verbose",
        "0",
    ]
    backup = tmp_path / "run" / "backup" / "training_metadata.json"
    # As at a terminal: SIGINT's default action, even where this suite was started in the
    # background (which leaves SIGINT ignored, and Python then keeps ignoring it).
    run = subprocess.Popen(
        [sys.executable, "-m", "zoo.cli", *args],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 240
    while not backup.exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run.poll() is None, "the run ended before it could be interrupted"
    run.send_signal(signal.SIGINT)
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr and "zoo train: interrupted" in stderr, stderr[-2000:]
    assert "zoo train stacked_lstm" in stderr and stderr.rstrip().endswith("--resume"), stderr
    assert backup.exists()


# --- presets and the time budget -------------------------------------------------------------


def test_a_preset_overrides_defaults_and_flags_override_the_preset():
    config = training.parse_config(ChatbotRecipe, ["--preset", "chatterbot", "--epochs", "3"])
    assert (config.dataset, config.units, config.epochs) == ("chatterbot", 128, 3)
    assert training.parse_config(ChatbotRecipe, []).dataset == "schema_guided_dialogue"
    with pytest.raises(SystemExit):
        training.parse_config(ChatbotRecipe, ["--preset", "nonesuch"])


def test_the_time_budget_ends_training_before_it_is_overrun():
    import keras
    import numpy as np

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(
        np.zeros((4, 2)),
        np.zeros(4),
        epochs=20,
        verbose=0,
        callbacks=[slow_epochs(0.4), zoo_callbacks.TimeBudget(minutes=1.5 / 60)],
    )
    assert 1 <= len(history.epoch) <= 3


@pytest.mark.slow
@pytest.mark.parametrize("patience", [None, 5])
def test_averaged_weights_are_validated_and_kept_when_the_budget_ends_training(tmp_path, patience):
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    model = zoo.build_stacked_lstm(
        vocab_size=20, units=8, embedding_dim=8, learning_rate=0.05, ema_momentum=0.9
    )
    x = np.random.default_rng(0).integers(1, 20, size=(16, 10))
    config = StackedLSTMRecipe(
        run_dir=str(tmp_path), max_minutes=1.0 / 60, epochs=20, early_stopping_patience=patience
    )
    slow = slow_epochs(0.4)
    history = model.fit(
        x,
        x,
        validation_data=(x, x),
        epochs=20,
        batch_size=2,
        verbose=0,
        callbacks=[slow] + zoo_callbacks.callbacks(config, "val_loss", "min", ema=True),
    )
    assert len(history.epoch) < 20  # the budget ended it
    # What is kept is the average that was validated (the best epoch's, with early
    # stopping; the last one's without), not the training weights.
    validated = history.history["val_loss"]
    kept = model.evaluate(x, x, verbose=0, return_dict=True)["loss"]
    assert kept == pytest.approx(min(validated) if patience else validated[-1], rel=1e-5)
    assert any(not np.allclose(a, b) for a, b in zip(model.get_weights(), slow.training_weights))


def _noisy_regression(learning_rate, epochs, average_epochs):
    """A linear model fitted by SGD to noisy targets; validated on noise-free ones."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    w = rng.normal(size=(8, 1))
    x, x_val = rng.normal(size=(256, 8)), rng.normal(size=(128, 8))
    y = x @ w + rng.normal(scale=1.0, size=(256, 1))
    # Reshuffled every epoch: a fixed order would bring SGD back to one point each epoch.
    train = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(256, seed=0).batch(4)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(learning_rate), "mse")
    validation = (x_val, x_val @ w)

    class Recorder(keras.callbacks.Callback):  # the trainable weights after every epoch
        epochs = []

        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append([v.numpy() for v in self.model.trainable_weights])

    recorder = Recorder()
    average = zoo_callbacks.AverageLastEpochs(average_epochs, validation, "val_loss", "min")
    model.fit(
        train,
        epochs=epochs,
        validation_data=validation,
        verbose=0,
        shuffle=False,
        callbacks=[recorder, average],
    )
    return model, recorder.epochs, average, validation


def test_the_average_of_the_last_epochs_is_kept_where_it_validates_better():
    # A large SGD step on noisy targets: each epoch ends at another noisy point, and the
    # average of several lies nearer the truth (Polyak averaging).
    model, epochs, average, (x_val, y_val) = _noisy_regression(0.05, epochs=10, average_epochs=8)
    assert set(average.chosen["candidates"]) == {
        "epoch 10",
        "the average of epochs 9-10",
        "the average of epochs 7-10",
        "the average of epochs 3-10",
    }
    kept = average.chosen["kept"]
    assert kept.startswith("the average of epochs"), average.chosen
    first = int(kept.split()[-1].split("-")[0])
    expected = [np.mean(ws, axis=0) for ws in zip(*epochs[first - 1 :])]
    for got, want in zip(model.trainable_weights, expected):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)
    loss = model.evaluate(x_val, y_val, verbose=0)
    assert loss == pytest.approx(min(average.chosen["candidates"].values()), rel=1e-5)
    assert loss < average.chosen["candidates"]["epoch 10"]


def test_an_average_that_validates_worse_is_not_kept():
    # A small step far from the optimum: every epoch is better than the last, and an
    # average of epochs lags behind the last one.
    model, epochs, average, _ = _noisy_regression(1e-4, epochs=4, average_epochs=4)
    assert average.chosen["kept"] == "epoch 4", average.chosen
    for got, want in zip(model.trainable_weights, epochs[-1]):
        np.testing.assert_array_equal(got.numpy(), want)


def test_average_epochs_is_checked_and_appended_last_with_validation_data():
    with pytest.raises(ValueError, match="average_epochs=1 averages nothing"):
        ChatbotRecipe(average_epochs=1).validate()
    with pytest.raises(ValueError, match="average_epochs=-2 is out of range"):
        ChatbotRecipe(average_epochs=-2).validate()
    config = ChatbotRecipe(run_dir="unused", average_epochs=8)
    found = zoo_callbacks.callbacks(config, "val_token_accuracy", "max", validation=object())
    assert isinstance(found[-1], zoo_callbacks.AverageLastEpochs) and found[-1].epochs == 8
    for without, validation in ((config, None), (ChatbotRecipe(run_dir="unused"), object())):
        assert not any(
            isinstance(c, zoo_callbacks.AverageLastEpochs)
            for c in zoo_callbacks.callbacks(without, "val_loss", "min", validation=validation)
        )


def _fit_tiny(epochs, callbacks):
    import keras
    import numpy as np

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), "mse")
    return model.fit(
        np.zeros((4, 2)), np.zeros(4), epochs=epochs, verbose=0, callbacks=callbacks
    ).history["learning_rate"]


def test_cosine_schedule_anneals_over_the_epochs():
    import math

    rates = _fit_tiny(4, [zoo_callbacks.CosineAnneal(0.01, epochs=4, floor=0.0)])
    expected = [0.01 * (1 + math.cos(math.pi * (e + 0.5) / 4)) / 2 for e in range(4)]
    assert rates == pytest.approx(expected, rel=1e-5)


def test_cosine_schedule_follows_the_time_budget_when_it_ends_first():
    import math

    # 100 epochs planned, but 1.2 s of budget: the rate reaches its floor within a few.
    rates = _fit_tiny(
        6,
        [
            slow_epochs(0.3),
            zoo_callbacks.CosineAnneal(0.01, epochs=100, minutes=1.2 / 60, floor=0.1),
        ],
    )
    assert rates[0] == pytest.approx(0.01 * (1 + math.cos(math.pi / 200)) / 2 * 0.9 + 0.001)
    assert rates[-1] == pytest.approx(0.001)
    assert rates == sorted(rates, reverse=True)


def test_cosine_schedule_replaces_the_per_epoch_decay():
    with pytest.raises(ValueError, match="lr_decay_per_epoch=0.9 applies to"):
        StackedLSTMRecipe(lr_schedule="cosine", lr_decay_per_epoch=0.9).validate()
    with pytest.raises(ValueError, match="lr_schedule='linear'"):
        StackedLSTMRecipe(lr_schedule="linear").validate()


@pytest.mark.slow
def test_runs_are_kept_side_by_side_and_resume_takes_the_latest(tmp_path, monkeypatch):
    from zoo.cli import main as zoo_main

    monkeypatch.chdir(tmp_path)
    topics = "label,text\n" + "".join(
        f"{i % 2},{text}\n"
        for i, text in enumerate(
            [
                "stocks fell on monday",
                "the team won the cup",
                "oil prices climbed",
                "the striker scored twice",
            ]
            * 8
        )
    )
    (tmp_path / "topics.csv").write_text(topics)
    flags = [
        "--train-file",
        "topics.csv",
        "--epochs",
        "1",
        "--units",
        "4",
        "--embedding-dim",
        "4",
        "--vocab-size",
        "50",
        "--ngram-buckets",
        "16",
        "--no-export",
        "--verbose",
        "0",
    ]
    for _ in range(2):
        assert zoo_main(["train", "topic_gru", *flags]) == 0
    runs = tmp_path / "runs" / "topic_gru"
    assert sorted(p.name for p in runs.iterdir()) == ["1", "2", "latest"]
    assert (runs / "1" / "metrics.json").is_file() and (runs / "2" / "metrics.json").is_file()
    assert (runs / "latest").resolve() == (runs / "2").resolve()
    config = training.parse_config(TopicGRURecipe, [*flags, "--resume"])
    assert config.run_path == Path("runs/topic_gru/2")  # resume continues the latest run
