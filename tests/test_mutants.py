"""The mutant catalogues: every mutant loses points on exactly the items it declares, on exactly the
sub-checks it declares, and its feedback names the fault. The solution, the starter and the sample
class keep the points stored in tests/data/<id>_points.json (the table a change of the grader's
form must reproduce).

Each assignment's class is graded once per session (shared by the xdist workers). Slow items (`Item.slow`: a
training run of tens of seconds, or the same code on another backend in its own process) are graded for the
solution, the starter, the sample class, the first one-item mutant (compared with nbgrader in
test_nbgrader_assignments) and the first three mutants of the catalogue that declare the item (all of them with
SEQLAB_SLOW_MUTANTS=all); a training item also for the mutants the catalogue lists in TRAINING_KEEPS (bugs in
cells the training uses that must keep full marks there). The other mutants are graded on every other item, and
their points table has no entry for the slow item. (Every mutant was graded on every item when the catalogue was
written; grading all of them in every run would take the test suite past its time budget. With
SEQLAB_SLOW_MUTANTS=all the points-table test compares only the entries the table has.)

The solution and the starter are graded first as references (autograder.reuse): an item of a mutant whose cells
in the item's closure are byte-identical to the solution's takes the solution's verdict without being probed, as
the class grader does. A mutant changes one cell, so only the items whose checks read that cell (or a cell that
reads it) are probed again; test_reuse.py proves that reused verdicts equal probed ones.
"""
from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autograder.registry import assignments, items
from autograder.reuse import Reuse
from autograder.runner import Limits, grade_notebook
from tests.helpers import ROOT, PerKey, computed_once, read_nb, solution_nb, starter_nb, write_nb
from tests.mutants import catalogue, sample_class, training_keeps

pytestmark = pytest.mark.xdist_group("mutants")
REFERENCES = ("solution", "starter")  # graded first, traced: their verdicts are reused (autograder.reuse)
CASES = [(a, m) for a in assignments() for m in catalogue(a)]


def _points_table(assignment: str) -> Path:
    return ROOT / "tests" / "data" / f"{assignment}_points.json"


def first_one_item_mutant(assignment: str):
    """The first mutant of the catalogue that fails exactly one item (a clear partial score)."""
    return next(m for m in catalogue(assignment) if len(m.fails) == 1)


SLOW_DECLARED = None if os.environ.get("SEQLAB_SLOW_MUTANTS") == "all" else 3


def slow_graded(assignment: str, item) -> set[str]:
    """The mutants whose slow item `item` is graded (see the module's docstring)."""
    in_class = {spec for spec in sample_class(assignment).values() if isinstance(spec, str) and spec != "starter"}
    ids = set([m.id for m in catalogue(assignment) if item.grade_id in m.fails][:SLOW_DECLARED]) | in_class
    ids |= {first_one_item_mutant(assignment).id}
    return ids | set(training_keeps(assignment)) if item.trains else ids


def _grade(assignment: str, folder: Path) -> dict:
    solution = read_nb(solution_nb(assignment))
    subs = [("solution", solution_nb(assignment)), ("starter", starter_nb(assignment))]
    subs += [(m.id, write_nb(m.apply(solution), folder / "nb" / f"{m.id}.ipynb")) for m in catalogue(assignment)]
    subs += [(f"class-{p.parent.parent.name}", p)
             for p in sorted((ROOT / "examples" / "submitted").glob(f"*/{assignment}/{assignment}.ipynb"))]
    # a sample-class notebook identical to a mutant's (or the solution, or the starter) is graded once
    first: dict[str, str] = {}
    alias: dict[str, str] = {}
    unique = []
    for name, path in subs:
        key = hashlib.sha256(json.dumps(read_nb(path), sort_keys=True).encode()).hexdigest()
        if key in first:
            alias[name] = first[key]
        else:
            first[key] = name
            unique.append((name, path))
    mutants = {m.id for m in catalogue(assignment)}
    slow = [i for i in items(assignment) if i.slow]
    graded_slow = {i.id: slow_graded(assignment, i) for i in slow}
    fast = [i.id for i in items(assignment) if not i.slow]

    def only(name):
        return None if name not in mutants else fast + [i for i, who in graded_slow.items() if name in who]

    reuse = Reuse()

    def one(job):
        name, path = job
        return grade_notebook(path, assignment, student=name, seed=20261123, limits=Limits(setup_timeout_s=60),
                              only=only(name), reuse=reuse, reference=name if name in REFERENCES else None)

    # the references first (traced), then everyone else, reusing their verdicts where the cells read are the same
    jobs = sorted([job for job in unique if job[0] not in REFERENCES], key=lambda job: -len(only(job[0]) or items(assignment)))
    with ThreadPoolExecutor(max_workers=2) as pool:
        graded = {r.student: r for r in pool.map(one, [job for job in unique if job[0] in REFERENCES])}
        graded.update({r.student: r for r in pool.map(one, jobs)})
    return {**graded, **{name: graded[same] for name, same in alias.items()}}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return PerKey(lambda a: computed_once(tmp_path_factory, f"mutants-{a}", lambda folder: _grade(a, folder)))


