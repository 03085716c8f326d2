"""The NumPy oracles 04_translation adds (autograder/oracles/transformer.py) against Keras built-ins."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from autograder.oracles import transformer as o


@pytest.mark.parametrize("epsilon", [0.0, 0.1, 0.3])
def test_smoothed_masked_loss_is_keras_label_smoothing_over_real_tokens(epsilon):
    rng = np.random.default_rng(7)
    labels = np.array([[5, 9, 3, 0, 0], [4, 3, 0, 0, 0], [7, 8, 6, 2, 3]])
    logits = rng.normal(0, 2, (3, 5, 11)).astype(np.float32)
    keep = (labels != 0).astype(np.float32)
    cce = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=epsilon, reduction="sum")
    want = float(cce(keras.ops.one_hot(labels, 11), logits, sample_weight=keep)) / keep.sum()
    assert o.smoothed_masked_loss(labels, logits, epsilon) == pytest.approx(want, rel=1e-5)


def test_smoothed_masked_loss_edge_cases():
    logits = np.random.default_rng(1).normal(size=(2, 3, 6))
    labels = np.array([[4, 3, 0], [5, 3, 0]])
    assert o.smoothed_masked_loss(labels, logits, 0.0) == pytest.approx(o.masked_loss(labels, logits))
    assert o.smoothed_masked_loss(np.zeros((2, 3), int), logits, 0.1) == 0.0
    # what happens at [PAD] positions changes nothing
    other = logits.copy()
    other[:, 2] = 50.0 * np.random.default_rng(2).normal(size=(2, 6))
    assert o.smoothed_masked_loss(labels, other, 0.1) == pytest.approx(o.smoothed_masked_loss(labels, logits, 0.1))
    # smoothing never lowers the loss of a confident correct prediction below the unsmoothed one
    sharp = np.full((1, 1, 6), -10.0)
    sharp[0, 0, 4] = 10.0
    assert o.smoothed_masked_loss([[4]], sharp, 0.1) > o.smoothed_masked_loss([[4]], sharp, 0.0)
