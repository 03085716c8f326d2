"""Judge of attention_training: the grader's composition of the student's layers, and the calibrated run.

Scored on held-out questions whose answers only this process knows (`autograder.checks.heldout`)."""
from __future__ import annotations

from autograder.checks import heldout
from autograder.checks.train import judge_training_run

from . import cases as C
from . import hints
from .training import HELDOUT_PATH, corpus_arrays

HELDOUT = heldout.Spec(seed=418_275_903, n=C.HELDOUT_N, max_words=C.TRAIN_MAX_WORDS, path=HELDOUT_PATH)  # grader-only


def attention_training(j, seed):
    data = corpus_arrays()
    _, t_in, _ = data["eval"]
    judge_training_run(j, heldout.gold(HELDOUT), [3, t_in.shape[1], data["tgt_vocab"]],
                       C.TRAIN_PASS_ACC, C.TRAIN_PARTIAL_ACC,  # read at call time (calibration)
                       hints.TRAIN_MODEL, hints.TRAIN_SLOW, hints.TRAIN_FAIL)
