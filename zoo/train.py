"""Training for every recipe: config as a dataclass, strategy, callbacks, metrics, export.

A recipe is a ``RecipeConfig`` subclass whose defaults are the settings behind its
model card's figure; ``run(config)`` loads the data, builds the model, trains,
evaluates on the test split, writes ``metrics.json`` and ``curves.png`` into the
run directory and exports a SavedModel.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import math
import os
import re
import shlex
import shutil
import sys
import time
import typing
from pathlib import Path

from zoo.models.common import CELLS, check_choice, check_int, check_positive
from zoo.models.seq2seq import ATTENTION
from zoo.registry import build, builder_settings, model_card

DISTRIBUTE = ("auto", "none", "mirrored", "multiworker")
LR_SCHEDULES = ("plateau", "cosine")
LEVELS = ("char", "word")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")
DIVERGENCE_FACTOR = 10.0  # see StopOnDivergence


# One line per recipe flag for ``zoo train MODEL --help``; allowed values are in the metavar.
FLAG_HELP = {
    "dataset": "tfds dataset to train on",
    "data_dir": "tfds data directory (default: tfds's own)",
    "manual_dir": "folder holding a dataset's source file, for machines without a network",
    "train_file": "your own data: CSV/TSV (text,label), plain text, or message<TAB>reply lines",
    "eval_file": "your own test data, same format; validation is carved from --train-file",
    "labels": "a classifier's classes in id order, comma-separated (default: as found)",
    "epochs": "most epochs to train",
    "batch_size": "examples per batch",
    "max_steps": "batches per epoch (default: the whole training split)",
    "learning_rate": "Adam's learning rate",
    "early_stopping_patience": "epochs without a better validation figure before stopping",
    "lr_schedule": "halve on a validation plateau, or a half cosine to zero",
    "lr_decay_patience": "plateau epochs before the learning rate halves",
    "lr_decay_per_epoch": "extra learning-rate factor each epoch, in (0, 1]",
    "max_minutes": "training budget in minutes; the run stops after the epoch that passes it",
    "run_dir": "where metrics, curves, logs and checkpoints go (default: runs/MODEL/N, "
               "a new N each run; runs/MODEL/latest points at the last)",
    "export_dir": "exports go to EXPORT_DIR/MODEL/VERSION",
    "version": "export version number (default: the next free one)",
    "export": "write a SavedModel at the end",
    "resume": "continue an interrupted run from its last backup",
    "distribute": "auto: one device; mirrored: local GPUs; multiworker: TF_CONFIG",
    "precision": "auto: bfloat16 math where the CPU has it; mixed_float16 is GPU only",
    "seed": "random seed of weights, shuffling and the split carved from --train-file",
    "verbose": "0 silent, 1 progress bar, 2 one line per epoch",
    "level": "tokens are characters or words",
    "vocab_size": "vocabulary size, reserved ids included",
    "sequence_length": "tokens per window (language models) or most tokens per text",
    "embedding_dim": "width of the token embeddings",
    "units": "width of each recurrent layer",
    "num_layers": "stacked recurrent layers",
    "dropout": "dropout rate, in [0, 1)",
    "embedding_dropout": "share of words dropped from a text while training, in [0, 1)",
    "ngram_buckets": "hashed word-pair buckets of the linear part; 0 leaves it out",
    "ngram_scale": "how much faster the linear part learns than the recurrent one",
    "ngram_l2": "L2 penalty on the linear part's weights (logistic regression's)",
    "cell": "recurrent cell",
    "bidirectional": "read the text both ways",
    "attention": "decoder attention: Luong's dot product or Bahdanau's additive",
    "clipnorm": "clip gradients to this global norm",
    "ema_momentum": "keep a moving average of the weights (0: off)",
}
CHOICES = {"lr_schedule": LR_SCHEDULES, "distribute": DISTRIBUTE, "precision": PRECISIONS,
           "level": LEVELS, "cell": CELLS, "attention": ATTENTION}


@dataclasses.dataclass
class RecipeConfig:
    """Settings shared by every recipe; subclasses add data and model settings.

    Any field whose name is also a builder setting (``units``, ``dropout``, ...)
    is passed to the builder. ``PRESETS`` names sets of overrides for other data
    (``--preset NAME``); flags given beside a preset override it in turn.
    """

    PRESETS: typing.ClassVar[dict[str, dict]] = {}

    model: str = ""
    dataset: str = ""
    data_dir: str | None = None
    manual_dir: str | None = None
    train_file: str | None = None
    eval_file: str | None = None
    labels: str | None = None  # text classifiers: the train file's classes, comma-separated
    epochs: int = 10
    batch_size: int = 64
    max_steps: int | None = None
    learning_rate: float = 1e-3
    early_stopping_patience: int | None = 3  # None: no early stopping (keep the last epoch)
    lr_schedule: str = "plateau"  # or cosine: annealed over the epochs or max_minutes
    lr_decay_patience: int = 1
    lr_decay_per_epoch: float = 1.0
    max_minutes: float | None = None
    run_dir: str | None = None
    export_dir: str = "saved_models"
    version: int | None = None
    export: bool = True
    resume: bool = False
    distribute: str = "auto"
    precision: str = "float32"  # or mixed_bfloat16, mixed_float16 (GPU), auto
    seed: int = 0
    verbose: int = 1

    def validate(self) -> None:
        check_int("epochs", self.epochs, 1)
        check_int("batch_size", self.batch_size, 1)
        if self.max_steps is not None:
            check_int("max_steps", self.max_steps, 1)
        check_positive("learning_rate", self.learning_rate)
        if self.early_stopping_patience is not None:
            check_int("early_stopping_patience", self.early_stopping_patience, 0)
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        check_int("lr_decay_patience", self.lr_decay_patience, 0)
        if self.lr_schedule == "cosine" and self.lr_decay_per_epoch != 1:
            raise ValueError(f"lr_decay_per_epoch={self.lr_decay_per_epoch!r} applies to "
                             "lr_schedule='plateau'; with 'cosine' it must be 1")
        if not 0 < self.lr_decay_per_epoch <= 1:
            raise ValueError(f"lr_decay_per_epoch={self.lr_decay_per_epoch!r} is out of range; "
                             "expected a number in (0, 1]")
        if self.max_minutes is not None:
            check_positive("max_minutes", self.max_minutes)
        if self.version is not None:
            check_int("version", self.version, 1)
        check_choice("distribute", self.distribute, DISTRIBUTE)
        check_choice("precision", self.precision, PRECISIONS)
        for name, kind in (("train_file", "file"), ("eval_file", "file"),
                           ("manual_dir", "directory")):
            value = getattr(self, name)
            if value is None:
                continue
            path = Path(value)
            if not path.exists():
                raise ValueError(f"{name}={value!r} does not exist")
            if kind == "file" and not path.is_file():
                found = "a directory" if path.is_dir() else "not a regular file"
                raise ValueError(f"{name}={value!r} is {found}; expected a file")
            if kind == "directory" and not path.is_dir():
                raise ValueError(f"{name}={value!r} is a file; expected a directory")
        if self.model and self.export and self.version is not None:
            taken = Path(self.export_dir) / self.model / str(self.version)
            if taken.exists():  # found now, not after training
                raise ValueError(f"version={self.version} already exists ({taken}); pick another, "
                                 f"or leave --version out for the next free one")
        if self.model:
            self._check_recipe_settings()

    def _check_recipe_settings(self) -> None:
        """Data and model settings, checked before any data is read.

        Data settings are checked as the data pipelines check them; model settings by
        the builder's own checks, in a throwaway uncompiled build.
        """
        task = model_card(self.model).task
        minimums = {"sequence_length": 2 if task == "dialogue" else 1,
                    "vocab_size": 5 if task == "dialogue" else 3}
        for name, minimum in minimums.items():
            if hasattr(self, name):
                check_int(name, getattr(self, name), minimum)
        if hasattr(self, "level"):
            check_choice("level", self.level, LEVELS)
        if self.labels is not None:
            if task != "text-classification":
                raise ValueError(f"labels={self.labels!r} declares the classes of a text "
                                 f"classifier; {self.model!r} is a {task} model")
            if self.train_file is None:
                raise ValueError(f"labels={self.labels!r} declares the classes of a train_file; "
                                 f"a tfds dataset names its own classes")
            self.label_names()
        _check_builds(self.model, tuple(sorted(self.model_settings().items())))

    def label_names(self) -> list[str] | None:
        """The classes declared by ``labels`` (comma-separated), in order; None when unset."""
        from zoo.data.files import check_labels

        return None if self.labels is None else check_labels(self.labels)

    @functools.cached_property
    def run_path(self) -> Path:
        """``run_dir``; by default a new ``runs/<model>/<n>`` beside earlier runs, and with
        ``resume`` the one ``runs/<model>/latest`` points at."""
        if self.run_dir:
            return Path(self.run_dir)
        runs = Path("runs") / self.model
        if self.resume:
            latest = runs / "latest"
            if not latest.is_dir():
                raise ValueError(f"resume=True finds no run to resume: {latest} does not exist; "
                                 f"name the run with --run-dir")
            return runs / latest.resolve().name
        numbers = [int(p.name) for p in runs.glob("*") if p.name.isdigit()]
        return runs / str(max(numbers, default=0) + 1)

    def mark_latest(self) -> None:
        """Point ``runs/<model>/latest`` at this run (default run directories only)."""
        if self.run_dir:
            return
        link = self.run_path.parent / "latest"
        fresh = link.with_name(f".latest-{os.getpid()}")
        fresh.unlink(missing_ok=True)
        try:
            fresh.symlink_to(self.run_path.name, target_is_directory=True)
            os.replace(fresh, link)  # atomic: latest always names a whole run
        except OSError:  # a filesystem without symbolic links keeps the numbered runs only
            fresh.unlink(missing_ok=True)

    def model_settings(self) -> dict:
        accepted = builder_settings(self.model)
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name in accepted and f.name != "compile"}


@functools.lru_cache(maxsize=4)
def _check_builds(name: str, settings: tuple) -> None:
    """Build once, uncompiled, for the builder's checks (``ValueError`` naming a setting)."""
    from zoo.startup import import_tensorflow

    import_tensorflow()  # first here, with its start-up lines held back
    build(name, **dict(settings), compile=False)


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
        about = FLAG_HELP.get(field.name, field.name.replace("_", " "))
        if default is not None:
            about += f" (default: {default})"
        if base is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default,
                                help=FLAG_HELP.get(field.name))
        else:
            # Allowed values are shown, and checked by validate() with a message naming them.
            choices = CHOICES.get(field.name)
            metavar = "{" + ",".join(choices) + "}" if choices else base.__name__.upper()
            parser.add_argument(flag, type=base, default=default, metavar=metavar, help=about)
    if cls.PRESETS:
        parser.add_argument("--preset", choices=sorted(cls.PRESETS),
                            help="named overrides: " + "; ".join(
                                f"{name}: {preset}" for name, preset in cls.PRESETS.items()))
        preset = parser.parse_known_args(argv)[0].preset
        parser.set_defaults(**cls.PRESETS.get(preset, {}))
    values = vars(parser.parse_args(argv))
    values.pop("preset", None)
    config = cls(**values)
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


