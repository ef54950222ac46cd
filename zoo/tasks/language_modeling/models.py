"""Recurrent language models: predict the next token at every step (many-to-many)."""

from __future__ import annotations

from zoo.cards import ModelCard
from zoo.checks import (
    check_choice,
    check_int,
    check_optional_positive,
    check_optional_rate,
    check_positive,
    check_rate,
)
from zoo.registry import register_model
from zoo.tasks.common import (
    CELLS,
    compile_model,
    initial_states,
    recurrent_layer,
    recurrent_layers,
)


def check_language_model(s: dict, min_layers: int = 1) -> None:
    """The settings of a language model (``ValueError`` naming a bad one)."""
    check_int("vocab_size", s["vocab_size"], 2)
    check_int("embedding_dim", s["embedding_dim"], 1)
    check_int("units", s["units"], 1)
    check_int("num_layers", s["num_layers"], min_layers)
    check_rate("dropout", s["dropout"])
    check_choice("cell", s["cell"], CELLS)
    check_positive("learning_rate", s["learning_rate"])
    check_optional_positive("clipnorm", s["clipnorm"])
    check_optional_rate("ema_momentum", s.get("ema_momentum"))


def _check_stacked(s: dict) -> None:
    check_language_model(s, min_layers=2)
    check_rate("weight_dropout", s["weight_dropout"])


def _language_model(
    *,
    name,
    vocab_size,
    embedding_dim,
    units,
    num_layers,
    dropout,
    cell,
    learning_rate,
    clipnorm,
    compile,
    use_cudnn="auto",
    ema_momentum=None,
    weight_dropout=0.0,
):
    import keras

    tokens = keras.Input(shape=(None,), dtype="int64", name="tokens")
    x = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")(tokens)
    for i in range(num_layers):
        x = recurrent_layer(
            cell,
            units,
            return_sequences=True,
            name=f"rnn_{i}",
            weight_dropout=weight_dropout,
            use_cudnn=use_cudnn,
        )(x)
        x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    logits = keras.layers.Dense(vocab_size, name="logits")(x)
    probs = keras.layers.Activation("softmax", dtype="float32", name="next_token")(logits)
    model = keras.Model(tokens, probs, name=name)
    if compile:
        compile_model(
            model,
            learning_rate=learning_rate,
            clipnorm=clipnorm,
            ema_momentum=ema_momentum,
            metrics=[
                keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
                keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="top5_accuracy"),
            ],
        )
    return model


def step(model, token, states):
    """Advance a language model one token: (batch,) ids -> (probabilities, new states).

    Runs each layer's recurrent cell directly, so generation carries state between
    steps (one cell call per layer per token) instead of rerunning the sequence.
    """
    x = model.get_layer("embedding")(token)
    new_states = []
    for i, state in enumerate(states):
        x, state = model.get_layer(f"rnn_{i}").cell(x, state, training=False)
        new_states.append(state)
    probs = model.get_layer("next_token")(model.get_layer("logits")(x))
    return probs, new_states


def carried_state_metrics(model, windows, *, streams: int = 32, window: int = 200) -> dict:
    """Loss, accuracy and top-5 accuracy over a whole text read in order, state carried.

    ``windows`` yields ``(inputs, targets)`` batches of consecutive windows of one text
    (a language model's validation or test split). The text is cut into ``streams``
    contiguous rows read ``window`` tokens at a time, each layer's state carried from
    one window to the next, so that only the first tokens of a row start from a zero
    state (as in char-rnn and PyTorch's word_language_model evaluation). Independent
    windows, as ``model.evaluate`` reads them, restart every window from zero instead.
    """
    import keras
    import numpy as np
    import tensorflow as tf

    check_int("streams", streams, 1)
    check_int("window", window, 1)
    inputs, targets = [], []
    for x, y in windows:
        inputs.append(np.asarray(x).reshape(-1))
        targets.append(np.asarray(y).reshape(-1))
    inputs, targets = np.concatenate(inputs), np.concatenate(targets)
    streams = max(1, min(streams, inputs.size))
    length = inputs.size // streams
    inputs = inputs[: streams * length].reshape(streams, length)
    targets = targets[: streams * length].reshape(streams, length)

    rnns = [
        keras.layers.RNN(model.get_layer(f"rnn_{i}").cell, return_sequences=True, return_state=True)
        for i in range(recurrent_layers(model))
    ]

    @tf.function(reduce_retracing=True)
    def advance(tokens, labels, states):
        x = model.get_layer("embedding")(tokens)
        new_states = []
        for rnn, state in zip(rnns, states):
            x, *state = rnn(x, initial_state=state, training=False)
            new_states.append(state)
        probs = tf.cast(model.get_layer("next_token")(model.get_layer("logits")(x)), tf.float32)
        true = tf.gather(probs, labels, batch_dims=2)
        nll = -tf.math.log(tf.maximum(true, 1e-12))
        rank = tf.reduce_sum(tf.cast(probs > true[..., None], tf.int32), axis=-1)
        return (
            tf.reduce_sum(nll),
            tf.reduce_sum(tf.cast(rank == 0, tf.float32)),
            tf.reduce_sum(tf.cast(rank < 5, tf.float32)),
            new_states,
        )

    states = initial_states(model, streams)
    totals = np.zeros(3)
    for start in range(0, length, window):
        nll, top1, top5, states = advance(
            inputs[:, start : start + window], targets[:, start : start + window], states
        )
        totals += [float(nll), float(top1), float(top5)]
    count = max(streams * length, 1)
    return {
        "loss": totals[0] / count,
        "accuracy": totals[1] / count,
        "top5_accuracy": totals[2] / count,
    }


