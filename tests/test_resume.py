"""A class run killed half-way picks up where it stopped: no grade lost, none written twice; --regrade forces.

The command line is run as users run it (`python -m autograder grade ...`) and killed with SIGKILL as soon as the
first student's reports are complete.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from autograder import reports
from autograder.results import ItemResult, SubCheck, SubmissionResult
from tests.helpers import ROOT, SOLUTION_NB, STARTER_NB, mutate, read_nb, write_nb

STUDENTS = ("ana", "bo", "cy", "di")


def _class(folder):
    write_nb(read_nb(SOLUTION_NB), folder / "ana.ipynb")
    write_nb(read_nb(STARTER_NB), folder / "bo.ipynb")
    write_nb(mutate(read_nb(SOLUTION_NB), "rnn_cell_code", "ops.tanh(", "ops.sigmoid("), folder / "cy.ipynb")
    write_nb(read_nb(SOLUTION_NB), folder / "di.ipynb")


def _command(folder, out, *extra):
    return [sys.executable, "-m", "autograder", "grade", "--assignment", "01_rnn_lstm", "--out", str(out),
            "--only", "rnn_cell", "--jobs", "1", "--quiet", "--no-reuse", *extra, str(folder)]


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _done(out):
    return sorted(s for s in STUDENTS if (out / s / reports.RECORD).exists())


def _rows(out):
    with (out / "grades.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
def test_a_killed_run_resumes_without_losing_or_regrading(tmp_path):
    folder, out = tmp_path / "subs", tmp_path / "out"
    _class(folder)
    proc = subprocess.Popen(_command(folder, out), cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while not _done(out) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the grader and its sandboxes, at once
    proc.wait()
    first = _done(out)
    assert first and len(first) < len(STUDENTS), f"the kill came too late or too early: {first}"
    assert not (out / "grades.csv").exists()
    stamps = {s: (out / s / "results.json").stat().st_mtime_ns for s in first}

    again = subprocess.run(_command(folder, out), cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert f"{len(first)} submission(s) read back from an earlier run" in again.stdout, again.stdout
    assert {s: (out / s / "results.json").stat().st_mtime_ns for s in first} == stamps  # not written twice
    rows = _rows(out)
    assert [r["student"] for r in rows] == list(STUDENTS)  # none lost, each once
    assert {r["student"]: r["total"] for r in rows} == {"ana": "3", "bo": "0", "cy": rows[2]["total"], "di": "3"}
    assert float(rows[2]["total"]) < 3
    for s in STUDENTS:
        data = json.loads((out / s / "results.json").read_text(encoding="utf-8"))
        assert data["score"] == float(next(r["total"] for r in rows if r["student"] == s))

    page = (out / "class_report.html").read_text(encoding="utf-8")
    assert "<b>bwrap</b>" in page and "resumed from an earlier run" in page and "process-sandbox-warning" not in page

    forced = subprocess.run(_command(folder, out, "--regrade"), cwd=ROOT, env=_env(), capture_output=True, text=True,
                            timeout=600)
    assert forced.returncode == 0 and "read back" not in forced.stdout, forced.stdout
    assert all((out / s / "results.json").stat().st_mtime_ns > stamps[s] for s in first)
    assert _rows(out) == rows


def test_a_record_is_read_back_only_for_the_same_key_and_a_complete_grade(tmp_path):
    done = SubmissionResult("ana", "01_rnn_lstm", "a.ipynb", [ItemResult("01_rnn_lstm/rnn_cell", 3.0,
                                                                          [SubCheck("numerics", 3.0, 2.0, "off")])],
                            notes=["a note"], seconds=4.5)
    reports.write_student(tmp_path, done, key="k1")
    back = reports.read_done(tmp_path, "ana", "k1")
    assert back == done
    assert reports.read_done(tmp_path, "ana", "k2") is None  # another notebook, seed, limit or grader
    assert reports.read_done(tmp_path, "bo", "k1") is None
    broken = SubmissionResult("cy", "01_rnn_lstm", "c.ipynb", [ItemResult("01_rnn_lstm/rnn_cell", 3.0,
                                                                           internal_error="judge raised")])
    reports.write_student(tmp_path, broken, key="k1")
    assert reports.read_done(tmp_path, "cy", "k1") is None  # a not-graded item is graded again
    (tmp_path / "ana" / reports.RECORD).write_text("{broken", encoding="utf-8")
    assert reports.read_done(tmp_path, "ana", "k1") is None
    assert not list(tmp_path.rglob(".*.tmp"))