def choose_precision(precision: str) -> str:
    """The Keras dtype policy for a ``precision`` setting.

    ``auto`` is ``mixed_bfloat16`` where there is no GPU and the CPU computes bfloat16
    natively (AVX512-BF16 or AMX): float32 weights, bfloat16 math, about 1.5x the LSTM
    training throughput (``benchmarks/lm_throughput.py``) and no loss scaling, since
    bfloat16 keeps float32's range. Elsewhere ``auto`` is float32.
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if precision == "mixed_float16" and not gpus:
        raise ValueError("precision='mixed_float16' needs a GPU and none is visible; "
                         "use 'mixed_bfloat16' or 'float32'")
    if precision != "auto":
        return precision
    return "mixed_bfloat16" if not gpus and cpu_has_bfloat16() else "float32"


def cpu_has_bfloat16() -> bool:
    """Whether this CPU has bfloat16 instructions (Linux's /proc/cpuinfo flags)."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return re.search(r"\b(avx512_bf16|amx_bf16)\b", cpuinfo) is not None


@contextlib.contextmanager
def precision_policy(precision: str):
    """Keras's global dtype policy set for one run and restored after it."""
    import keras

    policy = choose_precision(precision)
    previous = keras.config.dtype_policy()
    print(f"precision: {policy}", flush=True)
    keras.config.set_dtype_policy(policy)
    try:
        yield policy
    finally:
        keras.config.set_dtype_policy(previous)


def callbacks(config: RecipeConfig, monitor: str, mode: str, ema: bool = False) -> list:
    """Divergence guard, LR schedule, backup for --resume, best checkpoint, early stopping,
    TensorBoard; with ``ema`` (an optimizer averaging the weights), the average swapped in.

    The guard comes first: it stops training before the other callbacks act on broken
    weights (back them up, say). The backup saves the training weights, before the
    average is swapped in for the checkpoint and early stopping; the time budget
    decides before the swap whether this epoch is the last.
    """
    import keras

    zoo_callbacks = _callback_classes()
    run = config.run_path
    backup = zoo_callbacks["AtomicBackupAndRestore"](str(run / "backup"))
    budget = [zoo_callbacks["TimeBudget"](config.max_minutes)] if config.max_minutes else []
    return [
        zoo_callbacks["StopOnDivergence"](backup),
        # Before the backup: it saves the rate they set, and logs it in the history.
        *_schedule(config),
        backup,
    ] + budget + ([zoo_callbacks["KeepAveragedWeights"]()] if ema else []) + [
        zoo_callbacks["AtomicModelCheckpoint"](str(run / "best.weights.h5"), monitor=monitor,
                                               mode=mode, save_best_only=True,
                                               save_weights_only=True),
        keras.callbacks.TensorBoard(str(run / "logs"), write_graph=False),
    ] + (
        # Restores the best epoch's weights when it stops.
        [keras.callbacks.EarlyStopping(monitor=monitor, mode=mode,
                                       patience=config.early_stopping_patience,
                                       restore_best_weights=True)]
        if config.early_stopping_patience is not None else []
    )


def _schedule(config: RecipeConfig) -> list:
    """The learning-rate callbacks of ``config.lr_schedule``."""
    import keras

    if config.lr_schedule == "cosine":
        return [_callback_classes()["CosineAnneal"](config.learning_rate, config.epochs,
                                                    config.max_minutes)]
    return [keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
                                              patience=config.lr_decay_patience,
                                              min_lr=config.learning_rate / 32)] + (
        # Multiplies the rate after every epoch: a steady anneal, beside the plateau cuts.
        [keras.callbacks.LearningRateScheduler(
            lambda epoch, lr: lr * config.lr_decay_per_epoch if epoch else lr)]
        if config.lr_decay_per_epoch < 1 else [])


