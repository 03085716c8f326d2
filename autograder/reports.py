"""Reports: Gradescope results.json per student, a class grades.csv, a feedback page per student.

An item the grader failed on (`ItemResult.internal_error`) is reported as "not graded", never as a 0:
its test in results.json has no score (Gradescope's schema allows that when the top-level score is
given) and status "failed", grades.csv says "not graded" in its cell and in the total, and the
instructor-only reason goes to grades.csv's notes column (and the command line's stderr).
"""
from __future__ import annotations

import csv
import json
import io
import os
import tempfile
from pathlib import Path

from autograder.results import NOT_GRADED, NOT_GRADED_MESSAGE, SubmissionResult


def _total_line(result: SubmissionResult) -> str:
    line = f"{result.score:g} / {result.max_score:g} points"
    if not result.complete:
        missing = ", ".join(f"{i.item_id.split('/', 1)[-1]} ({i.max_points:g})" for i in result.not_graded)
        line += f", without {missing}: {NOT_GRADED_MESSAGE}"
    return line


def results_json(result: SubmissionResult) -> dict:
    """Gradescope's autograder results schema (score, tests[] with name/score/max_score/output/visibility).

    The top-level score is always given (the points of the graded items), so a not-graded test may
    and does leave out its own score; its status says "failed" and its output says why.
    """
    tests = []
    for item in result.items:
        test = {"name": item.item_id}
        if item.graded:
            test["score"] = item.score
        else:
            test["status"] = "failed"
        test.update({"max_score": item.max_points, "output": item.feedback(), "visibility": "visible"})
        tests.append(test)
    summary = f"{result.student}: {_total_line(result)}"
    if result.notes:
        summary += "\n" + "\n".join(f"- {n}" for n in result.notes)
    data = {
        "score": result.score,
        "output": summary,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "execution_time": round(result.seconds, 2),
        "tests": tests,
    }
    if not result.complete:
        data["extra_data"] = {"not_graded": [i.item_id for i in result.not_graded]}
    return data


def feedback_text(result: SubmissionResult) -> str:
    lines = [f"# Feedback for {result.student} — {result.assignment}", "",
             f"Total: {_total_line(result)}", ""]
    if result.notes:
        lines.append("Notes on your submission:")
        lines.extend(f"- {n}" for n in result.notes)
        lines.append("")
    for item in result.items:
        lines.append("```")
        lines.append(item.feedback())
        lines.append("```")
        lines.append("")
    return "\n".join(lines)


def _safe_name(student: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in student)
    return keep.strip(".") or "student"


RECORD = "grading.json"  # the full result and the key of what was graded: written last, it marks the student done


def write_atomic(path: Path, text: str) -> Path:
    """Write `text` to `path` through a temporary file in the same folder and `os.replace`: a reader (or a run
    killed meanwhile) sees the old file or the new one, never half of one, and no temporary file is left."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def write_student(out_dir: Path, result: SubmissionResult, key: str | None = None) -> Path:
    """The student's results.json and feedback.md, then (with `key`) the record a resumed run reads back; each file
    replaced atomically, the record last, so a run killed at any moment leaves a student either done or not."""
    folder = Path(out_dir) / _safe_name(result.student)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RECORD).unlink(missing_ok=True)  # not done until everything below is written
    write_atomic(folder / "results.json", json.dumps(results_json(result), indent=2, ensure_ascii=False))
    write_atomic(folder / "feedback.md", feedback_text(result))
    if key is not None:
        write_atomic(folder / RECORD, json.dumps({"key": key, "result": result.to_json()}, ensure_ascii=False))
    return folder


def read_done(out_dir: Path, student: str, key: str) -> SubmissionResult | None:
    """What an earlier run wrote for this student, if it graded the same notebook the same way (`key`) completely;
    None otherwise (never graded, another notebook or seed or grader, a not-graded item, a damaged record)."""
    path = Path(out_dir) / _safe_name(student) / RECORD
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("key") != key:
            return None
        result = SubmissionResult.from_json(data["result"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return result if result.complete and result.student == student else None


def write_grades_csv(out_dir: Path, results: list[SubmissionResult]) -> Path:
    item_ids = []
    for r in results:
        for i in r.items:
            if i.item_id not in item_ids:
                item_ids.append(i.item_id)
    fh = io.StringIO()
    writer = csv.writer(fh)
    writer.writerow(["student", "assignment", *[i.split("/", 1)[1] for i in item_ids], "total", "max", "notes"])
    for r in sorted(results, key=lambda r: r.student):
        by = r.by_item()
        notes = r.notes + [f"{NOT_GRADED.upper()} {i.item_id.split('/', 1)[-1]}: {i.internal_error}" for i in r.not_graded]
        writer.writerow([r.student, r.assignment, *[by[i].score_text() if i in by else "" for i in item_ids],
                         f"{r.score:g}" if r.complete else NOT_GRADED, f"{r.max_score:g}", " | ".join(notes)])
    return write_atomic(Path(out_dir) / "grades.csv", fh.getvalue())
