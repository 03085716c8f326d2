"""Judges of 02_seq2seq_attention: compare the probe records with oracles, in the grading process.

Each sub-check judges its own property: where another sub-check already covers the numerics, it is
judged relative to the student's own outputs (or to the oracle under the fault already charged), so
one fault is named once.
"""
from __future__ import annotations

import numpy as np

from autograder.checks.compare import close
from autograder.checks.construct import constructed
from autograder.checks.isolate import judge_cases
from autograder.checks.roundtrip import same_after_roundtrip
from autograder.checks.symbolic import judge_symbolic
from autograder.oracles import attention as att
from autograder.oracles import numpy_rnn

from . import cases as C
from . import hints
from .judges_decoding import beam_error_analysis, beam_search, greedy_decoding  # noqa: F401
from .judges_training import HELDOUT, attention_training  # noqa: F401


def _outputs(j, key, n):
    return [j.array(f"{key}/{i}") for i in range(n)]


def _shape(a):
    return None if a is None else tuple(a.shape)


def _raised(err, layout=""):
    return f"your code raised an error: {err}" + (f" ({layout})" if layout and "attribute" in err else "")


def _fit_changed(j, name, key, share=1.0, what="", excused=()) -> bool:
    """Every recorded weight of fit step `key` changed (a share of sub-check `name`). Weights in `excused`
    may stay: a fault already charged elsewhere leaves them without a gradient."""
    err = j.error_for(key)
    if err:
        return j.fail(name, f"a training step{what} raised an error: {err}", share)
    names = j.value(f"{key}/names") or []
    stuck = [n for n in names if (b := j.array(f"{key}/before/{n}")) is None or (a := j.array(f"{key}/after/{n}")) is None
             or b.shape != a.shape or np.array_equal(b, a)]
    if not names:
        return j.fail(name, f"the layer{what} has no trainable weights", share)
    stuck = [n for n in stuck if n not in excused]
    return j.add(name, not stuck, f"one fit step{what} did not change {', '.join(stuck)}: are they created with "
                 "add_weight (trainable) and used in call()?", share)


# ---- encoder --------------------------------------------------------------------------------------------

def encoder(j, seed):
    case = C.encoder_case(seed)
    if not constructed(j, "construct", "`Encoder(vocab_size, embed_dim, units)`"):
        return
    B, S, U2 = C.ENC_B, C.ENC_S, 2 * C.ENC_U
    err = j.error_for("plain")
    seq, h, c = _outputs(j, "plain", 3)
    want = [(B, S, U2), (B, U2), (B, U2)]
    got = [_shape(a) for a in (seq, h, c)]
    j.add("shapes", not err and j.value("plain/n") == 3 and got == want,
          _raised(err, hints.ENC_LAYOUT) if err else
          f"expected (outputs, state_h, state_c) with shapes {want}; got {j.value('plain/n')} outputs with shapes {got}")
    r_seq, (fh, fc), (bh, bc) = numpy_rnn.bidirectional(case["embedding"][case["tokens"]], case["fw"], case["bw"])
    r_h, r_c = np.concatenate([fh, bh], -1), np.concatenate([fc, bc], -1)
    if err:
        j.fail("numerics", _raised(err, hints.ENC_LAYOUT))
    elif not close(seq, r_seq):
        j.fail("numerics", hints.ENC_OUTPUTS)
    else:
        j.add("numerics", close(h, r_h) and close(c, r_c), hints.ENC_STATES)
    _encoder_mask(j)
    sm = j.array("source_mask")
    want_mask = case["padded"] != C.PAD_ID
    sm_err = j.error_for("source_mask")
    j.add("mask", not sm_err and sm is not None and sm.shape == want_mask.shape and np.array_equal(sm, want_mask),
          f"source_mask raised an error: {sm_err}" if sm_err else hints.SOURCE_MASK, share=1 / 3)
    judge_symbolic(j, "symbolic", "symbolic", [[None, None, U2], [None, U2], [None, U2]], [[B, S, U2], [B, U2], [B, U2]],
                   "Encoder(...)(keras.Input((None,), dtype='int32'))")
    err = j.error_for("config")
    j.add("serialization", not err and close(j.array("config/out"), j.array("config/original")),
          f"get_config/from_config failed: {err}" if err else hints.ENC_SERIALIZATION)
    _fit_changed(j, "trainable", "train")


