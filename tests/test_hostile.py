"""The standalone runner against broken and hostile submissions.

Every submission here is the master notebook with one answer cell rewritten (found by its nbgrader
grade_id), or a file that is not a notebook at all. Whatever the student code does (loop forever,
exit, crash the interpreter, eat memory, flood stdout, patch numpy, import the grader, return NaN),
grading must finish, give a sensible score and say why. Items the hostile code does not touch keep
their points: after a timeout or a crash inside one check, a fresh worker grades the items after it.

Cost control: the worker-based cases are graded once, two at a time, in a module fixture (each
grading costs a TensorFlow start-up plus the items it grades; `only=` keeps them to the items a case
needs), and one class run (`grade_class`, jobs=2) carries the full-marks solution, the top-level
infinite loop and two more hostile cases.
"""
from __future__ import annotations

import copy
import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from autograder import registry
from autograder.cli import discover, grade_class
from autograder.results import SubmissionResult
from autograder.runner import Limits, grade_notebook
from tests.helpers import ASSIGNMENT, SOLUTION_NB, cell_by_grade_id, computed_once, mutate, read_nb, write_nb

pytestmark = pytest.mark.xdist_group("hostile")  # and the gradings are shared across workers (computed_once)

TOTAL = sum(i.points for i in registry.items(ASSIGNMENT))
POINTS = {i.grade_id: i.points for i in registry.items(ASSIGNMENT)}
ORDER = [i.grade_id for i in registry.items(ASSIGNMENT)]


# ---- building submissions ----------------------------------------------------------------------

def solution():
    return read_nb(SOLUTION_NB)


def with_source(nb, grade_id: str, edit):
    """A copy of `nb` whose cell `grade_id` has source `edit(old_source)`."""
    nb = copy.deepcopy(nb)
    cell = cell_by_grade_id(nb, grade_id)
    cell.source = edit(cell.source)
    return nb


def without_cell(nb, grade_id: str):
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != grade_id]
    return nb


def item(result: SubmissionResult, grade_id: str):
    return result.by_item()[f"{ASSIGNMENT}/{grade_id}"]


def check(result: SubmissionResult, grade_id: str, name: str):
    found = [c for c in item(result, grade_id).checks if c.name == name]
    assert found, f"no sub-check {name!r} in {grade_id}: {[c.name for c in item(result, grade_id).checks]}"
    return found[0]


def everything(result: SubmissionResult) -> str:
    """Notes and every item's feedback: where a reason may appear."""
    return "\n".join(result.notes + [i.feedback() for i in result.items])


def describe(result: SubmissionResult) -> str:
    return f"{result.student}: {result.score}/{result.max_score} in {result.seconds:.0f} s\n{everything(result)}"


def assert_full(result: SubmissionResult, *grade_ids: str) -> None:
    for gid in grade_ids:
        it = item(result, gid)
        assert it.error is None and it.score == POINTS[gid], f"{gid} lost points\n{describe(result)}"


def assert_no_crash_notes(result: SubmissionResult) -> None:
    text = "\n".join(result.notes)
    for marker in ("grading process ended", "timed out", "memory", "internal grader error"):
        assert marker not in text, f"unexpected {marker!r} note\n{describe(result)}"


def in_call(nb, grade_id: str, *lines: str):
    """A copy of `nb` whose layer's call() starts with `lines` (anchored on the def line only)."""
    return mutate(nb, grade_id, CALL_DEF, CALL_DEF + "".join(f"        {line}\n" for line in lines))


# the cases graded by the worker, each: (notebook builder, Limits, only)
CALL_DEF = "    def call(self, inputs, states):\n"
RNN_RETURN = "        return h, [h]\n"


def case_lstm_loop(tmp):
    return in_call(solution(), "lstm_cell_code", "while True:", "    pass")


def case_gru_exit(tmp):
    return in_call(solution(), "gru_cell_code", "import os", "os._exit(3)")


