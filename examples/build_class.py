"""Builds the sample class that `make demo` grades: examples/submitted/<student>/01_rnn_lstm/01_rnn_lstm.ipynb.

Students: the reference solution, the untouched starter, four students with one plausible bug each
(taken from the mutant catalogue that the tests prove), and one whose answer cell loops forever.
Deterministic: running it again rewrites the same files.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import ASSIGNMENT, STARTER_NB, mutate, read_nb, write_nb  # noqa: E402
from tests.mutants import catalogue  # noqa: E402

OUT = ROOT / "examples" / "submitted"
CLASS = {
    "ada": None,  # the reference solution
    "chloe": "lstm_forget_gate_tanh",
    "dae": "masked_state_not_carried",
    "eun": "bi_backward_not_flipped_back",
    "farah": "gru_reset_before_matmul",
}


def build() -> list[Path]:
    if OUT.exists():
        shutil.rmtree(OUT)
    solution = read_nb()
    by_id = {m.id: m for m in catalogue(ASSIGNMENT)}
    written = []
    for student, mutant_id in CLASS.items():
        nb = solution
        if mutant_id:
            m = by_id[mutant_id]
            nb = mutate(solution, m.cell, m.find, m.replace)
        written.append(write_nb(nb, OUT / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    starter = read_nb(STARTER_NB)
    written.append(write_nb(starter, OUT / "ben" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    # gus: a training loop in an answer cell that never ends (the grader skips that cell after a timeout)
    looping = mutate(solution, "long_term_dependency_code", "    return x, y\n",
                     "    return x, y\n\n\nloss = 1.0\nwhile loss > 0.01:  # 'train until good enough' - never ends\n    loss = loss * 1.0\n")
    written.append(write_nb(looping, OUT / "gus" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    return written


if __name__ == "__main__":
    for path in build():
        print(f"wrote {path.relative_to(ROOT)}")
