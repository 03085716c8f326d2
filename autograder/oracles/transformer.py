"""Transformer formulas in NumPy (float64): positional encoding, masks, attention, the encoder and decoder
layers, the masked loss and accuracy, the warm-up learning rate. The oracles of 03_transformer.

Conventions (as the notebooks and docs/DESIGN):
- Masks are boolean, True = attend / keep. padding_mask (B, 1, S): True at real tokens; look_ahead_mask
  (1, T, T): True where key position <= query position; combine_masks = logical_and with broadcasting.
  Masked scores are set to NEG_INF = -1e9 before the softmax, so a masked weight is exactly 0.0 -- unless
  a whole query row is masked: then every score is -1e9 and the row is uniform (1 / Tk). Keras's own
  masked softmax zeroes such a row instead; graders keep at least one real key per row (no all-PAD
  sequence), where the two agree.
- scaled_dot_product_attention: q (..., Tq, dk), k (..., Tk, dk), v (..., Tk, dv); the mask broadcasts
  against the scores (..., Tq, Tk) by plain NumPy rules (right-aligned).
- multi_head_attention: keras.layers.MultiHeadAttention's weight layout (see MHA_KEYS) and its mask
  handling: a 3-D mask (B or 1, Tq or 1, Tk) gets a head axis inserted at axis 1 -> (B, 1, Tq, Tk), the
  same for every head; a 4-D mask (B or 1, H or 1, Tq, Tk) is used as it is. Weights come back
  (B, H, Tq, Tk), as return_attention_scores=True gives them.
- Encoder and decoder layers are POST-NORM: LayerNorm(x + Sublayer(x)); dropout is off.
  Parameters are nested dicts:
    encoder: {"mha": MHA params, "ln1": LN, "ffn": FFN, "ln2": LN}
    decoder: {"self_mha": MHA params, "ln1": LN, "cross_mha": MHA params, "ln2": LN, "ffn": FFN, "ln3": LN}
    LN = {"gamma": (d,), "beta": (d,)};  FFN = {"W1": (d, d_ff), "b1": (d_ff,), "W2": (d_ff, d), "b2": (d,)}
- layer_norm's epsilon defaults to 1e-3, keras.layers.LayerNormalization's default (not 1e-5/1e-6).
- warmup_lr(step): `step` is the optimizer's 0-based iteration count (what Keras passes a
  LearningRateSchedule: optimizer.iterations, 0 at the first update); the formula is evaluated at
  s = step + 1, so step 0 is allowed and the peak is at step = warmup - 1 (s = warmup).

Written from the formulas of "Attention Is All You Need" with einsum, independently of any solution; the
kit's tests (tests/test_oracles_03.py) check them against Keras built-ins.
"""
from __future__ import annotations

import numpy as np

from autograder.oracles.attention import NEG_INF, _f64, softmax

MHA_KEYS = ("query_kernel", "query_bias", "key_kernel", "key_bias",
            "value_kernel", "value_bias", "output_kernel", "output_bias")
"""MHA params, as keras.layers.MultiHeadAttention holds them: query_kernel (d_q, H, dh), query_bias (H, dh),
key_kernel (d_k, H, dh), key_bias (H, dh), value_kernel (d_v, H, dv), value_bias (H, dv),
output_kernel (H, dv, d_out), output_bias (d_out,)."""

_SUBLAYERS = (("query", "query_dense"), ("key", "key_dense"), ("value", "value_dense"), ("output", "output_dense"))


# ---- positional encoding -------------------------------------------------------------------------

