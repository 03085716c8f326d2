"""Judges of 04_translation: BLEU (sacrebleu) of the probes' token ids against the hidden references."""
from __future__ import annotations

import numpy as np

from autograder.checks.compare import close
from autograder.checks.train import judge_threshold
from autograder.oracles import transformer as o

from . import cases as C
from . import checkpoint as K
from . import hints
from . import training as T
from . import transplant as X

CAUSAL_TOL = 1e-3  # float32 logits of a causal decoder do not move at all; a leak moves them by whole units
HALF_CREDIT_BELOW = 10.0  # BLEU points under the full-credit line that still earn half of `translations`


def _rows(ids) -> list[list[int]]:
    return [K.trim(row) for row in np.asarray(ids)]


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


def _scalar(j, key):
    value = j.array(key)
    return None if value is None or np.size(value) != 1 else float(np.asarray(value).ravel()[0])


def _unmasked_smoothing(labels, logits, eps) -> float:
    """The bug "the smoothing term is averaged over every position, [PAD] included"."""
    lp = logits - logits.max(-1, keepdims=True)
    lp = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
    nll = -np.take_along_axis(lp, labels[..., None], -1)[..., 0]
    keep = labels != 0
    return float(((1 - eps) * (nll * keep).sum() - eps * lp.mean(-1).sum()) / keep.sum())


def smoothed_loss(j, seed):
    """no smoothing: epsilon = 0 is 03's masked loss. smoothing: epsilon > 0 (and the default 0.1), judged up to the
    masking of the smoothing term, which `padding` owns: it changes only the logits at [PAD] positions and expects the
    same loss (when the epsilon = 0 loss moves as well, the cross-entropy term is unmasked: `no smoothing`'s fault)."""
    err = j.error_for("construct")
    if err:
        j.fail_rest(f"`smoothed_masked_loss` is not defined or raised: {err}")
        return
    case = C.loss_case(seed)
    labels, logits = case["labels"], case["logits"].astype(np.float64)

    def value(key, eps, name, share):
        err, got = j.error_for(key), _scalar(j, key)
        if err or got is None:
            j.fail(name, f"smoothed_masked_loss(labels, logits, epsilon={eps}) raised: {err}" if err else
                   f"smoothed_masked_loss(labels, logits, epsilon={eps}) should return a scalar", share)
        return got

    got = value("eps/0", 0.0, "no smoothing", 1.0)
    want = o.smoothed_masked_loss(labels, logits, 0.0)
    if got is not None:
        pad_moves = _scalar(j, "pad/0") is not None and not close(_scalar(j, "pad/0"), got, 1e-4, 1e-5)
        j.add("no smoothing", close(got, want, 1e-4, 1e-5),
              hints.SMOOTH_CE_PAD if pad_moves else hints.SMOOTH_VALUE.format(eps=0.0, got=got, want=want))
    keys = [(f"eps/{i}", eps) for i, eps in enumerate(C.LOSS_EPSILONS) if eps] + [("default", 0.1)]
    for key, eps in keys:
        got = value(key, eps, "smoothing", 1 / len(keys))
        if got is None:
            continue
        want = o.smoothed_masked_loss(labels, logits, eps)
        if close(got, want, 1e-4, 1e-5) or close(got, _unmasked_smoothing(labels, logits, eps), 1e-4, 1e-5):
            j.add("smoothing", True, share=1 / len(keys))
        elif close(got, o.masked_loss(labels, logits), 1e-4, 1e-5):
            j.fail("smoothing", hints.SMOOTH_IGNORED.format(eps=eps) if key != "default" else hints.SMOOTH_DEFAULT,
                   1 / len(keys))
        else:
            j.fail("smoothing", hints.SMOOTH_VALUE.format(eps=eps, got=got, want=want), 1 / len(keys))
    moved = {}
    for i in (0, 1):
        a, b = _scalar(j, f"eps/{i}"), _scalar(j, f"pad/{i}")
        moved[i] = None if a is None or b is None else not close(a, b, 1e-4, 1e-5)
    if moved[1] is None:
        j.fail("padding", f"smoothed_masked_loss raised: {j.error_for('pad/1') or j.error_for('eps/1')}")
    else:
        j.add("padding", not moved[1] or bool(moved[0]), hints.SMOOTH_PAD.format(eps=C.LOSS_EPSILONS[1]))
    own = _scalar(j, "eps/1")
    err, pad = j.error_for("all_pad"), _scalar(j, "all_pad")
    pad_counts = bool(moved[0] or moved[1])  # [PAD] positions counted: padding / no smoothing own it, not this
    j.add("edge cases", not err and pad is not None and (pad_counts or bool(np.isfinite(pad)) and abs(pad) < 1e-6),
          f"all-[PAD] labels raised: {err}" if err else hints.SMOOTH_ALL_PAD, share=0.5)
    err, half = j.error_for("half"), _scalar(j, "half")
    j.add("edge cases", not err and half is not None and own is not None and close(half, own, 1e-2, 1e-3),
          f"float16 logits raised: {err}" if err else hints.SMOOTH_HALF, share=0.5)


