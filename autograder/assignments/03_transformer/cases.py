"""Grader-chosen inputs and weights of 03_transformer: pure NumPy functions of a seed.

Both halves of a check use them: the probe feeds them to the student's code, the judge feeds the same ones to
the oracles (autograder/oracles/transformer.py). Sizes are small and deliberately unequal (query and key
lengths, model and key widths, odd depths) so that a transposed axis or a swapped argument cannot pass by
coincidence. Masks follow the kit's convention: boolean, True = attend / keep.
"""
from __future__ import annotations

import numpy as np

# the oracles are imported by the judge-only functions (the worker, which runs the probes, may not load them)
PAD_ID, START_ID, END_ID = 0, 2, 3


def _rng(seed, salt=0):
    return np.random.default_rng([int(seed), salt])


def _f32(rng, shape, scale=1.0):
    return rng.normal(0.0, scale, shape).astype(np.float32)


def tokens(rng, shape, vocab, lengths=None, first=None):
    """Random real token ids (never [PAD]) right-padded with [PAD] after each row's length; `first` (e.g.
    [START]) goes in column 0."""
    out = rng.integers(4, vocab, shape).astype(np.int32)
    if first is not None:
        out[:, 0] = first
    if lengths is not None:
        out[np.arange(shape[1])[None, :] >= np.asarray(lengths)[:, None]] = PAD_ID
    return out


MHA_KEYS = ("query_kernel", "query_bias", "key_kernel", "key_bias", "value_kernel", "value_bias", "output_kernel",
            "output_bias")


def mha_params(rng, d, H, dh, d_k=None, d_v=None):
    """Random MHA weights in keras.layers.MultiHeadAttention's layout (float64)."""
    d_k, d_v = d if d_k is None else d_k, d if d_v is None else d_v
    shapes = {"query_kernel": (d, H, dh), "query_bias": (H, dh), "key_kernel": (d_k, H, dh), "key_bias": (H, dh),
              "value_kernel": (d_v, H, dh), "value_bias": (H, dh), "output_kernel": (H, dh, d), "output_bias": (d,)}
    fan_in = {"query_kernel": d, "key_kernel": d_k, "value_kernel": d_v, "output_kernel": H * dh}
    return {n: rng.normal(0.0, 1.0 / np.sqrt(fan_in[n]) if n in fan_in else 0.3, shapes[n]) for n in MHA_KEYS}


def ln_params(rng, d):
    return {"gamma": 1.0 + rng.normal(0.0, 0.2, d), "beta": rng.normal(0.0, 0.2, d)}


def ffn_params(rng, d, d_ff):
    return {"W1": rng.normal(0.0, 1.0 / np.sqrt(d), (d, d_ff)), "b1": rng.normal(0.0, 0.2, d_ff),
            "W2": rng.normal(0.0, 1.0 / np.sqrt(d_ff), (d_ff, d)), "b2": rng.normal(0.0, 0.2, d)}