CALLBACKS = ("AtomicBackupAndRestore", "AtomicModelCheckpoint", "StopOnDivergence", "TimeBudget",
             "CosineAnneal", "KeepAveragedWeights")


def __getattr__(name: str):
    """The ``CALLBACKS`` subclass Keras's, so they are defined on first use: importing
    this module does not import TensorFlow."""
    if name in CALLBACKS:
        return _callback_classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _callback_classes() -> dict:
    import keras

    class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
        """``BackupAndRestore`` whose saves are atomic: a kill at any moment leaves a backup.

        Each save writes the weights (optimizer state included) to a new file and flushes
        it, then replaces ``training_metadata.json``, which names that file and the epoch,
        with one ``os.replace``. The metadata is the pointer: until it is replaced, the
        previous pair stands whole. Files it no longer names are deleted afterwards.
        """

        def __init__(self, backup_dir, **kwargs):
            super().__init__(backup_dir, double_checkpoint=False, **kwargs)
            self._saves = 0
            self.history: dict[str, list[float]] = {}  # every epoch's logs, resumes included
            self.resumed_at = None  # the first epoch (from 1) of a resumed run

        def on_epoch_end(self, epoch, logs=None):
            for key, value in (logs or {}).items():
                self.history.setdefault(key, []).append(float(value))
            super().on_epoch_end(epoch, logs)  # saves, history included

        def latest(self) -> tuple[Path, int] | None:
            """``(weights file, epochs completed)`` of the last complete backup, if any."""
            metadata = self._metadata()
            if metadata is None:
                return None
            return Path(self.backup_dir) / metadata["weights"], metadata["epoch"]

        def _metadata(self) -> dict | None:
            path = Path(self._training_metadata_path)
            try:
                metadata = json.loads(path.read_text())
                if not (isinstance(metadata.get("weights"), str)
                        and isinstance(metadata.get("epoch"), int)):
                    raise ValueError("no weights file or epoch")
                return metadata
            except FileNotFoundError:
                return None
            except (ValueError, AttributeError) as err:
                raise ValueError(f"the backup {path} is unreadable ({err}); delete "
                                 f"{path.parent} or train without --resume") from None

        def on_train_begin(self, logs=None):
            self._load_model()

        def _load_model(self):
            metadata = self._metadata()
            if metadata is None:
                return
            weights = Path(self.backup_dir) / metadata["weights"]
            if self.model.optimizer is not None and not self.model.optimizer.built:
                self.model.optimizer.build(self.model.trainable_variables)
            try:
                self.model.load_weights(str(weights))
            except (OSError, ValueError) as err:
                raise ValueError(f"cannot resume from {weights}: {err}. --resume needs the "
                                 f"settings of the interrupted run") from None
            self.model._initial_epoch = metadata["epoch"]
            self._saves = metadata.get("save", 0)
            self.history = metadata.get("history", {})
            self.resumed_at = metadata["epoch"] + 1
            print(f"resuming at epoch {self.resumed_at} from {weights}", flush=True)

        def _save_model(self):
            backup = Path(self.backup_dir)
            backup.mkdir(parents=True, exist_ok=True)
            self._saves += 1  # a fresh name: the file the metadata names is never written
            weights = backup / f"checkpoint-{self._saves}.weights.h5"
            self.model.save_weights(str(weights), overwrite=True)
            _fsync(weights)
            metadata = {"epoch": self._current_epoch, "batch": self._last_batch_seen,
                        "weights": weights.name, "save": self._saves, "history": self.history}
            _replace_text(Path(self._training_metadata_path), json.dumps(metadata))
            for stale in backup.iterdir():
                if stale.name not in (weights.name, Path(self._training_metadata_path).name):
                    stale.unlink(missing_ok=True)

    class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
        """``ModelCheckpoint`` that writes beside its file and renames it into place."""

        def _get_file_path(self, epoch, batch, logs):
            final = Path(super()._get_file_path(epoch, batch, logs))
            return str(final.with_name(f".partial.{final.name}"))

        def _save_model(self, epoch, batch, logs):
            partial = Path(self._get_file_path(epoch, batch, logs))
            partial.unlink(missing_ok=True)
            super()._save_model(epoch, batch, logs)
            if partial.exists():
                _fsync(partial)
                os.replace(partial, partial.with_name(partial.name[len(".partial."):]))

    class StopOnDivergence(keras.callbacks.TerminateOnNaN):
        """Stops a diverging run with a ``FloatingPointError`` that names the step.

        Diverging: the loss is NaN or infinite, or over ``factor`` times the larger of
        1 and the loss of uniform guessing (``log`` of the number of classes). Keras
        computes cross-entropy from logits, so blown-up weights give huge finite losses
        more often than NaN. The message names the epoch and batch and the last good
        checkpoint (the backup's, if one was saved). It raises at once, so no later
        callback sees the broken weights; a diverged validation loss (weights broken by
        an epoch's last step) stops it too.
        """

        def __init__(self, backup=None, factor: float = DIVERGENCE_FACTOR):
            super().__init__(raise_error=True)
            self.backup, self.factor, self._epoch = backup, factor, 0

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch = epoch

        def on_batch_end(self, batch, logs=None):
            self._check(logs, "loss", f"epoch {self._epoch + 1}, batch {batch + 1}")

        def on_epoch_end(self, epoch, logs=None):
            self._check(logs, "val_loss", f"the end of epoch {epoch + 1} (validation)")

        def _check(self, logs, key, where):
            value = (logs or {}).get(key)
            # A width that varies by batch (the chatbot's copy ids) is that of its vocabulary.
            classes = self.model.output_shape[-1] or self.model.get_layer("logits").units
            limit = self.factor * max(1.0, math.log(classes))
            if value is None or (math.isfinite(value) and value <= limit):
                return
            why = f" (over {limit:.3g}, the divergence limit)" if math.isfinite(value) else ""
            try:
                found = self.backup.latest() if self.backup is not None else None
            except ValueError:
                found = None
            last = (f"Last good checkpoint: {found[0]} (end of epoch {found[1]})" if found
                    else "No checkpoint was saved before that")
            raise FloatingPointError(f"training diverged: {key} is {float(value):.6g}{why} at "
                                     f"{where}; nothing was exported. {last}.")

    class TimeBudget(keras.callbacks.Callback):
        """Ends training after the last epoch that fits in ``minutes`` of wall time.

        After each epoch it stops if one more epoch, as long as the slowest so far,
        would overrun the budget; evaluation and export come after.
        """

        def __init__(self, minutes: float):
            super().__init__()
            self.seconds, self.slowest = 60 * minutes, 0.0

        def on_train_begin(self, logs=None):
            self.started = self.epoch_started = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            now = time.perf_counter()
            self.slowest = max(self.slowest, now - self.epoch_started)
            if now - self.started + self.slowest > self.seconds:
                print(f"time budget: stopping after epoch {epoch + 1}; another would pass "
                      f"{self.seconds / 60:g} minutes", flush=True)
                self.model.stop_training = True

    class CosineAnneal(keras.callbacks.Callback):
        """Sets the rate at each epoch's start on a half cosine from ``base`` to ``base * floor``.

        The position on the curve is the share of training done by the middle of the
        epoch: of ``epochs``, or of ``minutes`` of wall time (at the mean epoch time
        so far), whichever is further along. A run cut short by its time budget thus
        still ends annealed, where a schedule over epochs alone would stop half-way.
        """

        def __init__(self, base: float, epochs: int, minutes: float | None = None,
                     floor: float = 0.02):
            super().__init__()
            self.base, self.epochs, self.floor = base, epochs, floor
            self.seconds = 60 * minutes if minutes else None

        def on_train_begin(self, logs=None):
            self.started, self.epochs_run = time.perf_counter(), 0

        def on_epoch_begin(self, epoch, logs=None):
            done = (epoch + 0.5) / self.epochs
            if self.seconds and self.epochs_run:
                elapsed = time.perf_counter() - self.started
                done = max(done, (elapsed + elapsed / self.epochs_run / 2) / self.seconds)
            cosine = (1 + math.cos(math.pi * min(done, 1.0))) / 2
            self.model.optimizer.learning_rate.assign(
                self.base * (self.floor + (1 - self.floor) * cosine))

        def on_epoch_end(self, epoch, logs=None):
            self.epochs_run += 1
            if logs is not None:
                logs["learning_rate"] = float(self.model.optimizer.learning_rate.numpy())

    class KeepAveragedWeights(keras.callbacks.SwapEMAWeights):
        """Validates, checkpoints and keeps the optimizer's moving average of the weights.

        Keras's ``SwapEMAWeights(swap_on_epoch=True)``: the average is in the model for
        validation and for the callbacks after this one (best checkpoint, early
        stopping), the training weights during the epochs. It also keeps the average
        when a run stops before its last epoch (time budget), where ``fit`` would
        otherwise end on the training weights.
        """

        def __init__(self):
            super().__init__(swap_on_epoch=True)

        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            if self.model.stop_training and epoch != self.params["epochs"] - 1:
                self._finalize_ema_values()

    classes = (AtomicBackupAndRestore, AtomicModelCheckpoint, StopOnDivergence, TimeBudget,
               CosineAnneal, KeepAveragedWeights)
    for cls in classes:
        cls.__qualname__ = cls.__name__
    return {cls.__name__: cls for cls in classes}


