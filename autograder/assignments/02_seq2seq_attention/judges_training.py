"""Judge of attention_training: the grader's composition of the student's layers, and the calibrated run.

The held-out gold tokens are recomputed here from the shipped corpus (never read from the record)."""
from __future__ import annotations

from autograder.checks.train import judge_threshold

from . import cases as C
from . import hints
from .training import corpus_arrays, token_accuracy


def attention_training(j, seed):
    data = corpus_arrays()
    _, t_in, gold = data["eval"]
    err = j.error_for("model")
    want = [3, t_in.shape[1], data["tgt_vocab"]]
    got = j.value("model/out")
    j.add("model", not err and got == want, f"{hints.TRAIN_MODEL}; building or calling it raised an error: {err}" if err
          else f"{hints.TRAIN_MODEL}; on a batch of 3 it returned shape {got}, expected {want}")
    name = "learns"
    if err:
        return j.fail(name, "not trained: the model could not be built (see model)")
    err, pred = j.error_for("train"), j.array("train/pred")
    if err:
        return j.fail(name, f"training raised an error: {err}")
    if pred is None or pred.shape != gold.shape:
        return j.fail(name, f"the trained model's predictions have shape {None if pred is None else pred.shape}, "
                      f"expected {gold.shape}")
    acc = token_accuracy(pred, gold)
    pass_at, partial_at = C.TRAIN_PASS_ACC, C.TRAIN_PARTIAL_ACC  # read at call time (calibration)
    # judge_threshold: lower is better, so it is given the error rate 1 - accuracy
    judge_threshold(j, name, 1.0 - acc, 1.0 - pass_at, 1.0 - partial_at,
                    hints.TRAIN_SLOW.format(acc=acc, pass_at=pass_at), hints.TRAIN_FAIL.format(acc=acc, pass_at=pass_at))
