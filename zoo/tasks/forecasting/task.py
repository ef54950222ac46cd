"""Forecasting as a task: CSV series split by time, settings from the data, test figures
(MSE and MAE on the standardised scale, as papers report them, and MAE in the series' own
units), export signatures (``signatures.py``), and an export's forecasts and figures on a
user's CSV."""

from __future__ import annotations

import numpy as np

from zoo.tasks.base import Task


class Forecasting(Task):
    name = "forecasting"
    monitor = ("val_loss", "min")
    minimums: dict = {}
    flag_help = {
        "target": "the columns to forecast, comma-separated (default: every numeric column)",
        "covariates": "known future covariates from the timestamps: hour, weekday, month "
        "(comma-separated; default none)",
        "split": "train,validation,test by time: months (12,4,4) or fractions (0.7,0.1,0.2); "
        "with --eval-file that file is the test part",
        "lookback": "past steps each forecast reads",
        "horizon": "future steps each forecast gives",
        "segment_length": "steps per segment the recurrent layers read and write; divides "
        "lookback and horizon",
        "normalization": "per-window normalisation: last (subtract the last value), revin "
        "(standardise by the window, learned affine), none",
        "loss": "the training loss of a point forecast: mse or mae (the test reports both)",
        "quantiles": "quantile levels to forecast with the pinball loss, e.g. 0.1,0.5,0.9 "
        "(default: a point forecast)",
    }

    def check_config(self, config) -> None:
        from zoo.data.series import parse_split
        from zoo.tasks.forecasting.data import COVARIATES, check_series_file, parse_names

        super().check_config(config)
        parse_split(config.split)
        parse_names(config.covariates, "covariates", COVARIATES)
        check_series_file(config.train_file)

    def load_data(self, config):
        from zoo.tasks.forecasting.data import forecasting_data

        return forecasting_data(
            train_file=config.train_file,
            eval_file=config.eval_file,
            target=config.target,
            covariates=config.covariates,
            split=config.split,
            lookback=config.lookback,
            horizon=config.horizon,
            batch_size=config.batch_size,
            seed=config.seed,
        )

    def data_settings(self, data) -> dict:
        spec = data.train.element_spec[0]
        covariates = spec["covariates"].shape[-1] if "covariates" in spec else 0
        return {"num_series": len(data.labels), "num_covariates": int(covariates)}

    def test_metrics(self, metrics, model, data, config, test) -> dict:
        """``model.evaluate``'s MSE and MAE (standardised scale), the MAE in the series'
        own units (averaged over the columns) and, with quantiles, how often the outer
        levels' interval held the value."""
        from zoo.tasks.forecasting.models import parse_quantiles

        std = np.sqrt(data.vectorizers["scaler"].variance.numpy().reshape(-1))
        levels = parse_quantiles(config.quantiles)
        errors, inside = [], []
        for inputs, targets in test:
            forecasts, values = model(inputs, training=False).numpy(), targets.numpy()
            point = forecasts[..., levels.index(0.5) if levels else 0]
            errors.append(np.abs(point - values) * std)
            if len(levels) > 1:
                inside.append((forecasts[..., 0] <= values) & (values <= forecasts[..., -1]))
        figures = {
            "mse": metrics["mse"],
            "mae": metrics["mae"],
            "mae_original_units": float(np.concatenate(errors).mean()),
        }
        if inside:
            figures[f"coverage_{levels[0]:g}_{levels[-1]:g}"] = float(np.concatenate(inside).mean())
        return figures

    def endpoints(self, model, vectorizers, labels, max_length):
        from zoo.tasks.forecasting.signatures import forecaster_endpoints

        return forecaster_endpoints(model, vectorizers, labels)

    def evaluate_file(self, predictor, file, batch_size: int) -> dict:
        """MSE and MAE on the standardised scale, and MAE in the file's units, of the
        export's forecasts for every window of the file (stride 1)."""
        from zoo.data.series import windows

        config = predictor.metadata["config"]
        scale = config["standardization"]
        series = export_series(config, file)
        lookback, horizon = config["lookback"], config["horizon"]
        histories, futures = windows(series.values, lookback, horizon)
        std = np.array(scale["std"])
        covariates = covariate_names(config)
        errors = []
        for start in range(0, len(histories), batch_size):
            inputs = {"history": histories[start : start + batch_size].astype(np.float32)}
            if covariates:
                inputs["covariates"] = covariate_windows(
                    series.times, covariates, start, len(inputs["history"]), lookback + horizon
                )
            forecast = predictor.run("serving_default", inputs)["forecast"]
            errors.append(forecast - futures[start : start + batch_size])
        error = np.concatenate(errors)
        scaled = error / std
        return {
            "windows": len(error),
            "mse": float(np.mean(np.square(scaled))),
            "mae": float(np.mean(np.abs(scaled))),
            "mae_original_units": float(np.mean(np.abs(error))),
            "mae_by_column": {
                column: {"mae_original_units": float(np.mean(np.abs(error[..., j])))}
                for j, column in enumerate(scale["columns"])
            },
        }

    def predict_file(self, predictor, file, plot=None) -> str:
        """The forecast after a CSV's last ``lookback`` rows, as a table (one row per future
        step, its timestamp and a column per series, with the interval where the export has
        quantiles); ``plot`` also draws the history and forecast to that PNG."""
        from zoo.tasks.forecasting.plots import draw_forecast, forecast_table

        config = predictor.metadata["config"]
        series, times, outputs = forecast_file(predictor, file)
        if plot:
            draw_forecast(series, times, outputs, config, plot)
        return forecast_table(times, outputs, config)


def export_series(config: dict, file):
    """A user's CSV series, the export's columns in the export's order."""
    from zoo.data.series import read_series

    return read_series(file).select(config["standardization"]["columns"])


def covariate_names(config: dict) -> list[str]:
    """The covariates an export was trained with, from its recorded recipe config."""
    from zoo.tasks.forecasting.data import parse_names

    return parse_names((config.get("recipe_config") or {}).get("covariates", ""), "covariates")


def covariate_windows(times, names, start, count, span) -> np.ndarray:
    """The covariates of ``count`` windows of ``span`` rows from row ``start``, at stride 1."""
    from zoo.data.series import time_features

    step = times[1] - times[0]
    last = start + count - 1 + span
    extended = times[0] + step * np.arange(max(last, len(times)))  # past the file's end too
    features = time_features(extended, names)
    index = start + np.arange(count)[:, None] + np.arange(span)[None, :]
    return features[index]


def forecast_file(predictor, file):
    """A CSV's last ``lookback`` rows, the future timestamps and the export's outputs."""
    config = predictor.metadata["config"]
    series = export_series(config, file)
    lookback, horizon = config["lookback"], config["horizon"]
    if len(series.values) < lookback:
        raise ValueError(
            f"{file} holds {len(series.values)} rows; the export reads the last {lookback}"
        )
    start = len(series.values) - lookback
    inputs = {"history": series.values[None, start:].astype(np.float32)}
    covariates = covariate_names(config)
    if covariates:
        inputs["covariates"] = covariate_windows(
            series.times, covariates, start, 1, lookback + horizon
        )
    outputs = predictor.run("serving_default", inputs)
    times = series.times[-1] + series.step * np.arange(1, horizon + 1)
    return series, times, {name: value[0] for name, value in outputs.items()}


TASK = Forecasting()
