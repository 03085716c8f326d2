"""`python -m autograder`: finding submissions, the report formats, and a quiet command line."""
from __future__ import annotations

import csv
import json
import math
import shutil
import subprocess
import sys

import pytest

from autograder import registry
from autograder.cli import discover, main
from tests.helpers import ASSIGNMENT, ROOT, STARTER_NB, computed_once, tool_env

pytestmark = pytest.mark.xdist_group("cli")  # one grading subprocess, shared by the tests below

ITEMS = registry.items(ASSIGNMENT)
ORDER = [i.grade_id for i in ITEMS]
TOTAL = sum(i.points for i in ITEMS)
HEADER = ["student", "assignment", *ORDER, "total", "max", "notes"]
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def touch(path, text="{}"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ---- discover ----------------------------------------------------------------------------------

def test_discover_single_notebook(tmp_path):
    nb = touch(tmp_path / "alice.ipynb")
    assert discover([str(nb)], ASSIGNMENT) == [("alice", nb)]


def test_discover_missing_path_is_kept_to_be_graded_as_unreadable(tmp_path):
    missing = tmp_path / "ghost.ipynb"
    assert discover([str(missing)], ASSIGNMENT) == [("ghost", missing)]


def test_discover_folder_of_notebooks(tmp_path):
    for name in ("carol", "alice", "bob"):
        touch(tmp_path / f"{name}.ipynb")
    touch(tmp_path / "notes.txt")
    touch(tmp_path / ".ipynb_checkpoints" / "alice-checkpoint.ipynb")
    found = discover([str(tmp_path)], ASSIGNMENT)
    assert found == [(n, tmp_path / f"{n}.ipynb") for n in ("alice", "bob", "carol")]


def test_discover_nbgrader_submitted_tree(tmp_path):
    course = tmp_path / "course"
    alice = touch(course / "submitted" / "alice" / ASSIGNMENT / "whatever_name.ipynb")
    bob = touch(course / "submitted" / "bob" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    touch(course / "submitted" / "bob" / ASSIGNMENT / ".ipynb_checkpoints" / f"{ASSIGNMENT}-checkpoint.ipynb")
    touch(course / "submitted" / "carol" / "02_other_assignment" / "x.ipynb")  # another assignment
    want = [("alice", alice), ("bob", bob)]
    assert discover([str(course)], ASSIGNMENT) == want  # the course root
    assert discover([str(course / "submitted")], ASSIGNMENT) == want  # or submitted/ itself


def test_discover_makes_student_names_unique(tmp_path):
    touch(tmp_path / "submitted" / "alice" / ASSIGNMENT / "a.ipynb")
    touch(tmp_path / "submitted" / "alice" / ASSIGNMENT / "b.ipynb")
    other = touch(tmp_path / "elsewhere" / "alice.ipynb")
    names = [s for s, _ in discover([str(tmp_path), str(other)], ASSIGNMENT)]
    assert names == ["alice", "alice-2", "alice-3"]


def test_no_notebooks_is_an_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code = main(["grade", "--assignment", ASSIGNMENT, "--out", str(tmp_path / "out"), "--quiet", str(tmp_path / "empty")])
    captured = capsys.readouterr()
    assert code == 2 and "no notebooks found" in captured.err
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_only_restricts_the_items_and_the_csv_columns(tmp_path, capsys):
    bad = touch(tmp_path / "in" / "zed.ipynb", "{not json")  # unreadable: graded without starting a worker
    out = tmp_path / "out"
    # (PATH first: `--only` takes any number of values and would swallow it)
    assert main(["grade", str(bad), "--assignment", ASSIGNMENT, "--out", str(out), "--quiet",
                 "--only", "rnn_cell,gru_cell"]) == 0
    rows = list(csv.reader((out / "grades.csv").open(encoding="utf-8")))
    assert rows[0] == ["student", "assignment", "rnn_cell", "gru_cell", "total", "max", "notes"]
    assert rows[1][:6] == ["zed", ASSIGNMENT, "0", "0", "0", "7"] and "not a valid notebook" in rows[1][6]
    data = json.loads((out / "zed" / "results.json").read_text(encoding="utf-8"))
    assert [t["name"] for t in data["tests"]] == [f"{ASSIGNMENT}/rnn_cell", f"{ASSIGNMENT}/gru_cell"]
    assert capsys.readouterr().err == ""


# ---- the command line, as a subprocess ---------------------------------------------------------

def run_cli(args, cwd, timeout=300):
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, env=tool_env(), capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """The starter notebook (every answer still `raise NotImplementedError`) and an unreadable file."""

    def run(tmp):
        shutil.copy(STARTER_NB, tmp / "alice.ipynb")
        (tmp / "bob.ipynb").write_bytes(b"\x00\xff binary, not a notebook")
        out = tmp / "out"
        proc = run_cli(["grade", "--assignment", ASSIGNMENT, "--out", str(out), "--quiet",
                        str(tmp / "alice.ipynb"), str(tmp / "bob.ipynb")], cwd=tmp)
        return proc, out

    return computed_once(tmp_path_factory, "cli_run", run)


def _no_nan(value):
    raise ValueError(f"{value} is not valid JSON (Gradescope rejects it)")


def test_cli_grade_runs_quietly(cli_run):
    proc, out = cli_run
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "graded 2 submission(s)" in proc.stdout
    assert len(proc.stdout.strip().splitlines()) == 1  # --quiet: the summary line only


def test_cli_grades_csv(cli_run):
    proc, out = cli_run
    rows = list(csv.reader((out / "grades.csv").open(encoding="utf-8")))
    assert rows[0] == HEADER
    assert [r[0] for r in rows[1:]] == ["alice", "bob"]
    for row in rows[1:]:
        assert len(row) == len(HEADER) and row[1] == ASSIGNMENT
        assert row[-2] == f"{TOTAL:g}"
        assert math.isclose(sum(float(x) for x in row[2:2 + len(ORDER)]), float(row[-3]))
    assert "UTF-8" in rows[2][-1]  # bob's note says why


@pytest.mark.parametrize("student", ["alice", "bob"])
def test_cli_results_json_follows_gradescope_schema(cli_run, student):
    proc, out = cli_run
    data = json.loads((out / student / "results.json").read_text(encoding="utf-8"), parse_constant=_no_nan)
    assert isinstance(data["score"], (int, float)) and not isinstance(data["score"], bool)
    assert isinstance(data.get("output", ""), str)
    assert data.get("visibility", "visible") in VISIBILITY
    assert data.get("stdout_visibility", "hidden") in VISIBILITY
    assert isinstance(data.get("execution_time", 0), (int, float))
    tests = data["tests"]
    assert [t["name"] for t in tests] == [f"{ASSIGNMENT}/{g}" for g in ORDER]
    for t, it in zip(tests, ITEMS):
        assert {"name", "score", "max_score", "output", "visibility"} <= set(t)
        assert isinstance(t["score"], (int, float)) and isinstance(t["max_score"], (int, float))
        assert 0 <= t["score"] <= t["max_score"] == it.points
        assert isinstance(t["output"], str) and t["output"].strip()
        assert t["visibility"] in VISIBILITY
    assert math.isclose(sum(t["score"] for t in tests), data["score"])
    assert math.isclose(sum(t["max_score"] for t in tests), TOTAL)


def test_cli_feedback_page(cli_run):
    proc, out = cli_run
    text = (out / "alice" / "feedback.md").read_text(encoding="utf-8")
    assert f"Total: 0 / {TOTAL:g} points" in text
    for gid in ORDER:
        assert f"{ASSIGNMENT}/{gid}:" in text
    assert "Traceback" not in text and "assert" not in text  # no hidden test source
    bob = (out / "bob" / "feedback.md").read_text(encoding="utf-8")
    assert "Notes on your submission" in bob and "UTF-8" in bob


def test_cli_starter_scores_zero_and_every_item_says_not_implemented(cli_run):
    """The starter must earn nothing, and its feedback must tell the student why for every item."""
    proc, out = cli_run
    data = json.loads((out / "alice" / "results.json").read_text(encoding="utf-8"))
    assert data["score"] == 0
    missing = [t["name"] for t in data["tests"] if "not implemented" not in t["output"]]
    assert not missing, f"no 'not implemented' reason in the feedback of {missing}"


def test_cli_items_lists_the_registry():
    proc = run_cli(["items", "--assignment", ASSIGNMENT], cwd=ROOT, timeout=120)
    assert proc.returncode == 0 and proc.stderr == ""
    lines = proc.stdout.strip().splitlines()
    listed = {}
    for line in lines[:-1]:
        item_id, points = line.split()[:2]
        listed[item_id] = float(points)
    assert listed == {i.id: i.points for i in ITEMS}
    assert lines[-1].split() == ["total", f"{TOTAL:g}"]
    assert math.isclose(sum(listed.values()), TOTAL)
