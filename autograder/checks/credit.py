"""Partial credit, in one place: a judge gives each declared sub-check one verdict (or shares of one).

Points come only from the item's declaration; a judge says *which* sub-check passed, failed, or
earned a fraction, and why. `finish()` refuses a verdict for an undeclared sub-check and a declared
sub-check left without one (grader bugs, caught by the kit's tests), so the points in feedback always
add up to the item's points.
"""
from __future__ import annotations

import numpy as np

from autograder.results import SubCheck


class CreditError(RuntimeError):
    """A judge broke the item's declaration: the grader's fault."""


class Judge:
    """Collects the verdicts of one item from its (validated) probe record."""

    def __init__(self, declared: dict[str, float], record: dict):
        self.declared = dict(declared)
        self.data = record.get("data", {})
        self.errors = record.get("errors", {})
        self._share: dict[str, float] = {}
        self._earned: dict[str, float] = {}
        self._messages: dict[str, list[str]] = {}

    # -- reading the record --------------------------------------------------------------------
    def error_for(self, *keys: str) -> str | None:
        for key in keys:
            if key in self.errors:
                return self.errors[key]
        return None

    def array(self, key: str):
        value = self.data.get(key)
        return None if value is None else np.asarray(value, dtype=np.float64)

    def value(self, key: str, default=None):
        return self.data.get(key, default)

    # -- verdicts ------------------------------------------------------------------------------
    def add(self, name: str, ok: bool, message: str = "", share: float = 1.0, fraction: float | None = None) -> bool:
        """A verdict on `share` of sub-check `name`: full if ok, else `fraction` of it (default 0)."""
        if name not in self.declared:
            raise CreditError(f"verdict for undeclared sub-check {name!r}")
        earned = 1.0 if ok else (fraction or 0.0)
        self._share[name] = self._share.get(name, 0.0) + share
        self._earned[name] = self._earned.get(name, 0.0) + share * earned
        if message and not ok and message not in self._messages.setdefault(name, []):
            self._messages[name].append(message)
        elif not ok:
            self._messages.setdefault(name, [])
        return ok

    def fail(self, name: str, message: str, share: float = 1.0) -> bool:
        return self.add(name, False, message, share)

    def judged(self, name: str) -> bool:
        return name in self._share

    def fail_rest(self, message: str) -> None:
        """Fail every declared sub-check that has no verdict yet, with one reason."""
        for name in self.declared:
            if not self.judged(name):
                self.fail(name, message)

    def finish(self) -> list[SubCheck]:
        checks = []
        for name, points in self.declared.items():
            share = self._share.get(name)
            if share is None or abs(share - 1.0) > 1e-6:
                raise CreditError(f"sub-check {name!r} was judged for a share of {share}, not 1")
            earned = round(points * self._earned[name], 4)
            checks.append(SubCheck(name, points, earned, "; ".join(self._messages.get(name, []))))
        return checks