def expected_translations(model, sentences, beam_width, alpha, register) -> list[str]:
    """The reference pipeline: tag, tokenize, pad, beam search (max_len 2 * S + 10) with the reference step_fn."""
    from autograder.oracles import decoding
    from seqlab import data as sd
    from seqlab.formality import tag_source
    from seqlab.tokenizers import load_tokenizers

    if not sentences:
        return []
    en, _ = load_tokenizers(sd.DEFAULT_CORPUS_DIR, build=False)
    rows = en.encode([tag_source(s, register) for s in sentences])
    src = np.zeros((len(rows), max(map(len, rows))), np.int32)
    for i, r in enumerate(rows):
        src[i, :len(r)] = r
    step_fn, state = C.toy_step_fn(model, src)
    found = decoding.beam_search(step_fn, state, beam_width, 2 * src.shape[1] + 10, alpha=alpha)
    vocab = K.korean_vocab()
    return [vocab.decode(hyps[0][0]) for hyps in found]


def decoding(j, seed):
    model, tokens = C.ToyTranslator(seed, *K.vocab_sizes()), C.dec_tokens(seed)
    src = C.DEC_SOURCES
    prefixes = [tokens[:i + 1].T for i in range(len(tokens))]
    err = j.error_for("step")
    step_ok = state_ok = False
    if err:
        j.fail("step", f"make_step_fn / step_fn raised: {err}")
        j.fail("state", "not checked: step_fn did not run (see step)")
    else:
        bad = [i for i in range(len(tokens))
               if j.array(f"step/{i}") is None or not close(j.array(f"step/{i}"), model([src, prefixes[i]])[:, -1])]
        step_ok = j.add("step", not bad, hints.DEC_STEP.format(n=bad[0] + 1 if bad else 0))
        # judged against the student's own step 3 (its rows reordered), so a wrong step is not charged again here
        rows, own = list(C.DEC_REORDER), j.array(f"step/{len(tokens) - 1}")
        want = own[rows] if own is not None else model([src[rows], prefixes[2][rows]])[:, -1]
        err, got = j.error_for("state"), j.array("state")
        state_ok = j.add("state", not err and got is not None and close(got, want),
              f"step_fn raised on a reordered state: {err}" if err else hints.DEC_STATE)
    from autograder.oracles import decoding as oracle

    step_fn, state = C.toy_step_fn(model, src)
    found = oracle.beam_search(step_fn, state, C.DEC_BEAM, 12, alpha=C.DEC_ALPHA, n_best=2)
    want_tokens = np.zeros((sum(len(h) for h in found), 12), np.int64)
    want_scores = []
    for r, (t, score) in enumerate(h for hyps in found for h in hyps):
        want_tokens[r, :len(t)] = t
        want_scores.append(score)
    err, got_t, got_s = j.error_for("beam"), j.array("beam/tokens"), j.array("beam/scores")
    beam_ok = (not err and got_t is not None and got_t.shape == want_tokens.shape and (got_t == want_tokens).all()
               and got_s is not None and close(got_s, np.array(want_scores)))
    j.add("beam search", beam_ok, f"your beam_search raised: {err}" if err else hints.DEC_BEAM)
    # a wrong step, state or beam search (that runs) changes translate's strings or breaks its run: charged there,
    # not again here; code that does not run at all (an unfinished notebook) earns nothing here either
    ran = not (j.error_for("step") or j.error_for("state") or j.error_for("beam"))
    upstream = ran and not (step_ok and state_ok and beam_ok)
    cases = (("default", 0.5, (4, 0.6, "polite")), ("plain", 0.25, (2, 0.0, "plain")), ("empty", 0.25, None))
    for name, share, how in cases:
        err, got = j.error_for(f"translate/{name}"), j.value(f"translate/{name}")
        want = [] if how is None else expected_translations(model, list(C.TRANSLATE_SENTENCES), *how)
        if upstream and how is not None:  # a fault above changes the strings (or breaks the run): charged there
            j.add("translate", True, share=share)
        elif err:
            j.fail("translate", f"translate({'[]' if how is None else 'sentences, ...'}) raised: {err}", share)
        elif got == want:
            j.add("translate", True, share=share)
        else:
            j.fail("translate", hints.DEC_TRANSLATE[name].format(got=got, want=want), share)


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
    want = [2, int(T.load_tokens(verify=False)["train_tgt"][0].shape[0]) - 1, K.load()["tgt_embedding"].shape[0]]
    j.add("model", got == want, f"{hints.TRAIN_MODEL}; on a batch of 2 it returned shape {got}, expected {want}")
    err, ids = j.error_for("train"), j.array("train/ids")
    if err:
        j.fail("learns", f"training raised an error: {err}")
        return
    tokens = T.load_tokens()  # verified: a stale token file is the grader's fault, never the student's
    if ids is None or ids.shape[0] != len(T.eval_set(profile, tokens["hidden_words"])):
        j.fail("learns", "the trained model's translations are missing")
        return
    bleu = T.hidden_bleu(_rows(ids), profile)
    seconds = float(np.asarray(j.array("train/seconds")).ravel()[0]) if j.array("train/seconds") is not None else 0.0
    words = dict(profile=name, seconds=seconds, bleu=bleu, pass_at=profile["pass_bleu"])
    judge_threshold(j, "learns", 100.0 - bleu, 100.0 - profile["pass_bleu"], 100.0 - profile["partial_bleu"],
                    hints.TRAIN_SLOW.format(**words), hints.TRAIN_FAIL.format(**words))
