"""Training for every recipe: config as a dataclass, strategy, callbacks, metrics, export.

A recipe is a ``RecipeConfig`` subclass whose defaults are the settings behind its
model card's figure; ``run(config)`` loads the data, builds the model, trains,
evaluates on the test split, writes ``metrics.json`` and ``curves.png`` into the
run directory and exports a SavedModel.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shutil
import sys
import time
import typing
from pathlib import Path

from zoo.models.common import check_choice, check_int, check_positive
from zoo.registry import builder_settings, model_card

DISTRIBUTE = ("auto", "none", "mirrored", "multiworker")


@dataclasses.dataclass
class RecipeConfig:
    """Settings shared by every recipe; subclasses add data and model settings.

    Any field whose name is also a builder setting (``units``, ``dropout``, ...)
    is passed to the builder.
    """

    model: str = ""
    dataset: str = ""
    data_dir: str | None = None
    manual_dir: str | None = None
    train_file: str | None = None
    eval_file: str | None = None
    epochs: int = 10
    batch_size: int = 64
    max_steps: int | None = None
    learning_rate: float = 1e-3
    early_stopping_patience: int = 3
    run_dir: str | None = None
    export_dir: str = "saved_models"
    version: int | None = None
    export: bool = True
    resume: bool = False
    distribute: str = "auto"
    mixed_precision: bool = False
    seed: int = 0
    verbose: int = 1

    def validate(self) -> None:
        check_int("epochs", self.epochs, 1)
        check_int("batch_size", self.batch_size, 1)
        if self.max_steps is not None:
            check_int("max_steps", self.max_steps, 1)
        check_positive("learning_rate", self.learning_rate)
        check_int("early_stopping_patience", self.early_stopping_patience, 0)
        if self.version is not None:
            check_int("version", self.version, 1)
        check_choice("distribute", self.distribute, DISTRIBUTE)
        for name in ("train_file", "eval_file", "manual_dir"):
            path = getattr(self, name)
            if path is not None and not Path(path).exists():
                raise ValueError(f"{name}={path!r} does not exist")

    @property
    def run_path(self) -> Path:
        return Path(self.run_dir or Path("runs") / self.model)

    def model_settings(self) -> dict:
        accepted = builder_settings(self.model)
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name in accepted and f.name != "compile"}


def parse_config(cls: type[RecipeConfig], argv: list[str] | None = None) -> RecipeConfig:
    """Build a config from its defaults overridden by ``--field-name value`` flags."""
    defaults = cls()
    parser = argparse.ArgumentParser(prog=f"zoo train {defaults.model}",
                                     description=(cls.__doc__ or "").strip())
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if field.name == "model":
            continue
        flag = "--" + field.name.replace("_", "-")
        kind = hints[field.name]
        base = next((t for t in typing.get_args(kind) if t is not type(None)), kind)
        default = getattr(defaults, field.name)
        if base is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        else:
            parser.add_argument(flag, type=base, default=default, metavar=base.__name__.upper(),
                                help=f"default: {default}")
    config = cls(**vars(parser.parse_args(argv)))
    config.validate()
    return config


def choose_strategy(distribute: str):
    """CPU or one GPU by default; MirroredStrategy across local GPUs; multi-worker from TF_CONFIG."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if distribute == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError("distribute='multiworker' needs the TF_CONFIG environment variable")
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    elif distribute == "mirrored" or (distribute == "auto" and len(gpus) > 1):
        strategy = tf.distribute.MirroredStrategy()
    else:
        strategy = tf.distribute.get_strategy()
    devices = ", ".join(d.name for d in gpus) or "CPU"
    print(f"devices: {devices}; strategy: {type(strategy).__name__} "
          f"({strategy.num_replicas_in_sync} replica(s))", flush=True)
    return strategy


