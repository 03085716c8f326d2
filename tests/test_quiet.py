"""Importing the kit and using Keras writes nothing to stderr (nbgrader zeroes a graded cell that does)."""
import subprocess
import sys

from tests.helpers import ROOT


def test_no_stderr_from_seqlab_keras_and_autograder():
    code = (
        "import seqlab, seqlab.checks, keras, numpy as np\n"
        "m = keras.Sequential([keras.Input((4, 3)), keras.layers.LSTM(2), keras.layers.Dense(1)])\n"
        "m.compile('adam', 'mse'); m.fit(np.zeros((8, 4, 3)), np.zeros((8, 1)), verbose=0)\n"
        "import autograder; print('done')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("done")
    assert proc.stderr == "", proc.stderr


def test_import_seqlab_does_not_load_tensorflow():
    code = "import sys, seqlab, seqlab.data; print('tensorflow' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.stdout.strip() == "False", proc.stdout + proc.stderr
