"""One package per assignment, `autograder/assignments/<id>/` (see docs/ADDING_AN_ASSIGNMENT.md):

  items.py   the explicit item list (points per sub-check, record, refused built-ins, profile)
  cases.py   grader-chosen inputs and weights, pure functions of a seed
  probes.py  run the student's code (student process); judges.py  decide (grading process)
  hints.py   the student-facing messages

Nothing here is imported for its side effects; `autograder.registry` loads `<id>.items` by name.
"""
