"""The same submission and seed give the same score twice; another seed still gives the solution full marks."""
from autograder.runner import grade_notebook
from tests.helpers import ASSIGNMENT, SOLUTION_NB, mutate, read_nb, write_nb
from tests.mutants import catalogue


def _scores(result):
    return [(i.item_id, i.score, i.feedback()) for i in result.items]


def test_same_submission_same_seed_same_score(tmp_path):
    m = next(m for m in catalogue(ASSIGNMENT) if m.id == "masked_padded_output_zero")
    path = write_nb(mutate(read_nb(), m.cell, m.find, m.replace), tmp_path / "m.ipynb")
    first = grade_notebook(path, ASSIGNMENT, seed=7)
    second = grade_notebook(path, ASSIGNMENT, seed=7)
    assert _scores(first) == _scores(second)
    assert 0 < first.score < first.max_score


def test_solution_full_marks_under_another_seed():
    result = grade_notebook(SOLUTION_NB, ASSIGNMENT, seed=99)
    assert result.score == result.max_score, "\n".join(i.feedback() for i in result.items)
