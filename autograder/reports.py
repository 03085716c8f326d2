"""Reports: Gradescope results.json per student, a class grades.csv, a feedback page per student."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from autograder.results import SubmissionResult


def results_json(result: SubmissionResult) -> dict:
    """Gradescope's autograder results schema (score, tests[] with name/score/max_score/output/visibility)."""
    tests = []
    for item in result.items:
        tests.append({
            "name": item.item_id,
            "score": item.score,
            "max_score": item.max_points,
            "output": item.feedback(),
            "visibility": "visible",
        })
    summary = f"{result.student}: {result.score:g} / {result.max_score:g} points"
    if result.notes:
        summary += "\n" + "\n".join(f"- {n}" for n in result.notes)
    return {
        "score": result.score,
        "output": summary,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "execution_time": round(result.seconds, 2),
        "tests": tests,
    }


def feedback_text(result: SubmissionResult) -> str:
    lines = [f"# Feedback for {result.student} — {result.assignment}", "",
             f"Total: {result.score:g} / {result.max_score:g} points", ""]
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


def write_student(out_dir: Path, result: SubmissionResult) -> Path:
    folder = Path(out_dir) / _safe_name(result.student)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results_json(result), indent=2, ensure_ascii=False), encoding="utf-8")
    (folder / "feedback.md").write_text(feedback_text(result), encoding="utf-8")
    return folder


def write_grades_csv(out_dir: Path, results: list[SubmissionResult]) -> Path:
    path = Path(out_dir) / "grades.csv"
    item_ids = []
    for r in results:
        for i in r.items:
            if i.item_id not in item_ids:
                item_ids.append(i.item_id)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student", "assignment", *[i.split("/", 1)[1] for i in item_ids], "total", "max", "notes"])
        for r in sorted(results, key=lambda r: r.student):
            by = r.by_item()
            writer.writerow([r.student, r.assignment, *[f"{by[i].score:g}" if i in by else "" for i in item_ids],
                             f"{r.score:g}", f"{r.max_score:g}", " | ".join(r.notes)])
    return path
