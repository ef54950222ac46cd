"""A recurrent forecaster: a window of past values in, the next ``horizon`` values out.

The network (``layers.SegmentForecaster``) reads each series of the window on its own,
normalised by that window, as segments through a GRU or LSTM, and predicts the horizon's
segments in one parallel decoding step each (direct multi-step, no feedback of its own
errors); optional quantile outputs, trained with the pinball loss, give an interval.
"""

from __future__ import annotations

from zoo.cards import ModelCard
from zoo.checks import check_choice, check_int, check_optional_positive, check_positive, check_rate
from zoo.registry import register_model
from zoo.tasks.common import CELLS

NORMALIZATIONS = ("last", "revin", "none")
LOSSES = ("mse", "mae")


def parse_quantiles(quantiles) -> list[float]:
    """``"0.1,0.5,0.9"`` (or a sequence) -> sorted distinct levels in (0, 1) including 0.5;
    "" -> [] (a point forecast)."""
    if isinstance(quantiles, str):
        parts = [p for p in quantiles.replace(" ", "").split(",") if p]
    else:
        parts = list(quantiles or ())
    try:
        levels = sorted({float(p) for p in parts})
    except ValueError:
        levels = [-1.0]
    if levels and (any(not 0 < q < 1 for q in levels) or 0.5 not in levels):
        raise ValueError(
            f"quantiles={quantiles!r} must be levels in (0, 1), comma-separated, including "
            f"0.5 (the point forecast), e.g. 0.1,0.5,0.9; or empty for a point forecast"
        )
    return levels


def check_forecaster(s: dict) -> None:
    check_int("lookback", s["lookback"], 1)
    check_int("horizon", s["horizon"], 1)
    check_int("num_series", s["num_series"], 1)
    check_int("num_covariates", s["num_covariates"], 0)
    check_int("units", s["units"], 2)
    check_int("num_layers", s["num_layers"], 1)
    w = check_int("segment_length", s["segment_length"], 1)
    for name in ("lookback", "horizon"):
        if s[name] % w:
            raise ValueError(
                f"segment_length={w} must divide {name}={s[name]}; pick a segment length "
                f"that divides both lookback and horizon"
            )
    check_rate("dropout", s["dropout"])
    check_choice("cell", s["cell"], CELLS)
    check_choice("normalization", s["normalization"], NORMALIZATIONS)
    check_choice("loss", s["loss"], LOSSES)
    parse_quantiles(s["quantiles"])
    check_positive("learning_rate", s["learning_rate"])
    check_optional_positive("clipnorm", s["clipnorm"])


RNN_FORECASTER_CARD = ModelCard(
    name="rnn_forecaster",
    task="forecasting",
    architecture="encoder-decoder",
    dataset="ETTh1 (a CSV series)",
    metric="test MSE, standardised, 7 series, horizon 96, look-back 336 (lower is better)",
    recipe="zoo train rnn_forecaster --train-file ETTh1.csv",
    num_params=815_536,
    anchor="DLinear 0.374 / 0.408 / 0.429 / 0.440 at horizons 96 / 192 / 336 / 720; SegRNN "
    "about 0.341 at 96 (python -m benchmarks.forecasting)",
    headline=("mse",),
)


@register_model(RNN_FORECASTER_CARD, check=check_forecaster)
def build_rnn_forecaster(
    *,
    lookback: int = 336,
    horizon: int = 96,
    num_series: int = 7,
    num_covariates: int = 0,
    segment_length: int = 48,
    units: int = 256,
    cell: str = "gru",
    num_layers: int = 1,
    dropout: float = 0.5,
    normalization: str = "last",
    quantiles: str = "",
    loss: str = "mae",
    learning_rate: float = 1e-3,
    clipnorm: float | None = 1.0,
    compile: bool = True,
    use_cudnn="auto",
):
    """Forecaster: ``{"history": [B, lookback, num_series]}`` (plus ``"covariates"``:
    [B, lookback + horizon, num_covariates] where ``num_covariates`` > 0) -> forecasts
    [B, horizon, num_series, outputs] on the input's scale; ``outputs`` is 1, or one per
    level of ``quantiles`` ("0.1,0.5,0.9"), in rising order.

    Trained on the mean squared error (``loss="mae"``: absolute), or with quantiles on
    the pinball loss; ``mse`` and
    ``mae`` score the point forecast (the median). ``segment_length`` must divide both
    ``lookback`` and ``horizon``.
    """
    import keras

    from zoo.tasks.forecasting.layers import SegmentForecaster

    levels = parse_quantiles(quantiles)
    inputs = {"history": keras.Input(shape=(lookback, num_series), name="history")}
    if num_covariates:
        inputs["covariates"] = keras.Input(
            shape=(lookback + horizon, num_covariates), name="covariates"
        )
    forecasts = SegmentForecaster(
        lookback=lookback,
        horizon=horizon,
        num_series=num_series,
        num_covariates=num_covariates,
        segment_length=segment_length,
        units=units,
        cell=cell,
        num_layers=num_layers,
        dropout=dropout,
        normalization=normalization,
        quantiles=levels,
        use_cudnn=use_cudnn,
        name="segment_forecaster",
    )(inputs)
    model = keras.Model(inputs, forecasts, name="rnn_forecaster")
    if compile:
        compile_forecaster(model, levels, loss=loss, learning_rate=learning_rate, clipnorm=clipnorm)
    return model


def compile_forecaster(model, levels, *, loss: str, learning_rate: float, clipnorm: float | None):
    """Adam with clipping; ``loss`` (MSE or MAE), or with ``levels`` the pinball loss over
    them; point MSE and MAE as metrics."""
    import keras

    from zoo.tasks.forecasting.layers import PinballLoss, PointError, PointLoss

    median = levels.index(0.5) if levels else 0
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, global_clipnorm=clipnorm),
        loss=PinballLoss(levels) if levels else PointLoss(loss),
        metrics=[PointError("mse", median), PointError("mae", median)],
    )
    return model
