"""The forecaster's own Keras pieces; importing this module registers them with Keras.

``SegmentForecaster`` is the network: each series of a window on its own (channel
independence), normalised by its own window, read as segments by a recurrent encoder and
decoded into the horizon's segments all at once (SegRNN, Lin et al. 2023). ``PinballLoss``
trains quantiles; ``PointError`` scores the point forecast (the median where there are
quantiles).
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.tasks.common import recurrent_layer


@keras.saving.register_keras_serializable(package="zoo")
class SegmentForecaster(keras.layers.Layer):
    """``{"history": [B, lookback, C], "covariates": [B, lookback + horizon, K]}`` ->
    forecasts [B, horizon, C, Q] on the history's scale: Q = 1, or one per level of
    ``quantiles`` (rising).

    Each of the C series is cut into segments of ``segment_length`` steps, each segment
    embedded (a dense layer with ReLU, plus the segment's covariates) and read by
    ``num_layers`` recurrent layers; the final state starts one recurrent step per horizon
    segment, whose input says which segment of which series it is (learned position and
    series embeddings, plus that segment's covariates), and a dense layer turns each step's
    output into the segment's values. ``normalization``: ``last`` subtracts each series'
    last value before and adds it back after; ``revin`` standardises each series by its
    window's mean and deviation with a learned scale and shift (Kim et al. 2022); ``none``.
    """

    def __init__(
        self,
        *,
        lookback: int,
        horizon: int,
        num_series: int,
        num_covariates: int = 0,
        segment_length: int = 24,
        units: int = 256,
        cell: str = "gru",
        num_layers: int = 1,
        dropout: float = 0.0,
        normalization: str = "last",
        quantiles=(),
        use_cudnn="auto",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.lookback, self.horizon, self.num_series = lookback, horizon, num_series
        self.num_covariates, self.segment_length = num_covariates, segment_length
        self.units, self.cell, self.num_layers = units, cell, num_layers
        self.dropout, self.normalization = dropout, normalization
        self.quantiles = [float(q) for q in quantiles]
        self.outputs = max(len(self.quantiles), 1)
        self.use_cudnn = use_cudnn
        self.segments_in = lookback // segment_length
        self.segments_out = horizon // segment_length
        self.embed = keras.layers.Dense(units, activation="relu", name="segment_embedding")
        self.encoder = [
            recurrent_layer(
                cell,
                units,
                return_sequences=True,
                return_state=True,
                name=f"encoder_{i}",
                use_cudnn=use_cudnn,
            )
            for i in range(num_layers)
        ]
        self.decoder = [
            recurrent_layer(
                cell,
                units,
                return_sequences=True,
                return_state=True,
                name=f"decoder_{i}",
                use_cudnn=use_cudnn,
            )
            for i in range(num_layers)
        ]
        if num_covariates:
            self.covariates_in = keras.layers.Dense(units, name="covariates_in")
            self.covariates_out = keras.layers.Dense(units, name="covariates_out")
        self.drop = keras.layers.Dropout(dropout)
        self.head = keras.layers.Dense(segment_length * self.outputs, name="segment_values")

    def build(self, input_shape):
        half = self.units // 2
        self.position = self.add_weight(
            shape=(self.segments_out, self.units - half),
            initializer="random_normal",
            name="position",
        )
        self.series = self.add_weight(
            shape=(self.num_series, half), initializer="random_normal", name="series"
        )
        if self.normalization == "revin":
            self.scale = self.add_weight(shape=(self.num_series,), initializer="ones", name="scale")
            self.shift = self.add_weight(
                shape=(self.num_series,), initializer="zeros", name="shift"
            )
        w, u = self.segment_length, self.units
        self.embed.build((None, w))
        rnn_shape = (None, None, u)
        for layer in (*self.encoder, *self.decoder):
            layer.build(rnn_shape)
        if self.num_covariates:
            self.covariates_in.build((None, w * self.num_covariates))
            self.covariates_out.build((None, w * self.num_covariates))
        self.head.build((None, u))

    def call(self, inputs, training=None):
        history = inputs["history"]
        batch = ops.shape(history)[0]
        c, w, u = self.num_series, self.segment_length, self.units
        n_in, n_out = self.segments_in, self.segments_out

        x = ops.transpose(history, (0, 2, 1))  # [B, C, L]
        if self.normalization == "last":
            level = x[:, :, -1:]
            x = x - level
        elif self.normalization == "revin":
            mean = ops.mean(x, axis=-1, keepdims=True)
            std = ops.sqrt(ops.var(x, axis=-1, keepdims=True) + 1e-5)
            x = (x - mean) / std * self.scale[:, None] + self.shift[:, None]

        segments = self.embed(ops.reshape(x, (-1, w)))  # [B*C*n_in, U]
        segments = ops.reshape(segments, (batch, c, n_in, u))
        future = None
        if self.num_covariates:
            covariates = inputs["covariates"]
            past = ops.reshape(covariates[:, : self.lookback], (batch, 1, n_in, -1))
            segments = segments + self.covariates_in(past)
            future = ops.reshape(covariates[:, self.lookback :], (batch, 1, n_out, -1))
        sequence = ops.reshape(segments, (batch * c, n_in, u))
        states = []
        for layer in self.encoder:
            sequence, *state = layer(sequence, training=training)
            states.append(state)

        # One decoder step per (series, horizon segment), all in parallel.
        queries = ops.concatenate(
            [
                ops.broadcast_to(self.series[:, None, :], (c, n_out, u // 2)),
                ops.broadcast_to(self.position[None, :, :], (c, n_out, u - u // 2)),
            ],
            axis=-1,
        )  # [C, n_out, U]
        queries = ops.broadcast_to(queries[None], (batch, c, n_out, u))
        if future is not None:
            queries = queries + self.covariates_out(future)
        step = ops.reshape(queries, (batch * c * n_out, 1, u))
        for layer, state in zip(self.decoder, states):
            repeated = [ops.repeat(s, n_out, axis=0) for s in state]
            step, *_ = layer(step, initial_state=repeated, training=training)
        values = self.head(self.drop(step[:, 0], training=training))  # [B*C*n_out, w*Q]
        values = ops.reshape(values, (batch, c, n_out * w, self.outputs))

        if self.normalization == "last":
            values = values + level[..., None]
        elif self.normalization == "revin":
            values = (values - self.shift[:, None, None]) / (self.scale[:, None, None] + 1e-10)
            values = values * std[..., None] + mean[..., None]
        return ops.transpose(values, (0, 2, 1, 3))  # [B, H, C, Q]

    def compute_output_shape(self, input_shape):
        return (None, self.horizon, self.num_series, self.outputs)

    def get_config(self):
        names = (
            "lookback horizon num_series num_covariates segment_length units cell "
            "num_layers dropout normalization quantiles use_cudnn"
        ).split()
        return {**super().get_config(), **{name: getattr(self, name) for name in names}}


@keras.saving.register_keras_serializable(package="zoo")
class PinballLoss(keras.losses.Loss):
    """The quantile (pinball) loss of forecasts [B, H, C, Q] for ``quantiles`` against
    values [B, H, C], averaged over every quantile and value."""

    def __init__(self, quantiles, name="pinball", **kwargs):
        super().__init__(name=name, **kwargs)
        self.quantiles = [float(q) for q in quantiles]

    def call(self, y_true, y_pred):
        error = ops.expand_dims(y_true, -1) - y_pred
        q = ops.convert_to_tensor(self.quantiles, dtype=y_pred.dtype)
        return ops.mean(ops.maximum(q * error, (q - 1) * error), axis=(-1, -2, -3))

    def get_config(self):
        return {**super().get_config(), "quantiles": self.quantiles}


@keras.saving.register_keras_serializable(package="zoo")
class PointLoss(keras.losses.Loss):
    """Mean squared (``kind="mse"``) or absolute (``"mae"``) error of the single forecast
    of [B, H, C, 1] against [B, H, C]."""

    def __init__(self, kind="mse", name=None, **kwargs):
        super().__init__(name=name or kind, **kwargs)
        self.kind = kind

    def call(self, y_true, y_pred):
        error = y_true - y_pred[..., 0]
        error = ops.square(error) if self.kind == "mse" else ops.abs(error)
        return ops.mean(error, axis=(-1, -2))

    def get_config(self):
        return {**super().get_config(), "kind": self.kind}


@keras.saving.register_keras_serializable(package="zoo")
class PointError(keras.metrics.Mean):
    """``mse`` or ``mae`` of the point forecast: output ``index`` of [B, H, C, Q] (the
    median's, where there are quantiles)."""

    def __init__(self, kind="mse", index=0, name=None, **kwargs):
        super().__init__(name=name or kind, **kwargs)
        self.kind, self.index = kind, index

    def update_state(self, y_true, y_pred, sample_weight=None):
        error = ops.cast(y_true, y_pred.dtype) - y_pred[..., self.index]
        error = ops.square(error) if self.kind == "mse" else ops.abs(error)
        return super().update_state(error, sample_weight=sample_weight)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "index": self.index}
