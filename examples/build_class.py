"""Builds the sample class that `make demo` grades: examples/submitted/<student>/<id>/<id>.ipynb.

For every assignment (derived from solutions/), its mutant module's SAMPLE_CLASS names the students:
the reference solution, the untouched starter, students with one plausible bug each (from the mutant
catalogue that the tests prove), and one whose answer cell loops forever. Deterministic: running it
again rewrites the same files.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.registry import assignments  # noqa: E402
from tests.helpers import read_nb, solution_nb, starter_nb, write_nb  # noqa: E402
from tests.mutants import Mutant, catalogue, sample_class  # noqa: E402

OUT = ROOT / "examples" / "submitted"


def build(out: Path = OUT) -> list[Path]:
    if out.exists():
        shutil.rmtree(out)
    written = []
    for assignment in assignments():
        solution = read_nb(solution_nb(assignment))
        by_id = {m.id: m for m in catalogue(assignment)}
        for student, spec in sample_class(assignment).items():
            if spec == "starter":
                nb = read_nb(starter_nb(assignment))
            elif spec is None:
                nb = solution
            else:
                nb = (spec if isinstance(spec, Mutant) else by_id[spec]).apply(solution)
            written.append(write_nb(nb, out / student / assignment / f"{assignment}.ipynb"))
    return written


if __name__ == "__main__":
    for path in build():
        print(f"wrote {path.relative_to(ROOT)}")
