"""Judges of 04_translation: BLEU (sacrebleu) of the probes' token ids against the hidden references."""
from __future__ import annotations

import numpy as np

from autograder.checks.train import judge_threshold

from . import checkpoint as K
from . import hints
from . import training as T
from . import transplant as X

CAUSAL_TOL = 1e-3  # float32 logits of a causal decoder do not move at all; a leak moves them by whole units
HALF_CREDIT_BELOW = 10.0  # BLEU points under the full-credit line that still earn half of `translations`


def _rows(ids) -> list[list[int]]:
    out = []
    for row in np.asarray(ids):
        row = [int(t) for t in row]
        row = row[:row.index(3)] if 3 in row else row
        out.append([t for t in row if t != 0])
    return out


def transplant(j, seed):
    err = j.error_for("model")
    if err:
        j.fail("model", f"{hints.MODEL}; building it or copying the weights raised: {err}")
        j.fail_rest("not checked: the checkpoint's weights could not be copied into your Transformer (see model)")
        return
    j.add("model", True)
    want = K.meta()["bleu"]["hidden"]
    err, ids = j.error_for("hidden"), j.array("hidden/ids")
    if err or ids is None or ids.shape[0] != K.TRANSPLANT_N:
        j.fail("translations", f"translating the grader's sentences raised an error: {err}" if err else
               f"the grader's translation loop returned {None if ids is None else ids.shape[0]} rows, "
               f"expected {K.TRANSPLANT_N}")
    else:
        bleu = X.hidden_bleu(_rows(ids))
        pass_at = want - X.MARGIN
        # judge_threshold: lower is better, so it is given the BLEU shortfall
        judge_threshold(j, "translations", want - bleu, X.MARGIN, X.MARGIN + HALF_CREDIT_BELOW,
                        hints.TRANSLATIONS_SLOW.format(bleu=bleu, want=want, pass_at=pass_at),
                        hints.TRANSLATIONS_FAIL.format(bleu=bleu, want=want, pass_at=pass_at))
    err, a, b = j.error_for("causal"), j.array("causal/given"), j.array("causal/changed")
    if err or a is None or b is None or a.shape != b.shape:
        j.fail("causal", f"calling your Transformer on a batch of target prefixes raised an error: {err}")
    else:
        gap = float(np.abs(a.astype(np.float64) - b).max())
        j.add("causal", gap <= CAUSAL_TOL, hints.CAUSAL.format(k=a.shape[1] - 1, gap=gap))
    err, before, after = j.error_for("export"), j.array("export/before"), j.array("export/after")
    if err:
        j.fail("export", f"saving your model as translator.keras and loading it back raised an error: {err}")
    elif before is None or after is None or before.shape != after.shape:
        j.fail("export", "the reloaded model's translations are missing")
    else:
        differ = int((before != after).any(axis=1).sum())
        j.add("export", differ == 0, hints.EXPORT.format(n=differ, total=before.shape[0]))


def translation_training(j, seed):
    name = j.value("profile")
    err = j.error_for("model")
    profile = T.PROFILES.get(name) if isinstance(name, str) else None
    if err or profile is None:
        j.fail("model", f"{hints.TRAIN_MODEL}; building or calling it raised an error: {err}" if err else
                        f"unknown training profile {name!r}")
        j.fail("learns", "not trained: the model could not be built (see model)")
        return
    got = j.value("model/out")
    want = [2, int(T.load_tokens()["train_tgt"][0].shape[0]) - 1, K.load()["tgt_embedding"].shape[0]]
    j.add("model", got == want, f"{hints.TRAIN_MODEL}; on a batch of 2 it returned shape {got}, expected {want}")
    err, ids = j.error_for("train"), j.array("train/ids")
    if err:
        j.fail("learns", f"training raised an error: {err}")
        return
    if ids is None or ids.shape[0] != len(T.eval_set(profile)):
        j.fail("learns", "the trained model's translations are missing")
        return
    bleu = T.hidden_bleu(_rows(ids), profile)
    seconds = float(np.asarray(j.array("train/seconds")).ravel()[0]) if j.array("train/seconds") is not None else 0.0
    words = dict(profile=name, seconds=seconds, bleu=bleu, pass_at=profile["pass_bleu"])
    judge_threshold(j, "learns", 100.0 - bleu, 100.0 - profile["pass_bleu"], 100.0 - profile["partial_bleu"],
                    hints.TRAIN_SLOW.format(**words), hints.TRAIN_FAIL.format(**words))