def _fsync(path) -> None:
    """Flush a file's or a directory's data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace_text(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file, flush it, and rename it over ``path``."""
    partial = path.with_name(f".partial.{path.name}")
    partial.write_text(text, encoding="utf-8")
    _fsync(partial)
    os.replace(partial, path)
    _fsync(path.parent)


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
                                        labels=config.label_names(),
                                        sequence_length=config.sequence_length, **common)
    return data.dialogue_data(vocab_size=config.vocab_size,
                              sequence_length=config.sequence_length, **common)


def data_source(config: RecipeConfig) -> dict:
    """What the run read: the user's files when given (the tfds ``dataset`` goes unused
    then, so it is not named), else the tfds dataset."""
    if config.train_file is not None:
        return {"dataset": "files", "train_file": config.train_file,
                "eval_file": config.eval_file}
    return {"dataset": config.dataset}


def recorded_config(config: RecipeConfig) -> dict:
    """The config as written beside a run and an export, naming the data it read."""
    return {**dataclasses.asdict(config), "dataset": data_source(config)["dataset"]}


def data_settings(task_data) -> dict:
    """Builder settings that the data decides: vocabulary sizes and class count."""
    settings = {"vocab_size": task_data.vectorizers["text"].vocabulary_size()}
    if task_data.labels is not None:
        settings["num_classes"] = len(task_data.labels)
    return settings


