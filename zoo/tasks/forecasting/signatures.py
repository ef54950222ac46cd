"""The forecaster's export signatures.

``serving_default(history)``: raw values, float32 [B, T, C] with T >= lookback (the last
``lookback`` rows are read) and C the columns of ``labels.json`` in that order, plus
``covariates`` float32 [B, lookback + horizon, K] where the model was trained with them
(``zoo.data.series.time_features`` of each window's timestamps and the horizon's) ->
``forecast`` float32 [B, horizon, C] in the series' own units and, where the model has
quantiles, ``quantiles`` [B, horizon, C, Q] (levels in ``config.json``'s ``quantiles``).
The training part's mean and deviation, which standardise the inputs and restore the
outputs, are in the graph and in ``config.json``'s ``standardization``.
``forecast_window``: the same on one window of exactly ``lookback`` rows (B = 1), for the
LiteRT and ONNX files. No streaming signature: each window is normalised by its own last
value, so every new row changes what the whole window reads.
"""

from __future__ import annotations


def forecaster_endpoints(model, vectorizers, labels):
    import numpy as np
    import tensorflow as tf

    from zoo.tasks.common import EDGE_BATCH, checked
    from zoo.tasks.forecasting.layers import SegmentForecaster

    network = next(layer for layer in model.layers if isinstance(layer, SegmentForecaster))
    lookback, horizon, columns = network.lookback, network.horizon, network.num_series
    scaler = vectorizers["scaler"]
    # numpy, not eager tensors: constants in each graph, not captured inputs (which ONNX
    # conversion would leave as inputs of its own).
    mean = np.reshape(scaler.mean, [-1]).astype(np.float32)
    std = np.sqrt(np.reshape(scaler.variance, [-1])).astype(np.float32)
    if len(labels) != columns:
        raise ValueError(f"{len(labels)} columns for a model of {columns} series")
    levels = list(network.quantiles)
    median = levels.index(0.5) if levels else 0

    def forecast(history, covariates=None):
        # Checked before anything reads it: the graph runs the check first. (The width, C,
        # is the signature's own.)
        history = checked(
            history,
            tf.shape(history)[1] >= lookback,
            f"history must hold at least lookback={lookback} steps",
        )
        inputs = {"history": (history[:, -lookback:] - mean) / std}
        if covariates is not None:
            inputs["covariates"] = covariates
        outputs = tf.cast(model(inputs, training=False), tf.float32) * std[:, None] + mean[:, None]
        result = {"forecast": outputs[..., median]}
        if levels:
            result["quantiles"] = outputs
        return result

    def specs(batch, steps):
        history = tf.TensorSpec([batch, steps, columns], tf.float32)
        covariates = tf.TensorSpec([batch, lookback + horizon, network.num_covariates], tf.float32)
        return [history, covariates] if network.num_covariates else [history]

    if network.num_covariates:
        fn = forecast
    else:

        def fn(history):
            return forecast(history)

    return (
        {
            "serving_default": (fn, specs(None, None)),
            "forecast_window": (fn, specs(EDGE_BATCH, lookback)),
        },
        {
            "labels": list(labels),
            "lookback": lookback,
            "horizon": horizon,
            "quantiles": levels,
            "edge": {"signatures": ["forecast_window"], "text": None},
            "standardization": {
                "columns": list(labels),
                "mean": mean.tolist(),
                "std": std.tolist(),
            },
        },
    )
