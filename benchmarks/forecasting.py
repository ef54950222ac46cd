"""The forecaster recipe against three baselines on the same windows, per horizon.

On ``--file`` (ETTh1's protocol: 12, 4 and 4 months by time, every column standardised by
the training part, MSE and MAE on that scale over every test window at stride 1) it trains
``rnn_forecaster`` with its defaults for each horizon and, on the same windows:

- the last value, repeated over the horizon;
- the seasonal naive forecast: the value at the same hour of the previous day (the last
  ``--season`` steps repeated);
- DLinear (Zeng et al. 2023): the window split by a moving average (25 steps) into trend
  and remainder, each mapped to the horizon by one linear layer shared by the columns,
  trained as its paper's ETTh1 script does (Adam at 0.005, batch 32, the rate halved each
  epoch, 10 epochs, stopped after 3 without a better validation loss).

Prints MSE and MAE per horizon, multivariate (every column) and univariate (``OT``), and
the training times; ``--json OUT`` writes ``{"model": {"horizon": {"mse": x, "mae": y}}}``.

    python -m benchmarks.forecasting --file ETTh1.csv --horizons 96 192 336 720

Other flags go to the recipe (``--max-minutes 5``, ``--lookback 336``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks.common import add_record_flag, print_machine, record_model, report

MODES = {"multivariate": "", "univariate": "OT"}


def arrays(dataset) -> tuple[np.ndarray, np.ndarray]:
    """A windows dataset as numpy histories [W, L, C] and futures [W, H, C]."""
    histories, futures = [], []
    for inputs, targets in dataset:
        histories.append(inputs["history"].numpy())
        futures.append(targets.numpy())
    return np.concatenate(histories), np.concatenate(futures)


def last_value(histories, horizon):
    return np.repeat(histories[:, -1:], horizon, axis=1)


def seasonal_naive(histories, horizon, season):
    """The last ``season`` steps repeated: each future step gets the value one season (or a
    whole number of seasons) before it."""
    reps = -(-horizon // season)
    return np.tile(histories[:, -season:], (1, reps, 1))[:, :horizon]


def dlinear(lookback: int, horizon: int, kernel: int = 25):
    """DLinear: moving-average trend (edges padded with the end values) and remainder, each
    through a Dense(lookback -> horizon) shared by every column."""
    import keras
    from keras import ops

    history = keras.Input(shape=(lookback, None), name="history")

    class Decompose(keras.layers.Layer):
        def call(self, x):
            front = ops.repeat(x[:, :1], (kernel - 1) // 2, axis=1)
            end = ops.repeat(x[:, -1:], (kernel - 1) // 2, axis=1)
            padded = ops.concatenate([front, x, end], axis=1)
            trend = ops.average_pool(padded, kernel, strides=1, padding="valid")
            return ops.transpose(trend, (0, 2, 1)), ops.transpose(x - trend, (0, 2, 1))

    trend, remainder = Decompose()(history)
    out = keras.layers.Dense(horizon, name="trend")(trend) + keras.layers.Dense(
        horizon, name="seasonal"
    )(remainder)
    return keras.Model(history, keras.layers.Permute((2, 1))(out), name="dlinear")


def train_dlinear(data, lookback, horizon, seed) -> tuple[np.ndarray, float]:
    """DLinear's test forecasts [W, H, C] after training, and its training seconds."""
    import keras

    keras.utils.set_random_seed(seed)
    model = dlinear(lookback, horizon)
    model.compile(keras.optimizers.Adam(0.005), loss="mse")

    def history_only(ds):
        return ds.map(lambda inputs, targets: (inputs["history"], targets))

    train = history_only(data.train.unbatch().batch(32))
    started = time.perf_counter()
    model.fit(
        train,
        validation_data=history_only(data.validation),
        epochs=10,
        verbose=0,
        callbacks=[
            keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True),
            keras.callbacks.LearningRateScheduler(lambda epoch: 0.005 * 0.5**epoch),
        ],
    )
    seconds = time.perf_counter() - started
    return model.predict(history_only(data.test), verbose=0), seconds


