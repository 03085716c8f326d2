"""The standalone runner runs the code cells a student added, as nbgrader does, and never the master's own.

nbgrader runs every cell of a submission; the runner runs the master's setup cells, the answer cells
and (tested here) the code cells the student added, each with its own time budget. A helper function
in a cell of its own must therefore earn the same points both ways. The master's check, test, demo
and training cells never run in the runner; a demo cell the student edited is the student's code
and runs under the per-cell budget (see `autograder.notebook.grading_program`).

The program-building cases need no worker; each runner case starts one or more (`only=` keeps them
to the item they need).
"""
from __future__ import annotations

import copy

import nbformat
import pytest

from autograder import notebook
from autograder.notebook import grading_program
from autograder.runner import Limits, grade_notebook
from tests.helpers import ASSIGNMENT, SOLUTION_NB, STARTER_NB, cell_by_grade_id, mutate, read_nb, write_nb

GATE_HELPER = "def gate(z):\n    \"\"\"A sigmoid gate.\"\"\"\n    return ops.sigmoid(z)\n"
DEMO_MARKER = "Skipped while grading"  # in the master's demo cell (the one that trains, guarded by seqlab.grading())
FATAL_DEMO = "import os\nos._exit(7)  # the demo: trains for minutes\n"


def code(source: str, **nbgrader):
    cell = nbformat.v4.new_code_cell(source)
    if nbgrader:
        cell.metadata["nbgrader"] = nbgrader
    return cell


def insert_before(nb, grade_id: str, *cells):
    """A copy of `nb` with `cells` inserted just before the cell `grade_id`."""
    nb = copy.deepcopy(nb)
    at = nb.cells.index(cell_by_grade_id(nb, grade_id))
    nb.cells[at:at] = list(cells)
    return nb


def insert_after(nb, grade_id: str, *cells):
    nb = copy.deepcopy(nb)
    at = nb.cells.index(cell_by_grade_id(nb, grade_id)) + 1
    nb.cells[at:at] = list(cells)
    return nb


def demo_cell(nb):
    return next(c for c in nb.cells if c.cell_type == "code" and DEMO_MARKER in c.source)


def with_gate_helper(nb):
    """The LSTM answer calling `gate(...)`, a helper defined in a code cell the student added above it."""
    nb = mutate(nb, "lstm_cell_code", "i = ops.sigmoid(z_i)\n        f = ops.sigmoid(z_f)",
                "i = gate(z_i)\n        f = gate(z_f)")
    nb = mutate(nb, "lstm_cell_code", "o = ops.sigmoid(z_o)", "o = gate(z_o)")
    return insert_before(nb, "lstm_cell_code", code(GATE_HELPER))


def added(cells):
    return [c for c in cells if c.kind == "added"]


def describe(result) -> str:
    return "\n".join(result.notes + [i.feedback() for i in result.items])


# ---- the grading program (no worker) -----------------------------------------------------------

def test_the_master_and_the_starter_have_no_added_cells():
    for path in (SOLUTION_NB, STARTER_NB):
        cells, _ = grading_program(ASSIGNMENT, read_nb(path))
        assert not added(cells), path
        assert DEMO_MARKER not in "".join(c.source for c in cells)  # the demo cell never runs
        assert all(c.kind in ("setup", "solution") for c in cells)


def test_an_added_cell_runs_where_the_student_put_it():
    cells, notes = grading_program(ASSIGNMENT, with_gate_helper(read_nb()))
    order = [c.grade_id for c in cells]
    assert order.index("rnn_cell_code") < order.index("added-1") < order.index("lstm_cell_code")
    helper = next(c for c in cells if c.grade_id == "added-1")
    assert helper.source == GATE_HELPER and helper.kind == "added"
    assert helper.name == "the code cell you added after 'rnn_cell'"  # the hidden test cell it follows
    assert notes == []


def test_which_cells_count_as_added():
    nb = read_nb()
    check = cell_by_grade_id(nb, "check_rnn_cell")
    nb = insert_after(nb, "rnn_cell_code",
                      code("   \n"),  # empty: nothing to run
                      code(check.source),  # an unlabelled copy of the master's check cell: the master's own
                      code(demo_cell(nb).source + "\n\n"),  # the demo cell, only whitespace added: the master's own
                      code("x = 1\r\ny = 2\n"),  # the student's
                      code("z = 3", grade_id="my_own_cell", solution=True))  # a grade_id the master lacks: plain
    # a copy of an answer cell above the real one: nbgrader keeps the last copy's metadata, runs the first
    first = copy.deepcopy(cell_by_grade_id(nb, "gru_cell_code"))
    first.source = "EARLIER = 'copy'\n"
    at = nb.cells.index(cell_by_grade_id(nb, "gru_cell_code"))
    nb.cells.insert(at, first)
    cells, notes = grading_program(ASSIGNMENT, nb)
    got = {c.grade_id: c.source for c in added(cells)}
    assert got == {"added-1": "x = 1\r\ny = 2\n", "added-2": "z = 3", "added-3": "EARLIER = 'copy'\n"}
    names = [c.name for c in added(cells)]
    assert names == ["the code cell you added after 'rnn_cell_code'", "the 2nd code cell you added after 'rnn_cell_code'",
                     "the code cell you added after 'lstm_cell'"]
    gru = next(c for c in cells if c.grade_id == "gru_cell_code")
    assert gru.source == cell_by_grade_id(read_nb(), "gru_cell_code").source  # the last copy is the answer
    assert [c.grade_id for c in cells].index("added-3") < [c.grade_id for c in cells].index("gru_cell_code")


