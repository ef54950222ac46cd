"""What a task (a kind of model) provides to training, export, evaluation and serving.

Shared machinery asks a model's task (``zoo.tasks.task_of``) instead of branching on
its name. A new kind of model is a folder under ``zoo/tasks/`` whose ``__init__`` holds a
``Task`` subclass as ``TASK`` and registers its builders, with model cards naming the task.
"""

from __future__ import annotations

from typing import ClassVar

from zoo.checks import check_int


class Task:
    """The defaults suit a task with one ``text`` vectorizer; subclasses fill in the rest."""

    name: ClassVar[str] = ""  # as model cards spell it, e.g. "text-classification"
    # The validation figure and direction that pick the best epoch (checkpoint, early stop).
    monitor: ClassVar[tuple[str, str]] = ("val_loss", "min")
    # The least value of each data setting a recipe of this task may have.
    minimums: ClassVar[dict[str, int]] = {"sequence_length": 1, "vocab_size": 3}
    # ``zoo train`` help for the task's own recipe flags, and their allowed values.
    flag_help: ClassVar[dict[str, str]] = {}
    flag_choices: ClassVar[dict[str, tuple]] = {}
    # Values an export's scalar signature inputs take when a caller leaves them out.
    signature_defaults: ClassVar[dict[str, dict]] = {}

    def check_config(self, config) -> None:
        """A recipe config's data settings, checked before any data is read."""
        for name, minimum in self.minimums.items():
            if hasattr(config, name):
                check_int(name, getattr(config, name), minimum)
        for name, choices in self.flag_choices.items():
            if hasattr(config, name) and getattr(config, name) not in choices:
                raise ValueError(
                    f"{name}={getattr(config, name)!r} is not accepted; expected "
                    f"one of {', '.join(map(repr, choices))}"
                )
        if config.labels is not None:
            self.check_labels(config)

    def check_labels(self, config) -> None:
        """A recipe's ``labels`` setting (only text classifiers take one)."""
        raise ValueError(
            f"labels={config.labels!r} declares the classes of a text "
            f"classifier; {config.model!r} is a {self.name} model"
        )

    def load_data(self, config):
        """The recipe's ``zoo.data.TaskData``: splits, vectorizers, labels."""
        raise NotImplementedError

    def data_settings(self, data) -> dict:
        """Builder settings that the data decides (the vocabulary's size, ...)."""
        return {"vocab_size": data.vectorizers["text"].vocabulary_size()}

    def before_fit(self, model, data) -> None:
        """Anything the model computes from the training data before its first step."""

    def after_fit(self, model, data) -> None:
        """Anything the model computes from the validation data once its best weights are
        back, before it is measured and exported."""

    def test_metrics(self, metrics: dict, model, data, config, test) -> dict:
        """The test split's figures: ``model.evaluate``'s ``metrics`` and any the task adds
        (``test``: the batches they were measured on)."""
        return metrics

    def endpoints(self, model, vectorizers, labels, max_length) -> tuple[dict, dict]:
        """Export signatures ``{name: (fn, input specs)}`` and details for the export's
        config; without one named ``serving_default``, the first is also that."""
        raise NotImplementedError

    def prediction_line(self, text: str, outputs: dict, i: int) -> str:
        """What ``zoo predict`` prints for the ``i``-th text: its outputs as one JSON line."""
        import json

        return json.dumps({"text": text, **{name: value[i] for name, value in outputs.items()}})

    def predict_file(self, predictor, file, plot=None) -> str:
        """What ``zoo predict PATH --file F`` prints: a line per text of ``F`` (one text a
        line); tasks whose inputs are not texts read their own files (``plot``: a PNG)."""
        if plot:
            raise ValueError(f"--plot draws forecasts; a {self.name} export has none to draw")
        from pathlib import Path

        texts = [line for line in Path(file).read_text(encoding="utf-8").splitlines() if line]
        outputs = {name: value.tolist() for name, value in predictor.predict(texts).items()}
        return "\n".join(self.prediction_line(text, outputs, i) for i, text in enumerate(texts))

    def evaluate_file(self, predictor, file, batch_size: int) -> dict:
        """An export's figures on a user's file, through its signatures (``zoo evaluate``)."""
        raise NotImplementedError
