"""Language modelling: recurrent models that predict the next character or word."""

from zoo.tasks.language_modeling.models import build_next_word_rnn, build_stacked_lstm
from zoo.tasks.language_modeling.task import TASK

__all__ = ["TASK", "build_next_word_rnn", "build_stacked_lstm"]