def _encoder_mask(j):
    """Padding invariance, relative: each padded row against the student's encoder on its real tokens alone."""
    err = j.error_for("padded")
    if err:
        return j.fail("mask", _raised(err, hints.ENC_LAYOUT), share=2 / 3)
    seq, h, c = _outputs(j, "padded", 3)
    ok = seq is not None and h is not None and c is not None and seq.ndim == 3 and len(seq) == C.ENC_B
    for b, n in enumerate(C.ENC_LENGTHS):
        alone = _outputs(j, f"alone/{b}", 3)
        ok = ok and all(a is not None for a in alone) and close(seq[b:b + 1, :n], alone[0]) \
            and close(h[b:b + 1], alone[1]) and close(c[b:b + 1], alone[2])
    return j.add("mask", ok, hints.ENC_MASK, share=2 / 3)


# ---- decoder --------------------------------------------------------------------------------------------

def _decoder_oracle(case, state):
    x = case["embedding"][case["tokens"]]
    s, (h, c) = numpy_rnn.masked_scan("lstm", x, case["lstm"], initial_states=state)
    return s @ case["out"][0] + case["out"][1], h, c


def decoder(j, seed):
    case = C.decoder_case(seed)
    if not constructed(j, "construct", "`Decoder(vocab_size, embed_dim, units)`"):
        return
    B, T, V, U = C.DEC_B, C.DEC_T, C.DEC_V, C.DEC_U
    err, err_state = j.error_for("plain"), j.error_for("with_state")
    logits = j.array("plain/0")
    with_state = _outputs(j, "with_state", 3)
    shapes_ok = (not err and not err_state and j.value("plain/n") == 1 and _shape(logits) == (B, T, V)
                 and j.value("with_state/n") == 3 and [_shape(a) for a in with_state] == [(B, T, V), (B, U), (B, U)])
    j.add("shapes", shapes_ok, _raised(err or err_state, hints.DEC_LAYOUT) if err or err_state else
          f"expected logits {(B, T, V)} (and with return_state=True: logits, h {(B, U)}, c {(B, U)}); got "
          f"{j.value('plain/n')} output(s) {_shape(logits)}, and with return_state {j.value('with_state/n')} outputs "
          f"{[_shape(a) for a in with_state]}")
    given = _decoder_oracle(case, case["state"])
    zeros = _decoder_oracle(case, [np.zeros_like(s) for s in case["state"]])
    swapped = _decoder_oracle(case, case["state"][::-1])
    # which initial state the student's decoder uses: ignoring it or swapping h and c is charged in 'initial
    # state' only, and 'return_state' is judged against the states that follow from what the decoder used
    mode = next((m for m in (given, zeros, swapped) if close(logits, m[0])), None)
    if err:
        j.fail("numerics", _raised(err, hints.DEC_LAYOUT))
    else:
        j.add("numerics", mode is not None, hints.DEC_NUMERICS)
    other = j.array("other/0")
    other_ref = _decoder_oracle(case, case["other"])[0]
    err = err or j.error_for("other")
    if err:
        j.fail("initial state", _raised(err, hints.DEC_LAYOUT))
    elif logits is None or other is None or other.shape != logits.shape:
        j.fail("initial state", "not checked: the logits have the wrong shape")
    elif close(other[:, 0], logits[:, 0]):
        j.fail("initial state", hints.DEC_INITIAL_IGNORED)
    elif mode is swapped:
        j.fail("initial state", hints.DEC_STATE_SWAPPED)
    else:  # the first step follows the initial state; exactly as the oracle says when the numerics are right
        j.add("initial state", mode is None or (close(logits[:, 0], given[0][:, 0]) and close(other[:, 0], other_ref[:, 0])),
              hints.DEC_INITIAL)
    ref = mode or given
    if err_state:
        j.fail("return_state", _raised(err_state, hints.DEC_LAYOUT))
    else:
        j.add("return_state", close(with_state[1], ref[1]) and close(with_state[2], ref[2]), hints.DEC_RETURN_STATE)
    err = j.error_for("config")
    j.add("serialization", not err and close(j.array("config/out"), j.array("config/original")),
          f"get_config/from_config failed: {err}" if err else hints.DEC_SERIALIZATION)


