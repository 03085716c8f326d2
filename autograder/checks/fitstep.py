"""Trainability: one optimizer step on a small batch changes every trainable weight of the layer."""
from __future__ import annotations


def fit_step(probe, key: str, model, weights: dict, x, y, seed: int) -> None:
    """Probe: values of `weights` ({name: variable}) before (`key/before/<name>`) and after one SGD step."""
    import keras

    with probe.step(key):
        keras.utils.set_random_seed(seed % (2**31))
        model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
        for name, var in weights.items():
            probe.put(f"{key}/before/{name}", var)
        model.train_on_batch(x, y)
        for name, var in weights.items():
            probe.put(f"{key}/after/{name}", var)


def fit_step_named(probe, key: str, model, weights: dict, x, y, seed: int) -> None:
    """fit_step, with the weights' names recorded too (`key/names`, kind STRS) so the judge checks each."""
    probe.put(f"{key}/names", sorted(weights))
    fit_step(probe, key, model, weights, x, y, seed)


def judge_fit_step(judge, name: str, key: str, names) -> bool:
    """Judge: every named weight changed (the judge compares the raw values)."""
    import numpy as np

    err = judge.error_for(key)
    if err:
        return judge.fail(name, f"a training step raised an error: {err}")
    stuck = []
    for weight in names:
        before, after = judge.array(f"{key}/before/{weight}"), judge.array(f"{key}/after/{weight}")
        if before is None or after is None or before.shape != after.shape or np.array_equal(before, after):
            stuck.append(weight)
    return judge.add(name, not stuck, f"one fit step did not change {', '.join(stuck)}: are they created with "
                     "add_weight(trainable=True) and used in call()?")
