"""A recipe's settings as a dataclass, checked before any data is read, and its flags.

A recipe subclasses ``RecipeConfig`` naming its ``model`` and only the settings that
differ from the builder's defaults: every builder setting not named becomes a field with
the builder's own default, so each default is stated once. ``--field-name value`` flags
override fields (``parse_config``).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import typing
from pathlib import Path

from zoo.checks import check_choice, check_int, check_positive
from zoo.registry import builder_settings, check_settings, get_builder
from zoo.tasks import task_of
from zoo.tasks.common import CELLS

DISTRIBUTE = ("auto", "none", "mirrored", "multiworker")
LR_SCHEDULES = ("plateau", "cosine")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")
# Builder settings that are not recipe fields: the run or the data decides them.
NOT_FIELDS = (
    "compile",
    "use_cudnn",
    "num_classes",
    "num_tags",
    "char_vocab_size",
    "num_series",
    "num_covariates",
)

# One line per recipe flag for ``zoo train MODEL --help``; allowed values are in the metavar.
# A task adds its own (``Task.flag_help``, ``Task.flag_choices``).
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
    "average_epochs": "keep the average of up to this many last epochs' weights where it "
    "validates better than the best epoch (0: off)",
    "max_minutes": "training budget in minutes; the run stops after the epoch that passes it",
    "run_dir": "where metrics, curves, logs and checkpoints go (default: runs/MODEL/N, "
    "a new N each run; runs/MODEL/latest points at the last)",
    "export_dir": "exports go to EXPORT_DIR/MODEL/VERSION",
    "version": "export version number (default: the next free one)",
    "export": "write a SavedModel at the end",
    "resume": "continue an interrupted run from its last backup",
    "record": "also write the test figures to the model's results file (zoo/results/), "
    "which its card and the documentation read",
    "distribute": "auto: one device; mirrored: local GPUs; multiworker: TF_CONFIG",
    "precision": "auto: bfloat16 math where the CPU has it; mixed_float16 is GPU only",
    "seed": "random seed of weights, shuffling and the split carved from --train-file",
    "verbose": "0 silent, 1 progress bar, 2 one line per epoch",
    "vocab_size": "vocabulary size, reserved ids included",
    "sequence_length": "tokens per window (language models) or most tokens per text",
    "embedding_dim": "width of the token embeddings",
    "units": "width of each recurrent layer",
    "num_layers": "stacked recurrent layers",
    "dropout": "dropout rate, in [0, 1)",
    "cell": "recurrent cell",
    "bidirectional": "read the text both ways",
    "clipnorm": "clip gradients to this global norm",
    "ema_momentum": "keep a moving average of the weights (0: off)",
}
CHOICES = {
    "lr_schedule": LR_SCHEDULES,
    "distribute": DISTRIBUTE,
    "precision": PRECISIONS,
    "cell": CELLS,
}


@dataclasses.dataclass
class RecipeConfig:
    """Settings shared by every recipe; subclasses add data settings and builder overrides.

    Any field whose name is also a builder setting (``units``, ``dropout``, ...) is
    passed to the builder. ``PRESETS`` names sets of overrides for other data
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
    early_stopping_patience: int | None = 3  # None: no early stopping (keep the last epoch)
    lr_schedule: str = "plateau"  # or cosine: annealed over the epochs or max_minutes
    lr_decay_patience: int = 1
    lr_decay_per_epoch: float = 1.0
    average_epochs: int = 0  # 0: off; see zoo.training.callbacks.AverageLastEpochs
    max_minutes: float | None = None
    run_dir: str | None = None
    export_dir: str = "saved_models"
    version: int | None = None
    export: bool = True
    resume: bool = False
    record: bool = False
    distribute: str = "auto"
    precision: str = "float32"  # or mixed_bfloat16, mixed_float16 (GPU), auto
    seed: int = 0
    verbose: int = 1

    def __init_subclass__(cls, **kwargs):
        """Each builder setting the recipe leaves out becomes a field with the builder's default."""
        super().__init_subclass__(**kwargs)
        model = cls.__dict__.get("model")
        if not model:
            return
        own = cls.__dict__.get("__annotations__", {})
        declared = {name for klass in cls.__mro__ for name in getattr(klass, "__annotations__", {})}
        hints = typing.get_type_hints(get_builder(model))
        for name, default in builder_settings(model).items():
            if name not in declared and name not in NOT_FIELDS:
                own[name] = hints.get(name, type(default))
                setattr(cls, name, default)
        cls.__annotations__ = own

    def validate(self) -> None:
        check_int("epochs", self.epochs, 1)
        check_int("batch_size", self.batch_size, 1)
        if self.max_steps is not None:
            check_int("max_steps", self.max_steps, 1)
        if self.early_stopping_patience is not None:
            check_int("early_stopping_patience", self.early_stopping_patience, 0)
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        check_int("lr_decay_patience", self.lr_decay_patience, 0)
        check_int("average_epochs", self.average_epochs, 0)
        if self.average_epochs == 1:
            raise ValueError(
                "average_epochs=1 averages nothing; expected 0 (off) or an integer >= 2"
            )
        if self.lr_schedule == "cosine" and self.lr_decay_per_epoch != 1:
            raise ValueError(
                f"lr_decay_per_epoch={self.lr_decay_per_epoch!r} applies to "
                "lr_schedule='plateau'; with 'cosine' it must be 1"
            )
        if not 0 < self.lr_decay_per_epoch <= 1:
            raise ValueError(
                f"lr_decay_per_epoch={self.lr_decay_per_epoch!r} is out of range; "
                "expected a number in (0, 1]"
            )
        if self.max_minutes is not None:
            check_positive("max_minutes", self.max_minutes)
        if self.version is not None:
            check_int("version", self.version, 1)
        check_choice("distribute", self.distribute, DISTRIBUTE)
        check_choice("precision", self.precision, PRECISIONS)
        for name, kind in (
            ("train_file", "file"),
            ("eval_file", "file"),
            ("manual_dir", "directory"),
        ):
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
                raise ValueError(
                    f"version={self.version} already exists ({taken}); pick another, "
                    f"or leave --version out for the next free one"
                )
        if self.model:
            # Data settings as the task's pipeline checks them, model settings by the
            # builder's own check: all before any data is read, and nothing is built.
            task_of(self.model).check_config(self)
            check_settings(self.model, **self.model_settings())

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
                raise ValueError(
                    f"resume=True finds no run to resume: {latest} does not exist; "
                    f"name the run with --run-dir"
                )
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
        """The fields that are builder settings, as the builder takes them."""
        accepted = builder_settings(self.model)
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name in accepted and f.name not in NOT_FIELDS
        }

    def data_source_settings(self) -> dict:
        """What every task's data pipeline takes: the dataset or files, batch size, seed."""
        return dict(
            dataset=self.dataset,
            batch_size=self.batch_size,
            data_dir=self.data_dir,
            manual_dir=self.manual_dir,
            train_file=self.train_file,
            eval_file=self.eval_file,
            seed=self.seed,
        )