# ---- masked attention -----------------------------------------------------------------------------------

SOFTMAX_AXES = ((1, hints.SOFTMAX_QUERY_AXIS), (0, hints.SOFTMAX_BATCH_AXIS))


def masked_attention(j, seed):
    case = C.masked_attention_case(seed)
    if not constructed(j, "construct", "a subclass of your `BaseAttention`"):
        return
    q, v, mask = case["query"], case["values"], case["mask"]
    scores = att.general_score(q, v, case["M"])
    B, T, S, DV = C.MA_B, C.MA_T, C.MA_S, C.MA_DV
    err_u, err_m = j.error_for("unmasked"), j.error_for("masked")
    ctx_u, w_u = _outputs(j, "unmasked", 2)
    ctx_m, w_m = _outputs(j, "masked", 2)
    want = [(B, T, DV), (B, T, S)]
    shapes_ok = (not err_u and j.value("unmasked/n") == 2 and [_shape(ctx_u), _shape(w_u)] == want)
    j.add("shapes", shapes_ok, _raised(err_u) if err_u else
          f"{hints.ATTENTION_SHAPES}; got {j.value('unmasked/n')} outputs with shapes {[_shape(ctx_u), _shape(w_u)]}")
    # softmax over the source axis; the axis found is what masking is judged against
    axis = None
    if err_u:
        j.fail("softmax axis", _raised(err_u))
    elif close(w_u, att.masked_softmax(scores)):
        axis = -1
        j.add("softmax axis", True)
    else:
        found = next(((a, h) for a, h in SOFTMAX_AXES if close(w_u, att.softmax(scores, axis=a))), None)
        axis = found[0] if found else None
        j.fail("softmax axis", found[1] if found else hints.NO_SOFTMAX if close(w_u, scores) else hints.SOFTMAX)
    _judge_masking(j, w_m, err_m, scores, mask, axis)
    for key, ctx, w, err in (("unmasked", ctx_u, w_u, err_u), ("masked", ctx_m, w_m, err_m)):
        ok = not err and ctx is not None and w is not None and w.shape == (B, T, S) and close(ctx, att.weighted_sum(w, v))
        j.add("context", ok, _raised(err) if err else hints.CONTEXT, share=0.5)
    judge_symbolic(j, "symbolic", "symbolic", [[None, None, DV], [None, None, None]], [[B, T, DV], [B, T, S]],
                   "a subclass of BaseAttention called on keras.Input query, values and a boolean mask")


