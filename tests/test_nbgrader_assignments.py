"""Every assignment after the first through real nbgrader (README's generate_assignment and autograde):
the solution gets full marks, the starter zero, a mutant partial credit, each equal to the standalone
runner's points on the same notebook, and no graded cell writes to stderr.

The first assignment has the fuller class-of-five test in test_nbgrader.py. The standalone points come
from test_mutants' once-per-session grading of the same notebooks (shared, not graded again).
"""
from __future__ import annotations

import json

import nbformat
import pytest

from autograder.registry import assignments, items
from tests.helpers import ASSIGNMENT, PerKey, autograde, computed_once, make_course, read_nb, solution_nb, starter_nb, write_nb
from tests.mutants import catalogue
from tests.test_mutants import _grade, first_one_item_mutant as _first_mutant

pytestmark = pytest.mark.xdist_group("nbgrader_assignments")
LATER = [a for a in assignments() if a != ASSIGNMENT]


def _class(tmp_path_factory, a: str) -> dict:
    tmp = tmp_path_factory.mktemp(f"nbgrader-{a}")
    m = _first_mutant(a)
    subs = {"solution": solution_nb(a), "starter": starter_nb(a),
            m.id: write_nb(m.apply(read_nb(solution_nb(a))), tmp / f"{m.id}.ipynb")}
    course = make_course(tmp, a)
    scores = autograde(course, subs, a)
    standalone = computed_once(tmp_path_factory, f"mutants-{a}", lambda folder: _grade(a, folder))
    return dict(course=course, scores=scores, standalone=standalone, mutant=m)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return PerKey(lambda a: _class(tmp_path_factory, a))


@pytest.mark.parametrize("assignment", LATER)
def test_nbgrader_full_marks_zero_and_partial(graded, assignment):
    g = graded[assignment]
    points = {i.grade_id: i.points for i in items(assignment)}
    assert g["scores"]["solution"] == points
    assert g["scores"]["starter"] == {gid: 0.0 for gid in points}
    m = g["mutant"]
    lost = {gid for gid, p in points.items() if g["scores"][m.id][gid] < p}
    assert lost == set(m.fails), (m.id, g["scores"][m.id])


@pytest.mark.parametrize("assignment", LATER)
def test_nbgrader_equals_the_standalone_runner(graded, assignment):
    g = graded[assignment]
    for student, scores in g["scores"].items():
        standalone = {i.item_id.split("/", 1)[1]: i.score for i in g["standalone"][student].items}
        assert scores == pytest.approx(standalone), f"{assignment}/{student}: nbgrader {scores} != standalone {standalone}"


@pytest.mark.parametrize("assignment", LATER)
def test_graded_cells_write_nothing_to_stderr(graded, assignment):
    g = graded[assignment]
    for student in g["scores"]:
        path = g["course"] / "autograded" / student / assignment / f"{assignment}.ipynb"
        nb = nbformat.read(str(path), as_version=4)
        seen = 0
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.cell_type == "code" and (meta.get("grade") or meta.get("grade_id") == "setup"):
                seen += 1
                streams = [o for o in cell.get("outputs", []) if o.get("output_type") == "stream"
                           and o.get("name") == "stderr"]
                assert not streams, f"{student}/{meta.get('grade_id')} wrote to stderr: {json.dumps(streams)[:500]}"
        assert seen == len(items(assignment)) + 1, student
