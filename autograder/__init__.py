"""Hidden autograder of Sequence Models Lab (instructors only; never shipped to students).

`grade_in_kernel` is what the hidden test cells of the notebooks call under `nbgrader autograde`.
`python -m autograder grade ...` is the standalone, sandboxed runner. Both use the same registry,
probes, judges and seed, so they give the same points.
"""
from __future__ import annotations

import os
import tempfile

import seqlab  # noqa: F401  (silences TF/absl before anything imports keras)

from autograder.item import DEFAULT_BACKEND
from autograder.registry import DEFAULT_SEED, get, item_seed
from autograder.results import ItemResult

__all__ = ["grade_in_kernel", "grade_namespace_item", "GraderError", "DEFAULT_SEED"]


def run_seed() -> int:
    return int(os.environ.get("SEQLAB_GRADING_SEED", DEFAULT_SEED))


class GraderError(RuntimeError):
    """The grader itself failed on an item (twice): not the student's fault; the item must be regraded."""


def grade_namespace_item(item_id: str, namespace: dict, seed: int | None = None) -> ItemResult:
    """Probe the student's objects in `namespace` and judge them (both in this process).

    The record goes through the same files and validation as the sandboxed runner's, so both paths
    judge identical data. A judge that raises is retried once, then the item is NOT GRADED.
    """
    from autograder import probing, records

    item = get(item_id)
    run = run_seed() if seed is None else seed
    s = item_seed(run, item.id)
    try:
        raw = item.probe(namespace, s)
    except Exception as exc:  # a probe never should raise; if it does, say so and score 0
        return ItemResult(item.id, item.points, error=f"the check could not run: {probing.describe_exception(exc)}")
    if item.backends:
        raw = item.merge_backends({DEFAULT_BACKEND: raw, **_on_other_backends(item, run)})
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        npz, meta = os.path.join(tmp, "p.npz"), os.path.join(tmp, "p.json")
        records.dump(raw, npz, meta)
        for _ in range(2):
            try:
                return ItemResult(item.id, item.points, checks=item.judge(records.load(npz, meta), s))
            except Exception as exc:  # noqa: BLE001 - the judge's failure is the grader's
                failures.append(f"{type(exc).__name__}: {str(exc)[:300]}")
    return ItemResult(item.id, item.points, internal_error=f"internal grader error, the judge raised: {failures[-1]}")


def _notebook_here(assignment: str):
    """The notebook being graded: `<assignment>.ipynb` in the kernel's folder (where nbgrader autograde and
    `make solutions` run it), else the only notebook there."""
    from pathlib import Path

    here = Path.cwd()
    named = here / f"{assignment}.ipynb"
    found = [named] if named.is_file() else sorted(here.glob("*.ipynb"))
    return found[0] if len(found) == 1 else None


def _on_other_backends(item, seed: int) -> dict:
    """{backend: probe record, or why there is none} for the item's other backends: the notebook's cells and the
    probe run in a worker process on each (one Keras backend per process), as the standalone runner does."""
    from pathlib import Path

    from autograder import notebook, runner

    path = _notebook_here(item.assignment)
    if path is None:
        reason = f"the notebook file {item.assignment}.ipynb was not found in {os.getcwd()}"
        return {b: reason for b in item.backends}
    cells, _ = notebook.grading_program(item.assignment, notebook.read(path))
    found = {}
    with tempfile.TemporaryDirectory(prefix="seqlab-backend-") as tmp:
        for backend in item.backends:
            notes: list[str] = []
            stems, errors, _ = runner.probe_pass(Path(tmp) / backend, cells, [item], seed, runner.Limits(), notes,
                                                 backend=backend)
            if 0 in stems:
                found[backend] = runner.load_probe(stems[0])
            else:
                found[backend] = errors.get(0) or "; ".join(notes) or "no result came back"
    return found


def grade_in_kernel(item_id: str, namespace: dict) -> float:
    """Called by a hidden test cell: prints feedback to stdout and returns the earned points.

    An item the grader could not judge raises GraderError: nbgrader shows the cell as failed, with this
    message for the instructor, instead of a silent score.
    """
    result = grade_namespace_item(item_id, namespace)
    if result.internal_error:
        raise GraderError(f"{item_id} was NOT GRADED ({result.internal_error}); this is not your fault: your "
                          "instructor will regrade it")
    print(result.feedback())
    return result.score
