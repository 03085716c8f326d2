"""Shared helpers for the kit's tests: notebooks, mutations and a real nbgrader course."""
from __future__ import annotations

import copy
import os
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


def mutate(nb, grade_id: str, find: str, replace: str, count: int = 1):
    """A copy of `nb` with `find` replaced in one cell; fails loudly if `find` does not occur `count` times."""
    nb = copy.deepcopy(nb)
    cell = cell_by_grade_id(nb, grade_id)
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
    """Environment for nbgrader/jupyter subprocesses: the venv's bin first on PATH (nbgrader calls alembic)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("SEQLAB_GRADING", None)
    return env


def nbgrader(args, cwd, timeout=1200):
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=tool_env(), capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def make_course(tmp: Path, assignment: str = ASSIGNMENT) -> Path:
    """A throwaway nbgrader course directory with the master notebook as its source, assignment generated."""
    course = Path(tmp) / "course"
    (course / "source").mkdir(parents=True)
    shutil.copytree(ROOT / "solutions" / assignment, course / "source" / assignment)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.CourseDirectory.course_id = 'seqlab-test'\n"
        "c.Execute.timeout = 600\n"
        "c.ExecutePreprocessor.timeout = 600\n",
        encoding="utf-8")
    nbgrader(["generate_assignment", assignment, "--force"], cwd=course)
    return course


def autograde(course: Path, submissions: dict, assignment: str = ASSIGNMENT) -> dict:
    """Run real `nbgrader autograde` on {student: notebook}; return {student: {grade_id: score}}."""
    for student, nb in submissions.items():
        dest = course / "submitted" / student / assignment / f"{assignment}.ipynb"
        if isinstance(nb, (str, Path)):
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(nb, dest)
        else:
            write_nb(nb, dest)
    nbgrader(["autograde", assignment, "--create", "--force"], cwd=course)
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="seqlab-test") as gb:
        for student in submissions:
            sub = gb.find_submission_notebook(assignment, assignment, student)
            scores[student] = {g.name: float(g.score) for g in sub.grades}
    return scores


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
