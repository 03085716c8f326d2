"""Shared helpers for the kit's tests: notebooks, mutations and a real nbgrader course."""
from __future__ import annotations

import copy
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "01_rnn_lstm"


def solution_nb(assignment: str) -> Path:
    return ROOT / "solutions" / assignment / f"{assignment}.ipynb"


def starter_nb(assignment: str) -> Path:
    return ROOT / "assignments" / assignment / f"{assignment}.ipynb"


SOLUTION_NB = solution_nb(ASSIGNMENT)
STARTER_NB = starter_nb(ASSIGNMENT)


def read_nb(path=SOLUTION_NB):
    return nbformat.read(str(path), as_version=4)


def cell_by_grade_id(nb, grade_id):
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(grade_id)


def mutate(nb, grade_id: str, find: str | None, replace: str, count: int = 1):
    """A copy of `nb` with `find` replaced in one cell (the whole cell when `find` is None); fails loudly if
    `find` does not occur `count` times."""
    nb = copy.deepcopy(nb)
    cell = cell_by_grade_id(nb, grade_id)
    if find is None:
        cell.source = replace
        return nb
    occurrences = cell.source.count(find)
    if occurrences != count:
        raise AssertionError(f"mutation target occurs {occurrences} times in {grade_id} (expected {count}): {find!r}")
    cell.source = cell.source.replace(find, replace)
    return nb


def write_nb(nb, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def tool_env() -> dict:
    """Environment for nbgrader/jupyter subprocesses.

    The venv's bin first on PATH (nbgrader calls alembic), and this checkout first on PYTHONPATH, so the
    kernels that nbgrader starts import this checkout's `autograder` and `seqlab`.
    """
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.pop("SEQLAB_GRADING", None)
    return env


def nbgrader(args, cwd, timeout=1200):
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=tool_env(), capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


class PerKey(dict):
    """{key: factory(key)}, each value computed on first use (a session fixture over assignments then grades only
    the assignments the selected tests read, e.g. under `pytest -k 04_translation`)."""

    def __init__(self, factory):
        super().__init__()
        self.factory = factory

    def __missing__(self, key):
        self[key] = value = self.factory(key)
        return value


# The course id set by the shipped nbgrader_config.py (gradebook rows are filed under it).
COURSE_ID = "seqlab"


def instructor_commands(assignment: str = ASSIGNMENT) -> list[list[str]]:
    """The `nbgrader ...` lines of README.md's "For instructors" code block, in order, as argv lists.

    Comments are dropped; the README's assignment id (01_rnn_lstm) is replaced by `assignment`. The
    course helpers below run exactly these, so the README's instructor path is what the tests grade with.
    """
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## For instructors", 1)[1]
    block = section.split("```", 2)[1]
    commands = []
    for line in block.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("nbgrader "):
            commands.append([assignment if a == "01_rnn_lstm" else a for a in shlex.split(line)[1:]])
    return commands


def instructor_command(name: str, assignment: str = ASSIGNMENT) -> list[str]:
    """The README's `nbgrader <name> ...` command (argv without `nbgrader`); fails if the README has none."""
    found = [argv for argv in instructor_commands(assignment) if argv[0] == name]
    if len(found) != 1:
        raise AssertionError(f"README.md's instructor commands have {len(found)} `nbgrader {name}` lines, expected 1")
    return found[0]


def make_course(tmp: Path, assignment: str = ASSIGNMENT) -> Path:
    """A throwaway nbgrader course laid out like this repo, prepared with README.md's generate_assignment.

    It holds a byte-for-byte copy of the shipped nbgrader_config.py (whose CourseDirectory.root is its own
    folder: source_directory "solutions", release_directory "assignments", course_id "seqlab"), a copy of
    solutions/<id>/ and of the committed assignments/<id>/ (as an instructor's checkout has), and
    whatever nbgrader generates: the regenerated assignments/<id>/ and gradebook.db.
    """
    course = Path(tmp) / "course"
    course.mkdir(parents=True)
    shutil.copyfile(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(ROOT / "solutions" / assignment, course / "solutions" / assignment)
    if (ROOT / "assignments" / assignment).is_dir():
        shutil.copytree(ROOT / "assignments" / assignment, course / "assignments" / assignment)
    nbgrader(instructor_command("generate_assignment", assignment), cwd=course)
    return course


def autograde(course: Path, submissions: dict, assignment: str = ASSIGNMENT) -> dict:
    """README.md's `nbgrader autograde` on {student: notebook}; return {student: {grade_id: score}}.

    Each notebook is first copied to submitted/<student>/<id>/<id>.ipynb, as the README (and nbgrader's
    docs) say. A student nbgrader did not autograde (e.g. skipped as already graded) fails loudly.
    """
    for student, nb in submissions.items():
        dest = course / "submitted" / student / assignment / f"{assignment}.ipynb"
        if isinstance(nb, (str, Path)):
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(nb, dest)
        else:
            write_nb(nb, dest)
    nbgrader(instructor_command("autograde", assignment), cwd=course)
    for student in submissions:
        graded = course / "autograded" / student / assignment / f"{assignment}.ipynb"
        if not graded.exists():
            raise AssertionError(f"nbgrader autograde produced no {graded}")
    view = gradebook_view(course, assignment)
    return {student: {gid: cell["score"] for gid, cell in view[student]["cells"].items()} for student in submissions}


def gradebook_view(course: Path, assignment: str = ASSIGNMENT) -> dict:
    """What formgrader shows, read with nbgrader.api.Gradebook: per student, the submission's score and
    max score, and per grade cell {"score", "max_score", "auto_score", "needs_manual_grade"}."""
    from nbgrader.api import Gradebook

    view = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=COURSE_ID) as gb:
        for sub in gb.assignment_submissions(assignment):
            cells = {}
            for nb in sub.notebooks:
                for g in nb.grades:
                    cells[g.name] = {"score": float(g.score), "max_score": float(g.max_score),
                                     "auto_score": None if g.auto_score is None else float(g.auto_score),
                                     "needs_manual_grade": bool(g.needs_manual_grade)}
            view[sub.student_id] = {"score": float(sub.score), "max_score": float(sub.max_score), "cells": cells}
    return view


def export_grades(course: Path, assignment: str = ASSIGNMENT) -> dict:
    """README.md's `nbgrader export` (CSV); return its rows for `assignment` by student_id."""
    import csv

    argv = instructor_command("export", assignment)
    csv_path = course / "grades.csv"
    csv_path.unlink(missing_ok=True)
    nbgrader(argv, cwd=course)
    with open(csv_path, newline="", encoding="utf-8") as fh:
        return {row["student_id"]: row for row in csv.DictReader(fh) if row["assignment"] == assignment}


def computed_once(tmp_path_factory, name: str, compute):
    """`compute(folder)` once per test session, shared by every pytest-xdist worker (pickled, under a lock).

    A module fixture runs once per worker that gets one of its tests; with `-n` that can mean two
    expensive gradings of the same thing, competing for the same cores. The first worker computes and
    stores the value in the session's shared temp folder; the others wait for it and read it back.
    """
    import fcntl
    import pickle

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of this session
    data = root / f"{name}.pickle"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if data.exists():
            return pickle.loads(data.read_bytes())
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        value = compute(folder)
        data.write_bytes(pickle.dumps(value))
        return value
