"""Recurrent text classifiers: read a whole text, emit one label (many-to-one)."""

from __future__ import annotations

from zoo.cards import ModelCard
from zoo.checks import (
    check_choice,
    check_int,
    check_non_negative,
    check_optional_positive,
    check_positive,
    check_rate,
)
from zoo.registry import register_model
from zoo.tasks.common import CELLS, compile_model, recurrent_layer

NGRAM_BUCKETS = 2**17
# Logistic regression's C of about 1 over 5,000 texts (1 / (2 C n)), as the NBSVM baseline's.
NGRAM_L2 = 1e-4


def check_classifier(s: dict) -> None:
    """The settings of either classifier (``ValueError`` naming a bad one)."""
    check_int("vocab_size", s["vocab_size"], 2)
    check_int("embedding_dim", s["embedding_dim"], 1)
    check_int("units", s["units"], 1)
    check_int("num_layers", s["num_layers"], 1)
    check_int("num_classes", s["num_classes"], 2)
    check_rate("dropout", s["dropout"])
    check_rate("embedding_dropout", s["embedding_dropout"])
    check_int("ngram_buckets", s["ngram_buckets"], 0)
    check_non_negative("ngram_l2", s["ngram_l2"])
    check_choice("cell", s["cell"], CELLS)
    check_positive("learning_rate", s["learning_rate"])
    check_optional_positive("clipnorm", s["clipnorm"])


def _classifier(
    *,
    name,
    vocab_size,
    embedding_dim,
    units,
    num_layers,
    num_classes,
    dropout,
    embedding_dropout,
    ngram_buckets,
    ngram_l2,
    cell,
    bidirectional,
    learning_rate,
    clipnorm,
    compile,
    use_cudnn="auto",
):
    import keras

    from zoo.tasks.text_classification.layers import BagOfNgrams, MaskedMaxMeanPooling, PartsVote

    tokens = keras.Input(shape=(None,), dtype="int64", name="tokens")
    # The linear part's hashed features of the same words (data.linear_features).
    ngrams = keras.Input(shape=(None,), dtype="int64", name="ngrams")
    # mask_zero: right-padded batches of any length give the same answer per text.
    x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")(tokens)
    # Word dropout: a dropped word is gone from every feature of its embedding.
    x = keras.layers.Dropout(
        embedding_dropout, noise_shape=(None, None, 1), name="embedding_dropout"
    )(x)
    for i in range(num_layers):
        layer = recurrent_layer(
            cell, units, return_sequences=True, name=f"rnn_{i}", use_cudnn=use_cudnn
        )
        if bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{i}")
        x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(layer(x))
    # Max and mean over every step: evidence anywhere in a long text reaches the head,
    # where the last state alone favours its end.
    x = MaskedMaxMeanPooling(name="pooling")(x)
    x = keras.layers.Dense(units, activation="relu", name="hidden")(x)
    x = keras.layers.Dropout(dropout, name="dropout_head")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    if ngram_buckets:
        # Wide and deep: linear models of hashed words, word pairs and pieces of words (the
        # models linear baselines are) beside the RNN, counted and trained before it
        # (TextClassification.before_fit); all three vote, weighted on validation texts.
        wide, naive_bayes = BagOfNgrams(
            ngram_buckets, num_classes, l2=ngram_l2, name="ngram_logits"
        )(ngrams)
        logits = PartsVote(name="wide_and_deep")([logits, wide, naive_bayes])
    probs = keras.layers.Activation("softmax", dtype="float32", name="probabilities")(logits)
    model = keras.Model({"tokens": tokens, "ngrams": ngrams}, probs, name=name)
    if compile:
        compile_model(
            model,
            learning_rate=learning_rate,
            clipnorm=clipnorm,
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        )
    return model


SENTIMENT_LSTM_CARD = ModelCard(
    name="sentiment_lstm",
    task="text-classification",
    architecture="many-to-one",
    dataset="imdb_reviews",
    metric="test accuracy",
    recipe="zoo train sentiment_lstm",
    num_params=2_706_126,
    anchor="TensorFlow 'Text classification with an RNN' tutorial: about 86% test accuracy",
    headline=("accuracy",),
)


