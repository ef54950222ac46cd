"""Dialogue: an encoder-decoder that replies to a message, copying names it was told."""

from zoo.tasks.dialogue.models import build_chatbot
from zoo.tasks.dialogue.task import TASK

__all__ = ["TASK", "build_chatbot"]
