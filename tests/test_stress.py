"""The grading process under load, and when the grader itself fails.

CPython 3.11 keeps the recursion-depth counter of its AST conversion per interpreter, not per thread,
so two grading threads building ASTs at once (one parsing a notebook, one judging: Keras and
TensorFlow build ASTs when they trace) could fail with "AST constructor recursion depth mismatch",
and that grader error used to become a student's 0. Now one lock (`notebook.GRADING_LOCK`)
serializes everything a grading thread does in Python; a judge that raises anyway is retried once
and then reported as NOT GRADED (never 0), with a non-zero exit status of the command line.
"""
from __future__ import annotations

import ast
import csv
import json
import shutil
import threading
import time

import pytest

from autograder import notebook, registry, reports, runner
from autograder.cli import discover, grade_class, main
from autograder.results import ItemResult, SubCheck, SubmissionResult
from autograder.runner import Limits
from tests.helpers import ASSIGNMENT, SOLUTION_NB, read_nb

POINTS = {i.grade_id: i.points for i in registry.items(ASSIGNMENT)}
VISIBILITY = ["hidden", "after_due_date", "after_published", "visible"]
FORMATS = ["text", "html", "simple_format", "md", "ansi"]

# Gradescope's results.json ("Output format" of its autograder specifications), every documented key;
# unknown keys are refused so a typo cannot slip through. Either the top level or every test has a score.
_TEST = {
    "type": "object",
    "properties": {
        "score": {"type": "number"}, "max_score": {"type": "number"}, "status": {"enum": ["passed", "failed"]},
        "name": {"type": "string"}, "name_format": {"enum": FORMATS}, "number": {"type": "string"},
        "output": {"type": "string"}, "output_format": {"enum": FORMATS},
        "tags": {"type": "array", "items": {"type": "string"}}, "visibility": {"enum": VISIBILITY},
        "extra_data": {"type": "object"},
    },
    "additionalProperties": False,
}
GRADESCOPE_SCHEMA = {
    "type": "object",
    "properties": {
        "score": {"type": "number"}, "execution_time": {"type": "number"}, "output": {"type": "string"},
        "output_format": {"enum": FORMATS}, "test_output_format": {"enum": FORMATS},
        "test_name_format": {"enum": FORMATS}, "visibility": {"enum": VISIBILITY},
        "stdout_visibility": {"enum": VISIBILITY}, "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": _TEST}, "leaderboard": {"type": "array"},
    },
    "additionalProperties": False,
    "anyOf": [{"required": ["score"]},
              {"required": ["tests"], "properties": {"tests": {"items": {"required": ["score"]}}}}],
}


def valid_gradescope(path) -> dict:
    import jsonschema

    def no_nan(value):
        raise ValueError(f"{value} is not valid JSON (Gradescope rejects it)")

    data = json.loads(path.read_text(encoding="utf-8"), parse_constant=no_nan)
    jsonschema.validate(data, GRADESCOPE_SCHEMA)
    return data


# ---- one lock: parsing and judging never overlap ---------------------------------------------

SOURCE = "\n".join(f"def f{i}(x):\n    return [(a, b) for a in range(x) if a for b in (1, 2)]\n" for i in range(60))
ROUNDS = 150


class _Finalized:
    def __del__(self):
        time.sleep(0)  # a finalizer that lets another thread run, as Keras/TensorFlow objects' finalizers do


def _garbage():
    """Cyclic garbage with finalizers: the collector runs them while the next AST is being built."""
    for _ in range(100):
        obj = _Finalized()
        obj.cycle = obj


class ParsingItem:
    """An item whose judge builds ASTs, as Keras and TensorFlow do when they trace a function."""

    id, grade_id, points, timeout_s = f"{ASSIGNMENT}/parsing", "parsing", 1.0, 60.0

    def __init__(self):
        self.raised = []

    def judge(self, data, seed):
        try:
            for _ in range(ROUNDS):
                _garbage()
                ast.parse(SOURCE)
        except Exception as exc:
            self.raised.append(repr(exc))
            raise
        return [SubCheck("parsed", 1.0, 1.0)]


