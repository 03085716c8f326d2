"""Compare a probe's array with an oracle's, at float32 tolerance, saying how far and where."""
from __future__ import annotations

import numpy as np

RTOL, ATOL = 1e-4, 1e-5


def close(got, expected, rtol: float = RTOL, atol: float = ATOL) -> bool:
    if got is None:
        return False
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    return got.shape == expected.shape and bool(np.all(np.isfinite(got))) and bool(
        np.allclose(got, expected, rtol=rtol, atol=atol))


def difference(got, expected) -> str:
    """'max abs difference 0.31 at [2, 0, 3]' for arrays of equal shape."""
    diff = np.abs(np.asarray(got, np.float64) - np.asarray(expected, np.float64))
    where = [int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape)] if diff.size else []
    return f"max abs difference {float(diff.max()) if diff.size else 0.0:.3g} at index {where}"


def mismatch(got, expected) -> str | None:
    """None if `got` matches `expected`, else a short reason (missing, shape, NaN, or how far and where)."""
    if got is None:
        return "no output was produced for this check"
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    if got.shape != expected.shape:
        return f"output shape {tuple(got.shape)}, expected {tuple(expected.shape)}"
    if not np.all(np.isfinite(got)):
        return "the output contains NaN or inf"
    if np.allclose(got, expected, rtol=RTOL, atol=ATOL):
        return None
    return difference(got, expected)


def compare(judge, name: str, key: str, expected, hint: str, step: str | None = None, share: float = 1.0) -> bool:
    """Sub-check `name`: probe array `key` equals `expected`; else the hint and the measured difference."""
    err = judge.error_for(step or key, key)
    if err:
        return judge.fail(name, f"your code raised an error: {err}", share)
    problem = mismatch(judge.array(key), expected)
    if problem is None:
        return judge.add(name, True, share=share)
    if problem.startswith("max abs"):
        return judge.fail(name, f"{hint} ({problem})", share)
    return judge.fail(name, problem, share)


def split_by_mask(got, expected, mask) -> tuple[bool, bool]:
    """(real positions match, padded positions match) for (batch, time, ...) arrays and a (batch, time) mask."""
    got, expected, mask = np.asarray(got), np.asarray(expected), np.asarray(mask, bool)
    real = np.allclose(got[mask], expected[mask], rtol=RTOL, atol=ATOL)
    padded = np.allclose(got[~mask], expected[~mask], rtol=RTOL, atol=ATOL)
    return bool(real), bool(padded)
