"""The grading run of long_term_dependency separates an LSTM from a simple RNN of equal size.

The runs happen in a process with the grading worker's environment (one intra-op thread, as `Limits()` gives each
worker): the adding problem's training is sensitive to the order of floating-point sums, so the margin is measured
under the settings the grader uses."""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import pytest

from autograder.runner import Limits, _worker_env
from tests.helpers import ROOT

ADD_PASS_MSE = importlib.import_module("autograder.assignments.01_rnn_lstm.cases").ADD_PASS_MSE

SCRIPT = """
import importlib, json, sys
import numpy as np
import seqlab, keras
cases = importlib.import_module("autograder.assignments.01_rnn_lstm.cases")
train_adding = importlib.import_module("autograder.assignments.01_rnn_lstm.probes").train_adding

def reference_model(cell):
    inputs = keras.Input(shape=(None, 2))
    return keras.Model(inputs, keras.layers.Dense(1)(keras.layers.RNN(cell)(inputs)))

seed = int(sys.argv[1])
x_test, y_test = cases.adding_data(500, cases.ADD_T, seed + 7)
mse = {}
for name, cell in (("lstm", keras.layers.LSTMCell), ("rnn", keras.layers.SimpleRNNCell)):
    _, model = train_adding(reference_model, cell(cases.ADD_UNITS), seed)
    mse[name] = float(np.mean((model.predict(x_test, verbose=0) - y_test) ** 2))
print(json.dumps(mse))
"""


@pytest.mark.parametrize("seed", [11, 12])
def test_lstm_passes_and_simple_rnn_does_not(seed):
    env = {**_worker_env(Limits()), "PYTHONPATH": str(ROOT), "HOME": os.environ.get("HOME", "/tmp")}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(seed)], env=env, capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    mse = json.loads(proc.stdout.strip().splitlines()[-1])
    assert mse["lstm"] <= ADD_PASS_MSE / 2, f"LSTM MSE {mse['lstm']:.4f}: the calibrated run no longer leaves margin"
    assert mse["rnn"] > 0.1, f"simple RNN MSE {mse['rnn']:.4f}: the task no longer needs long-term memory"
