"""Judge of long_term_dependency (the adding problem): the data, the model's structure, the calibrated run."""
from __future__ import annotations

import numpy as np

from autograder.checks.compare import close
from autograder.checks.train import judge_threshold
from autograder.oracles import numpy_rnn

from . import hints
from .cases import ADD_PARTIAL_MSE, ADD_PASS_MSE, ADD_T, adding_data

N, LENGTH, HALF = 512, 11, 11 // 2  # the probe's adding_problem(512, 11) call
UNIFORM_CHI2 = 40.0  # chi-square of marker positions; a uniform draw exceeds it with probability < 1e-6


def long_term_dependency(j, seed):
    _judge_data(j)
    err = j.error_for("model")
    cell_ids, model_ids = j.value("model/cell_weights") or [], set(j.value("model/model_weights") or [])
    uses_cell = bool(cell_ids) and all(i in model_ids for i in cell_ids)
    shape_ok = j.value("model/out") == [3, 1]
    j.add("model", not err and shape_ok and uses_cell and _linear_readout(j),
          f"build_adding_model(cell) raised: {err}" if err else
          f"the model should map (batch, time, 2) to (batch, 1); it returned shape {j.value('model/out')}" if not shape_ok else
          "the model does not train the cell it was given: wrap that cell in keras.layers.RNN(cell)" if not uses_cell else
          hints.ADD_READOUT)
    name = "learns the adding problem"
    if not err and not uses_cell:
        return j.fail(name, "not credited: the model does not use the given cell, so it does not show that an LSTM learns the task")
    err = j.error_for("train", "model")
    pred = j.array("train/pred")
    _, y_test = adding_data(500, ADD_T, seed + 7)
    if err:
        return j.fail(name, f"training raised an error: {err}")
    if pred is None or pred.shape != y_test.shape or not np.all(np.isfinite(pred)):
        return j.fail(name, "the trained model's predictions have the wrong shape or are not finite")
    judge_threshold(j, name, float(np.mean((pred - y_test) ** 2)), ADD_PASS_MSE, ADD_PARTIAL_MSE, hints.ADD_SLOW, hints.ADD_FAIL)


def _linear_readout(j) -> bool:
    """The model's output is an affine function (one Dense(1), linear) of the given cell's final output."""
    out, h = j.array("model/outputs"), j.array("model/final_h")
    if out is None or h is None or out.ndim != 2 or out.shape[1] != 1 or len(out) != len(h):
        return False
    design = np.concatenate([h, np.ones((len(h), 1))], axis=1)
    coef = np.linalg.lstsq(design, out, rcond=None)[0]
    return close(design @ coef, out)


def _chi2(positions, bins) -> float:
    counts = np.bincount(positions, minlength=bins[-1] + 1)[bins]
    expected = len(positions) / len(bins)
    return float(((counts - expected) ** 2 / expected).sum())


def _judge_data(j):
    err = j.error_for("data")
    x, y = j.array("data/x"), j.array("data/y")
    if err or x is None or y is None:
        for name in ("data shapes", "markers", "targets", "seeding"):
            j.fail(name, f"adding_problem raised an error: {err}" if err else "adding_problem returned nothing")
        return
    dtypes = j.value("data/dtypes")
    x_ok, y_ok = x.shape == (N, LENGTH, 2), y.shape == (N, 1)
    j.add("data shapes", x_ok and y_ok and dtypes == ["float32", "float32"],
          f"adding_problem({N}, {LENGTH}) returned x {x.shape} and y {y.shape}; expected ({N}, {LENGTH}, 2) and ({N}, 1)"
          if not (x_ok and y_ok) else hints.ADD_DTYPES.format(dtypes=dtypes))
    if not x_ok:
        j.fail("markers", "not checked: x has the wrong shape")
        j.fail("targets", "not checked: x has the wrong shape")
    else:
        markers = x[:, :, 1]
        first, second = markers[:, :HALF].argmax(1), markers[:, HALF:].argmax(1) + HALF
        markers_ok = (np.all(np.isin(markers, (0.0, 1.0))) and np.all(markers.sum(1) == 2)
                      and np.all(markers[:, :HALF].sum(1) == 1) and np.all(x[:, :, 0] >= 0) and np.all(x[:, :, 0] < 1)
                      and _chi2(first, list(range(HALF))) < UNIFORM_CHI2
                      and _chi2(second, list(range(HALF, LENGTH))) < UNIFORM_CHI2)
        j.add("markers", markers_ok, hints.ADD_MARKERS)
        # judged on the values even when y's shape is wrong ('data shapes' says that once)
        j.add("targets", y.size == N and close(y.reshape(N, 1), numpy_rnn.adding_targets(x)),
              "y must be the sum of the two values whose marker is 1")
    same = (np.array_equal(x, j.array("data/x_again")) and np.array_equal(y, j.array("data/y_again"))
            if j.array("data/x_again") is not None else False)
    other = j.array("data/x_other")
    j.add("seeding", same and other is not None and not np.array_equal(x, other), hints.ADD_SEEDING)
