"""Judge of attention_training: the grader's composition of the student's layers, and the calibrated run.

The held-out gold tokens are recomputed here from the shipped corpus (never read from the record)."""
from __future__ import annotations

from autograder.checks.train import judge_training_run

from . import cases as C
from . import hints
from .training import corpus_arrays


def attention_training(j, seed):
    data = corpus_arrays()
    _, t_in, gold = data["eval"]
    judge_training_run(j, gold, [3, t_in.shape[1], data["tgt_vocab"]],
                       C.TRAIN_PASS_ACC, C.TRAIN_PARTIAL_ACC,  # read at call time (calibration)
                       hints.TRAIN_MODEL, hints.TRAIN_SLOW, hints.TRAIN_FAIL)
