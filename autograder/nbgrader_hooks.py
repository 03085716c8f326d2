"""Hooks into `nbgrader autograde`, configured by the shipped nbgrader_config.py.

`ResilientExecute` replaces nbgrader's `Execute`: a cell that kills the kernel is skipped, not the whole notebook.

`DeduplicateGradeIds` replaces nbgrader's `DeduplicateIds` in the sanitize step. Both keep the *last* copy of a
grade_id (as the standalone runner does: autograder.notebook.grading_program). nbgrader's own leaves an empty
`nbgrader: {}` on the earlier copies, which `CheckCellMetadata` then takes for an old metadata format: it raises,
and `nbgrader autograde` stops the whole batch, so nobody after that student is graded. This one removes the
metadata from the earlier copies (they run as ordinary code cells, as the standalone runner runs them) and puts a
note before each, which the student sees in the feedback.
"""
from __future__ import annotations

import copy

import nbformat
from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from nbgrader import utils
from nbgrader.preprocessors import DeduplicateIds, Execute

NOTE = ("**Note from the grader:** the grade_id `{gid}` appears {n} times in this notebook (a copied cell?). "
        "The last copy was graded, as nbgrader does; this earlier copy ran as an ordinary code cell.")


class DeduplicateGradeIds(DeduplicateIds):
    def preprocess(self, nb, resources):
        counts: dict[str, int] = {}
        for cell in nb.cells:
            if utils.is_grade(cell) or utils.is_solution(cell) or utils.is_locked(cell):
                gid = cell.metadata.nbgrader.get("grade_id")
                counts[gid] = counts.get(gid, 0) + 1
        self._earlier: list = []
        nb, resources = super().preprocess(nb, resources)
        notes = {id(cell): gid for cell, gid in self._earlier}
        cells = []
        for cell in nb.cells:
            if id(cell) in notes:
                gid = notes[id(cell)]
                cells.append(nbformat.v4.new_markdown_cell(NOTE.format(gid=gid, n=counts.get(gid, 2))))
            cells.append(cell)
        nb.cells = cells
        return nb, resources

    def preprocess_cell(self, cell, resources, cell_index):
        if not (utils.is_grade(cell) or utils.is_solution(cell) or utils.is_locked(cell)):
            return cell, resources
        grade_id = cell.metadata.nbgrader["grade_id"]
        if grade_id in self.grade_ids:  # cells are visited last to first: this is an earlier copy
            self.log.warning("Cell with id '%s' exists multiple times: the last copy is graded", grade_id)
            del cell.metadata["nbgrader"]
            self._earlier.append((cell, grade_id))
        else:
            self.grade_ids.add(grade_id)
        return cell, resources


# ---- a cell that kills the kernel ------------------------------------------------------------------------------

KERNEL_DIED = ("KernelDied: the kernel died while running this cell (os._exit, a crash, or out of memory). The cell "
               "was skipped: the kernel was restarted, the cells before it were run again, and grading went on.")


class ResilientExecute(Execute):
    """nbgrader's Execute, which gives up on the whole notebook when a cell kills the kernel (`os._exit`, a segfault,
    the out-of-memory killer): the student then has no scores and no feedback at all. This one marks that cell with an
    error, restarts the kernel, runs the code cells before it again (not the hidden test cells: their scores are
    kept), and goes on with the next cell, as the standalone runner skips a cell that kills its worker. A cell that
    kills the kernel again while the earlier cells are replayed ends the notebook as before."""

    def preprocess_cell(self, cell, resources, index):
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self.log.warning("The kernel died in cell %d; restarting it and skipping that cell", index)
            skipped = getattr(self, "_skipped", set())
            skipped.add(index)
            self._skipped = skipped
            cell.outputs = [nbformat.v4.new_output("error", ename="KernelDied", evalue=KERNEL_DIED.split(": ", 1)[1],
                                                   traceback=[KERNEL_DIED])]
            self._restart_and_replay(index)
            return cell, self.resources

    def _restart_and_replay(self, index: int) -> None:
        run_sync(self.km.restart_kernel)(now=True)
        try:
            self.kc.stop_channels()
        except Exception:  # noqa: BLE001 - the old channels belong to a dead kernel
            pass
        self.start_new_kernel_client()
        for k, earlier in enumerate(self.nb.cells[:index]):
            if earlier.cell_type != "code" or k in self._skipped or utils.is_grade(earlier):
                continue
            super().execute_cell(copy.deepcopy(earlier), k, store_history=False)
