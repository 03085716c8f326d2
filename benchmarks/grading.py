"""Grading speed: `nbgrader autograde` against the standalone runner, on the same N submissions, in one run.

    python benchmarks/grading.py --n 4 [--jobs 1 2] [--assignment ID]   (default: every assignment)

The submissions are the reference solution and mutants from the catalogue (so both partial and full
scores are exercised). Prints seconds per submission for each way (the standalone runner once per --jobs value,
each run from scratch: --regrade, its own report folder), their ratio, and whether the two ways gave the same
points. The standalone runner uses its defaults (the bwrap sandbox where it works, verdict reuse from 3
submissions on).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import seqlab  # noqa: E402,F401

from autograder.cli import grade_class  # noqa: E402
from autograder.runner import Limits  # noqa: E402
from autograder.registry import assignments  # noqa: E402
from tests.helpers import autograde, make_course, read_nb, solution_nb, write_nb  # noqa: E402
from tests.mutants import catalogue  # noqa: E402


def submissions(assignment: str, n: int, folder: Path) -> dict[str, Path]:
    subs = {"s00-solution": solution_nb(assignment)}
    solution = read_nb(solution_nb(assignment))
    for k, m in enumerate(catalogue(assignment)[: max(0, n - 1)], start=1):
        subs[f"s{k:02d}-{m.id}"] = write_nb(m.apply(solution), folder / f"{k}.ipynb")
    return subs


def bench(assignment: str, n: int, jobs: list[int], tmp: Path) -> bool:
    subs = submissions(assignment, n, tmp / "subs")
    course = make_course(tmp, assignment)
    t0 = time.time()
    nb_scores = autograde(course, subs, assignment)
    t_nbgrader = time.time() - t0
    n = len(subs)
    print(f"machine: {os.cpu_count()} CPU cores; {n} submissions of {assignment}")
    print(f"nbgrader autograde (sequential)        : {t_nbgrader:7.1f} s total, {t_nbgrader / n:6.1f} s/submission, "
          f"{60 * n / t_nbgrader:.1f} submissions/min")
    same_all = True
    for j in jobs:
        t0 = time.time()
        results = grade_class(list(subs.items()), assignment, tmp / f"out-{j}", seed=20261123, jobs=j, limits=Limits(),
                              progress=False, regrade=True)
        t_runner = time.time() - t0
        differ = {r.student: (nb_scores[r.student], {i.item_id.split("/", 1)[1]: i.score for i in r.items})
                  for r in results if {i.item_id.split("/", 1)[1]: i.score for i in r.items} != nb_scores[r.student]}
        same = not differ
        same_all &= same
        for student, (nb, ours) in differ.items():
            print(f"  {student}: nbgrader {nb} / runner {ours}")
        print(f"python -m autograder grade (--jobs {j})  : {t_runner:7.1f} s total, {t_runner / n:6.1f} s/submission, "
              f"{60 * n / t_runner:.1f} submissions/min, {t_nbgrader / t_runner:.2f}x nbgrader, same points: {same}")
    return same_all


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=4, help="number of submissions per assignment")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2],
                        help="parallel submissions for the standalone runner (one run per value; default 1 2)")
    parser.add_argument("--assignment", action="append", choices=assignments(), help="(repeatable; default: all)")
    args = parser.parse_args(argv)
    ok = True
    for assignment in args.assignment or assignments():
        tmp = Path(tempfile.mkdtemp(prefix="seqlab-bench-"))
        try:
            ok &= bench(assignment, args.n, args.jobs, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
