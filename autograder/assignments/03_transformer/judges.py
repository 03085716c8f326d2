"""Judges of 03_transformer: compare the probe records with the NumPy oracles, in the grading process.

Where a comparison fails, the judge tries the usual wrong formulas (sin and cos swapped, no 1/sqrt(d_k),
pre-norm, keys from the decoder, ...) and names the one that matches; otherwise it says what was expected and
how far the output is from it.
"""
from __future__ import annotations

import numpy as np

from autograder.checks import heldout
from autograder.checks.compare import close, mismatch
from autograder.checks.roundtrip import same_after_roundtrip
from autograder.checks.sequence import judge_causality
from autograder.checks.symbolic import judge_symbolic
from autograder.checks.train import judge_training_run
from autograder.oracles import transformer as o

from . import cases as C
from . import hints
from . import training

HALF_TOL = 2e-2  # float16 arithmetic against float64


def _raised(err: str, layout: str = "") -> str:
    return f"your code raised an error: {err}" + (f" ({layout})" if layout and "attribute" in err else "")


def _missing(j, key: str, names, what: str) -> bool:
    """True (and the named sub-checks failed) when constructing `what` (step `key`) raised."""
    err = j.error_for(key)
    for name in names if err else ():
        if not j.judged(name):
            j.fail(name, f"could not get {what}: {err}")
    return bool(err)


def _diagnose(j, name: str, key: str, expected, alternatives=(), hint: str = "", share: float = 1.0,
              rtol: float = 1e-4, atol: float = 1e-5, layout: str = "", where=None, hint_on_error=False) -> bool:
    """Sub-check `name` (a share of it): array `key` equals `expected` (at the rows `where`, when given); else the
    hint of the first alternative (array, hint) it matches, else `hint` with the measured difference. An error is
    reported as raised (followed by the hint with `hint_on_error`: an error only this case raises points there)."""
    err = j.error_for(key, key.rsplit("/", 1)[0])  # the value's own error, else its step's
    if err:
        return j.fail(name, _raised(err, layout) + (f"; {hint}" if hint_on_error else ""), share)
    got = j.array(key)

    def pick(a):
        return None if a is None else (np.asarray(a)[where] if where is not None else np.asarray(a))

    if got is not None and np.shape(got) == np.shape(expected) and close(pick(got), pick(expected), rtol, atol):
        return j.add(name, True, share=share)
    for alt, alt_hint in alternatives:
        if got is not None and np.shape(got) == np.shape(alt) and close(pick(got), pick(alt), rtol, atol):
            return j.fail(name, alt_hint, share)
    problem = mismatch(got, expected)
    return j.fail(name, f"{hint} ({problem})" if problem and problem.startswith("max abs") else
                  (f"{hint} ({problem})" if problem else hint), share)


def _same(j, name: str, a_key: str, b_key: str, hint: str, step: str | None = None, share: float = 1.0) -> bool:
    err = j.error_for(step or a_key, a_key, b_key)
    if err:
        return j.fail(name, _raised(err), share)
    return j.add(name, close(j.array(a_key), j.array(b_key)), hint, share)


def _differ(j, name: str, a_key: str, b_key: str, hint: str, step: str) -> bool:
    err = j.error_for(step)
    if err:
        return j.fail(name, _raised(err))
    a, b = j.array(a_key), j.array(b_key)
    return j.add(name, a is not None and b is not None and a.shape == b.shape and not np.allclose(a, b), hint)


def _fit_changed(j, name: str, key: str, excused=lambda n: False) -> bool:
    """Every recorded weight of fit step `key` changed, except those `excused` (the key biases of attention get
    no gradient in any implementation, Keras's included: softmax is invariant to adding the same number to every
    score of a row)."""
    err = j.error_for(key)
    if err:
        return j.fail(name, f"a training step raised an error: {err}")
    names = j.value(f"{key}/names") or []
    if not names:
        return j.fail(name, "the layer has no trainable weights")
    stuck = [n for n in names if not excused(n) and (
        (b := j.array(f"{key}/before/{n}")) is None or (a := j.array(f"{key}/after/{n}")) is None
        or b.shape != a.shape or np.array_equal(b, a))]
    return j.add(name, not stuck, f"one fit step did not change {', '.join(stuck)}: are they created with add_weight "
                 "(or a sub-layer) and used in call()?")


def _key_bias(name: str) -> bool:
    return name.rsplit("/", 1)[-1].startswith("key_bias")


def _serialization(j, hint: str) -> bool:
    err = j.error_for("config")
    return j.add("serialization", not err and close(j.array("config/out"), j.array("config/original")),
                 f"get_config/from_config failed: {err} ({hint})" if err else hint)


# ---- positional encoding -----------------------------------------------------------------------------------

