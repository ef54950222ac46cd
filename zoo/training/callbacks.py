"""The callbacks of a training run: divergence guard, schedules, atomic backups and checkpoints,
time budget, weight averaging; ``callbacks(config, ...)`` puts them in order.

Importing this module imports Keras (and TensorFlow): ``zoo.training.run`` imports it
when a run starts.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import keras

from zoo.atomic import fsync, replace_text
from zoo.training.multiworker import agree

DIVERGENCE_FACTOR = 10.0  # see StopOnDivergence


def callbacks(
    config,
    monitor: str,
    mode: str,
    ema: bool = False,
    run_dir=None,
    chief: bool = True,
    validation=None,
) -> list:
    """Divergence guard, LR schedule, backup for --resume, best checkpoint, early stopping,
    TensorBoard; with ``ema`` (an optimizer averaging the weights), the average swapped in;
    with ``config.average_epochs`` and ``validation``, the last epochs' average, if better.

    Checkpoints and logs go to ``run_dir`` (default: the config's run directory); the
    backup is always the run directory's, which every worker of a multi-worker run reads
    on ``--resume`` and only the ``chief`` writes.

    The guard comes first: it stops training before the other callbacks act on broken
    weights (back them up, say). The backup saves the training weights, before the
    average is swapped in for the checkpoint and early stopping; the time budget
    decides before the swap whether this epoch is the last.
    """
    run = Path(run_dir) if run_dir is not None else config.run_path
    backup = AtomicBackupAndRestore(str(config.run_path / "backup"), writes=chief)
    budget = [TimeBudget(config.max_minutes)] if config.max_minutes else []
    return (
        [
            StopOnDivergence(backup),
            # Before the backup: it saves the rate they set, and logs it in the history.
            *schedule(config),
            backup,
        ]
        + budget
        + ([KeepAveragedWeights()] if ema else [])
        + [
            AtomicModelCheckpoint(
                str(run / "best.weights.h5"),
                monitor=monitor,
                mode=mode,
                save_best_only=True,
                save_weights_only=True,
            ),
            keras.callbacks.TensorBoard(str(run / "logs"), write_graph=False),
        ]
        + (
            # Restores the best epoch's weights when it stops.
            [
                keras.callbacks.EarlyStopping(
                    monitor=monitor,
                    mode=mode,
                    patience=config.early_stopping_patience,
                    restore_best_weights=True,
                )
            ]
            if config.early_stopping_patience is not None
            else []
        )
        + (
            # Last: it weighs its averages against what early stopping leaves in the model.
            [AverageLastEpochs(config.average_epochs, validation, monitor, mode)]
            if config.average_epochs > 1 and validation is not None
            else []
        )
    )


def schedule(config) -> list:
    """The learning-rate callbacks of ``config.lr_schedule``."""
    if config.lr_schedule == "cosine":
        return [CosineAnneal(config.learning_rate, config.epochs, config.max_minutes)]
    return [
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss",
            factor=0.5,
            patience=config.lr_decay_patience,
            min_lr=config.learning_rate / 32,
        )
    ] + (
        # Multiplies the rate after every epoch: a steady anneal, beside the plateau cuts.
        [
            keras.callbacks.LearningRateScheduler(
                lambda epoch, lr: lr * config.lr_decay_per_epoch if epoch else lr
            )
        ]
        if config.lr_decay_per_epoch < 1
        else []
    )


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` whose saves are atomic: a kill at any moment leaves a backup.

    Each save writes the weights (optimizer state included) to a new file and flushes
    it, then replaces ``training_metadata.json``, which names that file and the epoch,
    with one ``os.replace``. The metadata is the pointer: until it is replaced, the
    previous pair stands whole. Files it no longer names are deleted afterwards.
    """

    def __init__(self, backup_dir, writes: bool = True, **kwargs):
        kwargs.setdefault("delete_checkpoint", writes)
        super().__init__(backup_dir, double_checkpoint=False, **kwargs)
        self.writes = writes  # False: a worker that reads the chief's backup, never writes it
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
            if not (
                isinstance(metadata.get("weights"), str) and isinstance(metadata.get("epoch"), int)
            ):
                raise ValueError("no weights file or epoch")
            return metadata
        except FileNotFoundError:
            return None
        except (ValueError, AttributeError) as err:
            raise ValueError(
                f"the backup {path} is unreadable ({err}); delete "
                f"{path.parent} or train without --resume"
            ) from None

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
            raise ValueError(
                f"cannot resume from {weights}: {err}. --resume needs the "
                f"settings of the interrupted run"
            ) from None
        self.model._initial_epoch = metadata["epoch"]
        self._saves = metadata.get("save", 0)
        self.history = metadata.get("history", {})
        self.resumed_at = metadata["epoch"] + 1
        print(f"resuming at epoch {self.resumed_at} from {weights}", flush=True)

    def _save_model(self):
        if not self.writes:
            return
        backup = Path(self.backup_dir)
        backup.mkdir(parents=True, exist_ok=True)
        self._saves += 1  # a fresh name: the file the metadata names is never written
        weights = backup / f"checkpoint-{self._saves}.weights.h5"
        self.model.save_weights(str(weights), overwrite=True)
        fsync(weights)
        metadata = {
            "epoch": self._current_epoch,
            "batch": self._last_batch_seen,
            "weights": weights.name,
            "save": self._saves,
            "history": self.history,
        }
        replace_text(Path(self._training_metadata_path), json.dumps(metadata))
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
            fsync(partial)
            os.replace(partial, partial.with_name(partial.name[len(".partial.") :]))


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
        last = (
            f"Last good checkpoint: {found[0]} (end of epoch {found[1]})"
            if found
            else "No checkpoint was saved before that"
        )
        raise FloatingPointError(
            f"training diverged: {key} is {float(value):.6g}{why} at "
            f"{where}; nothing was exported. {last}."
        )


class TimeBudget(keras.callbacks.Callback):
    """Ends training after the last epoch that fits in ``minutes`` of wall time.

    After each epoch it stops if one more epoch, as long as the slowest so far,
    would overrun the budget; evaluation and export come after. With several workers the
    slowest worker's clock decides, so all stop after the same epoch.
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
        self.slowest = agree(self.model, max(self.slowest, now - self.epoch_started))
        if agree(self.model, now - self.started) + self.slowest > self.seconds:
            print(
                f"time budget: stopping after epoch {epoch + 1}; another would pass "
                f"{self.seconds / 60:g} minutes",
                flush=True,
            )
            self.model.stop_training = True


class CosineAnneal(keras.callbacks.Callback):
    """Sets the rate at each epoch's start on a half cosine from ``base`` to ``base * floor``.

    The position on the curve is the share of training done by the middle of the
    epoch: of ``epochs``, or of ``minutes`` of wall time (at the mean epoch time
    so far), whichever is further along. A run cut short by its time budget thus
    still ends annealed, where a schedule over epochs alone would stop half-way.
    """

    def __init__(self, base: float, epochs: int, minutes: float | None = None, floor: float = 0.02):
        super().__init__()
        self.base, self.epochs, self.floor = base, epochs, floor
        self.seconds = 60 * minutes if minutes else None

    def on_train_begin(self, logs=None):
        self.started, self.epochs_run = time.perf_counter(), 0

    def on_epoch_begin(self, epoch, logs=None):
        done = (epoch + 0.5) / self.epochs
        if self.seconds and self.epochs_run:
            elapsed = agree(self.model, time.perf_counter() - self.started)
            done = max(done, (elapsed + elapsed / self.epochs_run / 2) / self.seconds)
        cosine = (1 + math.cos(math.pi * min(done, 1.0))) / 2
        self.model.optimizer.learning_rate.assign(
            self.base * (self.floor + (1 - self.floor) * cosine)
        )

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


class AverageLastEpochs(keras.callbacks.Callback):
    """Keeps the average of the last epochs' weights where it validates better.

    The trainable weights at the end of each of the last ``epochs`` epochs are kept in
    memory; when training ends, the averages of the last 2, 4, 8, ... of them (and of all
    kept) are validated beside the weights the model holds (the best epoch's, as early
    stopping restores them), and the best by ``monitor`` stays (on a tie, the weights
    held). Averaging the end of a run (SWA, Izmailov et al. 2018; checkpoint averaging,
    Vaswani et al. 2017) lands in a flatter region than any one epoch, with no warm-up,
    where a moving average starts from the initial weights. A resumed run averages the
    epochs since it resumed. ``chosen`` describes the choice once training has ended.
    """

    def __init__(self, epochs: int, validation, monitor: str, mode: str):
        super().__init__()
        self.epochs, self.mode = epochs, mode
        # A dataset, or (inputs, targets) arrays as fit's validation_data takes them.
        self.validation = validation if isinstance(validation, tuple) else (validation,)
        self.metric = monitor.removeprefix("val_")
        self.chosen: dict | None = None

    def on_train_begin(self, logs=None):
        self.kept: list[tuple[int, list]] = []

    def on_epoch_end(self, epoch, logs=None):
        self.kept = [*self.kept, (epoch + 1, [w.numpy() for w in self.model.trainable_weights])][
            -self.epochs :
        ]

    def on_train_end(self, logs=None):
        if len(self.kept) < 2:
            return
        variables = self.model.trainable_weights
        held = [w.numpy() for w in variables]
        tails = sorted({2**k for k in range(1, len(self.kept).bit_length())} | {len(self.kept)})
        same = [epoch for epoch, ws in self.kept if all((a == b).all() for a, b in zip(ws, held))]
        candidates = [(f"epoch {same[-1]}" if same else "the best epoch", held)] + [
            (
                f"the average of epochs {self.kept[-n][0]}-{self.kept[-1][0]}",
                [sum(ws) / n for ws in zip(*(w for _, w in self.kept[-n:]))],
            )
            for n in tails
        ]
        scores = []
        for name, weights in candidates:
            for variable, value in zip(variables, weights):
                variable.assign(value)
            result = self.model.evaluate(*self.validation, verbose=0, return_dict=True)
            scores.append(float(result[self.metric]))
            print(f"weight average: {name} validate at {self.metric}={scores[-1]:.4f}", flush=True)
        pick = (max if self.mode == "max" else min)(range(len(scores)), key=scores.__getitem__)
        for variable, value in zip(variables, candidates[pick][1]):
            variable.assign(value)
        self.chosen = {
            "kept": candidates[pick][0],
            self.metric: scores[pick],
            "candidates": dict(zip((c[0] for c in candidates), scores)),
        }
        print(f"weight average: keeping {candidates[pick][0]}", flush=True)
