"""The two oracles vouch for each other: NumPy textbook formulas equal Keras built-ins with the same weights."""
from __future__ import annotations

import numpy as np
import pytest

import importlib

from autograder.oracles import keras_ref, numpy_rnn

cases = importlib.import_module("autograder.assignments.01_rnn_lstm.cases")
adding_data, cell_cases, weight_shapes = cases.adding_data, cases.cell_cases, cases.weight_shapes


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cell_step_numpy_equals_keras(kind, seed):
    for name, case in cell_cases(kind, seed).items():
        k_out, k_states = keras_ref.cell_step(kind, case["x"], case["states"], case["weights"])
        n_out, n_states = numpy_rnn.run_cell(kind, case["x"], case["states"], case["weights"])
        np.testing.assert_allclose(k_out, n_out, rtol=1e-5, atol=1e-6, err_msg=f"{kind}/{name}")
        for a, b in zip(k_states, n_states):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _weights(kind, rng, d=3, u=4):
    return [rng.normal(0, 0.5, s).astype(np.float32) for s in weight_shapes(kind, d, u)]


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_masked_scan_numpy_equals_keras_rnn_layer(kind):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(4, 7, 3)).astype(np.float32)
    mask = np.array([[1] * 7, [1, 1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 1, 1, 1], [1, 0, 1, 1, 0, 1, 1]], bool)
    weights = _weights(kind, rng)
    out, *states = keras_ref.rnn_layer(kind, x, weights, mask=mask)
    n_out, n_states = numpy_rnn.masked_scan(kind, x, weights, mask=mask)
    np.testing.assert_allclose(out, n_out, rtol=1e-5, atol=1e-6)
    for a, b in zip(states, n_states):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_bidirectional_numpy_equals_keras():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 6, 3)).astype(np.float32)
    mask = np.array([[1] * 6, [1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0]], bool)
    fw, bw = _weights("lstm", rng), _weights("lstm", rng)
    for m in (None, mask):
        seq, fh, fc, bh, bc = keras_ref.bidirectional_lstm(x, fw, bw, mask=m)
        n_seq, (nfh, nfc), (nbh, nbc) = numpy_rnn.bidirectional(x, fw, bw, mask=m)
        np.testing.assert_allclose(seq, n_seq, rtol=1e-5, atol=1e-6)
        for a, b in ((fh, nfh), (fc, nfc), (bh, nbh), (bc, nbc)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_grader_adding_data_follows_the_definition():
    x, y = adding_data(200, 21, seed=3)
    markers = x[:, :, 1]
    assert x.shape == (200, 21, 2) and y.shape == (200, 1)
    assert np.all(markers.sum(1) == 2) and np.all(markers[:, :10].sum(1) == 1)
    np.testing.assert_allclose(y, numpy_rnn.adding_targets(x), atol=1e-6)
    assert 0.1 < float(np.var(y)) < 0.25  # var of a sum of two U(0,1) is 1/6
