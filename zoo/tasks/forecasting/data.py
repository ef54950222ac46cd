"""Forecasting data: windows of a CSV series, split by time and standardised by the
training part.

The series (``zoo.data.series``) is cut by time into train, validation and test parts
(``--split``: months or fractions; never shuffled across a boundary, each held-out part's
first window looking back into the part before); every column is standardised with the
training part's mean and deviation, kept as a ``keras.layers.Normalization`` that the
export wraps around the model. Windows are gathered in ``tf.data`` from row indices, so a
long look-back costs no copies.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from zoo.checks import check_int
from zoo.data.series import read_series, split_rows, time_features
from zoo.data.task import TaskData

COVARIATES = ("hour", "weekday", "month")


def parse_names(text: str, what: str, allowed=None) -> list[str]:
    """``"a,b"`` -> ["a", "b"]; ``allowed`` checks each (``ValueError`` naming ``what``)."""
    names = [name.strip() for name in (text or "").split(",") if name.strip()]
    if allowed is not None:
        bad = [name for name in names if name not in allowed]
        if bad:
            raise ValueError(
                f"{what}={text!r}: {', '.join(bad)} not accepted; expected names from "
                f"{', '.join(allowed)}, comma-separated"
            )
    return names


def check_series_file(train_file) -> None:
    """The forecaster has no tfds dataset: it needs the user's series."""
    if train_file is None:
        raise ValueError(
            "the forecaster trains on a CSV series: give --train-file series.csv (a time "
            "column and numeric columns)"
        )


def forecasting_data(
    *,
    train_file,
    eval_file=None,
    target: str = "",
    covariates: str = "",
    split: str = "12,4,4",
    lookback: int,
    horizon: int,
    batch_size: int,
    seed: int = 0,
) -> TaskData:
    """Windows ``({"history": [B, lookback, C], "covariates": ...}, targets [B, horizon, C])``
    on the standardised scale; ``labels``: the forecast columns (``target``, default all).

    With ``eval_file`` its windows are the test split, and ``split``'s first two parts cut
    ``train_file`` into training and validation.
    """
    check_int("lookback", lookback, 1)
    check_int("horizon", horizon, 1)
    check_int("batch_size", batch_size, 1)
    check_series_file(train_file)
    covariate_names = parse_names(covariates, "covariates", COVARIATES)
    series = read_series(train_file)
    columns = parse_names(target, "target") or series.columns
    series = series.select(columns)
    rows = split_rows(series, split, lookback, test=eval_file is None)
    parts = {name: (series.times[a:b], series.values[a:b]) for name, (a, b) in rows.items()}
    if eval_file is not None:
        test = read_series(eval_file).select(columns)
        if test.step != series.step:
            raise ValueError(f"{eval_file} steps by {test.step}; {train_file} by {series.step}")
        parts["test"] = (test.times, test.values)

    train_values = parts["train"][1]
    mean, std = train_values.mean(axis=0), train_values.std(axis=0)
    flat = std < 1e-8
    if flat.any():
        raise ValueError(
            f"column(s) {', '.join(c for c, f in zip(columns, flat) if f)} never change in "
            f"the training part; drop them with --target"
        )
    scaler = keras.layers.Normalization(mean=mean, variance=np.square(std), name="scaler")
    scaler.build((None, len(columns)))
    span = lookback + horizon

    def dataset(name, shuffle=False):
        times, values = parts[name]
        count = len(values) - span + 1
        if count < 1:
            raise ValueError(
                f"the {name} part holds {len(values)} rows, fewer than lookback {lookback} + "
                f"horizon {horizon}; give a longer series, a shorter window, or another split"
            )
        values = tf.constant(((values - mean) / std).astype(np.float32))
        features = tf.constant(time_features(times, covariate_names))
        offsets = tf.range(span, dtype=tf.int64)

        def gather(starts):
            window = starts[:, None] + offsets[None, :]
            seen = tf.gather(values, window)  # [B, span, C]
            inputs = {"history": seen[:, :lookback]}
            if covariate_names:
                inputs["covariates"] = tf.gather(features, window)
            return inputs, seen[:, lookback:]

        starts = tf.data.Dataset.range(count)
        if shuffle:
            starts = starts.shuffle(count, seed=seed, reshuffle_each_iteration=True)
        return starts.batch(batch_size).map(gather).prefetch(tf.data.AUTOTUNE), count

    train, count = dataset("train", shuffle=True)
    validation, _ = dataset("validation")
    test, _ = dataset("test")
    return TaskData(
        train=train,
        validation=validation,
        test=test,
        vectorizers={"scaler": scaler},
        labels=list(columns),
        train_examples=count,
    )
