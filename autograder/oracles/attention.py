"""Attention formulas in NumPy (float64): scores, masked softmax, weighted sums, the attention decoder.

Conventions (as the notebooks): query (B, T, d_q), values (B, S, d_v), scores (B, T, S); a mask is
(B, S) boolean, True = a real source token (attend), False = padding (weight exactly 0).
Written from the lecture formulas with einsum, independently of any solution; the kit's tests check
them against keras.layers.AdditiveAttention / keras.layers.Attention.
"""
from __future__ import annotations

import numpy as np

from autograder.oracles import numpy_rnn

NEG_INF = -1e9  # what the notebooks add at masked positions (exp(-1e9 - max) is exactly 0)


def _f64(*arrays):
    return [np.asarray(a, np.float64) for a in arrays]


def softmax(x, axis=-1):
    x = np.asarray(x, np.float64)
    z = np.exp(x - x.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)


def mask_scores(scores, mask):
    """Scores with NEG_INF at masked source positions; `mask` (B, S) True = keep, None = no mask."""
    scores = np.asarray(scores, np.float64)
    if mask is None:
        return scores
    keep = np.asarray(mask, bool)[:, None, :]  # (B, 1, S): the same source mask for every query step
    return np.where(keep, scores, NEG_INF)


def masked_softmax(scores, mask=None, axis=-1):
    """Attention weights: softmax over the source positions (axis -1) after masking.

    `axis` other than -1 gives what a softmax over another axis would give (used to judge a student's
    masking relative to the axis the student's softmax runs over)."""
    return softmax(mask_scores(scores, mask), axis=axis)


def weighted_sum(weights, values):
    """Context vectors: sum_j weights[b, t, j] * values[b, j, :]."""
    weights, values = _f64(weights, values)
    return np.einsum("bts,bsd->btd", weights, values)


def attend(scores, values, mask=None):
    """(context (B, T, d_v), weights (B, T, S)) from raw scores."""
    weights = masked_softmax(scores, mask)
    return weighted_sum(weights, values), weights


# ---- scores --------------------------------------------------------------------------------------

def dot_score(query, values):
    query, values = _f64(query, values)
    return np.einsum("btd,bsd->bts", query, values)


def scaled_dot_score(query, values):
    return dot_score(query, values) / np.sqrt(np.asarray(query).shape[-1])


def general_score(query, values, W):
    """s^T W h with W (d_q, d_v)."""
    query, values, W = _f64(query, values, W)
    return np.einsum("btq,qv,bsv->bts", query, W, values)


def additive_score(query, values, W_query, W_values, v):
    """v^T tanh(W_query^T s_t + W_values^T h_j): Bahdanau's score, and Luong's concat score."""
    query, values, W_query, W_values, v = _f64(query, values, W_query, W_values, v)
    q = np.einsum("btq,qu->btu", query, W_query)
    k = np.einsum("bsv,vu->bsu", values, W_values)
    return np.einsum("btsu,u->bts", np.tanh(q[:, :, None, :] + k[:, None, :, :]), v)


def bahdanau_score(query, values, W1, W2, v):
    return additive_score(query, values, W1, W2, v)


def concat_score(query, values, W, v):
    """v^T tanh(W^T [s_t; h_j]) with W (d_q + d_v, units): the first d_q rows act on the query."""
    d_q = np.asarray(query).shape[-1]
    W = np.asarray(W, np.float64)
    return additive_score(query, values, W[:d_q], W[d_q:], v)


def location_score(query, W, source_len):
    """(W^T s_t)_j for j < source_len: depends on the query and the position j only; W (d_q, max_len)."""
    query, W = _f64(query, W)
    return np.einsum("btq,qm->btm", query, W)[:, :, :source_len]


def luong_score(name, query, values, weights=None, source_len=None):
    """One of the five Luong scores by name; `weights` is {"W": ..., "v": ...} as the score needs."""
    weights = weights or {}
    if name == "dot":
        return dot_score(query, values)
    if name == "scaled_dot":
        return scaled_dot_score(query, values)
    if name == "general":
        return general_score(query, values, weights["W"])
    if name == "concat":
        return concat_score(query, values, weights["W"], weights["v"])
    if name == "location":
        return location_score(query, weights["W"], np.asarray(values).shape[1] if source_len is None else source_len)
    raise ValueError(f"unknown score {name!r}")


# ---- the attention decoder (Luong style, no input feeding) -------------------------------------------

def attention_decoder(target_in, enc_outputs, initial_state, source_mask, weights, order="cs"):
    """Teacher-forced logits of the attention decoder, with dot attention.

      s_t = LSTM(embedding[y_{t-1}], state)   c_t, a_t = dot attention(s_t, enc_outputs, mask)
      logits_t = out(tanh(W_c [c_t; s_t]))      (order="sc": [s_t; c_t], to recognise that mistake)

    `weights`: {"embedding": (V, E), "lstm": [kernel, recurrent_kernel, bias], "W_c": (d_enc + U, U),
    "out": [kernel (U, V), bias (V,)]}. Returns (logits, attention weights, h, c).
    """
    target_in = np.asarray(target_in)
    x = np.asarray(weights["embedding"], np.float64)[target_in]
    s, (h, c) = numpy_rnn.masked_scan("lstm", x, weights["lstm"], mask=target_in != 0,
                                      initial_states=list(initial_state))
    context, attn = attend(dot_score(s, enc_outputs), enc_outputs, source_mask)
    joined = np.concatenate([context, s] if order == "cs" else [s, context], axis=-1)
    attentional = np.tanh(joined @ np.asarray(weights["W_c"], np.float64))
    kernel, bias = _f64(*weights["out"])
    return attentional @ kernel + bias, attn, h, c
