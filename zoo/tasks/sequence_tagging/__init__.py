"""Sequence tagging: a tag for every token (part of speech, named entities, chunks)."""

from zoo.tasks.sequence_tagging.models import build_bilstm_tagger
from zoo.tasks.sequence_tagging.task import TASK

__all__ = ["TASK", "build_bilstm_tagger"]
