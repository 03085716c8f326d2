"""The reference layers use keras.ops only: TensorFlow and JAX backends give the same numbers."""
import os
import subprocess
import sys

import numpy as np


from tests.helpers import ROOT


def _run(backend, out):
    env = dict(os.environ, KERAS_BACKEND=backend, JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "backend_probe.py"), str(out)], env=env,
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return np.load(out)


def test_tensorflow_and_jax_agree(tmp_path):
    tf_out = _run("tensorflow", tmp_path / "tf.npz")
    jax_out = _run("jax", tmp_path / "jax.npz")
    assert str(tf_out["backend"]) == "tensorflow" and str(jax_out["backend"]) == "jax"
    for key in ("RNNCell", "LSTMCell", "GRUCell", "RNNCell_rnn", "LSTMCell_rnn", "GRUCell_rnn", "MaskedRNN",
                "BidirectionalEncoder"):
        np.testing.assert_allclose(tf_out[key], jax_out[key], rtol=1e-4, atol=1e-5, err_msg=key)
