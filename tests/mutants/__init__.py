"""Mutant catalogues, one module per assignment: `tests/mutants/<assignment id>.py` defines `MUTANTS`.

A mutant is a small, plausible student bug applied to one answer cell of the master notebook.
`fails` lists the items it must lose points on (every other item keeps full marks); `checks`, when
given, is the exact set of sub-checks (``"grade_id/sub-check"``) that must fail; `says` is a phrase its
feedback must contain, so the feedback names the right place.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    id: str
    cell: str
    find: str | None
    replace: str
    fails: tuple
    says: str = ""
    checks: tuple = ()
    count: int = 1  # how many times `find` occurs in the cell (all are replaced)
    also: tuple = ()  # further (find, replace) edits of the same cell, each occurring once

    def apply(self, nb):
        """A copy of notebook `nb` with this bug in it (`find` None: the whole cell is replaced)."""
        from tests.helpers import mutate

        nb = mutate(nb, self.cell, self.find, self.replace, self.count)
        for find, replace in self.also:
            nb = mutate(nb, self.cell, find, replace)
        return nb


def all_of(item: str, *subs: str) -> tuple:
    """("item/sub", ...): the sub-checks of one item a mutant must fail."""
    return tuple(f"{item}/{s}" for s in subs)


def sample_class(assignment: str) -> dict:
    """The students `make demo` grades: name -> None (the solution), "starter", a mutant id or a Mutant."""
    return dict(importlib.import_module(f"tests.mutants.{assignment}").SAMPLE_CLASS)


def training_keeps(assignment: str) -> tuple:
    """Mutants that do not declare the training item but whose training run tests/test_mutants still grades, to
    prove a bug elsewhere keeps full marks there (`TRAINING_KEEPS` of the module; see test_mutants)."""
    return tuple(getattr(importlib.import_module(f"tests.mutants.{assignment}"), "TRAINING_KEEPS", ()))


def catalogue(assignment: str) -> list[Mutant]:
    """The mutants of one assignment (module names start with a digit, so they are loaded by name)."""
    return list(importlib.import_module(f"tests.mutants.{assignment}").MUTANTS)
