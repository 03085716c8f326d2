"""Real nbgrader with the shipped nbgrader_config.py and README.md's instructor commands.

One module fixture grades a class of five once (README's generate_assignment, autograde, export);
the tests read that one run: assignments/ is a fresh generate_assignment of solutions/, the points
(autograded cells, formgrader's gradebook, the exported CSV) agree with the standalone runner.
"""
from __future__ import annotations

import json

import nbformat
import pytest

from autograder.registry import assignments, items
from autograder.runner import grade_notebook
from tests.helpers import (ASSIGNMENT, COURSE_ID, ROOT, STARTER_NB, SOLUTION_NB, autograde, export_grades,
                           gradebook_view, instructor_commands, make_course, mutate, read_nb, solution_nb, starter_nb,
                           write_nb)
from tests.hostile.cases import CASES, duplicated_grade_id
from tests.mutants import catalogue

BY_NAME = {c.name: c for c in CASES}

pytestmark = pytest.mark.xdist_group("nbgrader")
POINTS = {i.grade_id: i.points for i in items(ASSIGNMENT)}
TOTAL = sum(POINTS.values())
# solution, starter, 2 mutants, solution + an added cell, a copied answer cell (its grade_id twice), a cell that kills
# the kernel (os._exit)
STUDENTS = ("alice", "bob", "carol", "dan", "added_cell", "dup", "exiter")


def _normalized(path):
    nb = nbformat.read(str(path), as_version=4)
    cells = []
    for cell in nb.cells:
        meta = dict(cell.get("metadata", {}))
        cells.append({"type": cell.cell_type, "source": cell.source, "nbgrader": meta.get("nbgrader")})
    return {"cells": cells, "kernelspec": nb.metadata.get("kernelspec")}


def _with_added_cell(nb):
    """The solution, but with the LSTM's gate activation moved into a code cell the student added
    (no nbgrader metadata) just before the LSTM answer cell."""
    nb = mutate(nb, "lstm_cell_code", "ops.sigmoid(z_", "gate(z_", count=3)
    at = next(k for k, c in enumerate(nb.cells) if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "lstm_cell_code")
    nb.cells.insert(at, nbformat.v4.new_code_cell("def gate(z):\n    return ops.sigmoid(z)\n"))
    return nb


@pytest.fixture(scope="module")
def class_notebooks(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class")
    solution = read_nb()
    by_id = {m.id: m for m in catalogue(ASSIGNMENT)}
    subs = {"alice": SOLUTION_NB, "bob": STARTER_NB}
    for student, mid in (("carol", "lstm_forget_bias_dropped"), ("dan", "masked_padded_output_zero")):
        m = by_id[mid]
        subs[student] = write_nb(mutate(solution, m.cell, m.find, m.replace), tmp / f"{student}.ipynb")
    subs["added_cell"] = write_nb(_with_added_cell(solution), tmp / "added_cell.ipynb")
    subs["dup"] = write_nb(duplicated_grade_id(tmp), tmp / "dup.ipynb")
    subs["exiter"] = write_nb(BY_NAME["os_exit_in_cell"].build(tmp), tmp / "exiter.ipynb")
    assert tuple(subs) == STUDENTS
    return tmp, subs


@pytest.fixture(scope="module")
def nbgrader_scores(class_notebooks):
    """The README's instructor path, once for the module: generate_assignment, autograde, export."""
    tmp, subs = class_notebooks
    course = make_course(tmp)
    scores = autograde(course, subs)
    return course, scores


@pytest.fixture(scope="module")
def exported(nbgrader_scores):
    course, _ = nbgrader_scores
    return export_grades(course)


@pytest.fixture(scope="module")
def standalone(class_notebooks):
    """The standalone runner on the same notebooks: {student: ({grade_id: score}, total)}."""
    _, subs = class_notebooks
    out = {}
    for student, path in subs.items():
        result = grade_notebook(path, ASSIGNMENT, student=student)
        out[student] = ({i.item_id.split("/", 1)[1]: i.score for i in result.items}, result.score)
    return out


def test_readme_instructor_path_is_generate_autograde_export():
    # the fixtures run these very lines; a README without them fails here rather than in a KeyError
    assert [argv[0] for argv in instructor_commands()] == ["generate_assignment", "autograde", "export"]
    assert "--force" in instructor_commands()[0]  # assignments/ exists in the course directory (the repo)


def test_the_course_uses_the_shipped_config(nbgrader_scores):
    course, _ = nbgrader_scores
    assert (course / "nbgrader_config.py").read_bytes() == (ROOT / "nbgrader_config.py").read_bytes()
    assert not (course / "source").exists() and not (course / "release").exists()  # solutions/, assignments/
    from nbgrader.api import Course, Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=COURSE_ID) as gb:
        assert COURSE_ID in [c.id for c in gb.db.query(Course).all()]  # nbgrader also adds "default_course"
        assert gb.find_assignment(ASSIGNMENT).course_id == COURSE_ID