def _judge_masking(j, w, err, scores, mask, axis):
    """'masked weights': exact zeros where mask is False, rows summing to 1, the softmax over real positions.

    Judged relative to the axis the student's softmax runs over (a wrong axis is charged once, above)."""
    name = "masked weights"
    if err:
        return j.fail(name, _raised(err))
    if w is None or w.shape != scores.shape:
        return j.fail(name, f"with a mask the weights have shape {_shape(w)}, expected {scores.shape}")
    keep = np.broadcast_to(mask[:, None, :], scores.shape)
    if axis is None:  # unknown softmax: judge only that the padding gets nothing
        return j.add(name, bool(np.all(w[~keep] == 0.0)), hints.MASK_NOT_ZERO)
    expected = att.masked_softmax(scores, mask, axis=axis)
    if close(w, expected) and (axis != -1 or np.all(w[~keep] == 0.0)):
        return j.add(name, True)
    if close(w, att.softmax(scores, axis=axis)):
        return j.fail(name, hints.MASK_IGNORED)
    if close(w, att.masked_softmax(scores, ~mask, axis=axis)) or (np.allclose(w[keep], 0.0) and not np.allclose(w[~keep], 0.0)):
        return j.fail(name, hints.MASK_INVERTED)
    if axis == -1 and not np.all(w[~keep] == 0.0):
        return j.fail(name, hints.MASK_NOT_ZERO)
    if axis == -1 and not np.allclose(w.sum(-1), 1.0, atol=1e-5):
        return j.fail(name, hints.MASK_ROWS)
    return j.fail(name, hints.MASK_REAL)


# ---- Bahdanau ---------------------------------------------------------------------------------------------

def bahdanau_attention(j, seed):
    case = C.bahdanau_case(seed)
    if not constructed(j, "construct", f"`BahdanauAttention({C.BA_UNITS})`"):
        return
    err = j.error_for("build")
    want = {"W1": [C.BA_DQ, C.BA_UNITS], "W2": [C.BA_DV, C.BA_UNITS], "v": [C.BA_UNITS]}
    bad = [f"`{n}` has shape {j.value(f'shape/{n}')}, expected {tuple(s)}" for n, s in want.items()
           if j.value(f"shape/{n}") != s]
    j.add("weights", not err and not bad, f"calling the layer (build) raised an error: {err}. {hints.BA_WEIGHTS}" if err
          else "; ".join(bad) + f". {hints.BA_WEIGHTS}")
    if err or bad:
        return j.fail_rest("not checked: the weights do not have the prescribed names and shapes (see weights)")
    q, v = case["query"], case["values"]
    expected = {name: att.bahdanau_score(q, v, *w) for name, w in case["weights"].items()}
    got, err = j.array("score/full"), j.error_for("score/full")
    W1, W2, vv = case["weights"]["full"]
    no_tanh = np.einsum("btsu,u->bts", (q @ W1)[:, :, None, :] + (v @ W2)[:, None, :, :], vv)
    tanh_missing = not err and close(got, no_tanh)
    j.add("score", not err and close(got, expected["full"]), _raised(err) if err else
          hints.BA_NO_TANH if tanh_missing else hints.BA_SCORE)
    judge_cases(j, [("terms", f"score/{name}", {f"score/{name}": expected[name]}, hint)
                    for name, hint in (("query_term", hints.BA_QUERY_TERM), ("key_term", hints.BA_KEY_TERM))])
    err = j.error_for("config", "roundtrip")
    ok = (not err and j.value("config/units") == C.BA_UNITS and j.value("config/clone_units") == C.BA_UNITS
          and same_after_roundtrip(j, "roundtrip"))
    j.add("serialization", ok, f"get_config / from_config / .keras round trip failed: {err}. {hints.BA_SERIALIZATION}"
          if err else hints.BA_SERIALIZATION)
    # without the tanh, W1's query term is the same for every source position and cancels in the softmax:
    # W1 gets no gradient, a consequence of the fault 'score' names
    _fit_changed(j, "trainable", "train", excused=("W1",) if tanh_missing else ())


# ---- Luong -------------------------------------------------------------------------------------------------

def _luong_weight_shapes(score, case):
    dq, dv = case["query"].shape[-1], case["values"].shape[-1]
    return {"general": {"W": [dq, dv]}, "concat": {"W": [dq + dv, C.LU_UNITS], "v": [C.LU_UNITS]},
            "location": {"W": [dq, C.LU_MAX_LEN]}}.get(score, {})


