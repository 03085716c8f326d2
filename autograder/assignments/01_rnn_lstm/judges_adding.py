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
    x_test, y_test = adding_data(500, ADD_T, seed + 7)
    if err:
        return j.fail(name, f"training raised an error: {err}")
    pred = trained_predictions(j, x_test)
    if pred is None:
        return j.fail(name, "the trained model could not be rebuilt from its weights: build it from Keras layers "
                            "only, keras.layers.RNN(cell) followed by keras.layers.Dense(1)")
    if pred.shape != y_test.shape or not np.all(np.isfinite(pred)):
        return j.fail(name, "the trained model's predictions have the wrong shape or are not finite")
    judge_threshold(j, name, float(np.mean((pred - y_test) ** 2)), ADD_PASS_MSE, ADD_PARTIAL_MSE, hints.ADD_SLOW, hints.ADD_FAIL)


# what a rebuilt model's config may name: Keras's own layers and operations, nothing that carries code
_REFUSED_CLASSES = {"Lambda", "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer"}


def _keras_only(config) -> bool:
    """True when a serialized Keras config names only Keras's own classes (no Lambda, no other module)."""
    if isinstance(config, dict):
        module = config.get("module")
        if module is not None and not (isinstance(module, str) and (module == "keras" or module.startswith("keras."))):
            return False
        if config.get("class_name") in _REFUSED_CLASSES or config.get("registered_name") not in (None, config.get("class_name")):
            return False
        if config.get("class_name") == "__lambda__" or "function_type" in config:
            return False
        return all(_keras_only(v) for v in config.values())
    if isinstance(config, list):
        return all(_keras_only(v) for v in config)
    return True


def trained_predictions(j, x_test):
    """The trained model's predictions on x_test, computed here (the submission's process only hands over data):
    the model rebuilt from its Keras config with its trained weights, or, for a model without a config (a subclass),
    the standard RNN(LSTMCell) -> Dense(1) run in NumPy when its weights have that layout. None when neither works."""
    n = j.value("train/weights/n")
    weights = [j.array(f"train/weights/{k}") for k in range(n if isinstance(n, int) and 0 < n <= 16 else 0)]
    if not weights or any(w is None for w in weights):
        return None
    config = j.array("train/config")
    if config is not None and config.size:
        pred = _from_config(bytes(config.astype(np.uint8)), weights, x_test)
        if pred is not None:
            return pred
    return _standard_lstm(weights, x_test)


def _from_config(raw: bytes, weights, x_test):
    import json

    import keras

    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not _keras_only(config):
        return None
    try:
        model = keras.models.model_from_json(json.dumps(config))  # safe mode: no code is deserialized
        model.set_weights([w.astype(np.float32) for w in weights])
        return np.asarray(keras.ops.convert_to_numpy(model(x_test.astype(np.float32), training=False)), np.float64)
    except Exception:  # noqa: BLE001 - not a model Keras can rebuild: the weights alone decide
        return None


def _standard_lstm(weights, x_test):
    if len(weights) != 5:
        return None
    kernel, recurrent, bias, dense_w, dense_b = weights
    units = recurrent.shape[0] if recurrent.ndim == 2 else -1
    if (kernel.shape != (x_test.shape[-1], 4 * units) or recurrent.shape != (units, 4 * units)
            or bias.shape != (4 * units,) or dense_w.shape != (units, 1) or dense_b.shape != (1,)):
        return None
    sequence, _ = numpy_rnn.masked_scan("lstm", x_test, [kernel, recurrent, bias])
    return sequence[:, -1] @ dense_w + dense_b


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