def _pe_variants(length, depth):
    pos = np.arange(length, dtype=np.float64)[:, None]
    col = np.arange(depth)
    pair = (col - col % 2).astype(np.float64)
    angle = pos / 10000.0 ** (pair / depth)
    swapped = np.where(col % 2 == 0, np.cos(angle), np.sin(angle))
    half = (depth + 1) // 2
    rates = 10000.0 ** (-(2 * np.arange(half)) / depth)
    halves = np.concatenate([np.sin(pos * rates), np.cos(pos * rates)], axis=1)[:, :depth]
    by_column = np.where(col % 2 == 0, np.sin(pos / 10000.0 ** (col / depth)), np.cos(pos / 10000.0 ** (col / depth)))
    return [(swapped, hints.PE_SWAPPED), (halves, hints.PE_HALVES), (by_column, hints.PE_RATES)]


def positional_encoding(j, seed):
    if not _missing(j, "construct_fn", ("table", "odd depth"), "`positional_encoding`"):
        for i, name in enumerate(("table", "odd depth")):
            length, depth = C.PE_CASES[i]
            want = o.positional_encoding(length, depth)
            alternatives = _pe_variants(length, depth)
            if i == 1:  # an odd depth that only fails here: the last column
                even = depth - 1
                cut = o.positional_encoding(length, even)
                alternatives.append((np.concatenate([cut, np.zeros((length, 1))], 1), hints.PE_ODD))
            _diagnose(j, name, f"table/{i}", want, alternatives, hints.PE_TABLE)
    if _missing(j, "construct", ("embedding", "mask", "unknown length", "serialization"), "`PositionalEmbedding`"):
        return
    case = C.pe_case(seed)
    toks = case["tokens"]
    emb = np.asarray(case["embedding"], np.float64)[toks]
    table = o.positional_encoding(toks.shape[1], C.PE_D)[None]
    _diagnose(j, "embedding", "embedding", C.pe_embedding_expected(case),
              [(emb + table, hints.PE_NOT_SCALED), (emb * C.PE_D + table, hints.PE_SCALED_BY_D),
               (emb * np.sqrt(C.PE_D), hints.PE_NO_TABLE)], hints.PE_EMBEDDING, layout=hints.PE_LAYOUT)
    err, mask = j.error_for("mask"), j.array("mask")
    want = toks != C.PAD_ID
    j.add("mask", not err and mask is not None and mask.shape == want.shape and np.array_equal(mask != 0, want),
          _raised(err, hints.PE_LAYOUT) if err else
          f"{hints.PE_MASK}; got shape {None if mask is None else mask.shape}")
    B, T = toks.shape
    judge_symbolic(j, "unknown length", "symbolic", [[None, None, C.PE_D]], [[B, T, C.PE_D]],
                   "PositionalEmbedding(...)(keras.Input((None,), dtype='int32'))")
    _serialization(j, hints.PE_SERIALIZATION)


# ---- masks -------------------------------------------------------------------------------------------------

def _as(got, shape):
    """`got` reshaped to `shape` when it has as many elements (a shape fault is charged in 'shapes' only)."""
    if got is None or got.size != int(np.prod(shape)):
        return None
    return got.reshape(shape) != 0


def masks(j, seed):
    toks = C.mask_tokens(seed)
    B, S = toks.shape
    want = toks != C.PAD_ID
    err = j.error_for("padding")
    got = _as(j.array("padding"), (B, S))
    if err:
        j.fail("padding mask", _raised(err))
    elif got is not None and np.array_equal(got, ~want):
        j.fail("padding mask", hints.PADDING_INVERTED)
    else:
        j.add("padding mask", got is not None and np.array_equal(got, want),
              f"{hints.PADDING_VALUES}; got {j.array('padding').shape if j.array('padding') is not None else None} "
              f"values for {B} x {S} tokens" if got is None else hints.PADDING_VALUES)
    problems = []
    if not err:
        shape, dtype = j.value("padding/shape"), j.value("padding/dtype")
        if shape != [B, 1, S]:
            problems.append(f"padding_mask gave shape {shape}, expected {[B, 1, S]} (B, 1, S)")
        if dtype != "bool":
            problems.append(f"padding_mask gave dtype {dtype}, expected bool")
    share = 1.0 / len(C.MASK_T)
    for T_ in C.MASK_T:
        key = f"look_ahead/{T_}"
        err_la = j.error_for(key)
        keep = np.tril(np.ones((T_, T_), bool))
        got = _as(j.array(key), (T_, T_))
        if err_la:
            j.fail("look-ahead mask", _raised(err_la), share)
        elif got is not None and not np.array_equal(got, keep):
            variants = [(np.tril(keep, -1), hints.LOOK_AHEAD_STRICT), (np.tril(np.ones((T_, T_), bool), 1),
                                                                        hints.LOOK_AHEAD_AHEAD),
                        (~keep, hints.LOOK_AHEAD_INVERTED), (keep.T, hints.LOOK_AHEAD_INVERTED),
                        (~np.tril(keep, -1), hints.LOOK_AHEAD_INVERTED)]
            found = next((h for v, h in variants if np.array_equal(got, v)), hints.LOOK_AHEAD_VALUES)
            j.fail("look-ahead mask", f"{found} (look_ahead_mask({T_}))", share)
        else:
            j.add("look-ahead mask", got is not None, f"{hints.LOOK_AHEAD_VALUES}; look_ahead_mask({T_}) gave "
                  f"{None if j.array(key) is None else j.array(key).shape}", share)
        if not err_la:
            shape, dtype = j.value(f"{key}/shape"), j.value(f"{key}/dtype")
            if shape != [1, T_, T_]:
                problems.append(f"look_ahead_mask({T_}) gave shape {shape}, expected {[1, T_, T_]} (1, T, T)")
            if dtype != "bool":
                problems.append(f"look_ahead_mask({T_}) gave dtype {dtype}, expected bool")
    if err or any(j.error_for(f"look_ahead/{t}") for t in C.MASK_T):
        j.fail("shapes", "a mask function raised an error (see above)")
    else:
        j.add("shapes", not problems, "; ".join(problems))


