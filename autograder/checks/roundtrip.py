"""Serialization: get_config/from_config, and a `.keras` save/load that computes the same outputs.

The probe records raw outputs before and after; the judge compares them (no verdict in the probe).
"""
from __future__ import annotations

import os
import tempfile


def config_clone(probe, key: str, layer, *args) -> None:
    """Probe (inside the caller's step): the first output of `layer(*args)` (`key/original`) and of
    `from_config(get_config())` with the layer's weights copied over (`key/out`)."""
    from autograder.probing import as_list

    probe.put(f"{key}/original", as_list(layer(*args))[0])
    clone = type(layer).from_config(layer.get_config())
    clone(*args)  # builds the clone's own (fresh) weights, then the originals are copied over
    clone.set_weights(layer.get_weights())
    probe.put(f"{key}/out", as_list(clone(*args))[0])


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
