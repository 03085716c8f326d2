"""Hidden autograder of Sequence Models Lab (instructors only; never shipped to students).

`grade_in_kernel` is what the hidden test cells of the notebooks call under `nbgrader autograde`.
`python -m autograder grade ...` is the standalone, sandboxed runner. Both use the same registry,
probes, judges and seed, so they give the same points.
"""
from __future__ import annotations

import os
import tempfile

import seqlab  # noqa: F401  (silences TF/absl before anything imports keras)

from autograder.registry import DEFAULT_SEED, get, item_seed
from autograder.results import ItemResult

__all__ = ["grade_in_kernel", "grade_namespace_item", "DEFAULT_SEED"]


def run_seed() -> int:
    return int(os.environ.get("SEQLAB_GRADING_SEED", DEFAULT_SEED))


def grade_namespace_item(item_id: str, namespace: dict, seed: int | None = None) -> ItemResult:
    """Probe the student's objects in `namespace` and judge them (both in this process)."""
    from autograder import probing

    item = get(item_id)
    seed = run_seed() if seed is None else seed
    s = item_seed(seed, item.id)
    try:
        raw = item.probe(namespace, s)
        # the same transport as the sandboxed runner, so both paths judge identical data
        with tempfile.TemporaryDirectory() as tmp:
            npz, meta = os.path.join(tmp, "p.npz"), os.path.join(tmp, "p.json")
            probing.dump(raw, npz, meta)
            data = probing.load(npz, meta)
    except Exception as exc:  # a probe never should raise; if it does, say so and score 0
        return ItemResult(item.id, item.points, error=f"the check could not run: {probing.describe_exception(exc)}")
    return ItemResult(item.id, item.points, checks=item.judge(data, s))


def grade_in_kernel(item_id: str, namespace: dict) -> float:
    """Called by a hidden test cell: prints feedback to stdout and returns the earned points."""
    result = grade_namespace_item(item_id, namespace)
    print(result.feedback())
    return result.score
