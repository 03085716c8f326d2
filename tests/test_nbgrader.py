"""Real nbgrader: generate_assignment reproduces assignments/, autograde agrees with the standalone runner."""
from __future__ import annotations

import json

import nbformat
import pytest

from autograder.registry import items
from autograder.runner import grade_notebook
from tests.helpers import ASSIGNMENT, ROOT, STARTER_NB, SOLUTION_NB, autograde, make_course, mutate, read_nb, write_nb
from tests.mutants import catalogue

pytestmark = pytest.mark.xdist_group("nbgrader")
POINTS = {i.grade_id: i.points for i in items(ASSIGNMENT)}


def _normalized(path):
    nb = nbformat.read(str(path), as_version=4)
    cells = []
    for cell in nb.cells:
        meta = dict(cell.get("metadata", {}))
        cells.append({"type": cell.cell_type, "source": cell.source, "nbgrader": meta.get("nbgrader")})
    return {"cells": cells, "kernelspec": nb.metadata.get("kernelspec")}


def test_assignments_are_a_fresh_generate_assignment_of_solutions(tmp_path):
    course = make_course(tmp_path)
    fresh = course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert _normalized(fresh) == _normalized(STARTER_NB), (
        "assignments/ is out of date: run `make notebooks` (nbgrader generate_assignment) and commit the result")


def test_notebook_points_equal_registry_points():
    for path in (SOLUTION_NB, STARTER_NB):
        nb = read_nb(path)
        graded = {}
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade"):
                graded[meta["grade_id"]] = float(meta["points"])
        assert graded == POINTS, f"{path.name}: test-cell points {graded} != registry {POINTS}"
    # each hidden block grades its own item
    for cell in read_nb(SOLUTION_NB).cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            assert f'grade_in_kernel("{ASSIGNMENT}/{meta["grade_id"]}", globals())' in cell.source


def test_starter_has_no_solutions_or_hidden_tests():
    text = STARTER_NB.read_text(encoding="utf-8")
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "grade_in_kernel", "ops.sigmoid(z_f)"):
        assert marker not in text, marker


@pytest.fixture(scope="module")
def class_notebooks(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class")
    solution = read_nb()
    by_id = {m.id: m for m in catalogue(ASSIGNMENT)}
    subs = {"alice": SOLUTION_NB, "bob": STARTER_NB}
    for student, mid in (("carol", "lstm_forget_bias_dropped"), ("dan", "masked_padded_output_zero")):
        m = by_id[mid]
        subs[student] = write_nb(mutate(solution, m.cell, m.find, m.replace), tmp / f"{student}.ipynb")
    return tmp, subs


@pytest.fixture(scope="module")
def nbgrader_scores(class_notebooks):
    tmp, subs = class_notebooks
    course = make_course(tmp)
    return course, autograde(course, subs)


def test_autograde_full_marks_zero_and_partial(nbgrader_scores):
    _, scores = nbgrader_scores
    assert scores["alice"] == POINTS
    assert scores["bob"] == {g: 0.0 for g in POINTS}
    assert 0 < scores["carol"]["lstm_cell"] < POINTS["lstm_cell"]
    assert 0 < scores["dan"]["masked_sequences"] < POINTS["masked_sequences"]


def test_graded_cells_write_nothing_to_stderr(nbgrader_scores):
    course, _ = nbgrader_scores
    for student in ("alice", "bob", "carol", "dan"):
        nb = nbformat.read(str(course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.cell_type == "code" and (meta.get("grade") or meta.get("grade_id") == "setup"):
                streams = [o for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr"]
                assert not streams, f"{student}/{meta.get('grade_id')} wrote to stderr: {json.dumps(streams)[:500]}"


def test_both_ways_give_the_same_points(class_notebooks, nbgrader_scores):
    _, subs = class_notebooks
    _, scores = nbgrader_scores
    for student, path in subs.items():
        standalone = grade_notebook(path, ASSIGNMENT, student=student)
        got = {i.item_id.split("/", 1)[1]: i.score for i in standalone.items}
        assert got == pytest.approx(scores[student]), f"{student}: standalone {got} != nbgrader {scores[student]}"


def test_feedback_is_visible_in_the_autograded_notebook(nbgrader_scores):
    course, _ = nbgrader_scores
    nb = nbformat.read(str(course / "autograded" / "carol" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
    cell = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "lstm_cell")
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    assert "forget gate" in text and "BEGIN HIDDEN" not in text


def test_standalone_scores_written_to_nbgrader_gradebook(tmp_path):
    import subprocess
    import sys

    from nbgrader.api import Gradebook

    course = make_course(tmp_path)
    solution = read_nb()
    m = next(m for m in catalogue(ASSIGNMENT) if m.id == "gru_update_gate_flipped")
    nb = write_nb(mutate(solution, m.cell, m.find, m.replace), tmp_path / "subs" / "erin.ipynb")
    db = f"sqlite:///{course / 'gradebook.db'}"
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", "--assignment", ASSIGNMENT, "--out",
                           str(tmp_path / "out"), "--quiet", "--only", "rnn_cell", "--only", "gru_cell", "--gradebook", db,
                           "--course-id", "seqlab-test", str(nb)], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with Gradebook(db, course_id="seqlab-test") as gb:
        sub = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "erin")
        grades = {g.name: g.auto_score for g in sub.grades}
    assert grades["rnn_cell"] == POINTS["rnn_cell"]
    assert 0 < grades["gru_cell"] < POINTS["gru_cell"]
    assert grades["lstm_cell"] is None  # not graded in this run


def test_gradebook_without_the_assignment_is_refused(tmp_path):
    import subprocess
    import sys

    db = f"sqlite:///{tmp_path / 'empty.db'}"
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", "--assignment", ASSIGNMENT, "--out",
                           str(tmp_path / "out"), "--quiet", "--only", "rnn_cell", "--gradebook", db, str(STARTER_NB)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 1 and "generate_assignment" in proc.stderr
    assert (tmp_path / "out" / "grades.csv").exists()  # the reports are written regardless