def callbacks(config: RecipeConfig, monitor: str, mode: str) -> list:
    """Backup for --resume, best checkpoint, early stopping, NaN guard, LR decay, TensorBoard."""
    import keras

    run = config.run_path
    return [
        # double_checkpoint keeps the previous backup, so a kill mid-save cannot lose both.
        keras.callbacks.BackupAndRestore(str(run / "backup"), double_checkpoint=True),
        keras.callbacks.ModelCheckpoint(str(run / "best.weights.h5"), monitor=monitor, mode=mode,
                                        save_best_only=True, save_weights_only=True),
        keras.callbacks.EarlyStopping(monitor=monitor, mode=mode,
                                      patience=config.early_stopping_patience,
                                      restore_best_weights=True),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1,
                                          min_lr=config.learning_rate / 32),
        keras.callbacks.TensorBoard(str(run / "logs"), write_graph=False),
    ]


def load_data(config: RecipeConfig):
    """The task's TaskData, chosen by the model card's task."""
    from zoo import data

    task = model_card(config.model).task
    common = dict(dataset=config.dataset, batch_size=config.batch_size, data_dir=config.data_dir,
                  manual_dir=config.manual_dir, train_file=config.train_file,
                  eval_file=config.eval_file, seed=config.seed)
    if task == "language-modeling":
        return data.language_model_data(level=config.level, vocab_size=config.vocab_size,
                                        sequence_length=config.sequence_length, **common)
    if task == "text-classification":
        return data.classification_data(vocab_size=config.vocab_size,
                                        sequence_length=config.sequence_length, **common)
    return data.dialogue_data(source_vocab_size=config.source_vocab_size,
                              target_vocab_size=config.target_vocab_size,
                              sequence_length=config.sequence_length, **common)


def data_settings(task_data) -> dict:
    """Builder settings that the data decides: vocabulary sizes and class count."""
    sizes = {k: v.vocabulary_size() for k, v in task_data.vectorizers.items()}
    if "source" in sizes:
        return {"source_vocab_size": sizes["source"], "target_vocab_size": sizes["target"]}
    settings = {"vocab_size": sizes["text"]}
    if task_data.labels is not None:
        settings["num_classes"] = len(task_data.labels)
    return settings


def run(config: RecipeConfig) -> dict:
    """Train, evaluate and export one recipe; returns the metrics it wrote."""
    import keras
    import tensorflow as tf

    config.validate()
    card = model_card(config.model)
    run_dir = config.run_path
    if not config.resume:
        shutil.rmtree(run_dir / "backup", ignore_errors=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)

    strategy = choose_strategy(config.distribute)
    if config.mixed_precision:
        if not tf.config.list_physical_devices("GPU"):
            raise ValueError("mixed_precision=True needs a GPU; none is visible")
        keras.mixed_precision.set_global_policy("mixed_float16")

    task_data = load_data(config)
    settings = {**config.model_settings(), **data_settings(task_data)}
    with strategy.scope():
        model = __import__("zoo").build(config.model, **settings)

    train, validation, steps = task_data.train, task_data.validation, None
    if config.max_steps:  # an epoch becomes max_steps batches of a repeating stream
        train, validation = train.repeat(), validation.take(config.max_steps)
        steps = config.max_steps
    monitor, mode = _monitor(card.task)
    started = time.perf_counter()
    history = model.fit(train, validation_data=validation, epochs=config.epochs,
                        steps_per_epoch=steps, shuffle=False,  # tf.data already shuffles
                        callbacks=callbacks(config, monitor, mode), verbose=config.verbose)
    wall = time.perf_counter() - started
    if model.stop_training and any(math.isnan(v) for v in history.history.get("loss", [])):
        raise FloatingPointError(
            f"training diverged (loss is NaN) in epoch {len(history.history['loss'])}; "
            f"nothing was exported. Last good checkpoint: {run_dir / 'best.weights.h5'}")

    test = task_data.test.take(config.max_steps) if config.max_steps else task_data.test
    test_metrics = model.evaluate(test, verbose=0, return_dict=True)
    test_metrics = _task_metrics(card.task, test_metrics, model, task_data, config)
    epochs_run = len(history.history.get("loss", []))
    examples = _count_examples(train.take(steps) if steps else train) * epochs_run
    metrics = {
        "model": config.model,
        "config": dataclasses.asdict(config),
        "settings": settings,
        "history": {k: [float(v) for v in vals] for k, vals in history.history.items()},
        "epochs_run": epochs_run,
        "epochs": [epoch + 1 for epoch in history.epoch],  # after --resume, starts past 1
        "test": test_metrics,
        "wall_seconds": wall,
        "examples_per_second": examples / wall if wall else None,
        "hardware": _hardware(),
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str))
    (run_dir / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=2))
    plot_curves(metrics["history"], run_dir / "curves.png", title=config.model)
    print("test: " + ", ".join(f"{k}={v:.4f}" for k, v in test_metrics.items()), flush=True)

    if config.export:
        from zoo.export import export_model

        path = export_model(model, name=config.model, settings=settings,
                            vectorizers=task_data.vectorizers, labels=task_data.labels,
                            config=dataclasses.asdict(config), metrics=metrics,
                            base_dir=config.export_dir, version=config.version,
                            max_length=config.sequence_length)
        metrics["export"] = str(path)
        print(f"exported: {path}", flush=True)
    return metrics