def parse_config(cls: type[RecipeConfig], argv: list[str] | None = None) -> RecipeConfig:
    """Build a config from its defaults overridden by ``--field-name value`` flags."""
    defaults = cls()
    task = task_of(defaults.model)
    helps, choices = {**FLAG_HELP, **task.flag_help}, {**CHOICES, **task.flag_choices}
    parser = argparse.ArgumentParser(
        prog=f"zoo train {defaults.model}", description=(cls.__doc__ or "").strip()
    )
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if field.name == "model":
            continue
        flag = "--" + field.name.replace("_", "-")
        kind = hints[field.name]
        base = next((t for t in typing.get_args(kind) if t is not type(None)), kind)
        default = getattr(defaults, field.name)
        about = helps.get(field.name, field.name.replace("_", " "))
        if default is not None:
            about += f" (default: {default})"
        if base is bool:
            parser.add_argument(
                flag,
                action=argparse.BooleanOptionalAction,
                default=default,
                help=helps.get(field.name),
            )
        else:
            # Allowed values are shown, and checked by validate() with a message naming them.
            allowed = choices.get(field.name)
            metavar = "{" + ",".join(allowed) + "}" if allowed else base.__name__.upper()
            parser.add_argument(flag, type=base, default=default, metavar=metavar, help=about)
    if cls.PRESETS:
        parser.add_argument(
            "--preset",
            choices=sorted(cls.PRESETS),
            help="named overrides: "
            + "; ".join(f"{name}: {preset}" for name, preset in cls.PRESETS.items()),
        )
        preset = parser.parse_known_args(argv)[0].preset
        parser.set_defaults(**cls.PRESETS.get(preset, {}))
    values = vars(parser.parse_args(argv))
    values.pop("preset", None)
    config = cls(**values)
    config.validate()
    return config
