"""Data for the recipes: tfds loading (offline-aware), vectorization, windows, pairs, buckets.

Every pipeline returns a ``TaskData``: batched, prefetched ``tf.data`` datasets of
``(inputs, targets)`` and the adapted ``TextVectorization`` layers that map raw
strings to the ids the model was trained on (exports wrap these around the model).
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass
class TaskData:
    """What a recipe trains, validates and tests on.

    ``vectorizers``: ``{"text": layer}`` for classifiers and language models,
    ``{"source": layer, "target": layer}`` for the chatbot (the target vocabulary
    holds the literal ``"[start]"`` and ``"[end]"`` tokens). Each layer maps raw
    strings to ids exactly as training saw them. ``labels``: class names, in id
    order, for classifiers. ``level``: ``"word"`` or ``"char"`` for language models.
    """

    train: Any
    validation: Any
    test: Any
    vectorizers: dict
    labels: list[str] | None = None
    level: str | None = None
    train_examples: int | None = None
