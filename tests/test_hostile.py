"""The standalone runner against broken and hostile submissions: the hostile corpus (`tests/hostile/cases.py`).

Each case of the corpus is a submission written as a determined student would, to break, fool or escape the grader,
with the points it must get per item and the reason the student must read. All are graded in one batch, two at a
time, under the bubblewrap sandbox, with an honest submission among them: none may crash or hang the grader, none
may earn a point it should not, the honest one keeps its 21 points, and nothing a case did may survive its grading
(no process, no file outside its job folder, no change to the grader's code or the master notebooks).

Cost control: each case grades only the items it needs (`only=`); the loops run under short limits.
"""
from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from autograder import registry, sandbox
from autograder.cli import discover, grade_class
from autograder.results import SubmissionResult
from autograder.runner import Limits, grade_notebook
from tests.helpers import ASSIGNMENT, ROOT, SOLUTION_NB, computed_once, read_nb, write_nb
from tests.hostile.cases import CASES, FULL, SLEEP_MARK

pytestmark = pytest.mark.xdist_group("hostile")  # and the gradings are shared across workers (computed_once)

TOTAL = sum(i.points for i in registry.items(ASSIGNMENT))
POINTS = {i.grade_id: i.points for i in registry.items(ASSIGNMENT)}
ORDER = [i.grade_id for i in registry.items(ASSIGNMENT)]
BY_NAME = {c.name: c for c in CASES}


def solution():
    return read_nb(SOLUTION_NB)


def with_source(nb, grade_id: str, edit):
    from tests.hostile.cases import edit as _edit

    return _edit(nb, grade_id, edit)


def item(result: SubmissionResult, grade_id: str):
    return result.by_item()[f"{ASSIGNMENT}/{grade_id}"]


def everything(result: SubmissionResult) -> str:
    """Notes and every item's feedback: where a reason may appear."""
    return "\n".join(result.notes + [i.feedback() for i in result.items])


def describe(result: SubmissionResult) -> str:
    return f"{result.student}: {result.score}/{result.max_score} in {result.seconds:.0f} s\n{everything(result)}"


def assert_full(result: SubmissionResult, *grade_ids: str) -> None:
    for gid in grade_ids:
        it = item(result, gid)
        assert it.error is None and it.score == POINTS[gid], f"{gid} lost points\n{describe(result)}"


def _fingerprint() -> str:
    """The grader's code and the master notebooks, as they are on disk."""
    h = hashlib.sha256()
    for top in ("autograder", "solutions", "seqlab"):
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(str(path).encode() + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _marked_processes() -> list[str]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        if SLEEP_MARK in " ".join(p.info.get("cmdline") or []):
            found.append(f"{p.pid}: {p.info['cmdline']}")
    return found


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """{case: SubmissionResult or what went wrong, "_ada": the honest submission's result, "_before"/"_after": the
    grader's fingerprint, "_leftover": processes left behind, "_tmp": the folder}, all graded in one batch."""

    def grade_all(tmp):
        kind = sandbox.get("auto").kind
        if kind != "bwrap":  # the corpus kills and forks: it must never run outside a real sandbox
            return {"_error": f"the hostile corpus needs the bwrap sandbox (got {kind!r}): install bubblewrap"}
        before = _fingerprint()

        def one(name):
            if name == "_ada":
                path = write_nb(solution(), tmp / "ada.ipynb")
                return grade_notebook(path, ASSIGNMENT, student="ada", limits=Limits(sandbox="bwrap"))
            case = BY_NAME[name]
            folder = tmp / name
            folder.mkdir(parents=True, exist_ok=True)
            try:
                built = case.build(folder)
                path = folder / f"{name}.ipynb"
                if isinstance(built, bytes):
                    path.write_bytes(built)
                else:
                    write_nb(built, path)
            except Exception as exc:  # the master notebook changed under the attack: that case's test says so
                return f"building the {name} submission failed: {type(exc).__name__}: {exc}"
            try:
                return grade_notebook(path, ASSIGNMENT, student=name, limits=case.limits, only=list(case.expect))
            except Exception as exc:  # reported by the test of that case
                return f"grade_notebook raised on the {name} submission: {type(exc).__name__}: {exc}"

        t0 = time.time()
        with ThreadPoolExecutor(max_workers=2) as pool:
            names = ["_ada"] + [c.name for c in CASES]
            results = dict(zip(names, pool.map(one, names)))
        results.update({"_seconds": time.time() - t0, "_before": before, "_after": _fingerprint(),
                        "_leftover": _marked_processes(), "_tmp": tmp})
        return results

    results = computed_once(tmp_path_factory, "hostile_corpus", grade_all)
    assert "_error" not in results, results.get("_error")
    return results


def test_the_corpus_has_at_least_40_cases_of_every_kind():
    assert len(CASES) >= 40 and len(BY_NAME) == len(CASES)
    kinds = {c.kind for c in CASES}
    assert kinds == {"loop", "exit", "bomb", "flood", "clock", "forgery", "escape", "patch", "numbers", "notebook"}
    for case in CASES:
        assert case.expect and set(case.expect) <= set(POINTS), case.name


@pytest.mark.slow
@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_hostile_case_gets_its_score_and_reason(corpus, name):
    case, res = BY_NAME[name], corpus[name]
    assert isinstance(res, SubmissionResult), res
    assert [i.item_id.split("/", 1)[1] for i in res.items] == [g for g in ORDER if g in case.expect]
    for gid, want in case.expect.items():
        got = item(res, gid)
        assert got.internal_error is None, f"{gid}: the grader failed\n{describe(res)}"
        if want == FULL:
            assert got.score == POINTS[gid] and got.error is None, f"{gid}: {got.score}, expected full\n{describe(res)}"
        elif isinstance(want, tuple):
            assert got.score <= want[1], f"{gid}: {got.score}, expected at most {want[1]}\n{describe(res)}"
        else:
            assert got.score == pytest.approx(want), f"{gid}: {got.score}, expected {want}\n{describe(res)}"
    text = everything(res)
    for words in case.reason:
        assert words in text, f"the feedback does not say {words!r}\n{describe(res)}"
    assert len(text) < 20_000, f"the feedback is {len(text)} characters long"
    assert res.seconds < 120, describe(res)


@pytest.mark.slow
def test_an_honest_submission_in_the_same_batch_keeps_its_grade(corpus):
    ada = corpus["_ada"]
    assert isinstance(ada, SubmissionResult), ada
    assert ada.score == TOTAL == 21.0 and not ada.notes, describe(ada)


@pytest.mark.slow
def test_nothing_a_case_did_survives_its_grading(corpus):
    assert corpus["_before"] == corpus["_after"], "the grader's code or a master notebook changed during grading"
    assert not corpus["_leftover"], f"processes outlived their grading: {corpus['_leftover']}"
    assert not (corpus["_tmp"] / "write_outside_the_job" / "escaped.txt").exists()
    assert not Path("/tmp/seqlab-escaped.txt").exists()


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
    path = write_nb(BY_NAME["memory_bomb_in_call"].build(tmp_path), tmp_path / "bomb.ipynb")
    r = grade_notebook(path, ASSIGNMENT, limits=Limits(memory_mb=4096), only=["lstm_cell"])
    assert r.items[0].score == 0 and "more than 1200 MB" in (r.items[0].error or ""), describe(r)
