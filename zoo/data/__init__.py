"""Data plumbing every task shares: tfds sources (offline-aware), the user's files,
vectorizers and length buckets, and the project's own tfds dataset (``chatterbot``,
registered on import). Each task's pipeline (``zoo.tasks.<task>.data``) returns a
``TaskData``: batched, prefetched ``tf.data`` datasets of ``(inputs, targets)`` and the
adapted ``TextVectorization`` layers that map raw strings to the ids the model was
trained on (exports wrap these around the model).
"""

from zoo.data import chatterbot  # noqa: F401  (registers the tfds builder)
from zoo.data.sources import (
    DatasetUnavailableError,
    find_builder,
    prepare,
    read_split,
    standard_splits,
)
from zoo.data.task import TaskData
from zoo.data.text import END, START, lower_and_split_punctuation

__all__ = [
    "END",
    "START",
    "DatasetUnavailableError",
    "TaskData",
    "find_builder",
    "lower_and_split_punctuation",
    "prepare",
    "read_split",
    "standard_splits",
]