def run(config: RecipeConfig) -> dict:
    """Train, evaluate and export one recipe; returns the metrics it wrote."""
    import keras

    config.validate()
    card = model_card(config.model)
    run_dir = config.run_path
    if not config.resume:
        shutil.rmtree(run_dir / "backup", ignore_errors=True)
    keras.utils.set_random_seed(config.seed)

    strategy = choose_strategy(config.distribute)
    with precision_policy(config.precision) as policy:
        return _train(config, card, run_dir, strategy, policy)


def _train(config, card, run_dir, strategy, policy: str) -> dict:
    """Build, fit, evaluate and export under the run's strategy and dtype policy."""
    import keras

    task_data = load_data(config)
    # Seeded again after the data: preparing a dataset the first time draws random numbers,
    # and the first run should train as every later one does.
    keras.utils.set_random_seed(config.seed)
    settings = {**config.model_settings(), **data_settings(task_data)}
    with strategy.scope():
        model = build(config.model, **settings)
    run_dir.mkdir(parents=True, exist_ok=True)  # only once the data and the model are good
    config.mark_latest()
    if card.task == "text-classification" and "ngram_logits" in [l.name for l in model.layers]:
        model.get_layer("ngram_logits").start_from_naive_bayes(task_data.train)

    train, validation, steps = task_data.train, task_data.validation, None
    if config.max_steps:  # an epoch becomes max_steps batches of a repeating stream
        train, validation = train.repeat(), validation.take(config.max_steps)
        steps = config.max_steps
    monitor, mode = _monitor(card.task)
    fit_callbacks = callbacks(config, monitor, mode, ema=_averages(model))
    backup = next(c for c in fit_callbacks if hasattr(c, "resumed_at"))
    started = time.perf_counter()
    history = model.fit(train, validation_data=validation, epochs=config.epochs,
                        steps_per_epoch=steps, shuffle=False,  # tf.data already shuffles
                        callbacks=fit_callbacks, verbose=config.verbose)
    wall = time.perf_counter() - started  # StopOnDivergence ends a diverging run in fit

    evaluated = model
    if policy != "float32":  # measure what is exported: the float32 twin of the weights
        from zoo.export import portable_twin

        evaluated = portable_twin(model, config.model, settings, compile=True)
    test = task_data.test.take(config.max_steps) if config.max_steps else task_data.test
    test_metrics = evaluated.evaluate(test, verbose=0, return_dict=True)
    test_metrics = _task_metrics(card.task, test_metrics, evaluated, task_data, config, test)
    epochs_run = len(history.history.get("loss", []))
    examples = _count_examples(train.take(steps) if steps else train) * epochs_run
    metrics = {
        "model": config.model,
        **data_source(config),
        "config": recorded_config(config),
        "settings": settings,
        # Every epoch of the run, those before a --resume included.
        "history": backup.history,
        "epochs": list(range(1, len(backup.history.get("loss", [])) + 1)),
        "resumed_at_epoch": backup.resumed_at,
        "epochs_run": epochs_run,  # by this process
        "test": test_metrics,
        "wall_seconds": wall,
        "examples_per_second": examples / wall if wall else None,
        "hardware": _hardware(),
        "precision": policy,
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str))
    (run_dir / "config.json").write_text(json.dumps(recorded_config(config), indent=2))
    plot_curves(metrics["history"], run_dir / "curves.png", title=config.model)
    print("test: " + ", ".join(f"{k}={v:.4f}" for k, v in test_metrics.items()), flush=True)

    if config.export:
        from zoo.export import export_model

        path = export_model(model, name=config.model, settings=settings,
                            vectorizers=task_data.vectorizers, labels=task_data.labels,
                            config=recorded_config(config), metrics=metrics,
                            base_dir=config.export_dir, version=config.version,
                            max_length=config.sequence_length)
        metrics["export"] = str(path)
        print(f"exported: {path}", flush=True)
    return metrics