def _luong_diagnosis(score, got, case):
    q, v, w = case["query"], case["values"], case["weights"]
    if got is None:
        return hints.LU_SCORE[score]
    if score == "scaled_dot":
        dot = att.dot_score(q, v)
        return hints.LU_NO_SQRT if close(got, dot / q.shape[-1]) else hints.LU_NOT_SCALED if close(got, dot) else None
    if score == "general" and q.shape[-1] == v.shape[-1]:
        if close(got, att.dot_score(q, v)):
            return hints.LU_GENERAL_IS_DOT
        if close(got, att.general_score(q, v, w["W"].T)):
            return hints.LU_GENERAL_TRANSPOSED
    if score == "concat":
        dq = q.shape[-1]
        if q.shape[-1] == v.shape[-1] and close(got, att.additive_score(q, v, w["W"][dq:], w["W"][:dq], w["v"])):
            return hints.LU_CONCAT_SWAPPED
        no_tanh = np.einsum("btsu,u->bts", (q @ w["W"][:dq])[:, :, None, :] + (v @ w["W"][dq:])[:, None, :, :], w["v"])
        if close(got, no_tanh):
            return hints.LU_CONCAT_NO_TANH
    if score == "location" and got.ndim == 3 and got.shape[-1] == C.LU_MAX_LEN:
        return hints.LU_NOT_SLICED
    return None


def _named_fault(j, score, case):
    """The fault a case's score shows, by name (None when it is right, raised, or unrecognised)."""
    key = f"{score}/{case['name']}"
    got = j.array(f"score/{key}")
    if j.error_for(f"build/{key}", f"score/{key}") or got is None:
        return None
    if close(got, att.luong_score(score, case["query"], case["values"], case["weights"])):
        return None
    return _luong_diagnosis(score, got, case)


def luong_attention(j, seed):
    if not constructed(j, "construct", "`LuongAttention`"):
        return
    all_cases = C.luong_cases(seed)
    bad_weights, built, unused_W = [], 0, set()
    for score, score_cases in all_cases.items():
        share = (0.75 if score == "location" else 1.0) / len(score_cases)
        named = [d for case in score_cases if (d := _named_fault(j, score, case))]
        for case in score_cases:
            key = f"{score}/{case['name']}"
            err = j.error_for(f"build/{key}")
            if err:
                j.fail(score, f"LuongAttention({score!r}) raised an error when called: {err}", share)
                if _luong_weight_shapes(score, case):
                    bad_weights.append(f"LuongAttention({score!r}) could not be built")
                continue
            built += 1
            wrong = [f"{score}: `{n}` has shape {j.value(f'build/{key}/{n}')}, expected {tuple(s)}"
                     for n, s in _luong_weight_shapes(score, case).items() if j.value(f"build/{key}/{n}") != s]
            bad_weights += wrong
            if wrong:
                j.fail(score, hints.LU_NOT_CHECKED, share)
                continue
            expected = att.luong_score(score, case["query"], case["values"], case["weights"])
            got, err = j.array(f"score/{key}"), j.error_for(f"score/{key}")
            if hints.LU_GENERAL_IS_DOT in named:
                unused_W.add(score)
            # a fault named on one case explains the others (e.g. the same fault raising on d_q != d_v)
            j.add(score, not err and close(got, expected), named[0] if named else _raised(err) if err else
                  hints.LU_SCORE[score], share)
        if score == "location":
            key = f"location/{score_cases[0]['name']}"
            err = j.error_for(f"build/{key}") or j.error_for(f"call/{key}")
            want = [[C.LU_B, C.LU_T, C.LU_DV], [C.LU_B, C.LU_T, C.LU_S]]
            j.add("location", not err and j.value(f"call/{key}") == want,
                  f"{hints.LU_LOCATION_CALL}; your code raised an error: {err}" if err else
                  f"{hints.LU_LOCATION_CALL}; got {j.value(f'call/{key}')}", share=0.25)
    j.add("weights", built > 0 and not bad_weights, "; ".join(dict.fromkeys(bad_weights)) + f". {hints.LU_WEIGHTS}"
          if bad_weights else f"not checked: no variant could be built. {hints.LU_WEIGHTS}")
    err = j.error_for("config")
    found = j.value("config/values") or []
    want = [str(x) for s in C.SCORES for x in (s, C.LU_UNITS, C.LU_MAX_LEN) * 2]
    j.add("serialization", not err and found == want and built > 0, f"get_config/from_config failed: {err}" if err else
          hints.LU_SERIALIZATION if built else "not checked: no variant could be built (the config alone is given code)",
          share=0.5)
    err = j.error_for("roundtrip")
    j.add("serialization", not err and same_after_roundtrip(j, "roundtrip"),
          f"a .keras round trip of a model with LuongAttention('concat') failed: {err}" if err else hints.LU_SERIALIZATION,
          share=0.5)
    for score in ("general", "concat", "location"):  # a W the score ignores is charged in that score only
        _fit_changed(j, "trainable", f"train/{score}", share=1 / 3, what=f" ({score})",
                     excused=("W",) if score in unused_W else ())