# ---- scaled dot-product attention --------------------------------------------------------------------------

def _query_axis(q, k, v, mask=None):
    scores = np.einsum("...qd,...kd->...qk", q, k) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, o.NEG_INF)
    w = np.exp(scores - scores.max(axis=-2, keepdims=True))
    w = w / w.sum(axis=-2, keepdims=True)
    return w @ v, w


def _positive_fill(q, k, v, mask):
    """The masked scores set to +1e9 instead of -1e9 (the fill's sign flipped)."""
    scores = np.where(mask, np.einsum("...qd,...kd->...qk", q, k) / np.sqrt(q.shape[-1]), 1e9)
    w = np.exp(scores - scores.max(axis=-1, keepdims=True))
    w = w / w.sum(axis=-1, keepdims=True)
    return w @ v, w


def _attention_variants(q, k, v, mask=None):
    dk = q.shape[-1]
    out = [(o.scaled_dot_product_attention(q * np.sqrt(dk), k, v, mask), hints.AT_NO_SCALE),
           (o.scaled_dot_product_attention(q / np.sqrt(dk), k, v, mask), hints.AT_SCALE_DK),
           (_query_axis(q, k, v, mask), hints.AT_QUERY_AXIS)]
    if mask is not None:
        out += [(o.scaled_dot_product_attention(q, k, v, None), hints.AT_MASK_IGNORED),
                (o.scaled_dot_product_attention(q, k, v, ~np.asarray(mask, bool)), hints.AT_MASK_INVERTED),
                (_positive_fill(q, k, v, np.asarray(mask, bool)), hints.AT_MASK_SIGN)]
    return out


def attention(j, seed):
    if _missing(j, "construct", ("outputs", "weights", "masked weights", "broadcast", "float16"),
                "`scaled_dot_product_attention`"):
        return
    case = C.attention_case(seed)
    q, k, v = (np.asarray(case[n], np.float64) for n in "qkv")
    out, w = o.scaled_dot_product_attention(q, k, v)
    variants = _attention_variants(q, k, v)
    _diagnose(j, "outputs", "plain/0", out, [(a[0], h) for a, h in variants], hints.AT_OUTPUTS)
    _diagnose(j, "weights", "plain/1", w, [(a[1], h) for a, h in variants], hints.AT_WEIGHTS)
    mask = case["mask"]
    m_out, m_w = o.scaled_dot_product_attention(q, k, v, mask)
    variants = _attention_variants(q, k, v, mask)
    _diagnose(j, "masked weights", "masked/1", m_w, [(a[1], h) for a, h in variants], hints.AT_MASKED, share=0.5)
    _diagnose(j, "masked weights", "masked/0", m_out, [(a[0], h) for a, h in variants], hints.AT_MASKED, share=0.5)
    hq, hk, hv = (np.asarray(case["heads"][n], np.float64) for n in "qkv")
    h_out, h_w = o.scaled_dot_product_attention(hq, hk, hv, case["heads_mask"])
    variants = _attention_variants(hq, hk, hv, case["heads_mask"])  # a fault of the formula is named as such
    _diagnose(j, "broadcast", "heads/0", h_out, [(a[0], h) for a, h in variants], hints.AT_BROADCAST, share=0.5)
    _diagnose(j, "broadcast", "heads/1", h_w, [(a[1], h) for a, h in variants], hints.AT_BROADCAST, share=0.5)
    # float16 against the student's own float32 run on the same numbers: a fault of the formula is charged above
    err = j.error_for("half")
    got = [j.array("half/0"), j.array("half/1")]
    own = [j.array("half32/0"), j.array("half32/1")]
    if err:
        j.fail("float16", _raised(err))
    elif any(g is None or not np.all(np.isfinite(g)) for g in got):
        j.fail("float16", hints.AT_HALF_NAN)
    elif j.error_for("half32") or any(a is None for a in own):
        j.fail("float16", _raised(j.error_for("half32")) if j.error_for("half32") else hints.AT_HALF)
    else:
        j.add("float16", close(got[0], own[0], HALF_TOL, HALF_TOL) and close(got[1], own[1], HALF_TOL, HALF_TOL),
              hints.AT_HALF)


