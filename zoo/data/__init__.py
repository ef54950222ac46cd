"""Data for the recipes: tfds loading (offline-aware), vectorization, windows, pairs, buckets.

Every pipeline returns a ``TaskData``: batched, prefetched ``tf.data`` datasets of
``(inputs, targets)`` and the adapted ``TextVectorization`` layers that map raw
strings to the ids the model was trained on (exports wrap these around the model).
Importing this package registers the project's own tfds dataset, ``chatterbot``.
"""

from zoo.data import chatterbot  # noqa: F401  (registers the tfds builder)
from zoo.data.classification import classification_data
from zoo.data.dialogue import dialogue_data
from zoo.data.language_model import language_model_data
from zoo.data.sources import (DatasetUnavailableError, find_builder, prepare, read_split,
                              standard_splits)
from zoo.data.task import TaskData
from zoo.data.text import END, START, lower_and_split_punctuation

__all__ = ["END", "START", "DatasetUnavailableError", "TaskData", "classification_data",
           "dialogue_data", "find_builder", "language_model_data", "lower_and_split_punctuation",
           "prepare", "read_split", "standard_splits"]