def case_sys_exit(tmp):
    return with_source(solution(), "long_term_dependency_code",
                       lambda s: s.replace("def build_adding_model", "import sys\nsys.exit(0)\n\n\ndef build_adding_model", 1))


def case_memory_bomb(tmp):
    # 6 GB of touched pages, 200 MB at a time, inside the LSTM cell's call()
    return in_call(solution(), "lstm_cell_code", "hog = [np.ones(25_000_000) for _ in range(30)]")


def case_stdout_flood(tmp):
    # ~200 MB of prints (1 KB a line) after the class is defined; nothing catches the write errors
    flood = "\n\nfor _ in range(200_000):\n    print('flood ' * 170)\n"
    return with_source(solution(), "rnn_cell_code", lambda s: s + flood)


def case_monkeypatch(tmp):
    patch = ("import numpy as np\n"
             "np.allclose = lambda *a, **k: True\n"
             "np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), bool)\n"
             "np.array_equal = lambda *a, **k: True\n"
             "np.testing.assert_allclose = lambda *a, **k: None\n\n")
    wrong = mutate(solution(), "lstm_cell_code", "c = f * c_prev + i * g", "c = f * c_prev + g")  # no input gate
    return with_source(wrong, "lstm_cell_code", lambda s: patch + s)


def case_import_grader(tmp):
    nb = with_source(solution(), "gru_cell_code", lambda s: "from autograder.oracles import keras_ref\n\n" + s)
    return in_call(nb, "lstm_cell_code", "from autograder.oracles import keras_ref  # the reference, if it can get it",
                   "import importlib; importlib.import_module('autograder.assignments.01_rnn_lstm.judges')")


def case_nan(tmp):
    return mutate(solution(), "rnn_cell_code", RNN_RETURN, "        h = ops.full_like(h, float('nan'))\n" + RNN_RETURN)


def case_deleted_cell(tmp):
    return without_cell(solution(), "gru_cell_code")


def case_setup_edited(tmp):
    return with_source(solution(), "setup", lambda s: "import sys\nsys.exit()\n")


def case_fork_leak(tmp):
    # a child process left behind by a cell: it must not outlive the grading
    pidfile = tmp / "forked.pid"
    code = ("\n\nimport os as _os, time as _time\n"
            "if _os.fork() == 0:\n"
            f"    open({str(pidfile)!r}, 'w').write(str(_os.getpid()))\n"
            "    _time.sleep(600)\n"
            "    _os._exit(0)\n")
    return with_source(solution(), "rnn_cell_code", lambda s: s + code)


