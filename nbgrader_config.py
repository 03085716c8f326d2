"""nbgrader configuration for Sequence Models Lab.

Master notebooks live in solutions/<id>/ (nbgrader's "source"), generated student notebooks in
assignments/<id>/ (nbgrader's "release"). The hidden test cells call the `autograder` package.
"""
import os

c = get_config()  # noqa: F821 - provided by nbgrader

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.course_id = "seqlab"
# Nothing outside the notebook is copied into a release.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]
# The grading training run (long_term_dependency) takes ~15 s on 2 CPU cores; allow headroom.
c.ExecutePreprocessor.timeout = 600
c.Execute.timeout = 600
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
# Leave nbconvert's ClearMetadataPreprocessor disabled (its default). nbgrader 0.9 never runs it in
# generate_assignment (student notebooks keep the nbgrader cell metadata, which autograde needs), but it
# is part of autograde's pipeline, between Execute and SaveAutoGrades: enabled, it strips the grade cells'
# metadata before the scores are saved, and every submission gets 0 points. tests/test_nbgrader.py
# grades with this very file.
