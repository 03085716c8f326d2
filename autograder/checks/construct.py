"""The student's object can be built; when it cannot, every sub-check fails once, with that reason."""
from __future__ import annotations


def construct(probe, key: str, make):
    """Probe: `make()` inside step `key`; the object, or None when the student's code raised."""
    made = None
    with probe.step(key):
        made = make()
    return made


def constructed(judge, key: str, what: str) -> bool:
    """Judge: False (and every sub-check failed) when step `key` raised."""
    err = judge.error_for(key)
    if err:
        judge.fail_rest(f"could not create {what}: {err}")
        return False
    return True