@pytest.mark.parametrize("assignment", assignments())
def test_assignments_are_a_fresh_generate_assignment_of_solutions(assignment, tmp_path):
    course = make_course(tmp_path, assignment)
    fresh = course / "assignments" / assignment / f"{assignment}.ipynb"
    assert _normalized(fresh) == _normalized(starter_nb(assignment)), (
        "assignments/ is out of date: run `make notebooks` (nbgrader generate_assignment) and commit the result")
    # generate_assignment really ran (a skipped one registers nothing): the grade cells are in the gradebook
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=COURSE_ID) as gb:
        registered = {c.name: float(c.max_score) for c in gb.find_notebook(assignment, assignment).grade_cells}
    assert registered == {i.grade_id: i.points for i in items(assignment)}


@pytest.mark.parametrize("assignment", assignments())
def test_notebook_points_equal_registry_points(assignment):
    points = {i.grade_id: i.points for i in items(assignment)}
    for path in (solution_nb(assignment), starter_nb(assignment)):
        nb = read_nb(path)
        graded = {}
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade"):
                graded[meta["grade_id"]] = float(meta["points"])
        assert graded == points, f"{path.name}: test-cell points {graded} != registry {points}"
    # each hidden block grades its own item
    for cell in read_nb(solution_nb(assignment)).cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            assert f'grade_in_kernel("{assignment}/{meta["grade_id"]}", globals())' in cell.source


@pytest.mark.parametrize("assignment", assignments())
def test_starter_has_no_solutions_or_hidden_tests(assignment):
    text = starter_nb(assignment).read_text(encoding="utf-8")
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "grade_in_kernel"):
        assert marker not in text, marker
    blocks = [part.split("### END SOLUTION")[0] for cell in read_nb(solution_nb(assignment)).cells
              if cell.cell_type == "code" for part in cell.source.split("### BEGIN SOLUTION")[1:]]
    leaked = [line.strip() for block in blocks for line in block.splitlines() if len(line.strip()) > 20 and line.strip() in text]
    assert not leaked, f"solution lines in the starter: {leaked[:3]}"


def test_autograde_full_marks_zero_and_partial(nbgrader_scores):
    _, scores = nbgrader_scores
    assert scores["alice"] == POINTS
    assert scores["added_cell"] == POINTS  # a cell the student added runs too
    assert scores["bob"] == {g: 0.0 for g in POINTS}
    assert 0 < scores["carol"]["lstm_cell"] < POINTS["lstm_cell"]
    assert 0 < scores["dan"]["masked_sequences"] < POINTS["masked_sequences"]