@pytest.mark.parametrize("assignment", assignments())
def test_catalogue_is_large_and_well_formed(assignment):
    mutants = catalogue(assignment)
    points = {i.grade_id: dict(i.checks) for i in items(assignment)}
    assert len(mutants) >= 15
    assert len({m.id for m in mutants}) == len(mutants)
    for m in mutants:
        assert m.fails and set(m.fails) <= set(points), m.id
        assert m.checks, f"{m.id} declares no sub-checks"
        for check in m.checks:
            grade_id, sub = check.split("/", 1)
            assert grade_id in m.fails and sub in points[grade_id], f"{m.id}: unknown sub-check {check}"
    assert set(points) <= {f for m in mutants for f in m.fails}, "an item no mutant targets"
    assert set(training_keeps(assignment)) <= {m.id for m in mutants}


@pytest.mark.parametrize("assignment,mutant", CASES, ids=[f"{a}-{m.id}" for a, m in CASES])
def test_mutant_fails_exactly_its_items_and_sub_checks(graded, assignment, mutant):
    result = graded[assignment][mutant.id]
    by = {i.item_id.split("/", 1)[1]: i for i in result.items}
    for item in items(assignment):
        if item.grade_id not in by:  # a slow item, graded for a subset (see the module's docstring)
            assert item.slow and mutant.id not in slow_graded(assignment, item), f"{mutant.id}/{item.grade_id} missing"
            continue
        got = by[item.grade_id]
        assert got.internal_error is None and got.error is None, f"{mutant.id}/{item.grade_id}: {got.feedback()}"
        if item.grade_id in mutant.fails:
            assert got.score < item.points, f"{mutant.id} was not caught by {item.grade_id}:\n{got.feedback()}"
        else:
            assert got.score == item.points, f"{mutant.id} wrongly cost points on {item.grade_id}:\n{got.feedback()}"
    # a declared slow item that was not graded this run (see the module's docstring) is left out of what is compared
    expected = {c for c in mutant.checks if c.split("/", 1)[0] in by}
    failed = {f"{i.item_id.split('/', 1)[1]}/{c.name}" for i in result.items for c in i.checks if not c.passed}
    text = "\n".join(by[g].feedback() for g in mutant.fails if g in by)
    assert failed == expected, f"{mutant.id} failed {sorted(failed)}, expected {sorted(expected)}:\n{text}"
    if set(mutant.fails) <= set(by):  # the phrase may belong to the slow item's feedback
        assert mutant.says in text, f"feedback of {mutant.id} does not say {mutant.says!r}:\n{text}"


@pytest.mark.parametrize("assignment", assignments())
def test_points_equal_the_stored_table(graded, assignment):
    """Solution, starter, every mutant and the sample class: points per item as stored."""
    got = {student: {i.item_id.split("/", 1)[1]: i.score for i in r.items} for student, r in graded[assignment].items()}
    stored = json.loads(_points_table(assignment).read_text(encoding="utf-8"))
    if SLOW_DECLARED is None:  # every declared slow item graded: the table's entries, and more
        got = {s: {k: v for k, v in row.items() if k in stored.get(s, row)} for s, row in got.items()}
    assert got == stored, "points changed: " + json.dumps(
        {s: (stored.get(s), got.get(s)) for s in set(got) | set(stored) if got.get(s) != stored.get(s)}, indent=1)


@pytest.mark.parametrize("assignment", assignments())
def test_solution_full_marks_and_starter_zero(graded, assignment):
    full = {i.grade_id: i.points for i in items(assignment)}
    by = graded[assignment]
    assert {i.item_id.split("/", 1)[1]: i.score for i in by["solution"].items} == full
    assert all(i.score == 0 for i in by["starter"].items)
