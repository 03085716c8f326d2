"""Properties of sequence layers, independent of any oracle.

* causality: changing the inputs after step t never changes the outputs up to step t;
* padding invariance: appending padded (masked) steps never changes the outputs at real steps.
The probe records raw outputs of both runs; the judge compares them.
"""
from __future__ import annotations

import numpy as np

from autograder.checks.compare import ATOL, RTOL


def causality(probe, key: str, run, x, t: int, seed: int) -> None:
    """Probe: run(x) and run(x') where x' differs from x only after step t (axis 1)."""
    changed = np.array(x, copy=True)
    rng = np.random.default_rng(seed)
    later = changed[:, t + 1:]
    changed[:, t + 1:] = rng.permutation(later.reshape(-1)).reshape(later.shape) if later.dtype.kind in "iu" \
        else rng.normal(0, 1, later.shape).astype(later.dtype)
    with probe.step(key):
        probe.put(f"{key}/original", run(x))
        probe.put(f"{key}/changed", run(changed))


def judge_causality(judge, name: str, key: str, t: int, what: str = "the outputs") -> bool:
    err = judge.error_for(key)
    if err:
        return judge.fail(name, f"your code raised an error: {err}")
    a, b = judge.array(f"{key}/original"), judge.array(f"{key}/changed")
    ok = a is not None and b is not None and a.shape == b.shape and np.allclose(a[:, :t + 1], b[:, :t + 1], rtol=RTOL, atol=ATOL)
    return judge.add(name, ok, f"changing the inputs after step {t} changed {what} at steps <= {t}: "
                     "a position must not see later positions (check the look-ahead mask)")


def padding_invariance(probe, key: str, run, x, mask, extra: int, pad_value=0) -> None:
    """Probe: run(x, mask) and run on x with `extra` padded steps appended (mask False there)."""
    x, mask = np.asarray(x), np.asarray(mask, bool)
    pad = np.full((x.shape[0], extra) + x.shape[2:], pad_value, dtype=x.dtype)
    longer = np.concatenate([x, pad], axis=1)
    longer_mask = np.concatenate([mask, np.zeros((x.shape[0], extra), bool)], axis=1)
    with probe.step(key):
        probe.put(f"{key}/short", run(x, mask))
        probe.put(f"{key}/long", run(longer, longer_mask))


def judge_padding_invariance(judge, name: str, key: str, mask) -> bool:
    err = judge.error_for(key)
    if err:
        return judge.fail(name, f"your code raised an error: {err}")
    a, b, mask = judge.array(f"{key}/short"), judge.array(f"{key}/long"), np.asarray(mask, bool)
    steps = mask.shape[1]
    ok = (a is not None and b is not None and b.shape[1] >= steps and a.shape[0] == b.shape[0]
          and a.shape[2:] == b.shape[2:] and np.allclose(a[mask], b[:, :steps][mask], rtol=RTOL, atol=ATOL))
    return judge.add(name, ok, "appending padded steps changed the outputs at real steps: padded positions "
                     "must be masked out (mask True = keep)")
