"""Results of grading: sub-checks with partial credit, items, submissions.

An item ends in one of three ways: checked (`checks`, partial credit), could not be checked because
of the submission (`error`: a crash, a timeout, an unreadable notebook; it scores 0 with the reason),
or NOT GRADED because the grader itself failed (`internal_error`). A not-graded item has no score
(`score` is None), is left out of the submission's total and is never reported as a 0: the student
is told that the instructor has been told, and the instructor gets the reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field

NOT_GRADED = "not graded"
NOT_GRADED_MESSAGE = "not graded: grader error, your instructor has been told"


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
    error: str | None = None  # the submission could not be checked (it scores 0, with this reason)
    internal_error: str | None = None  # the grader failed: NOT GRADED (for the instructor's eyes only)

    @property
    def graded(self) -> bool:
        return self.internal_error is None

    @property
    def score(self) -> float | None:
        """Points earned; None when the item was not graded (a grader error is never a 0)."""
        if self.internal_error is not None:
            return None
        if self.error is not None:
            return 0.0
        return round(min(self.max_points, sum(c.earned for c in self.checks)), 4)

    @property
    def state(self) -> str:
        """How reports colour it: "not graded", "error" (could not be checked), "full", "part" or "zero"."""
        if self.internal_error is not None:
            return "not graded"
        if self.error is not None:
            return "error"
        score = self.score
        return "full" if score >= self.max_points - 1e-9 else ("zero" if score <= 0 else "part")

    def score_text(self) -> str:
        """The score as reports write it: a number, or "not graded"."""
        return NOT_GRADED if self.score is None else f"{self.score:g}"

    def feedback(self) -> str:
        """Plain-text feedback a student can act on (never the hidden test source, never a grader trace)."""
        if self.internal_error is not None:
            return f"{self.item_id}: {NOT_GRADED} / {self.max_points:g}\n  {NOT_GRADED_MESSAGE}"
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
            "graded": self.graded,
            "error": self.error,
            "internal_error": self.internal_error,
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
    reused: dict = field(default_factory=dict)  # item id -> the reference whose verdict it took (autograder.reuse)

    @property
    def score(self) -> float:
        """Points earned on the graded items (a not-graded item adds nothing; see `complete`)."""
        return round(sum(i.score for i in self.items if i.graded), 4)

    @property
    def max_score(self) -> float:
        return round(sum(i.max_points for i in self.items), 4)

    @property
    def not_graded(self) -> list[ItemResult]:
        """Items the grader failed on: their points are unknown, not 0."""
        return [i for i in self.items if not i.graded]

    @property
    def complete(self) -> bool:
        return not self.not_graded

    def by_item(self) -> dict[str, ItemResult]:
        return {i.item_id: i for i in self.items}

    def to_json(self) -> dict:
        return {"student": self.student, "assignment": self.assignment, "path": self.path,
                "items": [i.to_json() for i in self.items], "notes": list(self.notes), "seconds": self.seconds,
                "reused": dict(self.reused)}

    @classmethod
    def from_json(cls, data: dict) -> "SubmissionResult":
        """The inverse of `to_json` (a resumed run reads back what an earlier run wrote)."""
        items = [ItemResult(i["item_id"], float(i["max_points"]),
                            [SubCheck(c["name"], float(c["points"]), float(c["earned"]), c.get("message", ""))
                             for c in i["checks"]], i.get("error"), i.get("internal_error")) for i in data["items"]]
        return cls(data["student"], data["assignment"], data["path"], items, list(data.get("notes", [])),
                   float(data.get("seconds", 0.0)), dict(data.get("reused", {})))
