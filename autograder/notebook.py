"""Reading notebooks: the master (solutions/) and submissions, by nbgrader grade_id."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
ASSIGNMENTS = ROOT / "assignments"


class NotebookError(ValueError):
    """The submission cannot be read as a notebook."""


@dataclass
class CodeCell:
    grade_id: str
    source: str
    kind: str  # "setup" | "solution" | "test" | "other"
    points: float = 0.0


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def classify(cell) -> str:
    meta = nbgrader_meta(cell)
    gid = str(meta.get("grade_id", ""))
    if meta.get("solution"):
        return "solution"
    if meta.get("grade"):
        return "test"
    if gid.startswith("setup"):
        return "setup"
    return "other"


def read(path: str | Path) -> nbformat.NotebookNode:
    """Read a notebook, turning every failure into a NotebookError with a readable reason."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise NotebookError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NotebookError(f"{path.name} is not UTF-8 text (is it really a .ipynb file?)") from None
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises several types for broken JSON / schema
        raise NotebookError(f"{path.name} is not a valid notebook: {str(exc).splitlines()[0][:200]}") from None
    if not isinstance(nb.get("cells"), list):
        raise NotebookError(f"{path.name} has no cells")
    return nb


def code_cells(nb) -> list[CodeCell]:
    cells = []
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        meta = nbgrader_meta(cell)
        gid = meta.get("grade_id")
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        cells.append(CodeCell(str(gid) if gid else "", str(source), classify(cell), float(meta.get("points", 0) or 0)))
    return cells


def master_path(assignment: str) -> Path:
    return SOLUTIONS / assignment / f"{assignment}.ipynb"


def grading_program(assignment: str, submission) -> tuple[list[CodeCell], list[str]]:
    """The cells a grader executes, in notebook order, and remarks about the submission.

    Setup cells come from the master notebook (they are locked; an edited copy is ignored), solution
    cells from the submission, matched by grade_id. The student's demo and training cells are never run.
    """
    master = code_cells(read(master_path(assignment)))
    submitted = {c.grade_id: c for c in code_cells(submission) if c.grade_id}
    program, notes = [], []
    for cell in master:
        if cell.kind == "setup":
            if cell.grade_id in submitted and submitted[cell.grade_id].source != cell.source:
                notes.append(f"the locked cell '{cell.grade_id}' was edited; the original was used")
            program.append(cell)
        elif cell.kind == "solution":
            if cell.grade_id not in submitted:
                notes.append(f"the answer cell '{cell.grade_id}' is missing (deleted?); it was graded as empty")
                program.append(CodeCell(cell.grade_id, "", "solution"))
            else:
                source = submitted[cell.grade_id].source
                program.append(CodeCell(cell.grade_id, source, "solution"))
                uses = backend_specific_uses(source)
                if uses:
                    notes.append(f"cell '{cell.grade_id}' uses {', '.join(uses[:5])}: use keras.ops instead, so the "
                                 "layer runs on every Keras backend (no points are taken for this)")
    return program, notes


def test_points(nb) -> dict[str, float]:
    """grade_id -> points of every graded test cell (nbgrader's partial-credit cells)."""
    return {c.grade_id: c.points for c in code_cells(nb) if c.kind == "test"}


_BACKEND_MODULES = ("tensorflow", "tf", "torch", "jax", "jnp")
_AST_LOCK = threading.Lock()


def backend_specific_uses(source: str) -> list[str]:
    """Names like `tf.matmul` or `import torch` in a cell: such layers do not run on every Keras backend."""
    import ast

    try:
        with _AST_LOCK:  # CPython 3.11's ast.parse is not thread-safe (the runner grades in threads)
            tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in _BACKEND_MODULES:
            found.append(f"{node.value.id}.{node.attr}")
        elif isinstance(node, ast.Import):
            found.extend(a.name for a in node.names if a.name.split(".")[0] in ("tensorflow", "torch", "jax"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("tensorflow", "torch", "jax"):
            found.append(node.module)
    return sorted(set(found))