def _monitor(task: str) -> tuple[str, str]:
    if task == "text-classification":
        return "val_accuracy", "max"
    return "val_loss", "min"


def _task_metrics(task, metrics, model, task_data, config) -> dict:
    metrics = {k: float(v) for k, v in metrics.items()}
    if task == "language-modeling":
        metrics["perplexity"] = math.exp(metrics["loss"])
    if task == "dialogue":
        metrics["bleu"] = bleu(model, task_data, max_batches=config.max_steps or 20)
    return metrics


def bleu(model, task_data, max_batches: int = 20, max_length: int = 40) -> float:
    """Corpus BLEU (sacrebleu) of greedy replies against the test references."""
    import numpy as np
    import sacrebleu

    from zoo.models.seq2seq import decode_step, encode

    vocab = task_data.vectorizers["target"].get_vocabulary()
    start, end = vocab.index("[start]"), vocab.index("[end]")
    hypotheses, references = [], []
    for (source, _), target_out in task_data.test.take(max_batches):
        keys, mask, states = encode(model, source)
        token = np.full((source.shape[0],), start, dtype="int64")
        replies = [[] for _ in range(source.shape[0])]
        done = np.zeros(source.shape[0], dtype=bool)
        for _ in range(max_length):
            probs, states = decode_step(model, token, states, keys, mask)
            token = np.argmax(np.asarray(probs), axis=-1).astype("int64")
            for i, t in enumerate(token):
                if not done[i] and t != end:
                    replies[i].append(vocab[t])
            done |= token == end
            if done.all():
                break
        hypotheses += [" ".join(r) for r in replies]
        references += [" ".join(vocab[t] for t in row if t not in (0, end))
                       for row in np.asarray(target_out)]
    return float(sacrebleu.corpus_bleu(hypotheses, [references]).score) if hypotheses else 0.0


def _count_examples(dataset) -> int:
    import tensorflow as tf

    def size(x):
        first = tf.nest.flatten(x)[0]
        return tf.shape(first, out_type=tf.int64)[0]

    return int(dataset.reduce(tf.constant(0, tf.int64), lambda n, batch: n + size(batch[0])))


def _hardware() -> str:
    import platform

    import tensorflow as tf

    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return (f"{os.cpu_count()} CPU cores ({platform.machine()}), "
            f"{'GPU: ' + ', '.join(gpus) if gpus else 'no GPU'}, TensorFlow {tf.__version__}")


def plot_curves(history: dict, path: Path, title: str) -> None:
    """Training and validation curves, one panel per metric, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [k for k in history if not k.startswith("val_") and k != "learning_rate"]
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.5), squeeze=False)
    for ax, name in zip(axes[0], names):
        epochs = range(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], marker="o", label="train")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], marker="o", label="validation")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(cls: type[RecipeConfig], argv: list[str] | None = None) -> int:
    """Entry point shared by the recipe scripts and ``zoo train``."""
    try:
        run(parse_config(cls, argv))
    except (ValueError, FileNotFoundError, FloatingPointError) as err:
        print(f"zoo train: error: {err}", file=sys.stderr)
        return 2
    return 0