def _averages(model) -> bool:
    """Whether the model's optimizer keeps a moving average of the weights."""
    optimizer = getattr(model, "optimizer", None)
    return bool(getattr(getattr(optimizer, "inner_optimizer", optimizer), "use_ema", False))


def _monitor(task: str) -> tuple[str, str]:
    """The validation figure that picks the best epoch (checkpoint, early stopping).

    A chatbot is judged by the replies it picks, so by token accuracy: on small dialogue
    sets its validation loss rises from the first epochs (confidence on the few held-out
    conversations) while the choices keep improving. Classifiers and language models go
    by validation loss: a classifier's accuracy ties from epoch to epoch on small or easy
    sets, and a later epoch that only ties never replaced the first, however much
    surer its answers had become.
    """
    if task == "dialogue":
        return "val_token_accuracy", "max"
    return "val_loss", "min"


def _task_metrics(task, metrics, model, task_data, config, test) -> dict:
    metrics = {k: float(v) for k, v in metrics.items()}
    if task == "language-modeling":
        from zoo.models.language_model import carried_state_metrics

        carried = carried_state_metrics(model, test, streams=config.batch_size,
                                        window=config.sequence_length)
        metrics.update({f"carried_{name}": value for name, value in carried.items()})
        for prefix in ("", "carried_"):
            loss = metrics[f"{prefix}loss"]
            metrics[f"{prefix}perplexity"] = math.exp(loss) if loss < 709 else math.inf
    if task == "dialogue":
        metrics["bleu"] = bleu(model, task_data, config.sequence_length,
                               max_pairs=config.max_steps and config.max_steps * config.batch_size)
    return metrics


