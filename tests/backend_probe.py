"""Run the master notebook's layers on the backend in KERAS_BACKEND and save their outputs (npz).

Used by test_backends.py: graded layers use keras.ops only, so TensorFlow and JAX must agree.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from autograder.notebook import code_cells, read  # noqa: E402
from tests.helpers import SOLUTION_NB  # noqa: E402


def main(out_path):
    ns = {"__name__": "__main__"}
    for cell in code_cells(read(SOLUTION_NB)):
        if cell.kind in ("setup", "solution"):
            exec(compile(cell.source, f"<cell {cell.grade_id}>", "exec"), ns)
    import keras

    rng = np.random.default_rng(0)
    x_step = rng.normal(size=(3, 4)).astype("float32")
    x_seq = rng.normal(size=(3, 5, 4)).astype("float32")
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], bool)
    results = {}

    def fill(layer):
        for w in layer.weights:
            w.assign(rng.normal(0, 0.5, tuple(w.shape)).astype("float32"))

    for name, n_states in (("RNNCell", 1), ("LSTMCell", 2), ("GRUCell", 1)):
        cell = ns[name](6)
        cell.build((None, 4))
        fill(cell)
        states = [rng.normal(size=(3, 6)).astype("float32") for _ in range(n_states)]
        out, _ = cell(x_step, states)
        results[name] = keras.ops.convert_to_numpy(out)
        seq = keras.layers.RNN(cell, return_sequences=True)(x_seq, mask=mask)
        results[name + "_rnn"] = keras.ops.convert_to_numpy(seq)
    cell = ns["LSTMCell"](6)
    layer = ns["MaskedRNN"](cell, return_sequences=True, return_state=True)
    layer(x_seq, mask=mask)
    fill(layer)
    results["MaskedRNN"] = np.concatenate([keras.ops.convert_to_numpy(t).reshape(3, -1) for t in layer(x_seq, mask=mask)], -1)
    encoder = ns["BidirectionalEncoder"](ns["LSTMCell"](3), ns["LSTMCell"](3))
    encoder(x_seq, mask=mask)
    fill(encoder)
    results["BidirectionalEncoder"] = np.concatenate(
        [keras.ops.convert_to_numpy(t).reshape(3, -1) for t in encoder(x_seq, mask=mask)], -1)
    results["backend"] = np.array(keras.backend.backend())
    np.savez(out_path, **results)


if __name__ == "__main__":
    main(sys.argv[1])
