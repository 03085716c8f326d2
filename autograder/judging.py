"""Helpers for judges: the half of a check that compares probe data with an oracle."""
from __future__ import annotations

import numpy as np

from autograder.results import SubCheck

RTOL = 1e-4
ATOL = 1e-5


class Judge:
    """Accumulates sub-checks for one item from a probe result."""

    def __init__(self, result: dict):
        self.data = result.get("data", {})
        self.errors = result.get("errors", {})
        self.checks: list[SubCheck] = []

    # -- access -------------------------------------------------------------------------------
    def error_for(self, *keys: str) -> str | None:
        for key in keys:
            if key in self.errors:
                return self.errors[key]
        return None

    def array(self, key: str):
        value = self.data.get(key)
        if value is None:
            return None
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            return None
        return arr

    # -- verdicts -----------------------------------------------------------------------------
    def add(self, name: str, points: float, ok: bool, message: str = "", earned: float | None = None) -> bool:
        if earned is None:
            earned = points if ok else 0.0
        self.checks.append(SubCheck(name, points, round(float(earned), 4), "" if ok else message))
        return ok

    def fail(self, name: str, points: float, message: str) -> bool:
        return self.add(name, points, False, message)

    def compare(self, name: str, points: float, key: str, expected, hint: str, step: str | None = None,
                rtol: float = RTOL, atol: float = ATOL) -> bool:
        """Award `points` if probe array `key` matches `expected` at float32 tolerance."""
        err = self.error_for(step or key)
        if err:
            return self.fail(name, points, f"your code raised an error: {err}")
        got = self.array(key)
        if got is None:
            return self.fail(name, points, "no output was produced for this check")
        expected = np.asarray(expected, dtype=np.float64)
        if got.shape != expected.shape:
            return self.fail(name, points, f"output shape {tuple(got.shape)}, expected {tuple(expected.shape)}")
        if not np.all(np.isfinite(got)):
            return self.fail(name, points, "the output contains NaN or inf")
        if np.allclose(got, expected, rtol=rtol, atol=atol):
            return self.add(name, points, True)
        diff = float(np.max(np.abs(got - expected)))
        return self.fail(name, points, f"{hint} (max abs difference {diff:.3g})")

    def close(self, key: str, expected, rtol: float = RTOL, atol: float = ATOL) -> bool:
        got = self.array(key)
        if got is None:
            return False
        expected = np.asarray(expected, dtype=np.float64)
        return got.shape == expected.shape and bool(np.all(np.isfinite(got))) and bool(np.allclose(got, expected, rtol=rtol, atol=atol))