def test_one_lock_serializes_notebook_parsing_and_judging(monkeypatch, tmp_path):
    """A judge that builds ASTs and notebook parsing, from two threads: neither fails.

    (With two different locks, as before, this fails with "AST constructor recursion depth mismatch".)
    """
    monkeypatch.setattr(runner.probing, "load", lambda npz, meta: {})  # the fake item needs no probe data
    nb, item, raised, results = read_nb(), ParsingItem(), [], []

    def judging():
        for _ in range(3):
            results.append(runner.judge(item, tmp_path / "0", seed=1))

    def parsing():
        try:
            for k in range(ROUNDS):
                _garbage()
                notebook.backend_specific_uses(SOURCE)
                if k % 30 == 0:
                    notebook.grading_program(ASSIGNMENT, nb)
        except Exception as exc:
            raised.append(repr(exc))

    threads = [threading.Thread(target=judging), threading.Thread(target=parsing)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert item.raised == [] and raised == [], (item.raised, raised)
    assert [r.score for r in results] == [1.0, 1.0, 1.0]


def test_the_runner_and_the_notebook_share_one_lock():
    assert runner.GRADING_LOCK is notebook.GRADING_LOCK
    assert not hasattr(runner, "_JUDGE_LOCK") and not hasattr(notebook, "_AST_LOCK")


# ---- a grader error is never a 0 ---------------------------------------------------------------

def test_reports_say_not_graded_and_stay_valid(tmp_path):
    ok = ItemResult(f"{ASSIGNMENT}/rnn_cell", 3, checks=[SubCheck("numerics", 3, 3)])
    broken = ItemResult(f"{ASSIGNMENT}/gru_cell", 4, internal_error="internal grader error: SystemError: boom")
    result = SubmissionResult("ann", ASSIGNMENT, "ann.ipynb", [ok, broken])
    assert broken.score is None and not broken.graded and result.score == 3 and not result.complete
    reports.write_student(tmp_path, result)
    reports.write_grades_csv(tmp_path, [result])
    data = valid_gradescope(tmp_path / "ann" / "results.json")
    gru = data["tests"][1]
    assert "score" not in gru and gru["status"] == "failed" and gru["max_score"] == 4
    assert "not graded: grader error, your instructor has been told" in gru["output"]
    assert "boom" not in json.dumps(data)  # the instructor's detail is not shown to the student
    assert data["score"] == 3 and data["extra_data"] == {"not_graded": [f"{ASSIGNMENT}/gru_cell"]}
    rows = list(csv.reader((tmp_path / "grades.csv").open(encoding="utf-8")))
    assert rows[1][:6] == ["ann", ASSIGNMENT, "3", "not graded", "not graded", "7"]
    assert "SystemError: boom" in rows[1][6]
    feedback = (tmp_path / "ann" / "feedback.md").read_text(encoding="utf-8")
    assert "Total: 3 / 7 points, without gru_cell (4): not graded" in feedback
    assert f"{ASSIGNMENT}/gru_cell: not graded / 4" in feedback and "boom" not in feedback


class FlakyJudge:
    """A registry item whose judge raises the first `failures` times (as the AST race did), then judges."""

    def __init__(self, item, failures):
        self._item, self.failures, self.calls = item, failures, 0

    def __getattr__(self, name):
        return getattr(self._item, name)

    def judge(self, data, seed):
        self.calls += 1
        if self.calls <= self.failures:
            raise SystemError("AST constructor recursion depth mismatch (before=30, after=38)")
        return self._item.judge(data, seed)


@pytest.mark.slow
def test_a_judge_that_raises_is_retried_then_reported_not_graded(tmp_path, monkeypatch, capsys):
    """rnn_cell's judge raises once (the retry grades it); gru_cell's always raises (not graded, exit 3)."""
    flaky = {"rnn_cell": FlakyJudge(registry.get(f"{ASSIGNMENT}/rnn_cell"), failures=1),
             "gru_cell": FlakyJudge(registry.get(f"{ASSIGNMENT}/gru_cell"), failures=99)}
    real_items = runner.registry_items
    monkeypatch.setattr(runner, "registry_items", lambda a: [flaky.get(i.grade_id, i) for i in real_items(a)])
    shutil.copy(SOLUTION_NB, tmp_path / "ann.ipynb")
    out = tmp_path / "out"
    code = main(["grade", str(tmp_path / "ann.ipynb"), "--assignment", ASSIGNMENT, "--out", str(out), "--quiet",
                 "--only", "rnn_cell,gru_cell"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert flaky["rnn_cell"].calls == 2 and flaky["gru_cell"].calls == 2
    assert f"NOT GRADED: ann {ASSIGNMENT}/gru_cell: internal grader error" in err and "recursion depth mismatch" in err
    assert "rnn_cell" not in err
    data = valid_gradescope(out / "ann" / "results.json")
    rnn, gru = data["tests"]
    assert rnn["score"] == 3 and "score" not in gru and "not graded: grader error" in gru["output"]
    assert data["score"] == 3
    rows = list(csv.reader((out / "grades.csv").open(encoding="utf-8")))
    assert rows[0][:5] == ["student", "assignment", "rnn_cell", "gru_cell", "total"]
    assert rows[1][:6] == ["ann", ASSIGNMENT, "3", "not graded", "not graded", "7"]
    assert "recursion depth mismatch" in rows[1][6]


# ---- stress: a class graded in threads -----------------------------------------------------------

@pytest.mark.slow
def test_grading_a_class_in_threads_never_fails_inside_the_grader(tmp_path):
    """Copies of the solution, four at a time (the fifth is parsed while the others are judged), twice."""
    only = ["rnn_cell", "gru_cell"]
    for run, copies in enumerate((5, 3)):
        src = tmp_path / f"in{run}"
        src.mkdir()
        for k in range(copies):
            shutil.copy(SOLUTION_NB, src / f"s{k}.ipynb")
        results = grade_class(discover([str(src)], ASSIGNMENT), ASSIGNMENT, tmp_path / f"out{run}", seed=run,
                              jobs=4, limits=Limits(), progress=False, only=only, reuse=False)  # every copy probed
        assert len(results) == copies
        for r in results:
            text = "\n".join(r.notes + [i.feedback() for i in r.items])
            assert r.complete and "internal grader error" not in text, text
            assert r.score == r.max_score == POINTS["rnn_cell"] + POINTS["gru_cell"], text
