"""04_translation: the English -> Korean translator assembled from the student's 03 layers, graded by a weight
transplant of the instructor checkpoint (checkpoint.py, transplant.py) and by the grader's own training run
(training.py), both judged by BLEU on grader-only sentences (hidden.py), plus the label-smoothed loss and decoding
items (items.py). The master notebook is solutions/04_translation/04_translation.ipynb; the generic tests grade
it (solution, starter, tests/mutants/04_translation.py, nbgrader), and tests/test_checkpoint_04.py,
tests/test_translation_training.py and tests/test_grader_04.py test these modules directly; measured by
benchmarks/translation_training.py and translation_speed.py."""