def _autograded(course, student):
    return nbformat.read(str(course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)


def test_a_duplicated_grade_id_is_noted_and_does_not_stop_the_batch(nbgrader_scores):
    """nbgrader's own DeduplicateIds leaves metadata that CheckCellMetadata rejects: autograde then stopped the batch
    at this student and graded no one after it (autograder/nbgrader_hooks.py)."""
    course, scores = nbgrader_scores
    assert scores["dup"] == POINTS  # the last copy, the correct one, is graded
    assert STUDENTS.index("dup") < STUDENTS.index("exiter") and scores["exiter"]  # the batch went on
    notes = [c.source for c in _autograded(course, "dup").cells if c.cell_type == "markdown" and "appears 2 times" in c.source]
    assert len(notes) == 1 and "`rnn_cell_code`" in notes[0]


def test_a_cell_that_kills_the_kernel_costs_only_its_item(nbgrader_scores):
    course, scores = nbgrader_scores
    assert scores["exiter"] == {**POINTS, "masked_sequences": 0.0}
    nb = _autograded(course, "exiter")
    cell = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "masked_sequences_code")
    errors = [o for o in cell.outputs if o.get("output_type") == "error"]
    assert errors and errors[0]["ename"] == "KernelDied" and "skipped" in errors[0]["evalue"]


def test_autograded_notebooks_keep_the_grade_metadata(nbgrader_scores):
    # nbgrader saves the scores from the grade cells' metadata; a config that strips it (e.g.
    # ClearMetadataPreprocessor enabled) silently gives everyone 0
    course, _ = nbgrader_scores
    for student in STUDENTS:
        nb = nbformat.read(str(course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
        graded = {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
                  if c.get("metadata", {}).get("nbgrader", {}).get("grade")}
        assert graded == set(POINTS), student


def test_graded_cells_write_nothing_to_stderr(nbgrader_scores):
    course, _ = nbgrader_scores
    for student in STUDENTS:
        nb = nbformat.read(str(course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
        seen = 0
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.cell_type == "code" and (meta.get("grade") or meta.get("grade_id") == "setup"):
                seen += 1
                streams = [o for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr"]
                assert not streams, f"{student}/{meta.get('grade_id')} wrote to stderr: {json.dumps(streams)[:500]}"
        assert seen == len(POINTS) + 1, student


def test_both_ways_give_the_same_points(nbgrader_scores, standalone):
    _, scores = nbgrader_scores
    for student in STUDENTS:
        got, _ = standalone[student]
        assert got == pytest.approx(scores[student]), f"{student}: standalone {got} != nbgrader {scores[student]}"


def test_exported_csv_equals_the_standalone_runner(exported, standalone):
    assert set(exported) == set(STUDENTS)
    for student in STUDENTS:
        row = exported[student]
        _, total = standalone[student]
        assert float(row["max_score"]) == TOTAL
        assert float(row["raw_score"]) == pytest.approx(total), f"{student}: csv {row['raw_score']} != standalone {total}"
        assert float(row["score"]) == pytest.approx(total), student
        assert float(row["late_submission_penalty"]) == 0.0
    assert float(exported["alice"]["score"]) == float(exported["added_cell"]["score"]) == TOTAL
    assert float(exported["bob"]["score"]) == 0.0
    for student in ("carol", "dan"):
        assert 0 < float(exported[student]["score"]) < TOTAL, student


def test_formgrader_gradebook_view_equals_the_standalone_runner(nbgrader_scores, standalone):
    course, _ = nbgrader_scores
    view = gradebook_view(course)
    assert set(view) == set(STUDENTS)
    for student in STUDENTS:
        per_item, total = standalone[student]
        sub = view[student]
        assert sub["max_score"] == TOTAL
        assert sub["score"] == pytest.approx(total), f"{student}: gradebook {sub['score']} != standalone {total}"
        assert set(sub["cells"]) == set(POINTS)
        for gid, cell in sub["cells"].items():
            assert cell["max_score"] == POINTS[gid]
            assert cell["score"] == cell["auto_score"] == pytest.approx(per_item[gid]), f"{student}/{gid}"
            assert not cell["needs_manual_grade"], f"{student}/{gid}"


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
                           "--course-id", COURSE_ID, str(nb)], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with Gradebook(db, course_id=COURSE_ID) as gb:
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