def test_an_edited_demo_cell_counts_as_added():
    nb = read_nb()
    demo = demo_cell(nb)
    demo.source = demo.source.replace("if seqlab.grading():", "if False:  # I want to see it train")
    cells, _ = grading_program(ASSIGNMENT, nb)
    assert [c.source for c in added(cells)] == [demo.source]
    assert added(cells)[0].name == "the code cell you added after 'long_term_dependency'"


def test_a_cell_added_at_the_top_runs_first_and_backend_code_is_named():
    nb = read_nb()
    nb.cells.insert(0, code("import tensorflow as tf\nTWO = tf.constant(2.0)\n"))
    cells, notes = grading_program(ASSIGNMENT, nb)
    assert cells[0].grade_id == "added-1" and cells[1].grade_id == "setup"
    assert any(n.startswith("the code cell you added at the top uses") and "tf.constant" in n for n in notes), notes


def test_a_deleted_answer_cell_rewritten_in_an_added_cell():
    nb = read_nb()
    answer = cell_by_grade_id(nb, "rnn_cell_code")
    nb.cells[nb.cells.index(answer)] = code(answer.source)  # same code, nbgrader metadata lost
    cells, notes = grading_program(ASSIGNMENT, nb)
    assert [c.source for c in added(cells)] == [answer.source]
    assert any("'rnn_cell_code' is missing" in n and "cells you added were run" in n for n in notes), notes


# ---- the runner ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_helper_in_an_added_cell_earns_full_marks(tmp_path):
    path = write_nb(with_gate_helper(read_nb()), tmp_path / "helper.ipynb")
    result = grade_notebook(path, ASSIGNMENT, only=["lstm_cell"])
    assert result.score == result.max_score == 5, describe(result)
    assert result.notes == [], describe(result)


@pytest.mark.slow
def test_added_cells_that_loop_forever_or_raise_are_skipped_and_the_rest_is_graded(tmp_path):
    nb = with_gate_helper(read_nb())
    nb = insert_after(nb, "rnn_cell_code", code("while True:  # wait for the user\n    pass\n"))
    nb = insert_after(nb, "gru_cell_code", code("raise ValueError('scratch work')\n"))
    path = write_nb(nb, tmp_path / "loop.ipynb")
    result = grade_notebook(path, ASSIGNMENT, limits=Limits(setup_timeout_s=40), only=["rnn_cell", "lstm_cell"])
    assert result.score == result.max_score == 8, describe(result)
    notes = "\n".join(result.notes)
    looping = "the code cell you added after 'rnn_cell_code'"
    assert f"timed out after 40 s while running {looping}" in notes, notes
    assert f"{looping} was skipped so that the other parts could be graded" in notes, notes
    assert "the code cell you added after 'gru_cell_code' raised ValueError: scratch work" in notes, notes


@pytest.fixture
def master_with_fatal_demo(tmp_path, monkeypatch):
    """A master notebook whose demo cell (no nbgrader metadata) would end the worker if it ran."""
    nb = read_nb()
    demo_cell(nb).source = FATAL_DEMO
    master = write_nb(nb, tmp_path / "master" / f"{ASSIGNMENT}.ipynb")
    monkeypatch.setattr(notebook, "master_path", lambda assignment: master)
    notebook.master_cells.cache_clear()  # a grading process reads its master once
    yield nb
    notebook.master_cells.cache_clear()


@pytest.mark.slow
def test_the_masters_demo_cell_is_not_run(master_with_fatal_demo, tmp_path):
    path = write_nb(master_with_fatal_demo, tmp_path / "as_released.ipynb")
    result = grade_notebook(path, ASSIGNMENT, only=["rnn_cell"])
    assert result.score == result.max_score == 3, describe(result)
    assert result.notes == [], describe(result)  # no crash: the cell was not executed


@pytest.mark.slow
def test_an_edited_demo_cell_runs_as_the_students_own_cell(master_with_fatal_demo, tmp_path):
    nb = copy.deepcopy(master_with_fatal_demo)
    demo = next(c for c in nb.cells if c.get("source") == FATAL_DEMO)
    demo.source = demo.source.replace("# the demo", "# my edited demo")
    result = grade_notebook(write_nb(nb, tmp_path / "edited.ipynb"), ASSIGNMENT, only=["rnn_cell"])
    assert result.score == result.max_score == 3, describe(result)
    notes = "\n".join(result.notes)
    edited = "the code cell you added after 'long_term_dependency'"
    assert f"ended (exit code 7) while running {edited}" in notes, notes
    assert f"{edited} was skipped" in notes, notes
