"""Symbolic use: the student's layer in a functional model on `keras.Input` with unknown sizes."""
from __future__ import annotations


def symbolic(probe, key: str, build, concrete=None) -> None:
    """Probe: `build()` returns (symbolic outputs, model); records their shapes, and the model's output
    shapes on `concrete` input when given (`key/shapes`, `key/run`: kind SHAPES)."""
    from autograder.probing import as_list, shape_of

    with probe.step(key):
        outputs, model = build()
        probe.put(f"{key}/shapes", [shape_of(o) for o in as_list(outputs)])
        if concrete is not None:
            probe.put(f"{key}/run", [shape_of(o) for o in as_list(model(concrete))])


def judge_symbolic(judge, name: str, key: str, want: list, want_run: list | None, usage: str) -> bool:
    """Judge: symbolic output shapes equal `want` (None = unknown), concrete ones `want_run`."""
    err = judge.error_for(key)
    if err:
        return judge.fail(name, f"{usage} failed: {err}")
    got, run = judge.value(f"{key}/shapes"), judge.value(f"{key}/run")
    if got != want:
        return judge.fail(name, f"with a symbolic keras.Input ({usage}) the output shapes were {got}, expected {want}")
    if want_run is not None and run != want_run:
        return judge.fail(name, f"the functional model built on keras.Input returned shapes {run} on a batch, expected {want_run}")
    return judge.add(name, True)
