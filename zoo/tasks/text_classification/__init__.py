"""Text classification: recurrent classifiers that read a whole text and name its class."""

from zoo.tasks.text_classification.models import build_sentiment_lstm, build_topic_gru
from zoo.tasks.text_classification.task import TASK

__all__ = ["TASK", "build_sentiment_lstm", "build_topic_gru"]
