"""Pieces every builder shares: setting checks, recurrent layers, compilation."""

from __future__ import annotations

import numbers

CELLS = ("simple_rnn", "lstm", "gru")


def check_int(name: str, value, minimum: int, maximum: int | None = None) -> int:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is an int in range."""
    upper = "" if maximum is None else f" and <= {maximum}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}={value!r} must be an integer >= {minimum}{upper}")
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name}={value!r} is out of range; expected an integer >= {minimum}{upper}")
    return int(value)


def check_rate(name: str, value) -> float:
    """A dropout-like fraction in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"{name}={value!r} is out of range; expected a number in [0, 1)")
    return float(value)


def check_positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"{name}={value!r} is out of range; expected a number > 0")
    return float(value)


def check_non_negative(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"{name}={value!r} is out of range; expected a number >= 0")
    return float(value)


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not accepted; expected one of {', '.join(map(repr, choices))}")
    return value


def check_optional_positive(name: str, value):
    return None if value is None else check_positive(name, value)


def recurrent_layer(cell: str, units: int, *, return_sequences: bool, name: str,
                    return_state: bool = False, dropout: float = 0.0, use_cudnn="auto"):
    """A SimpleRNN, LSTM or GRU layer with cuDNN-eligible settings.

    LSTM/GRU keep tanh/sigmoid activations, no recurrent dropout, no unrolling and
    biases on (GRU with ``reset_after``) so a GPU runs the fused kernel; ``dropout``
    applies to the layer's inputs only. ``use_cudnn=False`` gives the portable graph
    used for exports.
    """
    import keras

    check_choice("cell", cell, CELLS)
    common = dict(units=units, return_sequences=return_sequences, return_state=return_state,
                  dropout=dropout, name=name)
    if cell == "simple_rnn":
        return keras.layers.SimpleRNN(**common)
    if cell == "lstm":
        return keras.layers.LSTM(**common, use_cudnn=use_cudnn)
    return keras.layers.GRU(**common, reset_after=True, use_cudnn=use_cudnn)


def compile_model(model, *, learning_rate: float, clipnorm: float | None, metrics,
                  ignore_class: int | None = None, ema_momentum: float | None = None):
    """Adam with global-norm gradient clipping (on by default against exploding gradients).

    ``ema_momentum`` keeps an exponential moving average of the weights in the optimizer
    (Polyak averaging); recipes validate, checkpoint and export that average. None or
    0: no average.
    """
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate=learning_rate, global_clipnorm=clipnorm,
            **({"use_ema": True, "ema_momentum": ema_momentum} if ema_momentum else {})),
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
        logits / safe, 1, seed=tf.stack([seed, tf.cast(step, tf.int64)]), dtype=tf.int64)[:, 0]
    return tf.where(temperature > 0, sampled, tf.argmax(logits, axis=-1))