def encoder_params(rng, d, H, d_ff):
    return {"mha": mha_params(rng, d, H, d // H), "ln1": ln_params(rng, d), "ffn": ffn_params(rng, d, d_ff),
            "ln2": ln_params(rng, d)}


def decoder_params(rng, d, H, d_ff):
    return {"self_mha": mha_params(rng, d, H, d // H), "ln1": ln_params(rng, d),
            "cross_mha": mha_params(rng, d, H, d // H), "ln2": ln_params(rng, d), "ffn": ffn_params(rng, d, d_ff),
            "ln3": ln_params(rng, d)}


def f32_params(params):
    """Nested oracle params as float32 (what the student's layers hold)."""
    if isinstance(params, dict):
        return {k: f32_params(v) for k, v in params.items()}
    if isinstance(params, list):
        return [f32_params(v) for v in params]
    return np.asarray(params, np.float32)


# ---- positional encoding ---------------------------------------------------------------------------------
PE_CASES = ((9, 12), (6, 7))  # (length, depth): even depth, then odd depth (the last column is a sine)
PE_V, PE_D, PE_MAX = 17, 10, 64
PE_LENGTHS = (6, 4, 2)


def pe_case(seed):
    rng = _rng(seed, 1)
    toks = tokens(rng, (len(PE_LENGTHS), max(PE_LENGTHS)), PE_V, PE_LENGTHS)
    return {"tokens": toks, "embedding": _f32(rng, (PE_V, PE_D), 0.5)}


def pe_embedding_expected(case):
    """embedding(tokens) * sqrt(d) + PE[:T] (float64). Judge only."""
    from autograder.oracles import transformer as o

    toks = case["tokens"]
    emb = np.asarray(case["embedding"], np.float64)[toks]
    return emb * np.sqrt(PE_D) + o.positional_encoding(toks.shape[1], PE_D)[None]


# ---- masks -----------------------------------------------------------------------------------------------
MASK_LENGTHS = (5, 2, 7, 1)
MASK_S = 7
MASK_T = (6, 1)


def mask_tokens(seed):
    return tokens(_rng(seed, 2), (len(MASK_LENGTHS), MASK_S), 30, MASK_LENGTHS)


# ---- scaled dot-product attention ------------------------------------------------------------------------
AT_B, AT_TQ, AT_TK, AT_DK, AT_DV = 2, 4, 6, 8, 5
AT_H = 3
AT_KEY_LENGTHS = (6, 3)


def attention_case(seed):
    rng = _rng(seed, 3)
    q, k, v = _f32(rng, (AT_B, AT_TQ, AT_DK)), _f32(rng, (AT_B, AT_TK, AT_DK)), _f32(rng, (AT_B, AT_TK, AT_DV))
    pad = np.arange(AT_TK)[None, :] < np.asarray(AT_KEY_LENGTHS)[:, None]  # (B, Tk)
    causal = np.tril(np.ones((AT_TQ, AT_TK), bool), k=AT_TK - AT_TQ)      # query i sees keys <= i + Tk - Tq
    mask = pad[:, None, :] & causal[None]                                 # (B, Tq, Tk)
    heads = {"q": _f32(rng, (AT_B, AT_H, AT_TQ, AT_DK)), "k": _f32(rng, (AT_B, AT_H, AT_TK, AT_DK)),
             "v": _f32(rng, (AT_B, AT_H, AT_TK, AT_DV))}
    heads_mask = pad[:, None, None, :]                                     # (B, 1, 1, Tk)
    # float16: scores large enough that a -1e9 fill (-inf in float16) or a float32 constant shows
    half = {n: _f32(rng, s, 1.5).astype(np.float16) for n, s in
            (("q", (AT_B, AT_TQ, AT_DK)), ("k", (AT_B, AT_TK, AT_DK)), ("v", (AT_B, AT_TK, AT_DV)))}
    return {"q": q, "k": k, "v": v, "mask": mask, "pad": pad, "heads": heads, "heads_mask": heads_mask,
            "half": half}


# ---- multi-head attention --------------------------------------------------------------------------------
MHA_B, MHA_D, MHA_H, MHA_DH = 2, 12, 3, 5    # key_dim 5 != d_model / num_heads: the layout shows
MHA_T, MHA_S, MHA_DK, MHA_DV = 5, 7, 9, 6    # cross-attention: key width 9, value width 6, 7 positions
MHA_LENGTHS = (7, 4)                          # source lengths (cross mask)
MHA_T_LENGTHS = (5, 3)                        # target lengths (self mask)
MHA_HEADS_CALLS = (2, 4)                      # the op count of one call must not grow with the heads


def mha_case(seed):
    rng = _rng(seed, 4)
    x = _f32(rng, (MHA_B, MHA_T, MHA_D))
    value, key = _f32(rng, (MHA_B, MHA_S, MHA_DV)), _f32(rng, (MHA_B, MHA_S, MHA_DK))
    self_params = mha_params(rng, MHA_D, MHA_H, MHA_DH)
    cross_params = mha_params(rng, MHA_D, MHA_H, MHA_DH, d_k=MHA_DK, d_v=MHA_DV)
    t_pad = np.arange(MHA_T)[None, :] < np.asarray(MHA_T_LENGTHS)[:, None]
    self_mask = np.tril(np.ones((MHA_T, MHA_T), bool))[None] & t_pad[:, None, :]    # (B, T, T)
    cross_mask = (np.arange(MHA_S)[None, :] < np.asarray(MHA_LENGTHS)[:, None])[:, None, :]  # (B, 1, S)
    return {"x": x, "value": value, "key": key, "self": f32_params(self_params), "cross": f32_params(cross_params),
            "self_mask": self_mask, "cross_mask": cross_mask, "target": _f32(rng, (MHA_B, MHA_T, MHA_D))}


# ---- feed-forward ----------------------------------------------------------------------------------------
FF_B, FF_T, FF_D, FF_DFF = 2, 4, 6, 10
FF_DROPOUT = 0.5


def ffn_case(seed):
    rng = _rng(seed, 5)
    return {"x": _f32(rng, (FF_B, FF_T, FF_D)), "ffn": f32_params(ffn_params(rng, FF_D, FF_DFF)),
            "target": _f32(rng, (FF_B, FF_T, FF_D))}


# ---- encoder and decoder layers --------------------------------------------------------------------------
L_B, L_D, L_H, L_DFF = 3, 8, 2, 16
L_S, L_T = 6, 5
L_LENGTHS = (6, 4, 2)     # source lengths
L_T_LENGTHS = (5, 3, 4)   # target lengths
L_EXTRA = 3               # [PAD] positions appended in the padding-invariance runs
L_CAUSAL_T = 1            # causality: change the inputs after this step
L_DROPOUT = 0.3


def layer_case(seed):
    rng = _rng(seed, 6)
    pad = np.arange(L_S)[None, :] < np.asarray(L_LENGTHS)[:, None]            # (B, S)
    t_pad = np.arange(L_T)[None, :] < np.asarray(L_T_LENGTHS)[:, None]        # (B, T)
    return {"x": _f32(rng, (L_B, L_S, L_D)), "y": _f32(rng, (L_B, L_T, L_D)), "pad": pad, "t_pad": t_pad,
            "enc_mask": pad[:, None, :],                                        # (B, 1, S)
            "self_mask": np.tril(np.ones((L_T, L_T), bool))[None] & t_pad[:, None, :],  # (B, T, T)
            "encoder": f32_params(encoder_params(rng, L_D, L_H, L_DFF)),
            "decoder": f32_params(decoder_params(rng, L_D, L_H, L_DFF)),
            "target_enc": _f32(rng, (L_B, L_S, L_D)), "target_dec": _f32(rng, (L_B, L_T, L_D))}


# ---- the Transformer -------------------------------------------------------------------------------------
TR_LAYERS, TR_D, TR_H, TR_DFF = 2, 8, 2, 16
TR_SRC_V, TR_TGT_V = 19, 23
TR_SRC_LENGTHS = (6, 3, 5)
TR_TGT_LENGTHS = (5, 5, 2)
TR_S, TR_T = 6, 5
TR_EXTRA = 3
TR_CAUSAL_T = 1


def transformer_case(seed):
    rng = _rng(seed, 7)
    src = tokens(rng, (len(TR_SRC_LENGTHS), TR_S), TR_SRC_V, TR_SRC_LENGTHS)
    tgt = tokens(rng, (len(TR_TGT_LENGTHS), TR_T), TR_TGT_V, TR_TGT_LENGTHS, first=START_ID)
    params = {
        "src_embedding": rng.normal(0, 0.3, (TR_SRC_V, TR_D)),
        "tgt_embedding": rng.normal(0, 0.3, (TR_TGT_V, TR_D)),
        "encoder": [encoder_params(rng, TR_D, TR_H, TR_DFF) for _ in range(TR_LAYERS)],
        "decoder": [decoder_params(rng, TR_D, TR_H, TR_DFF) for _ in range(TR_LAYERS)],
        "final": {"kernel": rng.normal(0, 1 / np.sqrt(TR_D), (TR_D, TR_TGT_V)), "bias": rng.normal(0, 0.1, TR_TGT_V)},
    }
    labels = np.concatenate([tgt[:, 1:], np.zeros((tgt.shape[0], 1), np.int32)], axis=1)
    return {"src": src, "tgt": tgt, "params": f32_params(params), "labels": labels}


def transformer_expected(params, src, tgt):
    """(logits (B, T, V), last decoder layer's cross-attention weights (B, H, T, S)): the NumPy composition of
    the oracles (post-norm layers, dropout off), float64. Judge only."""
    from autograder.oracles import transformer as o

    return o.transformer_logits(params, src, tgt)


# ---- loss and accuracy -----------------------------------------------------------------------------------
LOSS_B, LOSS_T, LOSS_V = 3, 6, 7
LOSS_LENGTHS = (6, 2, 4)


def loss_case(seed):
    rng = _rng(seed, 8)
    labels = tokens(rng, (LOSS_B, LOSS_T), LOSS_V, LOSS_LENGTHS)
    labels[:, 0] = rng.integers(1, LOSS_V, LOSS_B)
    logits = _f32(rng, (LOSS_B, LOSS_T, LOSS_V), 2.0)
    # the padded positions get confident, right-for-[PAD] logits: counting them moves both numbers far
    logits[labels == PAD_ID, PAD_ID] += 8.0
    return {"labels": labels, "logits": logits}


# ---- warm-up schedule ------------------------------------------------------------------------------------
SCHED_CASES = ((64, 50), (128, 4000))      # (d_model, warmup_steps)
SCHED_STEPS = (0, 1, 2, 10, 48, 49, 50, 51, 200, 3998, 3999, 4000, 10000)
SCHED_OPT_STEPS = 3                         # Adam updates before the learning rate is read
