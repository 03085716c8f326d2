"""The grading run of long_term_dependency separates an LSTM from a simple RNN of equal size."""
from __future__ import annotations

import numpy as np
import pytest

import importlib

import keras

cases = importlib.import_module("autograder.assignments.01_rnn_lstm.cases")
train_adding = importlib.import_module("autograder.assignments.01_rnn_lstm.probes").train_adding
ADD_PASS_MSE, ADD_T, ADD_UNITS, adding_data = cases.ADD_PASS_MSE, cases.ADD_T, cases.ADD_UNITS, cases.adding_data


def _reference_model(cell):
    inputs = keras.Input(shape=(None, 2))
    return keras.Model(inputs, keras.layers.Dense(1)(keras.layers.RNN(cell)(inputs)))


@pytest.mark.parametrize("seed", [11, 12])
def test_lstm_passes_and_simple_rnn_does_not(seed):
    x_test, y_test = adding_data(500, ADD_T, seed + 7)
    _, lstm = train_adding(_reference_model, keras.layers.LSTMCell(ADD_UNITS), seed)
    _, rnn = train_adding(_reference_model, keras.layers.SimpleRNNCell(ADD_UNITS), seed)
    lstm_mse = float(np.mean((lstm.predict(x_test, verbose=0) - y_test) ** 2))
    rnn_mse = float(np.mean((rnn.predict(x_test, verbose=0) - y_test) ** 2))
    assert lstm_mse <= ADD_PASS_MSE / 2, f"LSTM MSE {lstm_mse:.4f}: the calibrated run no longer leaves margin"
    assert rnn_mse > 0.1, f"simple RNN MSE {rnn_mse:.4f}: the task no longer needs long-term memory"