def positional_encoding(length, depth):
    """The sinusoid table (length, depth), INTERLEAVED (column j uses the frequency of its pair j // 2):

      PE[pos, 2i]   = sin(pos / 10000^(2i / depth))
      PE[pos, 2i+1] = cos(pos / 10000^(2i / depth))

    Odd depth: the same formula column by column, with the true `depth` in the exponent; the last
    column (index depth - 1, even) is a sin without its cos partner.
    """
    pos = np.arange(length, dtype=np.float64)[:, None]  # (L, 1)
    j = np.arange(depth)
    rates = 1.0 / np.power(10000.0, (2 * (j // 2)) / np.float64(depth))  # (depth,)
    angles = pos * rates[None, :]  # (L, depth)
    return np.where(j % 2 == 0, np.sin(angles), np.cos(angles))


# ---- masks ---------------------------------------------------------------------------------------

def padding_mask(tokens, pad_id=0):
    """(B, 1, S) bool: True at real tokens (attend), False at PAD."""
    return (np.asarray(tokens) != pad_id)[:, None, :]


def look_ahead_mask(T):
    """(1, T, T) bool: True where key position <= query position (the lower triangle with the diagonal)."""
    return np.tril(np.ones((T, T), bool))[None]


def combine_masks(a, b):
    """logical_and with broadcasting: (B, 1, T) with (1, T, T) gives (B, T, T). None stands for "no mask"."""
    if a is None or b is None:
        return b if a is None else a
    return np.logical_and(np.asarray(a, bool), np.asarray(b, bool))


# ---- attention -----------------------------------------------------------------------------------

def scaled_dot_product_attention(q, k, v, mask=None):
    """(outputs (..., Tq, dv), weights (..., Tq, Tk)) with scores = q k^T / sqrt(dk).

    Masked scores (mask False) become NEG_INF before the softmax over the key axis (-1). The mask
    broadcasts against the scores (..., Tq, Tk) by NumPy's rules; a (B, 1, S) mask used with per-head
    (B, H, Tq, dk) inputs needs its head axis first (multi_head_attention inserts it).
    """
    q, k, v = _f64(q, k, v)
    scores = np.einsum("...qd,...kd->...qk", q, k) / np.sqrt(q.shape[-1])
    if mask is not None:
        keep = np.broadcast_to(np.asarray(mask, bool), scores.shape)  # refuses a mask that does not fit
        scores = np.where(keep, scores, NEG_INF)
    weights = softmax(scores, axis=-1)
    return np.einsum("...qk,...kv->...qv", weights, v), weights


def heads_mask(mask):
    """A kit mask made ready for (B, H, Tq, Tk) scores: 3-D (B|1, Tq|1, Tk) -> (B|1, 1, Tq|1, Tk); 4-D as it is."""
    if mask is None:
        return None
    mask = np.asarray(mask, bool)
    if mask.ndim == 3:
        return mask[:, None, :, :]  # (B, 1, Tq, Tk): one mask shared by every head
    if mask.ndim == 4:
        return mask
    raise ValueError(f"a multi-head mask is (B, Tq, Tk) or (B, H, Tq, Tk), got shape {mask.shape}")


def multi_head_attention(params, query, value, key=None, mask=None):
    """keras.layers.MultiHeadAttention (no dropout): (outputs (B, Tq, d_out), weights (B, H, Tq, Tk)).

    query (B, Tq, d_q), value (B, Tk, d_v), key (B, Tk, d_k) (default: value); params as MHA_KEYS; mask as
    heads_mask takes it (a (B, 1, Tk) padding mask, a (1, Tq, Tq) look-ahead mask, their combination).
    """
    key = value if key is None else key
    query, value, key = _f64(query, value, key)
    p = {name: np.asarray(params[name], np.float64) for name in MHA_KEYS}
    Q = np.einsum("btd,dhk->bhtk", query, p["query_kernel"]) + p["query_bias"][None, :, None, :]  # (B, H, Tq, dh)
    K = np.einsum("bsd,dhk->bhsk", key, p["key_kernel"]) + p["key_bias"][None, :, None, :]  # (B, H, Tk, dh)
    V = np.einsum("bsd,dhk->bhsk", value, p["value_kernel"]) + p["value_bias"][None, :, None, :]  # (B, H, Tk, dv)
    heads, weights = scaled_dot_product_attention(Q, K, V, heads_mask(mask))  # (B, H, Tq, dv)
    outputs = np.einsum("bhtk,hkd->btd", heads, p["output_kernel"]) + p["output_bias"]  # (B, Tq, d_out)
    return outputs, weights


def mha_params_random(rng, d, H, dh, d_kv=None, scale=None):
    """Random MHA params (biases included) for queries of width d and keys/values of width d_kv (default d)."""
    d_kv = d if d_kv is None else d_kv
    scale = 1.0 / np.sqrt(d) if scale is None else scale
    shapes = {"query_kernel": (d, H, dh), "query_bias": (H, dh), "key_kernel": (d_kv, H, dh), "key_bias": (H, dh),
              "value_kernel": (d_kv, H, dh), "value_bias": (H, dh), "output_kernel": (H, dh, d), "output_bias": (d,)}
    return {name: rng.normal(0.0, scale, shapes[name]) for name in MHA_KEYS}


def _sublayer(layer, attr):
    found = getattr(layer, attr, None)  # public properties in Keras 3; the private names before them
    return found if found is not None else getattr(layer, "_" + attr)


def mha_params_from_keras(layer):
    """The eight arrays (MHA_KEYS, float64) of a built keras.layers.MultiHeadAttention (use_bias=True).

    Reads the layer's public query_dense / key_dense / value_dense / output_dense sublayers (Keras 3),
    falling back to the private _query_dense ... of older versions; needs no keras import.
    """
    def read(variable):  # Variable.numpy(): keras.ops.convert_to_numpy warns under TF + NumPy 2
        return np.array(variable.numpy(), np.float64)

    params = {}
    for prefix, attr in _SUBLAYERS:
        dense = _sublayer(layer, attr)
        params[f"{prefix}_kernel"] = read(dense.kernel)
        params[f"{prefix}_bias"] = read(dense.bias)
    return params


def mha_params_to_keras(layer, params):
    """Assign MHA params to a built keras.layers.MultiHeadAttention (shapes must match its own)."""
    for prefix, attr in _SUBLAYERS:
        dense = _sublayer(layer, attr)
        for name, variable in (("kernel", dense.kernel), ("bias", dense.bias)):
            value = np.asarray(params[f"{prefix}_{name}"])
            if tuple(value.shape) != tuple(variable.shape):
                raise ValueError(f"{prefix}_{name}: shape {value.shape}, the layer has {tuple(variable.shape)}")
            variable.assign(value.astype(variable.dtype))
    return layer


# ---- layer norm, feed-forward, the layers ----------------------------------------------------------

def layer_norm(x, gamma, beta, eps=1e-3):
    """(x - mean) / sqrt(var + eps) * gamma + beta over the last axis (biased variance), as
    keras.layers.LayerNormalization, whose default epsilon is 1e-3."""
    x, gamma, beta = _f64(x, gamma, beta)
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def feed_forward(x, W1, b1, W2, b2):
    """relu(x W1 + b1) W2 + b2, position by position."""
    x, W1, b1, W2, b2 = _f64(x, W1, b1, W2, b2)
    return np.maximum(x @ W1 + b1, 0.0) @ W2 + b2


def _ln(x, p, eps):
    return layer_norm(x, p["gamma"], p["beta"], eps)


def _ffn(x, p):
    return feed_forward(x, p["W1"], p["b1"], p["W2"], p["b2"])


def encoder_layer(params, x, mask=None, eps=1e-3, return_weights=False):
    """Post-norm encoder layer: h = LN1(x + MHA(x, x, mask)); out = LN2(h + FFN(h)).

    x (B, S, d); mask (B, 1, S) padding mask (or anything heads_mask takes). Returns out (B, S, d), and
    the self-attention weights (B, H, S, S) too when return_weights.
    """
    attn, weights = multi_head_attention(params["mha"], x, x, mask=mask)
    h = _ln(np.asarray(x, np.float64) + attn, params["ln1"], eps)
    out = _ln(h + _ffn(h, params["ffn"]), params["ln2"], eps)
    return (out, weights) if return_weights else out


def decoder_layer(params, x, enc_out, self_mask=None, cross_mask=None, eps=1e-3):
    """Post-norm decoder layer; returns (out (B, T, d), cross-attention weights (B, H, T, S)).

      h1 = LN1(x + MHA_self(x, x, self_mask))              self_mask: (B, T, T) look-ahead AND target padding
      h2 = LN2(h1 + MHA_cross(h1, enc_out, cross_mask))     queries from the decoder, keys/values from enc_out;
                                                            cross_mask: (B, 1, S) source padding
      out = LN3(h2 + FFN(h2))
    """
    a1, _ = multi_head_attention(params["self_mha"], x, x, mask=self_mask)
    h1 = _ln(np.asarray(x, np.float64) + a1, params["ln1"], eps)
    a2, cross_weights = multi_head_attention(params["cross_mha"], h1, enc_out, mask=cross_mask)
    h2 = _ln(h1 + a2, params["ln2"], eps)
    out = _ln(h2 + _ffn(h2, params["ffn"]), params["ln3"], eps)
    return out, cross_weights


def ln_params_random(rng, d):
    return {"gamma": 1.0 + rng.normal(0.0, 0.2, d), "beta": rng.normal(0.0, 0.2, d)}


def ffn_params_random(rng, d, d_ff):
    return {"W1": rng.normal(0.0, 1.0 / np.sqrt(d), (d, d_ff)), "b1": rng.normal(0.0, 0.2, d_ff),
            "W2": rng.normal(0.0, 1.0 / np.sqrt(d_ff), (d_ff, d)), "b2": rng.normal(0.0, 0.2, d)}


def encoder_params_random(rng, d, H, dh, d_ff):
    return {"mha": mha_params_random(rng, d, H, dh), "ln1": ln_params_random(rng, d),
            "ffn": ffn_params_random(rng, d, d_ff), "ln2": ln_params_random(rng, d)}


def decoder_params_random(rng, d, H, dh, d_ff, d_enc=None):
    return {"self_mha": mha_params_random(rng, d, H, dh), "ln1": ln_params_random(rng, d),
            "cross_mha": mha_params_random(rng, d, H, dh, d_kv=d_enc), "ln2": ln_params_random(rng, d),
            "ffn": ffn_params_random(rng, d, d_ff), "ln3": ln_params_random(rng, d)}


# ---- the whole model, and greedy decoding ----------------------------------------------------------

def transformer_logits(params, src, tgt, eps=1e-3, encoded=None):
    """The post-norm encoder-decoder Transformer (dropout off): (logits (B, T, V), the last decoder layer's
    cross-attention weights (B, H, T, S)), float64.

    params: {"src_embedding": (V_src, d), "tgt_embedding": (V_tgt, d), "encoder": [encoder params],
    "decoder": [decoder params], "final": {"kernel": (d, V_tgt), "bias": (V_tgt,)}}; src (B, S) and tgt (B, T)
    int token ids, [PAD] = 0. Embeddings are scaled by sqrt(d) before the sinusoidal positional encoding is
    added; the encoder and the cross-attention use the source padding mask (B, 1, S), the decoder's
    self-attention the look-ahead mask AND the target padding mask (B, T, T). `encoded` (the encoder's output
    for src, from `transformer_encode`) skips the encoder.
    """
    src, tgt = np.asarray(src), np.asarray(tgt)
    src_mask = padding_mask(src)                                              # (B, 1, S)
    x = transformer_encode(params, src, eps) if encoded is None else encoded  # (B, S, d)
    self_mask = combine_masks(look_ahead_mask(tgt.shape[1]), padding_mask(tgt))  # (B, T, T)
    y, weights = _embed(params["tgt_embedding"], tgt), None
    for p in params["decoder"]:
        y, weights = decoder_layer(p, y, x, self_mask=self_mask, cross_mask=src_mask, eps=eps)
    final = params["final"]
    return y @ np.asarray(final["kernel"], np.float64) + np.asarray(final["bias"], np.float64), weights


def _embed(table, tokens):
    table = np.asarray(table, np.float64)
    d = table.shape[1]
    return table[tokens] * np.sqrt(d) + positional_encoding(tokens.shape[1], d)[None]  # (B, T, d)


def transformer_encode(params, src, eps=1e-3):
    """The encoder's output (B, S, d) for source ids src (B, S)."""
    src = np.asarray(src)
    x, mask = _embed(params["src_embedding"], src), padding_mask(src)
    for p in params["encoder"]:
        x = encoder_layer(p, x, mask=mask, eps=eps)
    return x


def greedy_decode(params, src, max_len, start_id=2, end_id=3, pad_id=0, eps=1e-3):
    """Greedy decoding of the whole batch: (B, <= max_len) int32 ids after [START], each row up to and
    including its first [END], then [PAD].

    Incremental: in a causal decoder a position's outputs never change once computed, so each step runs only
    the new position through every layer, attending to the inputs that layer saw at all earlier positions
    (kept per layer). The logits equal transformer_logits' at the last position of the whole prefix (tested).
    """
    src = np.asarray(src)
    enc_out, src_mask = transformer_encode(params, src, eps), padding_mask(src)    # (B, S, d), (B, 1, S)
    table = np.asarray(params["tgt_embedding"], np.float64)
    d = table.shape[1]
    pe = positional_encoding(max_len, d)                                          # (max_len, d)
    seen = [np.zeros((src.shape[0], 0, d)) for _ in params["decoder"]]            # each layer's inputs so far
    tokens = np.full(src.shape[0], start_id, np.int32)
    out = np.zeros((src.shape[0], 0), np.int32)
    done = np.zeros(src.shape[0], bool)
    final = params["final"]
    for t in range(max_len):
        x = table[tokens][:, None, :] * np.sqrt(d) + pe[t]                        # (B, 1, d)
        for i, p in enumerate(params["decoder"]):
            seen[i] = np.concatenate([seen[i], x], axis=1)                        # (B, t + 1, d)
            a1, _ = multi_head_attention(p["self_mha"], x, seen[i])               # every earlier position: no mask
            h1 = _ln(x + a1, p["ln1"], eps)
            a2, _ = multi_head_attention(p["cross_mha"], h1, enc_out, mask=src_mask)
            h2 = _ln(h1 + a2, p["ln2"], eps)
            x = _ln(h2 + _ffn(h2, p["ffn"]), p["ln3"], eps)
        logits = x[:, 0] @ np.asarray(final["kernel"], np.float64) + np.asarray(final["bias"], np.float64)
        nxt = logits.argmax(-1).astype(np.int32)
        nxt[done] = pad_id
        out = np.concatenate([out, nxt[:, None]], axis=1)
        done |= nxt == end_id
        tokens = nxt
        if done.all():
            break
    return out


# ---- loss, accuracy, learning rate -----------------------------------------------------------------

def masked_loss(labels, logits, pad_id=0):
    """Mean sparse categorical cross-entropy from logits (B, T, V) over the positions whose label is not
    pad_id; 0.0 when every label is PAD (as Keras's ignore_class)."""
    labels = np.asarray(labels)
    (logits,) = _f64(logits)
    m = logits.max(axis=-1, keepdims=True)
    log_probs = logits - m - np.log(np.exp(logits - m).sum(axis=-1, keepdims=True))
    nll = -np.take_along_axis(log_probs, labels[..., None].astype(np.int64), axis=-1)[..., 0]
    keep = labels != pad_id
    count = keep.sum()
    return float((nll * keep).sum() / count) if count else 0.0


def smoothed_masked_loss(labels, logits, epsilon=0.1, pad_id=0):
    """Label-smoothed cross-entropy from logits (B, T, V), averaged over the positions whose label is not pad_id:
    per position (1 - epsilon) * (-log p[label]) + epsilon * mean_v(-log p[v]), i.e. the cross-entropy against
    q = (1 - epsilon) * onehot(label) + epsilon / V (Keras's CategoricalCrossentropy(label_smoothing=epsilon)).
    Both terms are masked; 0.0 when every label is PAD. epsilon = 0 gives masked_loss."""
    labels = np.asarray(labels)
    (logits,) = _f64(logits)
    m = logits.max(axis=-1, keepdims=True)
    log_probs = logits - m - np.log(np.exp(logits - m).sum(axis=-1, keepdims=True))
    nll = -np.take_along_axis(log_probs, labels[..., None].astype(np.int64), axis=-1)[..., 0]
    per_position = (1.0 - epsilon) * nll - epsilon * log_probs.mean(axis=-1)
    keep = labels != pad_id
    count = keep.sum()
    return float((per_position * keep).sum() / count) if count else 0.0


def masked_accuracy(labels, logits, pad_id=0):
    """Share of non-PAD positions where argmax(logits) == label (ties: the first index); 0.0 when all PAD."""
    labels = np.asarray(labels)
    keep = labels != pad_id
    count = keep.sum()
    hits = (np.argmax(np.asarray(logits), axis=-1) == labels) & keep
    return float(hits.sum() / count) if count else 0.0


def warmup_lr(step, d_model, warmup=4000):
    """lr = d_model^-0.5 * min(s^-0.5, s * warmup^-1.5) with s = step + 1.

    `step` is the optimizer's 0-based iteration count, what Keras hands a LearningRateSchedule
    (optimizer.iterations: 0 at the first update). Evaluating the paper's 1-based formula at step + 1
    keeps step 0 finite (d^-0.5 * warmup^-1.5) instead of dividing by zero; the peak, d^-0.5 * warmup^-0.5,
    is at step = warmup - 1. A student schedule that uses `step` directly is one step late (and infinite
    or 0 at step 0). Accepts a scalar or an array; a negative step is refused.
    """
    step = np.asarray(step, np.float64)
    if np.any(step < 0):
        raise ValueError(f"step is a 0-based iteration count, got {step}")
    s = step + 1.0
    lr = d_model ** -0.5 * np.minimum(s ** -0.5, s * float(warmup) ** -1.5)
    return float(lr) if lr.ndim == 0 else lr