@register_model(SENTIMENT_LSTM_CARD, check=check_classifier)
def build_sentiment_lstm(
    *,
    vocab_size: int = 10000,
    embedding_dim: int = 128,
    units: int = 64,
    num_layers: int = 1,
    num_classes: int = 2,
    dropout: float = 0.5,
    embedding_dropout: float = 0.4,
    ngram_buckets: int = NGRAM_BUCKETS,
    ngram_l2: float = NGRAM_L2,
    cell: str = "lstm",
    bidirectional: bool = True,
    learning_rate: float = 1e-3,
    clipnorm: float | None = 1.0,
    compile: bool = True,
    use_cudnn="auto",
):
    """Sentiment classifier: Embedding(mask_zero) -> Bidirectional LSTM x num_layers ->
    max and mean over steps -> Dense; beside it, over hashed words, word pairs and
    character n-grams of the raw text, a logistic regression on naive-Bayes-scaled
    features (NBSVM) and naive Bayes. The linear models are fitted first, then the LSTM
    trains on its own loss; all three vote (``PartsVote``).

    Binary by default (``num_classes=2``: negative, positive); any ``num_classes``
    gives a multi-class head. ``embedding_dropout`` drops whole words while training;
    ``ngram_buckets=0`` leaves out the linear part. Inputs: ``{"tokens": word ids,
    "ngrams": linear_features ids}`` (``zoo.tasks.text_classification.data``); output:
    class probabilities of shape (batch, num_classes).
    """
    return _classifier(
        name="sentiment_lstm",
        vocab_size=vocab_size,
        embedding_dim=embedding_dim,
        units=units,
        num_layers=num_layers,
        num_classes=num_classes,
        dropout=dropout,
        embedding_dropout=embedding_dropout,
        ngram_buckets=ngram_buckets,
        ngram_l2=ngram_l2,
        cell=cell,
        bidirectional=bidirectional,
        learning_rate=learning_rate,
        clipnorm=clipnorm,
        compile=compile,
        use_cudnn=use_cudnn,
    )


TOPIC_GRU_CARD = ModelCard(
    name="topic_gru",
    task="text-classification",
    architecture="many-to-one",
    dataset="ag_news_subset",
    metric="test accuracy",
    recipe="zoo train topic_gru",
    num_params=4_033_944,
    anchor="Zhang et al. 2015, LSTM on AG News: 86.06% test accuracy",
    headline=("accuracy",),
)


@register_model(TOPIC_GRU_CARD, check=check_classifier)
def build_topic_gru(
    *,
    vocab_size: int = 10000,
    embedding_dim: int = 128,
    units: int = 128,
    num_layers: int = 1,
    num_classes: int = 4,
    dropout: float = 0.5,
    embedding_dropout: float = 0.4,
    ngram_buckets: int = NGRAM_BUCKETS,
    ngram_l2: float = NGRAM_L2,
    cell: str = "gru",
    bidirectional: bool = False,
    learning_rate: float = 1e-3,
    clipnorm: float | None = 1.0,
    compile: bool = True,
    use_cudnn="auto",
):
    """Topic classifier: Embedding(mask_zero) -> GRU x num_layers -> max and mean over
    steps -> Dense, and the linear models of ``build_sentiment_lstm``, voting together.

    Four classes by default (AG News: World, Sports, Business, Sci/Tech). Settings as
    ``build_sentiment_lstm``'s. Output: class probabilities of shape (batch, num_classes).
    """
    return _classifier(
        name="topic_gru",
        vocab_size=vocab_size,
        embedding_dim=embedding_dim,
        units=units,
        num_layers=num_layers,
        num_classes=num_classes,
        dropout=dropout,
        embedding_dropout=embedding_dropout,
        ngram_buckets=ngram_buckets,
        ngram_l2=ngram_l2,
        cell=cell,
        bidirectional=bidirectional,
        learning_rate=learning_rate,
        clipnorm=clipnorm,
        compile=compile,
        use_cudnn=use_cudnn,
    )
