"""Reading notebooks: the master (solutions/) and submissions, by nbgrader grade_id."""
from __future__ import annotations

import functools
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
    grade_id: str  # nbgrader's; `added-<n>` for a cell the student added (see grading_program)
    source: str
    kind: str  # "setup" | "solution" | "test" | "other"; "added" in a grading program
    points: float = 0.0
    label: str = ""  # how notes name the cell; "" for "cell '<grade_id>'"

    @property
    def name(self) -> str:
        return self.label or f"cell '{self.grade_id}'"


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


@functools.cache
def master_cells(assignment: str) -> tuple[CodeCell, ...]:
    """The master notebook's code cells, read once per grading process: a run grades every submission against the
    same master, whatever happens to the file meanwhile (`cli.grade_class` also checks that it did not change)."""
    return tuple(code_cells(read(master_path(assignment))))


def _normalized(source: str) -> str:
    """A cell's source for comparison: line endings and trailing whitespace do not make a cell new."""
    return "\n".join(line.rstrip() for line in source.replace("\r\n", "\n").strip().splitlines())


def _ordinal(n: int) -> str:
    return {1: "", 2: "2nd ", 3: "3rd "}.get(n, f"{n}th ")


def grading_program(assignment: str, submission) -> tuple[list[CodeCell], list[str]]:
    """The cells a grader executes, in notebook order, and remarks about the submission.

    - Setup cells come from the master notebook (they are locked; an edited copy is ignored).
    - Answer (solution) cells come from the submission, matched by grade_id.
    - Code cells the student added run too, where the student put them among the answer cells,
      because `nbgrader autograde` runs every cell and both ways must give the same points (a helper
      function in a cell of its own is a correct answer). A submission cell counts as added when it
      has no effective grade_id (none, one the master does not have, or an earlier duplicate of a
      grade_id: nbgrader keeps the last copy's metadata and runs the others as plain cells) and its
      source is not one of the master's own code cells. They are named `added-<n>` (with a `label`
      for the notes) and each has the same per-cell time budget as every other cell; one that raises,
      hangs or crashes is named in a note (and skipped, if it hangs or crashes), like an answer cell.
      Added cells that run cleanly get no note: they change nothing the student needs to know.
    - The master's own check, test, demo and training cells never run: they carry master grade_ids,
      or (the demo and training cells, which have no nbgrader metadata) their source equals a master
      code cell. Whitespace at line ends and around the cell does not count as a change.
    - A demo or training cell the student *edited* (say, its `seqlab.grading()` guard removed) is no
      longer the master's: it cannot be told apart from a cell the student wrote, so it runs as an
      added cell, as nbgrader would run it. Only its time budget bounds it: when it runs past
      `--setup-timeout` it is skipped with a note and the rest is graded.

    Callers that grade in threads hold GRADING_LOCK (this parses Python; see there).
    """
    master = list(master_cells(assignment))
    cells = code_cells(submission)
    submitted, added = _match(master, cells)
    program, notes, count = [], [], 0
    known = {c.grade_id for c in master if c.grade_id}
    for gid in sorted(known):
        copies = sum(c.grade_id == gid for c in cells)
        if copies > 1:
            notes.append(f"the grade_id '{gid}' appears {copies} times (a copied cell?): the last copy was graded, "
                         "as nbgrader does, and the others ran as cells you added")

    def add_after(index: int) -> None:
        nonlocal count
        where = f"after '{master[index].grade_id}'" if index >= 0 else "at the top"
        for n, cell in enumerate(added.get(index, []), start=1):
            count += 1
            label = f"the {_ordinal(n)}code cell you added {where}"
            program.append(CodeCell(f"added-{count}", cell.source, "added", label=label))
            _note_backend_uses(notes, label, cell.source, assignment)

    add_after(-1)
    for index, cell in enumerate(master):
        if cell.kind == "setup":
            if cell.grade_id in submitted and submitted[cell.grade_id].source != cell.source:
                notes.append(f"the locked cell '{cell.grade_id}' was edited; the original was used")
            program.append(cell)
        elif cell.kind == "solution":
            if cell.grade_id not in submitted:
                how = "only the code cells you added were run for it" if added else "it was graded as empty"
                notes.append(f"the answer cell '{cell.grade_id}' is missing (deleted?); {how}")
                program.append(CodeCell(cell.grade_id, "", "solution"))
            else:
                source = submitted[cell.grade_id].source
                program.append(CodeCell(cell.grade_id, source, "solution"))
                _note_backend_uses(notes, f"cell '{cell.grade_id}'", source, assignment)
        add_after(index)
    return program, notes


def _match(master: list[CodeCell], cells: list[CodeCell]):
    """(grade_id -> the submission's cell, master index -> the cells the student added after it; -1: the top)."""
    master_ids = {c.grade_id: k for k, c in enumerate(master) if c.grade_id}
    master_sources = {_normalized(c.source) for c in master if c.kind != "solution"}
    last = {c.grade_id: k for k, c in enumerate(cells) if c.grade_id in master_ids}  # nbgrader keeps the last copy
    added: dict[int, list[CodeCell]] = {}
    anchor = -1
    for k, cell in enumerate(cells):
        if last.get(cell.grade_id) == k:
            anchor = master_ids[cell.grade_id]
        elif cell.source.strip() and _normalized(cell.source) not in master_sources:
            added.setdefault(anchor, []).append(cell)
    return {gid: cells[k] for gid, k in last.items()}, added


def _note_backend_uses(notes: list[str], label: str, source: str, assignment: str) -> None:
    from autograder.registry import items

    uses = backend_specific_uses(source)
    if uses:
        graded = [i.title for i in items(assignment) if i.backends]
        how = f"'{graded[0]}' checks that it does" if graded else "no points are taken for this"
        notes.append(f"{label} uses {', '.join(uses[:5])}: use keras.ops instead, so the "
                     f"layer runs on every Keras backend ({how})")


def test_points(nb) -> dict[str, float]:
    """grade_id -> points of every graded test cell (nbgrader's partial-credit cells)."""
    return {c.grade_id: c.points for c in code_cells(nb) if c.kind == "test"}


_BACKEND_MODULES = ("tensorflow", "tf", "torch", "jax", "jnp")

# THE lock of a grading interpreter (the standalone runner grades submissions in threads). CPython
# 3.11 keeps the recursion-depth counter of its AST conversion (`ast.parse`, `compile()` of an AST:
# also what Keras/TensorFlow do when they trace a function) per interpreter, not per thread. The GIL
# does not make that conversion atomic: it allocates, the garbage collector can run Python
# finalizers in the middle, and the interpreter then switches threads. Two threads building ASTs at
# once corrupt each other's count and one fails with "SystemError: AST constructor recursion depth
# mismatch". So everything a grading thread does in Python other than waiting for its worker process
# (reading and parsing the notebook, building the program, loading probe data, judging) runs under
# this one lock, and nothing in the grading process builds ASTs outside it. Reentrant, so a holder
# may call helpers that take it again (`backend_specific_uses`).
GRADING_LOCK = threading.RLock()


def backend_specific_uses(source: str) -> list[str]:
    """Names like `tf.matmul` or `import torch` in a cell: such layers do not run on every Keras backend."""
    import ast

    try:
        with GRADING_LOCK:  # see GRADING_LOCK: no AST is built concurrently in a grading process
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
