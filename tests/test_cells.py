"""The recurrent layers compute the textbook equations, checked in numpy from their own weights."""

import keras
import numpy as np
import pytest

from zoo.tasks.common import recurrent_layer

UNITS, FEATURES, STEPS, BATCH = 5, 3, 6, 4


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def simple_rnn(x, kernel, recurrent, bias):
    h = np.zeros((x.shape[0], UNITS))
    for t in range(x.shape[1]):
        h = np.tanh(
            x[:, t] @ kernel + h @ recurrent + bias
        )  # h_t = tanh(W_x x_t + W_h h_{t-1} + b)
    return h


def lstm(x, kernel, recurrent, bias):
    h = c = np.zeros((x.shape[0], UNITS))
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent + bias
        i, f, g, o = np.split(z, 4, axis=-1)  # input, forget, candidate, output
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
    return h


def gru(x, kernel, recurrent, bias):
    # reset_after=True (the cuDNN form): separate input and recurrent biases,
    # the reset gate applied after the recurrent matmul.
    b_in, b_rec = bias
    h = np.zeros((x.shape[0], UNITS))
    for t in range(x.shape[1]):
        xz, xr, xh = np.split(x[:, t] @ kernel + b_in, 3, axis=-1)
        hz, hr, hh = np.split(h @ recurrent + b_rec, 3, axis=-1)
        z, r = sigmoid(xz + hz), sigmoid(xr + hr)
        candidate = np.tanh(xh + r * hh)
        h = z * h + (1 - z) * candidate
    return h


@pytest.mark.parametrize(
    "cell,equations", [("simple_rnn", simple_rnn), ("lstm", lstm), ("gru", gru)]
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_layer_matches_textbook_equations(cell, equations, seed):
    keras.utils.set_random_seed(seed)
    layer = recurrent_layer(cell, UNITS, return_sequences=False, name=cell)
    x = np.random.default_rng(seed).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    got = keras.ops.convert_to_numpy(layer(x))
    # Non-zero biases, so a misplaced bias term would show.
    kernel, recurrent, bias = layer.get_weights()
    bias = np.random.default_rng(seed + 10).normal(size=bias.shape).astype("float32")
    layer.set_weights([kernel, recurrent, bias])
    got = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(
        got, equations(x.astype("float64"), kernel, recurrent, bias), atol=1e-5
    )
