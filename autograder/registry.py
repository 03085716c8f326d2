"""The registry of graded items: id, points, required names, probe and judge.

Points live here and only here; a test proves that the nbgrader points in the notebooks equal them.
A check is split in two:
  * the **probe** runs the student's code (in the student's process) on grader-chosen seeded inputs
    and returns plain data (NumPy arrays, numbers, strings);
  * the **judge** runs in the grading process, recomputes the expected values with an oracle that
    never imports the solutions, and awards partial credit by sub-check.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

DEFAULT_SEED = 20261123
SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"


def assignments() -> list[str]:
    """Assignment ids, derived from the master notebooks: solutions/<id>/<id>.ipynb."""
    return sorted(p.parent.name for p in SOLUTIONS.glob("*/*.ipynb") if p.stem == p.parent.name)


ASSIGNMENTS = tuple(assignments())


@dataclass(frozen=True)
class Item:
    id: str  # "<assignment>/<grade_id>"
    title: str
    points: float
    needs: tuple[str, ...]
    probe: Callable  # probe(namespace: dict, rng_seed: int) -> dict
    judge: Callable  # judge(data: dict, rng_seed: int) -> list[SubCheck]
    timeout_s: float = 60.0

    @property
    def assignment(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def grade_id(self) -> str:
        return self.id.split("/", 1)[1]


_ITEMS: dict[str, Item] = {}


def register(item: Item) -> Item:
    if item.id in _ITEMS:
        raise ValueError(f"item {item.id} registered twice")
    _ITEMS[item.id] = item
    return item


def _load() -> None:
    from autograder import assignments  # noqa: F401  (registers the items)


def items(assignment: str | None = None) -> list[Item]:
    _load()
    return [i for i in _ITEMS.values() if assignment is None or i.assignment == assignment]


def get(item_id: str) -> Item:
    _load()
    try:
        return _ITEMS[item_id]
    except KeyError:
        raise KeyError(f"unknown graded item {item_id!r}; known: {sorted(_ITEMS)}") from None


def item_seed(seed: int, item_id: str) -> int:
    """A per-item seed derived from the run's seed, stable across processes and platforms."""
    return int(np.random.SeedSequence([seed, zlib.crc32(item_id.encode())]).generate_state(1)[0])
