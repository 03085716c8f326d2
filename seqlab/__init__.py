"""Sequence Models Lab: what students import (data, plots, visible checks, training helpers).

Importing `seqlab` first silences TensorFlow/absl start-up logging, so notebook cells stay free
of stderr noise (nbgrader gives zero points to a graded cell that writes to stderr).
"""
from __future__ import annotations

import os

from seqlab._quiet import quiet, stderr_fd_silenced

quiet()

__version__ = "0.1.0"
__all__ = ["grading", "quiet", "stderr_fd_silenced", "set_seed", "__version__"]


def grading() -> bool:
    """True while a grader runs the notebook (nbgrader autograde or `python -m autograder`).

    Cells that train for more than a few seconds check this and shrink or skip their work.
    """
    return bool(os.environ.get("NBGRADER_EXECUTION") or os.environ.get("SEQLAB_GRADING"))


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy and the Keras backend in one call."""
    import keras

    keras.utils.set_random_seed(seed)
