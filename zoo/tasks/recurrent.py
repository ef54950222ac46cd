"""LSTM and GRU layers with weight drop; importing this module registers them with Keras.

``keras.saving.load_model`` of a ``.keras`` model built with them needs ``import
zoo.tasks.recurrent`` first (the builders import it); exported SavedModels need nothing
from zoo.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class _WeightDrop:
    """Weight drop and a faster CPU loop for a Keras LSTM or GRU layer (mixed in first).

    While training, the recurrent kernel is dropped out with one mask per batch
    (DropConnect on the hidden-to-hidden weights, Merity et al. 2018, AWD-LSTM): it
    regularises the recurrent connections, which dropout between layers leaves alone,
    and leaves each step a standard one, so a GPU still runs the fused cuDNN kernel on
    the dropped weights. Without cuDNN the loop multiplies the inputs by the input
    kernel for all steps at once before stepping (one large matrix product instead of
    one per step); masked steps keep the state, as in Keras's loop. Weights, cells and
    results at inference are those of the Keras layer.
    """

    def __init__(self, units, weight_dropout: float = 0.0, **kwargs):
        super().__init__(units, **kwargs)
        if not 0 <= weight_dropout < 1:
            raise ValueError(
                f"weight_dropout={weight_dropout!r} is out of range; expected a number in [0, 1)"
            )
        self.weight_dropout = weight_dropout
        self.weight_seed = keras.random.SeedGenerator(kwargs.get("seed"))

    def inner_loop(self, sequences, initial_state, mask, training=False):
        cell = self.cell
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if (
            self.recurrent_dropout
            or self.unroll
            or cell.activation is not keras.activations.tanh
            or cell.recurrent_activation is not keras.activations.sigmoid
        ):
            if training and self.weight_dropout:
                raise ValueError(
                    f"{type(self).__name__} drops weights only with the cuDNN-"
                    "eligible settings (tanh, sigmoid, no recurrent_dropout, "
                    "no unroll)"
                )
            return super().inner_loop(sequences, initial_state, mask, training=training)
        kernel, recurrent, bias = (
            tf.cast(w, sequences.dtype) for w in (cell.kernel, cell.recurrent_kernel, cell.bias)
        )
        if training and self.weight_dropout:
            recurrent = keras.random.dropout(recurrent, self.weight_dropout, seed=self.weight_seed)
        if training and self.dropout:
            dropped = cell.get_dropout_mask(sequences[:, 0, :])
            sequences = sequences * keras.ops.expand_dims(dropped, axis=1)
        if self.use_cudnn in ("auto", True) and tf.config.list_logical_devices("GPU"):
            try:
                return self._fused(sequences, initial_state, mask, kernel, recurrent, bias)
            except NotImplementedError:
                pass  # e.g. a mask that is not right-padded: the loop below handles it
        input_bias, recurrent_bias = self._biases(bias)
        projected = tf.einsum("btd,dk->tbk", sequences, kernel) + input_bias
        steps = (
            tf.ones(tf.shape(projected)[:2], tf.bool)
            if mask is None
            else tf.transpose(tf.cast(mask, tf.bool))
        )
        if self.go_backwards:
            projected, steps = projected[::-1], steps[::-1]

        def step(state, inputs):
            z, valid = inputs
            new = self._step(z, state, recurrent, recurrent_bias)
            return tuple(tf.where(valid[:, None], n, s) for n, s in zip(new, state))

        states = tf.scan(step, (projected, steps), initializer=tuple(initial_state))
        outputs = states[0]
        if mask is not None and self.zero_output_for_mask:
            outputs = tf.where(steps[..., None], outputs, tf.zeros_like(outputs))
        last = [s[-1] for s in states]
        return (
            last[0],
            tf.transpose(outputs, [1, 0, 2]) if self.return_sequences else last[0],
            last,
        )

    def get_config(self):
        return {**super().get_config(), "weight_dropout": self.weight_dropout}


@keras.saving.register_keras_serializable(package="zoo")
class WeightDropLSTM(_WeightDrop, keras.layers.LSTM):
    """``keras.layers.LSTM`` with weight drop on its recurrent kernel while training."""

    def _biases(self, bias):
        return bias, None

    def _step(self, z, state, recurrent, _):
        h, c = state
        i, f, g, o = tf.split(z + tf.matmul(h, recurrent), 4, axis=-1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        return tf.sigmoid(o) * tf.tanh(c), c

    def _fused(self, sequences, initial_state, mask, kernel, recurrent, bias):
        from keras.src.backend.tensorflow.rnn import lstm

        return lstm(
            sequences,
            initial_state[0],
            initial_state[1],
            mask,
            kernel=kernel,
            recurrent_kernel=recurrent,
            bias=bias,
            activation=self.cell.activation,
            recurrent_activation=self.cell.recurrent_activation,
            return_sequences=self.return_sequences,
            go_backwards=self.go_backwards,
        )


@keras.saving.register_keras_serializable(package="zoo")
class WeightDropGRU(_WeightDrop, keras.layers.GRU):
    """``keras.layers.GRU`` (``reset_after``) with weight drop on its recurrent kernel."""

    def __init__(self, units, weight_dropout: float = 0.0, **kwargs):
        if not kwargs.get("reset_after", True):
            raise ValueError("WeightDropGRU needs reset_after=True (the cuDNN GRU)")
        super().__init__(units, weight_dropout=weight_dropout, **kwargs)

    def _biases(self, bias):
        return bias[0], bias[1]

    def _step(self, z, state, recurrent, recurrent_bias):
        (h,) = state
        x_z, x_r, x_h = tf.split(z, 3, axis=-1)
        r_z, r_r, r_h = tf.split(tf.matmul(h, recurrent) + recurrent_bias, 3, axis=-1)
        update, reset = tf.sigmoid(x_z + r_z), tf.sigmoid(x_r + r_r)
        return (update * h + (1 - update) * tf.tanh(x_h + reset * r_h),)

    def _fused(self, sequences, initial_state, mask, kernel, recurrent, bias):
        from keras.src.backend.tensorflow.rnn import gru

        return gru(
            sequences,
            initial_state[0],
            mask,
            kernel=kernel,
            recurrent_kernel=recurrent,
            bias=bias,
            activation=self.cell.activation,
            recurrent_activation=self.cell.recurrent_activation,
            return_sequences=self.return_sequences,
            go_backwards=self.go_backwards,
            reset_after=True,
        )
