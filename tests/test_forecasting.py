"""The forecaster end to end: a CSV series checked row by row and split by time, a model
that normalises each window, a recipe that learns more than the last value, and an export
that forecasts from raw values with and without the zoo, served over REST and gRPC, scored
by ``zoo evaluate`` and shown by ``zoo predict``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import zoo
from zoo import training
from zoo.data.series import parse_split, read_series, split_rows, time_features, windows
from zoo.recipes.rnn_forecaster import RNNForecasterRecipe

import helpers as fx

SMALL = dict(
    lookback=24,
    horizon=12,
    segment_length=12,
    units=16,
    batch_size=32,
    split="0.6,0.2,0.2",
    verbose=0,
)


def run(tmp_path, **settings):
    config = RNNForecasterRecipe(
        run_dir=str(tmp_path / "run"), export_dir=str(tmp_path / "exports"), **{**SMALL, **settings}
    )
    return training.run(config)


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    return fx.write_series(tmp_path_factory.mktemp("series") / "series.csv", rows=720)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, series):
    """A forecaster with an interval (quantiles) trained for a few epochs; its metrics."""
    tmp_path = tmp_path_factory.mktemp("forecaster")
    return run(tmp_path, train_file=str(series), epochs=15, quantiles="0.1,0.5,0.9")


# --- the series reader -----------------------------------------------------------------------


def test_a_series_reads_its_time_column_and_numbers(series):
    read = read_series(series)
    assert read.columns == ["load", "temp"] and read.values.shape == (720, 2)
    assert read.step == np.timedelta64(1, "h")
    assert str(read.times[1]) == "2020-01-01T01:00:00"
    assert read.select(["temp"]).values.shape == (720, 1)
    with pytest.raises(ValueError, match="'OT' is not a column; the series has load, temp"):
        read.select(["OT"])


@pytest.mark.parametrize(
    "row,message",
    [
        ("2020-01-01 02:00:00,,3.0", r"series.csv:4: the value of 'load' is missing"),
        ("2020-01-01 02:00:00,1.0,abc", r"series.csv:4: the value of 'temp' is 'abc'"),
        ("2020-01-01 04:00:00,1.0,3.0", r"series.csv:4: timestamp 2020-01-01T04:00:00 follows"),
        ("yesterday,1.0,3.0", r"series.csv:4: 'yesterday' in column 'date' is not a timestamp"),
        ("2020-01-01 02:00:00,1.0", r"series.csv:4 has 2 fields; the header has 3"),
    ],
)
def test_a_gap_or_a_bad_value_is_refused_with_its_line(tmp_path, row, message):
    rows = ["date,load,temp", "2020-01-01 00:00:00,1,2", "2020-01-01 01:00:00,1,2", row]
    rows += ["2020-01-01 03:00:00,1,2"]
    (tmp_path / "series.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=message):
        read_series(tmp_path / "series.csv")


def test_months_split_by_time_as_the_long_horizon_benchmarks_do():
    hours = 17420  # ETTh1's rows, from 2016-07-01
    times = np.datetime64("2016-07-01T00:00") + np.arange(hours).astype("timedelta64[h]")
    series = zoo.data.series.Series(times, np.zeros((hours, 1)), ["OT"])
    rows = split_rows(series, "12,4,4", lookback=96)
    # Informer's and DLinear's borders: 12 months of 30 days for training, then 4 and 4,
    # each held-out part looking back 96 hours into the part before.
    assert rows == {"train": (0, 8640), "validation": (8544, 11520), "test": (11424, 14400)}
    test_windows, _ = windows(series.values[slice(*rows["test"])], 96, 96)
    assert len(test_windows) == 2785
    fractions = split_rows(series, "0.7,0.1,0.2", lookback=10)
    assert fractions["train"] == (0, 12194) and fractions["test"][1] == 12194 + 1742 + 3484
    with pytest.raises(ValueError, match="needs 18000 rows; the series has 17420"):
        split_rows(series, "12,4,9", lookback=96)


@pytest.mark.parametrize("split", ["12,4", "0.8,0.3,0.2", "a,b,c", "12,0,4"])
def test_a_bad_split_names_the_setting(split):
    with pytest.raises(ValueError, match="split="):
        parse_split(split)


def test_windows_and_time_features():
    values = np.arange(20, dtype=float).reshape(10, 2)
    histories, futures = windows(values, 3, 2)
    assert histories.shape == (6, 3, 2) and futures.shape == (6, 2, 2)
    np.testing.assert_array_equal(histories[1, :, 0], [2, 4, 6])
    np.testing.assert_array_equal(futures[1, :, 0], [8, 10])
    friday_six = np.array(["2016-07-01T06:00"], dtype="datetime64[s]")
    hour_sin, hour_cos, day_sin, _ = time_features(friday_six, ["hour", "weekday"])[0]
    assert hour_sin == pytest.approx(1.0) and hour_cos == pytest.approx(0.0, abs=1e-6)
    assert day_sin == pytest.approx(np.sin(2 * np.pi * 4 / 7))  # Friday is day 4


# --- the model -------------------------------------------------------------------------------


def test_settings_are_checked_with_their_range():
    with pytest.raises(ValueError, match="segment_length=48 must divide horizon=100"):
        zoo.build("rnn_forecaster", horizon=100)
    with pytest.raises(ValueError, match="quantiles='0.1,0.9' must be levels"):
        zoo.build("rnn_forecaster", quantiles="0.1,0.9")
    with pytest.raises(ValueError, match="normalization="):
        zoo.build("rnn_forecaster", normalization="minmax")
    with pytest.raises(ValueError, match="covariates='hour,tide'"):
        RNNForecasterRecipe(train_file=None, covariates="hour,tide").validate()


@pytest.mark.parametrize("normalization", ["last", "revin"])
def test_each_window_is_forecast_on_its_own_level(normalization):
    """A window shifted by a constant gets the same forecast shifted by it (RevIN also:
    scaled by a factor, the forecast scales too)."""
    model = zoo.build(
        "rnn_forecaster",
        lookback=8,
        horizon=4,
        segment_length=4,
        num_series=2,
        units=8,
        normalization=normalization,
    )
    x = np.random.default_rng(0).normal(size=(3, 8, 2)).astype("float32")
    base = model.predict({"history": x}, verbose=0)
    shifted = model.predict({"history": x + 100.0}, verbose=0)
    np.testing.assert_allclose(shifted, base + 100.0, atol=1e-3)
    if normalization == "revin":
        scaled = model.predict({"history": 3.0 * x}, verbose=0)
        np.testing.assert_allclose(scaled, 3.0 * base, atol=1e-3)


def test_the_pinball_loss_weighs_each_side_by_its_level():
    from zoo.tasks.forecasting.layers import PinballLoss

    loss = PinballLoss([0.1, 0.5, 0.9])
    y_true = np.zeros((1, 1, 1), "float32")
    y_pred = np.array([[[[-1.0, 1.0, 2.0]]]], "float32")  # errors 1, -1, -2
    # 0.1 * 1, max(0.5 * -1, -0.5 * -1) = 0.5, max(0.9 * -2, -0.1 * -2) = 0.2; mean 0.2667
    assert float(loss(y_true, y_pred)) == pytest.approx((0.1 + 0.5 + 0.2) / 3, rel=1e-6)


# --- the recipe and its export ---------------------------------------------------------------


@pytest.mark.slow
def test_the_recipe_learns_more_than_the_last_value(trained, series):
    from benchmarks.forecasting import arrays, last_value, scores
    from zoo.tasks.forecasting.data import forecasting_data

    data = forecasting_data(
        train_file=str(series), split="0.6,0.2,0.2", lookback=24, horizon=12, batch_size=64
    )
    histories, futures = arrays(data.test)
    baseline = scores(last_value(histories, 12), futures)
    test = trained["test"]
    assert test["mse"] < 0.7 * baseline["mse"], (test, baseline)
    assert test["mae_original_units"] > 0 and 0.5 < test["coverage_0.1_0.9"] <= 1.0
    assert trained["settings"]["num_series"] == 2


@pytest.mark.slow
def test_the_export_forecasts_raw_values_in_the_series_units(trained, series):
    predictor = zoo.load(trained["export"])
    config = predictor.metadata["config"]
    assert config["lookback"] == 24 and config["horizon"] == 12
    assert config["quantiles"] == [0.1, 0.5, 0.9]
    read = read_series(series)
    history = read.values[None, -24:].astype("float32")
    out = predictor.run("serving_default", {"history": history})
    assert out["forecast"].shape == (1, 12, 2) and out["quantiles"].shape == (1, 12, 2, 3)
    np.testing.assert_allclose(out["forecast"], out["quantiles"][..., 1], rtol=1e-6)
    # Original units: the load cycles about 10, the temperature about 27.
    assert abs(out["forecast"][0, :, 0].mean() - 10) < 2
    assert abs(out["forecast"][0, :, 1].mean() - read.values[-24:, 1].mean()) < 2
    longer = predictor.run(
        "serving_default", {"history": read.values[None, -50:].astype("float32")}
    )
    np.testing.assert_allclose(longer["forecast"], out["forecast"], rtol=1e-5)
    with pytest.raises(ValueError, match="history must hold at least lookback=24 steps"):
        predictor.run("serving_default", {"history": history[:, :10]})


@pytest.mark.slow
def test_zoo_evaluate_and_predict_on_a_csv(trained, series, tmp_path, capsys):
    from zoo.cli import main

    scored = zoo.evaluate(trained["export"], series)
    assert scored["windows"] == 720 - 24 - 12 + 1
    assert scored["mse"] > 0 and scored["mae_original_units"] > 0
    assert set(scored["mae_by_column"]) == {"load", "temp"}
    recent = tmp_path / "recent.csv"
    recent.write_text(
        "\n".join(series.read_text().splitlines()[:1] + series.read_text().splitlines()[-30:])
    )
    assert (
        main(
            ["predict", trained["export"], "--file", str(recent), "--plot", str(tmp_path / "f.png")]
        )
        == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split("\t") == ["time", "load", "temp", "load q0.1..q0.9", "temp q0.1..q0.9"]
    assert lines[1].startswith("2020-01-31 00:00:00\t") and len(lines) == 1 + 12 + 1
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_the_export_answers_without_the_zoo_and_over_rest_and_grpc(trained, series, tmp_path):
    import shutil

    grpc = pytest.importorskip("grpc")
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    from zoo import serving
    from zoo.serving.grpc_api import start_grpc_server
    from zoo.serving.service import Service

    history = read_series(series).values[None, -24:].astype("float32")
    expected = zoo.load(trained["export"]).run("serving_default", {"history": history})
    script = textwrap.dedent(f"""
        import sys, json
        sys.modules["zoo"] = None  # any `import zoo` now fails
        import tensorflow as tf
        sig = tf.saved_model.load({trained["export"]!r}).signatures["serving_default"]
        out = sig(history=tf.constant({history.tolist()!r}))
        print(json.dumps(out["forecast"].numpy().tolist()))
    """)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    plain = np.array(json.loads(result.stdout.strip().splitlines()[-1]))
    np.testing.assert_allclose(plain, expected["forecast"], rtol=1e-5)

    root = tmp_path / "served"
    shutil.copytree(trained["export"], root / "rnn_forecaster" / "1")
    service = Service(serving.ModelStore(root))
    server = start_grpc_server(service, port=0)
    try:
        with fx.live_client(serving.make_app(service=service, poll_seconds=0.2)) as client:
            rest = client.post(
                "/v1/models/rnn_forecaster:predict", json={"instances": history.tolist()}
            ).json()
            np.testing.assert_allclose(rest["predictions"][0]["forecast"], plain[0], rtol=1e-5)
            bad = client.post(
                "/v1/models/rnn_forecaster:predict", json={"instances": [[[1.0, 2.0]]]}
            )
            assert bad.status_code == 400 and "error" in bad.json()
            assert client.get("/v1/models/rnn_forecaster").status_code == 200
        channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "rnn_forecaster"
        request.inputs["history"].CopyFrom(tf.make_tensor_proto(history))
        reply = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(
            request, timeout=60
        )
        np.testing.assert_allclose(tf.make_ndarray(reply.outputs["forecast"]), plain, rtol=1e-5)
        channel.close()
    finally:
        server.stop(grace=None)


@pytest.mark.slow
def test_covariates_train_and_travel_with_the_export(series, tmp_path):
    metrics = run(
        tmp_path,
        train_file=str(series),
        epochs=2,
        covariates="hour,weekday",
        target="load",
        max_steps=4,
    )
    assert metrics["settings"]["num_covariates"] == 4 and metrics["settings"]["num_series"] == 1
    predictor = zoo.load(metrics["export"])
    assert set(predictor.input_specs("serving_default")) == {"history", "covariates"}
    scored = zoo.evaluate(metrics["export"], series)
    assert scored["windows"] == 720 - 36 + 1 and set(scored["mae_by_column"]) == {"load"}


def test_a_series_needs_a_train_file(tmp_path):
    with pytest.raises(ValueError, match="--train-file series.csv"):
        RNNForecasterRecipe(run_dir=str(tmp_path)).validate()