NEXT_WORD_RNN_CARD = ModelCard(
    name="next_word_rnn",
    task="language-modeling",
    architecture="many-to-many",
    dataset="tiny_shakespeare",
    metric="test perplexity per word (lower is better)",
    recipe="zoo train next_word_rnn --manual-dir data/tiny_shakespeare",
    num_params=3_178_560,
    anchor="interpolated Kneser-Ney trigram and bigram models on the same train split, "
    "vocabulary and test positions (python -m benchmarks.lm_anchors)",
    headline=("perplexity",),
)


@register_model(NEXT_WORD_RNN_CARD, check=check_language_model)
def build_next_word_rnn(
    *,
    vocab_size: int = 8000,
    embedding_dim: int = 128,
    units: int = 256,
    num_layers: int = 1,
    dropout: float = 0.3,
    cell: str = "simple_rnn",
    learning_rate: float = 5e-3,
    clipnorm: float | None = 1.0,
    compile: bool = True,
    use_cudnn="auto",
):
    """Word-level next-word predictor: Embedding -> SimpleRNN x num_layers -> softmax.

    Input: word ids of shape (batch, steps); output: a distribution over the
    ``vocab_size`` words at every step, for the word that follows. ``cell`` swaps
    the SimpleRNN for an LSTM or GRU to compare the cells on the same task.
    """
    return _language_model(
        name="next_word_rnn",
        vocab_size=vocab_size,
        embedding_dim=embedding_dim,
        units=units,
        num_layers=num_layers,
        dropout=dropout,
        cell=cell,
        learning_rate=learning_rate,
        clipnorm=clipnorm,
        compile=compile,
        use_cudnn=use_cudnn,
    )


STACKED_LSTM_CARD = ModelCard(
    name="stacked_lstm",
    task="language-modeling",
    architecture="many-to-many",
    dataset="tiny_shakespeare",
    metric="test loss in nats per character, state carried through the test text (lower is better)",
    recipe="zoo train stacked_lstm --manual-dir data/tiny_shakespeare",
    num_params=1_900_931,
    anchor="nanoGPT shakespeare_char (6-layer transformer, GPU), published for the last 10% "
    "of the text in 256-character blocks (python -m benchmarks.lm_anchors)",
    headline=("carried_loss", "loss", "block_loss"),
)


@register_model(STACKED_LSTM_CARD, check=_check_stacked)
def build_stacked_lstm(
    *,
    vocab_size: int = 67,
    embedding_dim: int = 64,
    units: int = 384,
    num_layers: int = 2,
    dropout: float = 0.25,
    weight_dropout: float = 0.1,
    cell: str = "lstm",
    learning_rate: float = 3e-3,
    clipnorm: float | None = 1.0,
    ema_momentum: float | None = 0.995,
    compile: bool = True,
    use_cudnn="auto",
):
    """Character-level language model: two or more stacked LSTMs with dropout between.

    Every LSTM returns its full sequence to the next; dropout sits between layers, and
    ``weight_dropout`` drops out each LSTM's recurrent kernel while training, one mask a
    batch (weight drop, which keeps the cuDNN kernel usable; ``zoo.tasks.recurrent``).
    Output: a distribution over the ``vocab_size`` characters at every step.
    ``ema_momentum`` averages the weights over training (None or 0: off); the average
    generalises better than the last step's weights, and recipes keep it.
    """
    return _language_model(
        name="stacked_lstm",
        vocab_size=vocab_size,
        embedding_dim=embedding_dim,
        units=units,
        num_layers=num_layers,
        dropout=dropout,
        cell=cell,
        learning_rate=learning_rate,
        clipnorm=clipnorm,
        compile=compile,
        use_cudnn=use_cudnn,
        ema_momentum=ema_momentum,
        weight_dropout=weight_dropout,
    )
