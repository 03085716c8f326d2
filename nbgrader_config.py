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
# A grade_id that appears twice (a copied answer cell) must not stop the batch: nbgrader's DeduplicateIds leaves
# metadata that CheckCellMetadata rejects, and autograde then grades no one after that student. Ours keeps the last
# copy (as the standalone runner does) and notes it in the notebook (autograder/nbgrader_hooks.py).
# A cell that kills the kernel (os._exit, a crash) must not cost the whole notebook: nbgrader's Execute gives up on it
# and the student gets no scores; ours skips that cell and goes on (autograder/nbgrader_hooks.py).
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties, CheckCellMetadata, ClearOutput, IgnorePattern, LimitOutput, OverwriteCells,
    OverwriteKernelspec, SaveAutoGrades)

from autograder.nbgrader_hooks import DeduplicateGradeIds, ResilientExecute  # noqa: E402

c.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateGradeIds, OverwriteKernelspec, OverwriteCells,
                                      CheckCellMetadata]
c.Autograde.autograde_preprocessors = [ResilientExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
