"""zoo: recurrent networks for Keras 3 on TensorFlow that train, ship and serve.

    >>> import zoo
    >>> zoo.list_models("*lstm*")
    ['bilstm_tagger', 'sentiment_lstm', 'stacked_lstm']
    >>> model = zoo.build("sentiment_lstm", units=32)
    >>> metrics = zoo.train("sentiment_lstm", train_file="reviews.csv", epochs=3)
    >>> zoo.evaluate(metrics["export"], "held_out.csv")["accuracy"]

Importing ``zoo`` does not import TensorFlow; builders, training and loading do.
"""

from zoo.cards import ModelCard
from zoo.registry import build, list_models, model_card, register_model
from zoo.tasks.dialogue import build_chatbot
from zoo.tasks.forecasting import build_rnn_forecaster
from zoo.tasks.language_modeling import build_next_word_rnn, build_stacked_lstm
from zoo.tasks.sequence_tagging import build_bilstm_tagger
from zoo.tasks.text_classification import build_sentiment_lstm, build_topic_gru

__version__ = "0.1.0"

__all__ = [
    "ModelCard",
    "build",
    "build_bilstm_tagger",
    "build_chatbot",
    "build_next_word_rnn",
    "build_rnn_forecaster",
    "build_sentiment_lstm",
    "build_stacked_lstm",
    "build_topic_gru",
    "evaluate",
    "list_models",
    "load",
    "model_card",
    "register_model",
    "train",
]


def load(path):
    """Load an exported model directory (or one version of it) as a predictor."""
    from zoo.serving import load as _load

    return _load(path)


def train(model: str, **settings) -> dict:
    """Run ``model``'s recipe with ``settings`` overriding its defaults; returns its metrics,
    with ``export`` naming the export's path (``zoo.recipes.train``)."""
    from zoo.recipes import train as _train

    return _train(model, **settings)


def evaluate(export, file, batch_size: int = 256) -> dict:
    """An export's figures on a user's file, as ``zoo evaluate`` gives them (``zoo.evaluation``)."""
    from zoo.evaluation import evaluate as _evaluate

    return _evaluate(export, file, batch_size)