# ---- multi-head attention ----------------------------------------------------------------------------------

def mha(j, seed):
    if _missing(j, "construct", ("layout", "self-attention", "cross-attention", "mask", "weights returned",
                                 "all heads at once", "serialization", "trainable"), "`MultiHeadAttention`"):
        return
    case = C.mha_case(seed)
    H, dh, d = C.MHA_H, C.MHA_DH, C.MHA_D
    want = {"query_kernel": [d, H, dh], "query_bias": [H, dh], "key_kernel": [C.MHA_DK, H, dh], "key_bias": [H, dh],
            "value_kernel": [C.MHA_DV, H, dh], "value_bias": [H, dh], "output_kernel": [H, dh, d], "output_bias": [d]}
    err = j.error_for("layout")
    wrong = {n: j.value(f"layout/{n}") for n in want if j.value(f"layout/{n}") != want[n]}
    j.add("layout", not err and not wrong, _raised(err, hints.MHA_LAYOUT) if err else
          f"{hints.MHA_LAYOUT}; got {wrong} for MultiHeadAttention(num_heads={H}, key_dim={dh}) on query width {d}, "
          f"key width {C.MHA_DK}, value width {C.MHA_DV}")
    x, value, key = (np.asarray(case[n], np.float64) for n in ("x", "value", "key"))
    self_out, _ = o.multi_head_attention(case["self"], x, x)
    cross_out, cross_w = o.multi_head_attention(case["cross"], x, value, key)
    _diagnose(j, "self-attention", "self", self_out, [], hints.MHA_SELF, layout=hints.MHA_LAYOUT)
    _diagnose(j, "cross-attention", "cross", cross_out, [], hints.MHA_CROSS, layout=hints.MHA_LAYOUT)
    ms_out, ms_w = o.multi_head_attention(case["self"], x, x, mask=case["self_mask"])
    mc_out, mc_w = o.multi_head_attention(case["cross"], x, value, key, mask=case["cross_mask"])
    for key_, (a, b) in (("masked_self", (ms_out, ms_w)), ("masked_cross", (mc_out, mc_w))):
        # the unmasked calls passed or are charged above: an error only with a mask points at the mask's handling
        _diagnose(j, "mask", f"{key_}/0", a, [], hints.MHA_MASK, share=0.25, layout=hints.MHA_LAYOUT,
                  hint_on_error=True)
        if j.value(f"{key_}/n") == 2:
            _diagnose(j, "mask", f"{key_}/1", b, [], hints.MHA_MASK, share=0.25)
        else:  # the weights are judged in 'weights returned'; here the outputs count for both shares
            _diagnose(j, "mask", f"{key_}/0", a, [], hints.MHA_MASK, share=0.25, layout=hints.MHA_LAYOUT,
                      hint_on_error=True)
    err = j.error_for("weights")
    if err:
        j.fail("weights returned", _raised(err, hints.MHA_LAYOUT))
    elif j.value("weights/n") != 2:
        j.fail("weights returned", f"{hints.MHA_WEIGHTS}; got {j.value('weights/n')} output(s)")
    else:
        _diagnose(j, "weights returned", "weights/1", cross_w, [], hints.MHA_WEIGHTS)
    err = j.error_for("heads")
    counts = [j.value(f"heads/{h}") for h in C.MHA_HEADS_CALLS]
    j.add("all heads at once", not err and None not in counts and len(set(counts)) == 1,
          _raised(err) if err else f"{hints.MHA_HEADS} ({counts[0]} calls with {C.MHA_HEADS_CALLS[0]} heads, "
          f"{counts[1]} with {C.MHA_HEADS_CALLS[1]})")
    _serialization(j, hints.MHA_SERIALIZATION)
    _fit_changed(j, "trainable", "train", _key_bias)


# ---- feed-forward ------------------------------------------------------------------------------------------

