"""Results of grading: sub-checks with partial credit, items, submissions."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SubCheck:
    """One sub-check of an item: what was checked, what it was worth, what it earned and why."""

    name: str
    points: float
    earned: float
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.earned >= self.points - 1e-9


@dataclass
class ItemResult:
    item_id: str
    max_points: float
    checks: list[SubCheck] = field(default_factory=list)
    error: str | None = None  # set when the item could not be checked at all

    @property
    def score(self) -> float:
        if self.error is not None:
            return 0.0
        return round(min(self.max_points, sum(c.earned for c in self.checks)), 4)

    def feedback(self) -> str:
        """Plain-text feedback a student can act on (never the hidden test source)."""
        lines = [f"{self.item_id}: {self.score:g} / {self.max_points:g}"]
        if self.error is not None:
            lines.append(f"  could not be checked: {self.error}")
            return "\n".join(lines)
        for c in self.checks:
            mark = "ok  " if c.passed else ("part" if c.earned > 0 else "FAIL")
            line = f"  [{mark}] {c.name} ({c.earned:g}/{c.points:g})"
            if c.message and not c.passed:
                line += f": {c.message}"
            lines.append(line)
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "item_id": self.item_id,
            "max_points": self.max_points,
            "score": self.score,
            "error": self.error,
            "checks": [c.__dict__ for c in self.checks],
        }


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    path: str
    items: list[ItemResult]
    notes: list[str] = field(default_factory=list)  # submission-level remarks (crashes, timeouts)
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return round(sum(i.score for i in self.items), 4)

    @property
    def max_score(self) -> float:
        return round(sum(i.max_points for i in self.items), 4)

    def by_item(self) -> dict[str, ItemResult]:
        return {i.item_id: i for i in self.items}
