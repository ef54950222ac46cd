"""zoo: recurrent networks for Keras 3 on TensorFlow that train, ship and serve.

    >>> import zoo
    >>> zoo.list_models("*lstm*")
    ['sentiment_lstm', 'stacked_lstm']
    >>> model = zoo.build("sentiment_lstm", units=32)

Importing ``zoo`` does not import TensorFlow; builders do, when called.
"""

from zoo.cards import ModelCard
from zoo.models import (build_chatbot, build_next_word_rnn, build_sentiment_lstm,
                        build_stacked_lstm, build_topic_gru)
from zoo.registry import build, list_models, model_card, register_model

__version__ = "0.1.0"

__all__ = ["ModelCard", "build", "build_chatbot", "build_next_word_rnn", "build_sentiment_lstm",
           "build_stacked_lstm", "build_topic_gru", "list_models", "load", "model_card",
           "register_model"]


def load(path):
    """Load an exported model directory (or one version of it) as a predictor."""
    from zoo.serve import load as _load

    return _load(path)
