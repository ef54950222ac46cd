"""The contract between data pipelines, recipes and exports."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass
class TaskData:
    """What a recipe trains, validates and tests on.

    ``vectorizers``: ``{"text": layer}`` for classifiers and language models,
    the chatbot's too (one vocabulary for messages and replies, holding the literal
    ``"[start]"`` and ``"[end]"`` tokens). Each layer maps raw
    strings to ids exactly as training saw them. ``labels``: class names, in id
    order, for classifiers. ``level``: ``"word"`` or ``"char"`` for language models.
    ``train_examples``: how many training examples (windows, texts or pairs) one
    epoch reads, before batching. ``test_pairs``: the chatbot's raw ``(message,
    reply)`` test pairs, to score replies as written.
    """

    train: Any
    validation: Any
    test: Any
    vectorizers: dict
    labels: list[str] | None = None
    level: str | None = None
    train_examples: int | None = None
    test_pairs: Any = None