def bleu(model, task_data, max_length: int, max_pairs: int | None = None,
         batch_size: int = 256, beam_width: int | None = None) -> float:
    """Corpus BLEU (sacreBLEU defaults) of the model's replies against the raw test replies.

    Replies come from the same in-graph search as the export's ``reply`` (a beam of
    ``REPLY_BEAM_WIDTH``, the default) or ``reply_beam`` signatures, detokenized, so the
    figure is what a user of the export gets.
    """
    import sacrebleu
    import tensorflow as tf

    from zoo.models.seq2seq import REPLY_BEAM_WIDTH, reply_search

    beam_width = beam_width or REPLY_BEAM_WIDTH

    search = reply_search(model, task_data.vectorizers["text"], max_length)
    replies = tf.function(lambda text: search(text, beam_width)["reply"])
    pairs = task_data.test_pairs if max_pairs is None else task_data.test_pairs.take(max_pairs)
    hypotheses, references = [], []
    for messages, answers in pairs.batch(batch_size):
        hypotheses += [r.decode("utf-8") for r in replies(messages).numpy()]
        references += [a.decode("utf-8") for a in answers.numpy()]
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
    config = None
    try:
        config = parse_config(cls, argv)
        run(config)
    except (ValueError, FileNotFoundError, FloatingPointError) as err:
        print(f"zoo train: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nzoo train: interrupted", file=sys.stderr)
        if config is not None:
            flags = list(sys.argv[1:] if argv is None else argv)
            again = shlex.join(["zoo", "train", config.model, *flags,
                                *([] if "--resume" in flags else ["--resume"])])
            print(f"Its last finished epoch is backed up in {config.run_path / 'backup'}; "
                  f"continue from there with:\n  {again}", file=sys.stderr)
        return 130
    return 0