def scores(forecast, future) -> dict:
    error = forecast - future
    return {"mse": float(np.mean(np.square(error))), "mae": float(np.mean(np.abs(error)))}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", required=True, help="a CSV series (ETTh1.csv)")
    parser.add_argument("--horizons", type=int, nargs="+", default=[96, 192, 336, 720])
    parser.add_argument("--lookback", type=int, help="steps read (default: the recipe's, 336)")
    parser.add_argument("--season", type=int, default=24, help="steps in a day (default: 24)")
    parser.add_argument(
        "--modes", nargs="+", choices=list(MODES), default=list(MODES), help="default: both"
    )
    parser.add_argument("--baselines-only", action="store_true", help="skip the recipe")
    parser.add_argument("--json", help="also write every model's figures to this JSON file")
    add_record_flag(parser)
    args, recipe_flags = parser.parse_known_args(argv)

    from zoo import training
    from zoo.recipes.rnn_forecaster import RNNForecasterRecipe
    from zoo.results import Figure
    from zoo.tasks.forecasting.data import forecasting_data

    print_machine()
    if args.lookback is None:
        args.lookback = RNNForecasterRecipe().lookback
    table: dict[str, dict[str, dict]] = {}
    found, timings = [], {}
    data_name = Path(args.file).stem
    for mode in args.modes:
        target = MODES[mode]
        suffix = "" if mode == "multivariate" else f" ({target})"
        for horizon in args.horizons:
            data = forecasting_data(
                train_file=args.file,
                target=target,
                lookback=args.lookback,
                horizon=horizon,
                batch_size=256,
            )
            histories, futures = arrays(data.test)
            rows = {
                "last value": scores(last_value(histories, horizon), futures),
                "seasonal naive": scores(seasonal_naive(histories, horizon, args.season), futures),
            }
            forecast, seconds = train_dlinear(data, args.lookback, horizon, seed=0)
            rows["DLinear"] = scores(forecast, futures)
            timings[f"dlinear_{mode}_h{horizon}_train_seconds"] = seconds
            if not args.baselines_only:
                config = training.parse_config(
                    RNNForecasterRecipe,
                    [
                        "--train-file",
                        args.file,
                        "--horizon",
                        str(horizon),
                        "--lookback",
                        str(args.lookback),
                        "--target",
                        target,
                        "--no-export",
                        "--verbose",
                        "2",
                        *recipe_flags,
                    ],
                )
                metrics = training.run(config)
                rows = {"rnn_forecaster": metrics["test"], **rows}
                timings[f"rnn_forecaster_{mode}_h{horizon}_train_seconds"] = metrics["wall_seconds"]
                detail = {
                    "lookback": args.lookback,
                    "horizon": horizon,
                    "target": target or "all",
                    "epochs": metrics["epochs_run"],
                    "training_minutes": round(metrics["wall_seconds"] / 60, 2),
                    "recipe_flags": recipe_flags,
                    "windows": len(futures),
                    "last_value": rows["last value"],
                    "seasonal_naive": rows["seasonal naive"],
                }
                for metric in ("mse", "mae"):
                    found.append(
                        Figure(
                            metric=metric,
                            value=metrics["test"][metric],
                            data=data_name,
                            split=f"test h{horizon}{suffix}",
                            detail={
                                **detail,
                                **({"history": metrics["history"]} if metric == "mse" else {}),
                            },
                            baseline={"name": "DLinear", "value": rows["DLinear"][metric]},
                        )
                    )
            for name, figures in rows.items():
                table.setdefault(name + suffix, {})[str(horizon)] = {
                    "mse": figures["mse"],
                    "mae": figures["mae"],
                }
            print(
                f"{mode} h{horizon}: "
                + ", ".join(f"{name} {f['mse']:.4f}/{f['mae']:.4f}" for name, f in rows.items()),
                flush=True,
            )

    horizons = [str(h) for h in args.horizons]
    print(f"\ntest MSE / MAE on {data_name}, look-back {args.lookback}\n")
    print("| model | " + " | ".join(f"h{h}" for h in horizons) + " |")
    print("|---|" + "---|" * len(horizons))
    for name, by_horizon in table.items():
        cells = [
            f"{by_horizon[h]['mse']:.3f} / {by_horizon[h]['mae']:.3f}" if h in by_horizon else ""
            for h in horizons
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()
    report(
        {
            **{
                f"{name.replace(' ', '_')}_h{h}_mse": by_horizon[h]["mse"]
                for name, by_horizon in table.items()
                for h in by_horizon
            },
            **timings,
        },
        record=args.record and "forecasting",
        data=data_name,
    )
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=2) + "\n")
        print(f"written: {args.json}")
    if args.record and found:
        record_model("rnn_forecaster", found)


if __name__ == "__main__":
    main()
