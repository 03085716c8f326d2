"""Serialization: get_config/from_config, and a `.keras` save/load that computes the same outputs.

The probe records raw outputs before and after; the judge compares them (no verdict in the probe).
"""
from __future__ import annotations

import os
import tempfile


def keras_roundtrip(probe, key: str, model, x, custom_objects: dict) -> None:
    """Probe: outputs of `model` on x before (`key/before`) and after (`key/after`) a .keras round trip."""
    import keras

    with probe.step(key):
        probe.put(f"{key}/before", model(x))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.keras")
            model.save(path)
            loaded = keras.saving.load_model(path, custom_objects=custom_objects)
        probe.put(f"{key}/after", loaded(x))


def same_after_roundtrip(judge, key: str) -> bool:
    """Judge: the reloaded model computes what the original did."""
    from autograder.checks.compare import close

    before = judge.array(f"{key}/before")
    return not judge.error_for(key) and before is not None and close(judge.array(f"{key}/after"), before)
