"""Write standalone-runner scores into nbgrader's gradebook, as `nbgrader autograde` would.

The assignment must already be in the gradebook (`nbgrader generate_assignment` puts it there with its
grade cells). Each item's score becomes the auto_score of the grade cell with the same grade_id, so
`nbgrader export`, formgrader and manual overrides work as usual.
"""
from __future__ import annotations

from autograder.results import SubmissionResult


class GradebookError(RuntimeError):
    pass


def write_gradebook(db_url: str, assignment: str, results: list[SubmissionResult], course_id: str | None = None) -> int:
    """Store the scores; returns the number of grades written."""
    import os
    import sys

    # nbgrader runs the `alembic` command to check the database schema: find it next to this Python
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    from nbgrader.api import Gradebook, MissingEntry

    kwargs = {"course_id": course_id} if course_id else {}
    written = 0
    with Gradebook(db_url, **kwargs) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise GradebookError(
                f"assignment {assignment!r} is not in the gradebook {db_url}: run `nbgrader generate_assignment "
                f"{assignment}` for this course first") from None
        for result in results:
            gb.update_or_create_student(result.student)
            try:
                gb.find_submission(assignment, result.student)
            except MissingEntry:
                gb.add_submission(assignment, result.student)
            for item in result.items:
                grade_id = item.item_id.split("/", 1)[1]
                try:
                    grade = gb.find_grade(grade_id, assignment, assignment, result.student)
                except MissingEntry:
                    continue  # the course's notebook has no such grade cell
                grade.auto_score = item.score
                written += 1
            gb.db.commit()
    return written
