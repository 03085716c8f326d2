"""Grader-chosen inputs of 04_translation: pure NumPy functions of a seed (imported by probes and judges)."""
from __future__ import annotations

import numpy as np

PAD_ID = 0
LOSS_B, LOSS_T, LOSS_V = 4, 7, 9
LOSS_LENGTHS = (7, 3, 5, 2)
LOSS_EPSILONS = (0.0, 0.1, 0.25)


def _rng(seed, salt):
    return np.random.default_rng([seed % (2 ** 32), salt])


def loss_case(seed) -> dict:
    """labels (B, T) with [PAD] tails, float32 logits (B, T, V); the [PAD] positions get large, uneven logits, so a
    smoothing term that is not masked there moves the loss far (their mean -log p is large)."""
    rng = _rng(seed, 1)
    labels = np.zeros((LOSS_B, LOSS_T), np.int64)
    for b, n in enumerate(LOSS_LENGTHS):
        labels[b, :n] = rng.integers(1, LOSS_V, n)
    logits = rng.normal(0.0, 2.0, (LOSS_B, LOSS_T, LOSS_V))
    pad = labels == PAD_ID
    logits[pad] = rng.normal(0.0, 12.0, (int(pad.sum()), LOSS_V))
    changed = logits.copy()
    changed[pad] = rng.normal(0.0, 12.0, (int(pad.sum()), LOSS_V))  # only what sits at [PAD] positions differs
    return {"labels": labels, "logits": logits.astype(np.float32), "changed": changed.astype(np.float32)}