CASES = {
    "lstm_loop": (case_lstm_loop, Limits(item_timeout_scale=0.25), ["rnn_cell", "lstm_cell", "gru_cell", "masked_sequences"]),
    "gru_exit": (case_gru_exit, Limits(), ["lstm_cell", "gru_cell", "masked_sequences"]),
    "sys_exit": (case_sys_exit, Limits(), ["gru_cell", "long_term_dependency"]),
    "memory_bomb": (case_memory_bomb, Limits(memory_mb=1500), ["rnn_cell", "lstm_cell", "masked_sequences"]),
    "stdout_flood": (case_stdout_flood, Limits(), ["rnn_cell", "lstm_cell"]),
    "monkeypatch": (case_monkeypatch, Limits(), ["lstm_cell"]),
    "import_grader": (case_import_grader, Limits(), ["lstm_cell", "gru_cell"]),
    "nan": (case_nan, Limits(), ["rnn_cell"]),
    "deleted_cell": (case_deleted_cell, Limits(), ["rnn_cell", "gru_cell"]),
    "setup_edited": (case_setup_edited, Limits(), ["rnn_cell", "masked_sequences"]),
    "fork_leak": (case_fork_leak, Limits(), ["rnn_cell"]),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{case: SubmissionResult, or a description of what grade_notebook raised}, graded two at a time."""

    def grade_all(tmp):
        def one(name):
            build, limits, only = CASES[name]
            try:
                path = write_nb(build(tmp), tmp / f"{name}.ipynb")
            except Exception as exc:  # the master notebook changed under the mutation: that case's test says so
                return f"building the {name} submission failed: {type(exc).__name__}: {exc}"
            try:
                return grade_notebook(path, ASSIGNMENT, limits=limits, only=only)
            except Exception as exc:  # reported by the test of that case
                return f"grade_notebook raised on the {name} submission: {type(exc).__name__}: {exc}"

        with ThreadPoolExecutor(max_workers=2) as pool:
            results = dict(zip(CASES, pool.map(one, CASES)))
        results["_tmp"] = tmp
        return results

    results = computed_once(tmp_path_factory, "hostile", grade_all)
    yield results
    _kill_pidfile(results["_tmp"] / "forked.pid")  # in case the runner left it alive (the fork test then failed)


def _kill_pidfile(pidfile: Path) -> None:
    try:
        pid = int(pidfile.read_text())
        os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError):
        pass


def result_of(graded, name) -> SubmissionResult:
    res = graded[name]
    if isinstance(res, str):
        raise AssertionError(res)
    _, _, only = CASES[name]
    assert [i.item_id.split("/", 1)[1] for i in res.items] == [g for g in ORDER if g in only]
    return res


# ---- timeouts, crashes, exits ------------------------------------------------------------------

@pytest.mark.slow
def test_infinite_loop_in_one_check_costs_only_that_item(graded):
    r = result_of(graded, "lstm_loop")
    lstm = item(r, "lstm_cell")
    assert lstm.score == 0 and lstm.error and "timed out" in lstm.error, describe(r)
    assert any("timed out" in n for n in r.notes), describe(r)
    assert_full(r, "rnn_cell")  # probed before the loop: kept
    assert_full(r, "gru_cell", "masked_sequences")  # graded by a fresh worker after the loop


@pytest.mark.slow
def test_os_exit_in_one_check_is_a_crash_of_that_item(graded):
    r = result_of(graded, "gru_exit")
    gru = item(r, "gru_cell")
    assert gru.score == 0 and gru.error and "exit code 3" in gru.error and "gru_cell" in gru.error, describe(r)
    assert any("ended (exit code 3)" in n for n in r.notes), describe(r)
    assert_full(r, "lstm_cell", "masked_sequences")


@pytest.mark.slow
def test_sys_exit_in_a_cell_stops_that_cell_only(graded):
    r = result_of(graded, "sys_exit")
    assert_no_crash_notes(r)
    assert any("long_term_dependency_code" in n and "SystemExit" in n for n in r.notes), describe(r)
    assert_full(r, "gru_cell")
    ltd = item(r, "long_term_dependency")
    assert ltd.error is None, describe(r)
    # adding_problem (defined before the exit) is graded; build_adding_model (after it) is missing
    for name in ("data shapes", "markers", "targets", "seeding"):
        assert check(r, "long_term_dependency", name).passed, describe(r)
    model = check(r, "long_term_dependency", "model")
    assert model.earned == 0 and "build_adding_model" in model.message and "not defined" in model.message
    assert check(r, "long_term_dependency", "learns the adding problem").earned == 0
    assert ltd.score == 1.0


@pytest.mark.slow
def test_memory_bomb_is_stopped_and_costs_only_that_item(graded):
    r = result_of(graded, "memory_bomb")
    lstm = item(r, "lstm_cell")
    assert lstm.score == 0 and lstm.error and "more than 1500 MB" in lstm.error, describe(r)
    assert_full(r, "rnn_cell", "masked_sequences")


@pytest.mark.slow
def test_stdout_flood_is_capped_and_grading_completes(graded):
    r = result_of(graded, "stdout_flood")
    # the cap turns the 21st MB into a write error in the student's cell, not 200 MB on the grader's disk
    assert any("rnn_cell_code" in n and "OSError" in n for n in r.notes), describe(r)
    assert not any("grading process ended" in n or "timed out" in n for n in r.notes), describe(r)
    assert_full(r, "rnn_cell", "lstm_cell")  # later prints failing must not break the later checks
    assert r.seconds < 120, describe(r)


@pytest.mark.slow
def test_forked_child_does_not_outlive_grading(graded):
    r = result_of(graded, "fork_leak")
    assert_full(r, "rnn_cell")
    pidfile = graded["_tmp"] / "forked.pid"
    assert pidfile.exists(), "the student's forked child never ran"
    pid = int(pidfile.read_text())
    deadline = time.time() + 5
    alive = True
    while alive and time.time() < deadline:
        try:
            alive = psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            alive = False
        if alive:
            time.sleep(0.2)
    if alive:
        _kill_pidfile(pidfile)
    assert not alive, ("a process forked by the submission was still running after grade_notebook returned "
                       "(the worker's process group is only killed on timeout/memory, not after a normal end or a crash)")


# ---- cheating ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_monkeypatching_numpy_in_the_submission_cannot_fake_a_pass(graded):
    r = result_of(graded, "monkeypatch")
    lstm = item(r, "lstm_cell")
    assert lstm.error is None, describe(r)
    assert check(r, "lstm_cell", "numerics").earned == 0, describe(r)
    assert not check(r, "lstm_cell", "input gate and candidate").passed, describe(r)
    assert lstm.score <= POINTS["lstm_cell"] - 2, describe(r)


@pytest.mark.slow
def test_submission_cannot_import_the_grader(graded):
    r = result_of(graded, "import_grader")
    # a top-level import: the cell stops there, GRUCell is never defined
    assert any("gru_cell_code" in n and "ImportError" in n and "not available to submissions" in n for n in r.notes), describe(r)
    gru = item(r, "gru_cell")
    assert gru.score == 0 and "GRUCell" in gru.feedback() and "not defined" in gru.feedback(), describe(r)
    # an import inside call(): every check that calls the cell fails, and says so
    lstm = item(r, "lstm_cell")
    assert "ImportError" in check(r, "lstm_cell", "numerics").message, describe(r)
    assert check(r, "lstm_cell", "numerics").earned == 0
    # what build() alone shows (weight shapes, the forget-bias initialisation) is all it can earn
    earned = {c.name for c in lstm.checks if c.earned > 0}
    assert earned <= {"interface", "forget bias init"} and lstm.score <= 0.5, describe(r)


@pytest.mark.slow
def test_error_raised_inside_a_keras_call_keeps_its_message(graded):
    """Keras re-raises an exception from call() as 'Exception encountered when calling X.call().\n\n<message>...';
    the feedback must carry the student's actual message, not only that first line."""
    r = result_of(graded, "import_grader")
    message = check(r, "lstm_cell", "numerics").message
    assert "not available to submissions" in message, message
    assert "\x1b[" not in message  # and no terminal escape codes


@pytest.mark.slow
def test_error_location_quotes_the_source_line(graded):
    """describe_exception promises 'in your code, cell X line N: <the line>'; cells are exec'd from strings,
    so the line is only there if the worker registers the cell sources with linecache."""
    r = result_of(graded, "import_grader")
    note = next(n for n in r.notes if "gru_cell_code" in n)
    assert "from autograder.oracles import keras_ref" in note, note


@pytest.mark.slow
def test_nan_outputs_score_zero_numerics_with_a_nan_message(graded):
    r = result_of(graded, "nan")
    rnn = item(r, "rnn_cell")
    assert rnn.error is None, describe(r)
    assert check(r, "rnn_cell", "numerics").earned == 0
    assert check(r, "rnn_cell", "terms").earned == 0
    assert check(r, "rnn_cell", "sequence").earned == 0
    assert "NaN" in rnn.feedback(), describe(r)


@pytest.mark.slow
def test_nan_is_named_in_the_numerics_message(graded):
    r = result_of(graded, "nan")
    assert "NaN" in check(r, "rnn_cell", "numerics").message


# ---- malformed notebooks -----------------------------------------------------------------------

def _unreadable_cases(tmp: Path) -> dict[str, Path]:
    files = {"corrupt.ipynb": b"{not json", "binary.ipynb": bytes(range(256)) * 40 + b"\xff\xfe\x00",
             "empty.ipynb": b"", "list.ipynb": b"[1, 2, 3]",
             "cells_not_dicts.ipynb": json.dumps({"cells": [1, None], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()}
    out = {}
    for name, data in files.items():
        (tmp / name).write_bytes(data)
        out[name] = tmp / name
    out["missing.ipynb"] = tmp / "no" / "such" / "missing.ipynb"
    return out


@pytest.mark.parametrize("name", ["corrupt.ipynb", "binary.ipynb", "empty.ipynb", "list.ipynb",
                                  "cells_not_dicts.ipynb", "missing.ipynb"])
def test_unreadable_notebook_scores_zero_with_a_reason(tmp_path, name):
    path = _unreadable_cases(tmp_path)[name]
    r = grade_notebook(path, ASSIGNMENT)  # no worker is started: nothing to run
    assert r.score == 0 and r.max_score == TOTAL
    assert [i.item_id.split("/", 1)[1] for i in r.items] == ORDER
    assert all(i.error and i.score == 0 for i in r.items)
    assert len(r.notes) == 1 and name in r.notes[0], r.notes
    assert "Traceback" not in r.notes[0] and len(r.notes[0]) < 400, r.notes
    assert r.seconds < 5


def test_unreadable_reasons_are_specific(tmp_path):
    cases = _unreadable_cases(tmp_path)
    note = {name: grade_notebook(p, ASSIGNMENT).notes[0] for name, p in cases.items()}
    assert "JSON" in note["corrupt.ipynb"]
    assert "UTF-8" in note["binary.ipynb"]
    assert "JSON" in note["empty.ipynb"]
    assert "cannot read" in note["missing.ipynb"] and "No such file" in note["missing.ipynb"]


@pytest.mark.slow
def test_deleted_answer_cell_is_named(graded):
    r = result_of(graded, "deleted_cell")
    assert any("gru_cell_code" in n and "missing" in n for n in r.notes), describe(r)
    gru = item(r, "gru_cell")
    assert gru.score == 0 and "GRUCell" in gru.feedback() and "not defined" in gru.feedback()
    assert_full(r, "rnn_cell")
    assert_no_crash_notes(r)


@pytest.mark.slow
def test_edited_locked_setup_cell_is_replaced_by_the_original(graded):
    r = result_of(graded, "setup_edited")
    assert any("'setup'" in n and "edited" in n and "original" in n for n in r.notes), describe(r)
    assert_full(r, "rnn_cell", "masked_sequences")  # `keras`, `ops`, `np` came from the original setup
    assert not any("SystemExit" in n for n in r.notes), describe(r)
    assert_no_crash_notes(r)


def test_all_cases_were_graded_in_bounded_time(graded):
    """No hostile case may hold the runner much beyond its limits (guards the fixture's cost too)."""
    for name in CASES:
        res = graded[name]
        if isinstance(res, SubmissionResult):
            assert res.seconds < 150, describe(res)


# ---- a class with hostile submissions in it ----------------------------------------------------

CLASS_LIMITS = Limits(setup_timeout_s=40)


@pytest.fixture(scope="module")
def class_run(tmp_path_factory):
    def run(tmp):
        folder = tmp / "submissions"
        write_nb(solution(), folder / "alice.ipynb")
        write_nb(with_source(solution(), "rnn_cell_code", lambda s: "while True:\n    pass\n\n" + s), folder / "bob.ipynb")
        (folder / "carol.ipynb").write_text("{not json", encoding="utf-8")
        write_nb(with_source(solution(), "masked_sequences_code", lambda s: "import os\nos._exit(7)\n" + s),
                 folder / "dave.ipynb")
        submissions = discover([str(folder)], ASSIGNMENT)
        assert [s for s, _ in submissions] == ["alice", "bob", "carol", "dave"]
        out = tmp / "out"
        t0 = time.time()
        results = grade_class(submissions, ASSIGNMENT, out, registry.DEFAULT_SEED, jobs=2, limits=CLASS_LIMITS,
                              progress=False)
        return {r.student: r for r in results}, out, time.time() - t0

    return computed_once(tmp_path_factory, "class_run", run)


@pytest.mark.slow
def test_class_solution_full_marks_next_to_hostile_ones(class_run):
    results, out, seconds = class_run
    assert sorted(results) == ["alice", "bob", "carol", "dave"]
    alice = results["alice"]
    assert alice.score == TOTAL == 21.0, describe(alice)
    assert not alice.notes, describe(alice)
    for student, res in results.items():
        data = json.loads((out / student / "results.json").read_text(encoding="utf-8"))
        assert data["score"] == res.score
        assert [t["name"] for t in data["tests"]] == [f"{ASSIGNMENT}/{g}" for g in ORDER]
        assert (out / student / "feedback.md").is_file()
    for student in ("bob", "carol", "dave"):
        assert results[student].score < TOTAL and results[student].notes, describe(results[student])
        assert not results[student].reused  # a cell with a top-level loop or exit may change anything: all probed
    # a class of 4 reuses the traced verdicts of the solution's identical cells (autograder.reuse): alice's copy
    assert alice.reused == {f"{ASSIGNMENT}/{g}": "solution" for g in ORDER}
    rows = (out / "grades.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 5 and rows[1].startswith("alice,") and ",21,21," in rows[1]


@pytest.mark.slow
def test_top_level_infinite_loop_times_out_and_that_cell_is_skipped(class_run):
    results, out, seconds = class_run
    bob = results["bob"]
    assert any("timed out after 40 s" in n and "rnn_cell_code" in n for n in bob.notes), describe(bob)
    assert any("rnn_cell_code" in n and "skipped" in n for n in bob.notes), describe(bob)
    rnn = item(bob, "rnn_cell")
    assert rnn.score == 0 and "RNNCell" in rnn.feedback() and "not defined" in rnn.feedback(), describe(bob)
    assert_full(bob, *[g for g in ORDER if g != "rnn_cell"])  # the rest of the notebook is graded without the cell
    assert bob.score == TOTAL - POINTS["rnn_cell"]
    data = json.loads((out / "bob" / "results.json").read_text(encoding="utf-8"))
    assert "timed out" in data["output"]  # the note reaches the student's Gradescope page


@pytest.mark.slow
def test_crash_in_a_cell_is_reported_and_that_cell_is_skipped(class_run):
    results, out, seconds = class_run
    dave = results["dave"]
    assert any("masked_sequences_code" in n and "exit code 7" in n for n in dave.notes), describe(dave)
    assert any("masked_sequences_code" in n and "skipped" in n for n in dave.notes), describe(dave)
    assert item(dave, "masked_sequences").score == 0
    assert_full(dave, *[g for g in ORDER if g != "masked_sequences"])
    carol = results["carol"]
    assert carol.score == 0 and all(i.error for i in carol.items) and "not a valid notebook" in carol.notes[0]
    assert "not a valid notebook" in json.loads((out / "carol" / "results.json").read_text(encoding="utf-8"))["output"]


@pytest.mark.slow
def test_an_items_declared_memory_budget_caps_it_within_the_runs_limit(tmp_path, monkeypatch):
    """An item's `memory_mb` is its own budget: the bomb is stopped at it, under a roomier --memory-mb."""
    import dataclasses

    from autograder import runner

    declared = runner.registry_items
    monkeypatch.setattr(runner, "registry_items", lambda a: [
        dataclasses.replace(i, memory_mb=1200) if i.grade_id == "lstm_cell" else i for i in declared(a)])
    path = write_nb(case_memory_bomb(tmp_path), tmp_path / "bomb.ipynb")
    r = grade_notebook(path, ASSIGNMENT, limits=Limits(memory_mb=4096), only=["lstm_cell"])
    assert r.items[0].score == 0 and "more than 1200 MB" in (r.items[0].error or ""), describe(r)
