"""Pieces every task's builders share: recurrent layers, compilation, next-token choice."""

from __future__ import annotations

from zoo.checks import check_choice

CELLS = ("simple_rnn", "lstm", "gru")


def recurrent_layer(
    cell: str,
    units: int,
    *,
    return_sequences: bool,
    name: str,
    return_state: bool = False,
    dropout: float = 0.0,
    weight_dropout: float = 0.0,
    use_cudnn="auto",
):
    """A SimpleRNN, LSTM or GRU layer with cuDNN-eligible settings.

    LSTM/GRU keep tanh/sigmoid activations, no recurrent dropout, no unrolling and
    biases on (GRU with ``reset_after``) so a GPU runs the fused kernel; ``dropout``
    applies to the layer's inputs only. ``weight_dropout`` (LSTM/GRU) drops out the
    recurrent kernel while training, one mask a batch (``zoo.tasks.recurrent``), which
    keeps the fused kernel usable. ``use_cudnn=False`` gives the portable graph used
    for exports.
    """
    import keras

    check_choice("cell", cell, CELLS)
    common = dict(
        units=units,
        return_sequences=return_sequences,
        return_state=return_state,
        dropout=dropout,
        name=name,
    )
    if cell == "simple_rnn":
        if weight_dropout:
            raise ValueError(f"weight_dropout={weight_dropout!r} needs cell 'lstm' or 'gru'")
        return keras.layers.SimpleRNN(**common)
    if weight_dropout:
        from zoo.tasks.recurrent import WeightDropGRU, WeightDropLSTM

        common["weight_dropout"] = weight_dropout
        lstm, gru = WeightDropLSTM, WeightDropGRU
    else:
        lstm, gru = keras.layers.LSTM, keras.layers.GRU
    if cell == "lstm":
        return lstm(**common, use_cudnn=use_cudnn)
    return gru(**common, reset_after=True, use_cudnn=use_cudnn)


def adam(learning_rate: float, clipnorm: float | None, ema_momentum: float | None = None):
    """Adam with global-norm gradient clipping and, with ``ema_momentum``, a moving average
    of the weights (Polyak averaging) that recipes validate, checkpoint and export."""
    import keras

    return keras.optimizers.Adam(
        learning_rate=learning_rate,
        global_clipnorm=clipnorm,
        **({"use_ema": True, "ema_momentum": ema_momentum} if ema_momentum else {}),
    )


def compile_model(
    model,
    *,
    learning_rate: float,
    clipnorm: float | None,
    metrics,
    ignore_class: int | None = None,
    ema_momentum: float | None = None,
):
    """Adam with global-norm gradient clipping (on by default against exploding gradients).

    ``ema_momentum`` keeps an exponential moving average of the weights in the optimizer
    (Polyak averaging); recipes validate, checkpoint and export that average. None or
    0: no average.
    """
    import keras

    model.compile(
        optimizer=adam(learning_rate, clipnorm, ema_momentum),
        loss=keras.losses.SparseCategoricalCrossentropy(ignore_class=ignore_class),
        metrics=metrics,
    )
    return model


def choose_next(logits, temperature, seed, step):
    """Next ids from (batch, ids) log-probabilities: argmax at temperature 0, else a
    stateless sample at ``temperature`` seeded by ``(seed, step)``, so a seed always
    decodes the same text."""
    import tensorflow as tf

    safe = tf.where(temperature > 0, temperature, 1.0)
    sampled = tf.random.stateless_categorical(
        logits / safe, 1, seed=tf.stack([seed, tf.cast(step, tf.int64)]), dtype=tf.int64
    )[:, 0]
    return tf.where(temperature > 0, sampled, tf.argmax(logits, axis=-1))


# ---------------------------------------------------------------- carried recurrent state


def recurrent_layers(model) -> int:
    """How many recurrent layers a model has, named ``rnn_0``, ``rnn_1``, ... (the language
    models and a forward tagger)."""
    return sum(1 for layer in model.layers if layer.name.startswith("rnn_"))


def initial_states(model, batch_size):
    """Zero states of each of ``model``'s ``rnn_<i>`` layers, as their cells take them."""
    return [
        model.get_layer(f"rnn_{i}").cell.get_initial_state(batch_size)
        for i in range(recurrent_layers(model))
    ]


def flat_state(states):
    """Every layer's state side by side: one float32 [batch, state_size] tensor, the form
    the streaming signatures take and give."""
    import tensorflow as tf

    return tf.concat([tf.cast(s, tf.float32) for s in tf.nest.flatten(states)], axis=-1)


def state_size(template) -> int:
    """The width of ``flat_state(template)``."""
    import tensorflow as tf

    return sum(int(s.shape[-1]) for s in tf.nest.flatten(template))


def unflat_state(template, state):
    """``flat_state``'s inverse: a [batch, state_size] tensor -> states shaped as
    ``template`` (e.g. ``initial_states(model, 1)``)."""
    import tensorflow as tf

    sizes = [int(s.shape[-1]) for s in tf.nest.flatten(template)]
    return tf.nest.pack_sequence_as(template, tf.split(state, sizes, axis=-1))


# ---------------------------------------------------------------- export signature pieces


# The batch of the id signatures that run whole recurrent layers (classifier, tagger,
# chatbot encoder, forecaster window): LiteRT converts a Keras LSTM or GRU over a sequence
# only where its batch is static ("TensorListReserve requires element_shape to be static").
# One example a call is what an app on a device sends.
EDGE_BATCH = 1


def strings_spec():
    """A batch of raw strings: the first input of every export signature."""
    import tensorflow as tf

    return tf.TensorSpec([None], tf.string)


def at_least_one_step(ids):
    """Right-pad ids to one step at least: an all-empty batch still runs (fully masked)."""
    import tensorflow as tf

    ids = tf.cast(ids, tf.int64)
    return tf.pad(ids, [[0, 0], [0, tf.maximum(0, 1 - tf.shape(ids)[1])]])


def checked(value, ok, message):
    """``value``, once the graph has checked ``ok`` (InvalidArgumentError carrying ``message``)."""
    import tensorflow as tf

    with tf.control_dependencies([tf.debugging.Assert(ok, [message])]):
        return tf.identity(value)


def checked_temperature(temperature):
    import tensorflow as tf

    return checked(
        temperature,
        tf.math.is_finite(temperature) & (temperature >= 0),
        "temperature must be a finite number >= 0 (0 decodes greedily)",
    )


def text_vectorizer(vectorizers: dict, key: str = "text"):
    """The vectorizer under ``key`` (``ValueError`` naming what there is instead)."""
    if key not in vectorizers:
        raise ValueError(f"vectorizers needs a {key!r} entry; got {sorted(vectorizers)}")
    return vectorizers[key]


def vocabulary(vectorizer) -> list[str]:
    """A vectorizer's tokens in id order, as plain strings."""
    return [str(token) for token in vectorizer.get_vocabulary()]
