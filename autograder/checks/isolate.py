"""Isolated-term cases: inputs and weights chosen so that only one term of a formula is non-zero.

When the full computation is wrong, these cases say which term is: "with only the bias non-zero, h_t
should be tanh(b)". Several cases may feed one sub-check; each is an equal share of it.
"""
from __future__ import annotations

from collections import Counter

from autograder.checks.compare import close


def judge_cases(judge, cases) -> dict[str, bool]:
    """`cases`: (sub-check, step key, {record key: expected array}, hint) tuples. Returns case -> ok."""
    counts = Counter(sub for sub, *_ in cases)
    passed = {}
    for sub, step, expected, hint in cases:
        err = judge.error_for(step)
        ok = not err and all(close(judge.array(key), value) for key, value in expected.items())
        judge.add(sub, ok, f"your code raised an error: {err}" if err else hint, share=1 / counts[sub])
        passed[step] = ok
    return passed