def feed_forward(j, seed):
    if _missing(j, "construct", ("numerics", "dropout", "serialization", "trainable"), "`FeedForward`"):
        return
    case = C.ffn_case(seed)
    p, x = case["ffn"], np.asarray(case["x"], np.float64)
    want = o.feed_forward(x, p["W1"], p["b1"], p["W2"], p["b2"])
    no_relu = (x @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
    _diagnose(j, "numerics", "out", want, [(no_relu, hints.FF_NO_RELU)], hints.FF_NUMERICS, layout=hints.FF_LAYOUT)
    _differ(j, "dropout", "dropout/training", "dropout/inference", hints.FF_DROPOUT, "dropout")
    _serialization(j, hints.FF_SERIALIZATION)
    _fit_changed(j, "trainable", "train")


# ---- encoder and decoder layers ----------------------------------------------------------------------------

def _ln(x, p):
    return o.layer_norm(x, p["gamma"], p["beta"])


def _ffn(x, p):
    return o.feed_forward(x, p["W1"], p["b1"], p["W2"], p["b2"])


def _mha(p, q, kv, mask=None):
    return o.multi_head_attention(p, q, kv, mask=mask)[0]


def _encoder_variants(p, x, mask):
    pre_h = x + _mha(p["mha"], _ln(x, p["ln1"]), _ln(x, p["ln1"]), mask)
    no_res = _ln(_mha(p["mha"], x, x, mask), p["ln1"])
    h = _ln(x + _mha(p["mha"], x, x, mask), p["ln1"])
    return [(pre_h + _ffn(_ln(pre_h, p["ln2"]), p["ffn"]), hints.PRE_NORM),
            (_ln(no_res + _ffn(no_res, p["ffn"]), p["ln2"]), hints.NO_RESIDUAL_ATTN),
            (_ln(_ffn(h, p["ffn"]), p["ln2"]), hints.NO_RESIDUAL_FFN),
            (o.encoder_layer(p, x, None), hints.ENC_MASK_DROPPED)]


def encoder_layer(j, seed):
    if _missing(j, "construct", ("numerics", "padding", "dropout", "serialization", "trainable"), "`EncoderLayer`"):
        return
    case = C.layer_case(seed)
    p, x, mask = case["encoder"], np.asarray(case["x"], np.float64), case["enc_mask"]
    _diagnose(j, "numerics", "out", o.encoder_layer(p, x, mask), _encoder_variants(p, x, mask), hints.ENC_NUMERICS,
              rtol=1e-4, atol=1e-4, layout=hints.LAYER_LAYOUT)
    err = j.error_for("padding")
    short, long_ = j.array("padding/short"), j.array("padding/long")
    pad = case["pad"]
    ok = (not err and short is not None and long_ is not None and long_.shape[1] >= short.shape[1]
          and close(short[pad], long_[:, :short.shape[1]][pad], 1e-4, 1e-4))
    j.add("padding", ok, _raised(err, hints.LAYER_LAYOUT) if err else hints.ENC_PADDING)
    _differ(j, "dropout", "dropout/training", "dropout/inference", hints.LAYER_DROPOUT, "dropout")
    _serialization(j, hints.LAYER_SERIALIZATION)
    _fit_changed(j, "trainable", "train", _key_bias)


def _decoder_variants(p, y, enc, self_mask, cross_mask):
    def compose(h1, a2_query, a2_kv, a2_mask, norm="post", residual=True):
        a2 = _mha(p["cross_mha"], a2_query, a2_kv, a2_mask)
        h2 = _ln(h1 + a2, p["ln2"]) if residual else _ln(a2, p["ln2"])
        return _ln(h2 + _ffn(h2, p["ffn"]), p["ln3"])

    h1 = _ln(y + _mha(p["self_mha"], y, y, self_mask), p["ln1"])
    h1_unmasked = _ln(y + _mha(p["self_mha"], y, y, None), p["ln1"])
    pre1 = y + _mha(p["self_mha"], _ln(y, p["ln1"]), _ln(y, p["ln1"]), self_mask)
    pre2 = pre1 + _mha(p["cross_mha"], _ln(pre1, p["ln2"]), enc, cross_mask)
    return [(o.decoder_layer(p, y, enc, self_mask, None)[0], hints.DEC_NO_CROSS_MASK),
            (compose(h1, h1, h1, self_mask), hints.DEC_SELF_KEYS),
            (compose(h1, h1, h1, None), hints.DEC_SELF_KEYS),
            (compose(h1, y, enc, cross_mask), hints.DEC_CROSS_FROM_X),
            (compose(h1_unmasked, h1_unmasked, enc, cross_mask), hints.DEC_NO_SELF_MASK),
            (pre2 + _ffn(_ln(pre2, p["ln3"]), p["ffn"]), hints.PRE_NORM),
            (compose(h1, h1, enc, cross_mask, residual=False), hints.NO_RESIDUAL_ATTN)]


def decoder_layer(j, seed):
    if _missing(j, "construct", ("numerics", "causal", "cross-attention", "padding", "serialization", "trainable"),
                "`DecoderLayer`"):
        return
    case = C.layer_case(seed)
    p, y, enc = case["decoder"], np.asarray(case["y"], np.float64), np.asarray(case["x"], np.float64)
    out, w = o.decoder_layer(p, y, enc, case["self_mask"], case["enc_mask"])
    _diagnose(j, "numerics", "out/0", out, _decoder_variants(p, y, enc, case["self_mask"], case["enc_mask"]),
              hints.DEC_NUMERICS, rtol=1e-4, atol=1e-4, layout=hints.LAYER_LAYOUT)
    err = j.error_for("out")
    if err:
        j.fail("cross-attention", _raised(err, hints.LAYER_LAYOUT))
    elif j.value("out/n") != 2:
        j.fail("cross-attention", f"{hints.DEC_WEIGHTS}; got {j.value('out/n')} output(s)")
    else:
        got, outputs_right = j.array("out/1"), close(j.array("out/0"), out, 1e-4, 1e-4)
        if got is not None and got.shape == (C.L_B, C.L_H, C.L_T, C.L_T):
            j.fail("cross-attention", f"{hints.DEC_SELF_WEIGHTS if outputs_right else hints.DEC_SELF_KEYS} (the weights "
                   f"have shape {got.shape}, expected {w.shape}: (B, H, T, S))")
        else:
            _diagnose(j, "cross-attention", "out/1", w, [], hints.DEC_WEIGHTS, rtol=1e-4, atol=1e-4)
    judge_causality(j, "causal", "causal", C.L_CAUSAL_T)
    _same(j, "padding", "padding/short", "padding/long", hints.DEC_PADDING, step="padding")
    _serialization(j, hints.LAYER_SERIALIZATION)
    _fit_changed(j, "trainable", "train", _key_bias)


# ---- the Transformer ---------------------------------------------------------------------------------------

def transformer(j, seed):
    if _missing(j, "construct", ("numerics", "causal", "padding", "attention weights", "symbolic", "serialization",
                                 "trainable", "mixed precision"), "`Transformer`"):
        return
    case = C.transformer_case(seed)
    src, tgt = case["src"], case["tgt"]
    real = tgt != C.PAD_ID  # (B, T): outputs at padded target positions are never used
    logits, weights = C.transformer_expected(case["params"], src, tgt)
    _diagnose(j, "numerics", "out", logits, [], hints.TR_NUMERICS, rtol=1e-4, atol=1e-4, layout=hints.TR_LAYOUT,
              where=real)
    err = j.error_for("weights")
    if err:
        j.fail("attention weights", _raised(err, hints.TR_LAYOUT))
    elif j.value("weights/n") != 2:
        j.fail("attention weights", f"{hints.TR_WEIGHTS}; got {j.value('weights/n')} output(s)")
    else:
        rows = np.broadcast_to(real[:, None, :, None], weights.shape)
        _diagnose(j, "attention weights", "weights/1", weights, [], hints.TR_WEIGHTS, rtol=1e-4, atol=1e-4, where=rows)
    err = j.error_for("causal")
    if err:
        j.fail("causal", _raised(err, hints.TR_LAYOUT))
    else:
        a, b = j.array("causal/original"), j.array("causal/changed")
        t = C.TR_CAUSAL_T
        ok = a is not None and b is not None and a.shape == b.shape and close(a[:, :t + 1], b[:, :t + 1], 1e-4, 1e-4)
        j.add("causal", ok, hints.TR_CAUSAL.format(t=t))
    err = j.error_for("padding")
    short, long_ = j.array("padding/short"), j.array("padding/long")
    j.add("padding", not err and short is not None and long_ is not None and short.shape == long_.shape
          and close(short[real], long_[real], 1e-4, 1e-4), _raised(err, hints.TR_LAYOUT) if err else hints.TR_PADDING)
    B, T = tgt.shape
    judge_symbolic(j, "symbolic", "symbolic", [[None, None, C.TR_TGT_V]], [[B, T, C.TR_TGT_V]],
                   "Transformer(...)([keras.Input((None,), dtype='int32'), keras.Input((None,), dtype='int32')])")
    err = j.error_for("roundtrip")
    j.add("serialization", not err and same_after_roundtrip(j, "roundtrip"),
          f"saving to .keras and loading failed: {err}" if err else hints.TR_SERIALIZATION)
    _fit_changed(j, "trainable", "train", _key_bias)
    for policy in ("mixed_float16", "mixed_bfloat16"):
        key = f"mixed/{policy}"
        err, got = j.error_for(key), j.array(key)
        ok = not err and got is not None and got.shape == (B, T, C.TR_TGT_V) and bool(np.all(np.isfinite(got)))
        j.add("mixed precision", ok, hints.TR_MIXED.format(policy=policy) + (f": {err}" if err else ""), share=0.5)


# ---- loss and accuracy -------------------------------------------------------------------------------------

def _counting_pad_loss(labels, logits):
    z = np.asarray(logits, np.float64)
    logp = z - z.max(-1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
    return float(-np.take_along_axis(logp, labels[..., None].astype(np.int64), -1).mean())


def loss(j, seed):
    case = C.loss_case(seed)
    labels, logits = case["labels"], np.asarray(case["logits"], np.float64)
    missing_loss = _missing(j, "construct/masked_loss", ("loss",), "`masked_loss`")
    missing_acc = _missing(j, "construct/masked_accuracy", ("accuracy",), "`masked_accuracy`")
    if not missing_loss:
        probs = np.exp(logits - logits.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        _diagnose(j, "loss", "masked_loss/plain", o.masked_loss(labels, logits),
                  [(_counting_pad_loss(labels, logits), hints.LOSS_COUNTS_PAD)], hints.LOSS)
    if not missing_acc:
        hits = np.argmax(logits, -1) == labels
        _diagnose(j, "accuracy", "masked_accuracy/plain", o.masked_accuracy(labels, logits),
                  [(float(hits.mean()), hints.ACCURACY_COUNTS_PAD)], hints.ACCURACY)
    # edge cases: all-[PAD] labels give 0.0 (not NaN), and float16 logits with int64 labels give the student's own
    # float32 value; a wrong formula is charged above, not again here
    for name, missing in (("masked_loss", missing_loss), ("masked_accuracy", missing_acc)):
        if missing:
            j.fail("edge cases", f"`{name}` could not be run", share=0.5)
            continue
        plain_ok = j.judged("loss" if name == "masked_loss" else "accuracy") and \
            close(j.array(f"{name}/plain"), o.masked_loss(labels, logits) if name == "masked_loss"
                  else o.masked_accuracy(labels, logits))
        err, pad = j.error_for(f"{name}/pad"), j.array(f"{name}/pad")
        finite = not err and pad is not None and pad.size == 1 and bool(np.isfinite(pad).all())
        ok_pad = finite and (abs(float(pad.ravel()[0])) < 1e-6 or not plain_ok)
        j.add("edge cases", ok_pad, f"{name}: {_raised(err) if err else hints.EDGE_PAD}", share=0.25)
        err, got, own = j.error_for(f"{name}/half"), j.array(f"{name}/half"), j.array(f"{name}/plain")
        ok_half = not err and got is not None and own is not None and got.size == 1 and own.size == 1 \
            and close(got.ravel()[0], own.ravel()[0], 1e-2, 1e-3)
        j.add("edge cases", ok_half, f"{name}: {_raised(err) if err else hints.EDGE_HALF}", share=0.25)


# ---- warm-up schedule --------------------------------------------------------------------------------------

def schedule(j, seed):
    if _missing(j, "construct", ("values", "peak", "optimizer", "serialization"), "`WarmupSchedule`"):
        return
    steps = np.asarray(C.SCHED_STEPS)
    share = 1.0 / len(C.SCHED_CASES)
    for i, (d, warmup) in enumerate(C.SCHED_CASES):
        want = o.warmup_lr(steps, d, warmup)
        late = np.array([np.inf if s == 0 else o.warmup_lr(s - 1, d, warmup) for s in steps])
        err, got = j.error_for(f"values/{i}"), j.array(f"values/{i}")
        if err:
            j.fail("values", _raised(err), share)
        elif got is not None and got.shape == want.shape and close(got[1:], late[1:], 1e-4, 1e-9):
            j.fail("values", f"{hints.SCHED_OFF_BY_ONE} (d_model={d}, warmup_steps={warmup})", share)
        else:
            j.add("values", close(got, want, 1e-4, 1e-9), f"{hints.SCHED_VALUES} (d_model={d}, warmup_steps={warmup}; "
                  f"{mismatch(got, want)})", share)
    d, warmup = C.SCHED_CASES[0]
    err, peak = j.error_for("peak"), j.array("peak")
    if err:
        j.fail("peak", _raised(err))
    else:
        top = int(np.nanargmax(np.where(np.isfinite(peak), peak, -np.inf))) if peak is not None and peak.size else None
        j.add("peak", top == warmup - 1, f"{hints.SCHED_PEAK}: with warmup_steps={warmup} it peaks at step {top}")
    err, lr = j.error_for("optimizer"), j.array("optimizer")
    want = o.warmup_lr(C.SCHED_OPT_STEPS, d, warmup)
    ok = not err and lr is not None and lr.size == 1 and close(lr.ravel()[0], want, 1e-4, 1e-9)
    late = lr is not None and lr.size == 1 and close(lr.ravel()[0], o.warmup_lr(C.SCHED_OPT_STEPS - 1, d, warmup), 1e-4, 1e-9)
    j.add("optimizer", ok, _raised(err) if err else f"{hints.SCHED_OPTIMIZER.format(n=C.SCHED_OPT_STEPS)}: "
          f"{float(lr.ravel()[0]) if lr is not None and lr.size else None}, expected {want:.6g}"
          + (f" ({hints.SCHED_OFF_BY_ONE})" if late else ""))
    err, own = j.error_for("config"), j.array("values/0")  # relative: a wrong formula is charged in 'values'
    ok = not err and own is not None and all(close(j.array(f"config/{k}"), own, 1e-4, 1e-9)
                                              for k in ("from_config", "serialize"))
    j.add("serialization", ok, f"{hints.SCHED_SERIALIZATION}: {err}" if err else hints.SCHED_SERIALIZATION)


# ---- the training run --------------------------------------------------------------------------------------

HELDOUT = heldout.Spec(seed=905_316_477, n=training.HELDOUT_N, max_words=training.TRAIN_MAX_WORDS,
                       path=training.HELDOUT_PATH)  # the training run's held-out questions; the seed is grader-only


def transformer_training(j, seed):
    data = training.corpus_arrays()
    judge_training_run(j, heldout.gold(HELDOUT), [2, data["train"][1].shape[1], data["tgt_vocab"]],
                       training.TRAIN_PASS_ACC, training.TRAIN_PARTIAL_ACC,  # read at call time (calibration)
                       hints.TRAIN_MODEL, hints.TRAIN_SLOW, hints.TRAIN_FAIL, model_steps=("construct", "model"))


# ---- the same code on the JAX backend ----------------------------------------------------------------------

PORTABLE = {"functions": ("positional_encoding", "masks", "attention", "loss", "schedule"),
            "layers": ("MultiHeadAttention", "FeedForward", "EncoderLayer", "DecoderLayer", "Transformer")}
TF, JAX = "tensorflow", "jax"


def _outputs(j, backend: str, part: str) -> dict:
    prefix = f"{backend}/{part}"
    return {k[len(prefix):]: j.array(k) for k in j.data
            if k == prefix or (k.startswith(prefix + "/") and not k.endswith("/n"))}


def _same_on_jax(j, part: str) -> tuple[str, str]:
    """('', '') when `part` gives the same outputs on TensorFlow and JAX, ('tf', error) when it raises on TensorFlow
    already, else ('jax', the message that says how it differs on JAX)."""
    err_tf, err_jax = j.error_for(f"{TF}/{part}", f"{TF}/probe"), j.error_for(f"{JAX}/{part}", f"{JAX}/probe")
    if err_tf:
        return "tf", err_tf
    if err_jax:
        return "jax", hints.JAX_RAISED.format(part=part, err=err_jax) + _variable_hint(err_jax)
    tf_out, jax_out = _outputs(j, TF, part), _outputs(j, JAX, part)
    if not tf_out or set(tf_out) != set(jax_out):
        return "jax", hints.JAX_NO_RUN.format(err=f"{part} returned other outputs ({sorted(jax_out)} vs {sorted(tf_out)})")
    for key, a in tf_out.items():
        b = jax_out[key]
        if a.shape != b.shape:
            return "jax", hints.JAX_SHAPE.format(part=part, jax=list(b.shape), tf=list(a.shape))
        both = np.isfinite(a) & np.isfinite(b)
        if not np.array_equal(np.isfinite(a), np.isfinite(b)) or not close(a[both], b[both], 1e-4, 1e-4):
            diff = float(np.max(np.abs(a[both] - b[both]), initial=np.inf))
            return "jax", hints.JAX_DIFFERS.format(part=part, diff=diff)
    return "", ""


def _variable_hint(err: str) -> str:
    return hints.JAX_VARIABLE if "__jax_array__" in err else ""


def _not_run(parts_errors: list[tuple[str, str]]) -> list[str]:
    """One message per TensorFlow error: 'a, b and c raise on TensorFlow too (error): ...'."""
    by_error: dict[str, list[str]] = {}
    for part, err in parts_errors:
        by_error.setdefault(err, []).append(part)
    out = []
    for err, parts in by_error.items():
        names = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        out.append(hints.JAX_NOT_RUN.format(part=names, verb="raises" if len(parts) == 1 else "raise", err=err))
    return out


def portability(j, seed):
    err = j.error_for(f"{JAX}/probe")
    if err:
        return j.fail_rest(hints.JAX_NO_RUN.format(err=err))
    for check, parts in PORTABLE.items():  # each part is an equal share of its sub-check
        found = {part: _same_on_jax(j, part) for part in parts}
        on_tf = [(part, m) for part, (kind, m) in found.items() if kind == "tf"]
        for part, (kind, message) in found.items():
            j.add(check, not kind, message if kind == "jax" else "", share=1 / len(parts))
        for message in _not_run(on_tf):
            j.add(check, False, message, share=0.0)
    _same_training_step(j)


def _same_training_step(j):
    """One SGD step from the same weights moves every weight the same way on both backends (a weight that gets no
    gradient stays put on both: the layer items charge that)."""
    err_tf, err_jax = j.error_for(f"{TF}/train"), j.error_for(f"{JAX}/train")
    if err_tf:
        return j.fail("training step", hints.JAX_NOT_RUN.format(part="a training step of your Transformer",
                                                                  verb="raises", err=err_tf))
    if err_jax:
        return j.fail("training step", hints.JAX_TRAIN.format(err=err_jax) + _variable_hint(err_jax))
    names, paths = j.value(f"{TF}/train/names") or [], j.value(f"{TF}/train/paths") or []
    if not names or names != j.value(f"{JAX}/train/names"):
        return j.fail("training step", hints.JAX_TRAIN.format(err="the model has other weights on JAX"))
    worst, where = 0.0, ""
    for n in names:
        arrays = [j.array(f"{b}/train/{when}/{n}") for b in (TF, JAX) for when in ("before", "after")]
        if any(a is None for a in arrays) or len({a.shape for a in arrays}) != 1:
            return j.fail("training step", hints.JAX_TRAIN.format(err=f"weight {n} is missing or has other shapes"))
        tf_before, tf_after, jax_before, jax_after = arrays
        diff = float(np.max(np.abs(tf_after - jax_after), initial=0.0))
        if not np.all(np.isfinite(jax_after)):
            diff = np.inf
        if diff > worst:
            worst, where = diff, paths[int(n)] if n.isdigit() and int(n) < len(paths) else n
    j.add("training step", worst <= 1e-3, hints.JAX_STEP_DIFFERS.format(diff=worst, where=where))
