"""Every mutant in the catalogue loses points on exactly the items it declares, and keeps the others."""
from __future__ import annotations

import pytest

from autograder.cli import grade_class
from autograder.registry import items
from autograder.runner import Limits
from tests.helpers import ASSIGNMENT, mutate, read_nb, write_nb
from tests.mutants import catalogue

ALL = {i.grade_id: i.points for i in items(ASSIGNMENT)}


def test_catalogue_is_large_and_well_formed():
    assert len(catalogue(ASSIGNMENT)) >= 15
    assert len({m.id for m in catalogue(ASSIGNMENT)}) == len(catalogue(ASSIGNMENT))
    for m in catalogue(ASSIGNMENT):
        assert m.fails and set(m.fails) <= set(ALL), m.id
    # every graded item is targeted by at least one mutant
    assert set(ALL) <= {f for m in catalogue(ASSIGNMENT) for f in m.fails}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mutants")
    solution = read_nb()
    subs = [(m.id, write_nb(mutate(solution, m.cell, m.find, m.replace), tmp / "nb" / f"{m.id}.ipynb")) for m in catalogue(ASSIGNMENT)]
    results = grade_class(subs, ASSIGNMENT, tmp / "out", seed=20261123, jobs=2, limits=Limits(), progress=False)
    return {r.student: r for r in results}


@pytest.mark.parametrize("mutant", catalogue(ASSIGNMENT), ids=[m.id for m in catalogue(ASSIGNMENT)])
def test_mutant_fails_exactly_its_items(graded, mutant):
    result = graded[mutant.id]
    by = {i.item_id.split("/", 1)[1]: i for i in result.items}
    for grade_id, points in ALL.items():
        if grade_id in mutant.fails:
            assert by[grade_id].score < points, f"{mutant.id} was not caught by {grade_id}:\n{by[grade_id].feedback()}"
        else:
            assert by[grade_id].score == points, f"{mutant.id} wrongly cost points on {grade_id}:\n{by[grade_id].feedback()}"
    if mutant.says:
        text = "\n".join(by[g].feedback() for g in mutant.fails)
        assert mutant.says in text, f"feedback of {mutant.id} does not say {mutant.says!r}:\n{text}"