# ---- attention decoder -------------------------------------------------------------------------------------

def attention_decoder(j, seed):
    case = C.attention_decoder_case(seed)
    if not constructed(j, "construct", "`AttentionDecoder(vocab_size, embed_dim, units, attention)`"):
        return
    B, T, S, V, U = C.AD_B, C.AD_T, C.AD_S, C.AD_V, C.AD_U
    err, err_state = j.error_for("plain"), j.error_for("with_state")
    logits, weights = _outputs(j, "plain", 2)
    with_state = _outputs(j, "with_state", 4)
    want = [(B, T, V), (B, T, S)]
    ok = (not err and not err_state and j.value("plain/n") == 2 and [_shape(logits), _shape(weights)] == want
          and j.value("with_state/n") == 4 and [_shape(a) for a in with_state] == want + [(B, U), (B, U)])
    j.add("shapes", ok, _raised(err or err_state, hints.AD_LAYOUT) if err or err_state else
          f"expected (logits {want[0]}, weights {want[1]}), and with return_state=True also h, c {(B, U)}; got "
          f"{[_shape(logits), _shape(weights)]} and {[_shape(a) for a in with_state]}")
    args = (case["tokens"], case["enc"], case["state"], case["full_mask"])
    ref = {o: att.attention_decoder(*args, case["weights"], order=o) for o in ("cs", "sc")}
    order_ref = {o: att.attention_decoder(*args, case["order_weights"], order=o)[0] for o in ("cs", "sc")}
    if err:
        j.fail("numerics", _raised(err, hints.AD_LAYOUT))
    else:  # [s; c] is charged in 'concat order' only
        j.add("numerics", close(logits, ref["cs"][0]) or close(logits, ref["sc"][0]), hints.AD_NUMERICS)
    err_o = j.error_for("order")
    got = j.array("order/0")
    if err_o:
        j.fail("concat order", _raised(err_o, hints.AD_LAYOUT))
    elif close(got, order_ref["cs"]):
        j.add("concat order", True)
    else:
        j.fail("concat order", hints.AD_CONCAT_ORDER if close(got, order_ref["sc"]) else hints.AD_ORDER_NOT_CHECKED)
    err_p = j.error_for("padded")
    w = j.array("padded/1")
    pad = ~case["padded_mask"]
    j.add("mask passed", not err_p and _shape(w) == (B, T, S) and np.allclose(np.broadcast_to(pad[:, None, :], w.shape) * w, 0.0),
          _raised(err_p, hints.AD_LAYOUT) if err_p else hints.AD_MASK)
    err = j.error_for("config")
    j.add("serialization", not err and close(j.array("config/out"), j.array("config/original")),
          f"get_config/from_config failed: {err}. {hints.AD_SERIALIZATION}" if err else hints.AD_SERIALIZATION)
    _fit_changed(j, "trainable", "train")
