"""Visible checks for assignment 03 (the Transformer).

Each check runs the student's function or layer on small fixed inputs, prints one ``[ok] ...`` line
per property it confirmed, and raises an AssertionError that says what was expected, what came and
where to look. They help a student find a bug early; they are not the grade. The hidden tests of the
autograder run the same kinds of cases with other seeds, shapes and weights, and more of them.

References: small NumPy formulas written in this module (the interleaved sinusoid table, masked
softmax attention, layer normalization with epsilon 1e-3, the post-norm encoder and decoder layers, the
whole Transformer, the masked loss and the warm-up schedule), and Keras built-ins where one computes the
same thing (``keras.layers.MultiHeadAttention`` with copied weights, ``keras.ops.dot_product_attention``,
``SparseCategoricalCrossentropy(ignore_class=0)``). Masks are boolean, True = attend / keep.
"""
from __future__ import annotations

import os
import tempfile
import warnings

import numpy as np

import seqlab  # noqa: F401  (silences TF before keras import)
import keras
from keras import ops

from seqlab.checks import _close, _diff  # the tolerances and messages of every visible check
from seqlab.checks_attention import _done, _has, _ok, _outputs, _start  # the [ok] lines and their count
from seqlab.tokenizers import PAD_ID, START_ID

_MHA_KEYS = ("query_kernel", "query_bias", "key_kernel", "key_bias",
             "value_kernel", "value_bias", "output_kernel", "output_bias")


def _np(x) -> np.ndarray:
    if hasattr(x, "numpy"):  # TF tensors and Keras variables (convert_to_numpy warns on them under NumPy 2)
        return np.asarray(x.numpy())
    return np.asarray(ops.convert_to_numpy(x))


def _f32(x) -> np.ndarray:
    return np.asarray(x, np.float32)


def _fmt(x, digits: int = 3) -> str:
    return np.array2string(np.asarray(x, np.float64), precision=digits, suppress_small=True, separator=", ",
                           max_line_width=100)


def _quiet_call(fn, *args, **kwargs):
    """Call fn with Keras's mask and build warnings silenced (nothing may reach stderr)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _fit_step(model, x, y, variables: dict) -> list:
    """One SGD step on `model` (mse loss); returns the names in `variables` whose value did not change."""
    before = {k: _np(v).copy() for k, v in variables.items()}
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    _quiet_call(model.train_on_batch, x, y)
    return [k for k, v in variables.items() if np.allclose(_np(v), before[k])]


def _save_load(model):
    """The model written to a .keras file and loaded back."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        _quiet_call(model.save, path)
        return _quiet_call(keras.saving.load_model, path)


# ---------------------------------------------------------------------------------------------
# NumPy references
# ---------------------------------------------------------------------------------------------
def _pe_np(length, depth, layout="interleaved"):
    """The sinusoid table. layout: "interleaved" (the kit's, the paper's), "swapped" (cos at even
    columns), "halves" (sin in the first half, cos in the second), "per_column" (column j with the
    frequency 10000^(-j/depth) instead of its pair's)."""
    pos = np.arange(length, dtype=np.float64)[:, None]
    j = np.arange(depth)
    if layout == "halves":
        half = depth // 2
        angles = pos * 10000.0 ** (-2.0 * np.arange(half) / depth)
        return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)
    pair = j if layout == "per_column" else (j // 2) * 2
    angles = pos * 10000.0 ** (-pair / depth)
    even, odd = (np.cos, np.sin) if layout == "swapped" else (np.sin, np.cos)
    return np.where(j % 2 == 0, even(angles), odd(angles))


def _softmax(x, axis=-1):
    x = np.asarray(x, np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _attention_np(q, k, v, mask=None, scale="sqrt", axis=-1):
    """softmax(q k^T / sqrt(dk)) v with masked scores at -1e9 (True = attend). scale: "sqrt", "dk", "none"."""
    q, k, v = (np.asarray(a, np.float64) for a in (q, k, v))
    dk = q.shape[-1]
    scores = q @ np.swapaxes(k, -1, -2)
    scores = scores / {"sqrt": np.sqrt(dk), "dk": dk, "none": 1.0}[scale]
    if mask is not None:
        scores = np.where(np.asarray(mask, bool), scores, -1e9)
    weights = _softmax(scores, axis=axis)
    return weights @ v, weights


def _heads_mask(mask):
    """A kit mask for (B, H, Tq, Tk) scores: 2-D (B, Tk) -> (B, 1, 1, Tk); 3-D -> head axis at 1; 4-D as it is."""
    if mask is None:
        return None
    mask = np.asarray(mask, bool)
    if mask.ndim == 2:
        return mask[:, None, None, :]
    if mask.ndim == 3:
        return mask[:, None, :, :]
    return mask


def _mha_np(p, query, value, key=None, mask=None):
    """Multi-head attention in keras.layers.MultiHeadAttention's weight layout: (outputs, weights (B, H, Tq, Tk))."""
    key = value if key is None else key
    query, value, key = (np.asarray(a, np.float64) for a in (query, value, key))
    Q = np.einsum("btd,dhk->bhtk", query, p["query_kernel"]) + p["query_bias"][None, :, None, :]  # (B, H, Tq, dh)
    K = np.einsum("bsd,dhk->bhsk", key, p["key_kernel"]) + p["key_bias"][None, :, None, :]        # (B, H, Tk, dh)
    V = np.einsum("bsd,dhk->bhsk", value, p["value_kernel"]) + p["value_bias"][None, :, None, :]  # (B, H, Tk, dh)
    heads, weights = _attention_np(Q, K, V, _heads_mask(mask))                                    # (B, H, Tq, dh)
    return np.einsum("bhtk,hkd->btd", heads, p["output_kernel"]) + p["output_bias"], weights


def _layer_norm_np(x, gamma, beta, eps=1e-3):
    x = np.asarray(x, np.float64)
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def _ffn_np(x, p):
    return np.maximum(np.asarray(x, np.float64) @ p["W1"] + p["b1"], 0.0) @ p["W2"] + p["b2"]


def _encoder_layer_np(p, x, mask=None, variant=None):
    """Post-norm encoder layer; `variant` gives the broken compositions the check tells apart."""
    ln1 = lambda z: _layer_norm_np(z, **p["ln1"])  # noqa: E731
    ln2 = lambda z: _layer_norm_np(z, **p["ln2"])  # noqa: E731
    if variant == "pre_norm":
        h = x + _mha_np(p["mha"], ln1(x), ln1(x), mask=mask)[0]
        return h + _ffn_np(ln2(h), p["ffn"])
    attn = _mha_np(p["mha"], x, x, mask=mask)[0]
    h = ln1(attn) if variant == "no_residual_1" else ln1(x + attn)
    return ln2(_ffn_np(h, p["ffn"])) if variant == "no_residual_2" else ln2(h + _ffn_np(h, p["ffn"]))


def _decoder_layer_np(p, x, enc_out, self_mask=None, cross_mask=None, variant=None):
    ln = {n: (lambda z, n=n: _layer_norm_np(z, **p[n])) for n in ("ln1", "ln2", "ln3")}
    a1 = _mha_np(p["self_mha"], x, x, mask=self_mask)[0]
    h1 = ln["ln1"](a1 if variant == "no_residual_1" else x + a1)
    query = x if variant == "cross_query_x" else h1
    a2, weights = _mha_np(p["cross_mha"], query, enc_out, mask=cross_mask)
    h2 = ln["ln2"](a2 if variant == "no_residual_2" else h1 + a2)
    f = _ffn_np(h2, p["ffn"])
    return ln["ln3"](f if variant == "no_residual_3" else h2 + f), weights


def _look_ahead_np(T):
    return np.tril(np.ones((T, T), bool))[None]                      # (1, T, T)


def _padding_np(tokens):
    return (np.asarray(tokens) != PAD_ID)[:, None, :]                 # (B, 1, S)


def _masked_loss_np(labels, logits, pads_count=False):
    labels = np.asarray(labels)
    z = np.asarray(logits, np.float64)
    logp = z - z.max(-1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
    nll = -np.take_along_axis(logp, labels[..., None], -1)[..., 0]
    keep = np.ones(labels.shape, bool) if pads_count else labels != PAD_ID
    return float((nll * keep).sum() / max(keep.sum(), 1))


def _masked_accuracy_np(labels, logits, pads_count=False):
    labels = np.asarray(labels)
    keep = np.ones(labels.shape, bool) if pads_count else labels != PAD_ID
    hits = (np.argmax(np.asarray(logits), -1) == labels) & keep
    return float(hits.sum() / max(keep.sum(), 1))


def _warmup_np(step, d_model, warmup, plus_one=True):
    s = np.asarray(step, np.float64) + (1.0 if plus_one else 0.0)
    with np.errstate(divide="ignore"):
        return d_model ** -0.5 * np.minimum(s ** -0.5, s * warmup ** -1.5)


# ---- weights in and out of the layers (prescribed names) -------------------------------------------------
def _rand_mha(rng, d, H, dh, d_kv=None):
    d_kv = d if d_kv is None else d_kv
    shapes = {"query_kernel": (d, H, dh), "query_bias": (H, dh), "key_kernel": (d_kv, H, dh), "key_bias": (H, dh),
              "value_kernel": (d_kv, H, dh), "value_bias": (H, dh), "output_kernel": (H, dh, d), "output_bias": (d,)}
    return {n: rng.normal(0.0, 0.6, shapes[n]) for n in _MHA_KEYS}


def _mha_shapes(layer) -> dict:
    return {n: tuple(_has(layer, n, "a weight of MultiHeadAttention").shape) for n in _MHA_KEYS}


def _set_mha(layer, p, where="MultiHeadAttention") -> None:
    for n in _MHA_KEYS:
        w = _has(layer, n, f"a weight of {where}")
        assert tuple(w.shape) == p[n].shape, (
            f"{where}.{n} has shape {tuple(w.shape)}, expected {p[n].shape}: the layout is query/key/value kernels "
            "(d, H, dh), biases (H, dh), output kernel (H, dh, d), output bias (d,)")
        w.assign(_f32(p[n]))


def _set_keras_mha(ref, p) -> None:
    for prefix in ("query", "key", "value", "output"):
        dense = getattr(ref, f"{prefix}_dense", None) or getattr(ref, f"_{prefix}_dense")
        dense.kernel.assign(_f32(p[f"{prefix}_kernel"]))
        dense.bias.assign(_f32(p[f"{prefix}_bias"]))


def _rand_ln(rng, d):
    return {"gamma": 1.0 + rng.normal(0.0, 0.3, d), "beta": rng.normal(0.0, 0.3, d)}


def _set_ln(ln, p, where) -> None:
    assert isinstance(ln, keras.layers.LayerNormalization), f"{where} should be a keras.layers.LayerNormalization"
    ln.gamma.assign(_f32(p["gamma"]))
    ln.beta.assign(_f32(p["beta"]))


def _rand_ffn(rng, d, d_ff):
    return {"W1": rng.normal(0.0, 0.5, (d, d_ff)), "b1": rng.normal(0.0, 0.3, d_ff),
            "W2": rng.normal(0.0, 0.5, (d_ff, d)), "b2": rng.normal(0.0, 0.3, d)}


def _set_ffn(ffn, p, where="FeedForward") -> None:
    for name, W, b in (("dense1", "W1", "b1"), ("dense2", "W2", "b2")):
        dense = _has(ffn, name, "keras.layers.Dense")
        assert tuple(dense.kernel.shape) == p[W].shape, (
            f"{where}.{name}.kernel has shape {tuple(dense.kernel.shape)}, expected {p[W].shape}")
        dense.kernel.assign(_f32(p[W]))
        dense.bias.assign(_f32(p[b]))


def _read_mha(layer):
    return {n: np.asarray(_np(getattr(layer, n)), np.float64) for n in _MHA_KEYS}


def _read_ln(ln):
    return {"gamma": np.asarray(_np(ln.gamma), np.float64), "beta": np.asarray(_np(ln.beta), np.float64)}


def _read_ffn(ffn):
    return {"W1": _np(ffn.dense1.kernel).astype(np.float64), "b1": _np(ffn.dense1.bias).astype(np.float64),
            "W2": _np(ffn.dense2.kernel).astype(np.float64), "b2": _np(ffn.dense2.bias).astype(np.float64)}


def _read_encoder_layer(layer):
    return {"mha": _read_mha(layer.mha), "ffn": _read_ffn(layer.ffn), "ln1": _read_ln(layer.ln1),
            "ln2": _read_ln(layer.ln2)}


def _read_decoder_layer(layer):
    return {"self_mha": _read_mha(layer.self_mha), "cross_mha": _read_mha(layer.cross_mha),
            "ffn": _read_ffn(layer.ffn), **{n: _read_ln(getattr(layer, n)) for n in ("ln1", "ln2", "ln3")}}


def _randomize(layer, seed: int) -> None:
    """Every weight random (layer-norm gammas around 1), so that no term hides behind a zero or a one."""
    rng = np.random.default_rng(seed)
    for w in layer.weights:
        value = rng.normal(0.0, 0.4, tuple(w.shape))
        if w.path.endswith("gamma"):
            value = 1.0 + 0.5 * value
        w.assign(_f32(value))


def _transformer_np(model, src, tgt, variant=None):
    """The NumPy composition of a Transformer's weights (read by the prescribed names): (logits, weights)."""
    enc, dec = model.encoder, model.decoder
    d = model.d_model

    def embed(pos_embedding, tokens):
        table = _np(pos_embedding.embedding.embeddings).astype(np.float64)
        return table[tokens] * np.sqrt(d) + _pe_np(tokens.shape[1], d)[None]

    src_mask = _padding_np(src)
    x = embed(enc.pos_embedding, src)
    for layer in enc.enc_layers:
        x = _encoder_layer_np(_read_encoder_layer(layer), x, src_mask)
    T = tgt.shape[1]
    self_mask = _look_ahead_np(T) if variant == "no_target_padding" else _look_ahead_np(T) & _padding_np(tgt)
    y, weights = embed(dec.pos_embedding, tgt), None
    for layer in dec.dec_layers:
        y, weights = _decoder_layer_np(_read_decoder_layer(layer), y, x, self_mask, src_mask)
    kernel, bias = (_np(w).astype(np.float64) for w in (model.final_layer.kernel, model.final_layer.bias))
    return y @ kernel + bias, weights


# ---------------------------------------------------------------------------------------------
# Exercise 1: positional encoding and PositionalEmbedding
# ---------------------------------------------------------------------------------------------
def check_positional_encoding(positional_encoding, positional_embedding_class) -> None:
    """The table (shape, dtype, interleaved values), PositionalEmbedding's numbers (embedding * sqrt(d_model) +
    PE), its mask, a symbolic input of unknown length, get_config/from_config."""
    _start()
    L, depth = 9, 6
    table = positional_encoding(L, depth)
    got = _np(table)
    assert got.shape == (L, depth), f"positional_encoding({L}, {depth}) has shape {got.shape}, expected {(L, depth)}"
    assert got.dtype == np.float32, f"positional_encoding should return float32, got {got.dtype}"
    _ok("table shape and dtype", f"positional_encoding({L}, {depth}): ({L}, {depth}) float32")

    want = _pe_np(L, depth)
    if not _close(got, want):
        hints = {"swapped": "sin and cos are swapped: even columns 2i hold sin, odd columns 2i+1 hold cos",
                 "halves": "this is the sin-half / cos-half layout of some tutorials: this kit interleaves them, "
                           "sin at column 2i and cos at column 2i+1",
                 "per_column": "each column has its own frequency: columns 2i and 2i+1 must share the frequency "
                               "1 / 10000^(2i / depth) of their pair (use (j // 2) * 2, not j)"}
        for layout, hint in hints.items():
            if _close(got, _pe_np(L, depth, layout)):
                raise AssertionError(f"positional_encoding: {hint}")
        raise AssertionError(f"positional_encoding({L}, {depth}) differs from PE[pos, 2i] = sin(pos / 10000^(2i/d)), "
                             f"PE[pos, 2i+1] = cos(pos / 10000^(2i/d)) ({_diff(got, want)}); row 1 should be "
                             f"{_fmt(want[1])}, got {_fmt(got[1])}")
    odd = _np(positional_encoding(5, 7))
    assert odd.shape == (5, 7) and _close(odd, _pe_np(5, 7)), (
        f"positional_encoding(5, 7), an odd depth: shape {odd.shape}, expected (5, 7) with the last column a sine "
        f"({_diff(odd, _pe_np(5, 7))}); build the table column by column (j = 0 .. depth-1), not as depth/2 pairs")
    _ok("values (interleaved sin / cos)", f"row 0 = {_fmt(want[0], 0)}, row 1 = {_fmt(want[1][:4])} ...; odd depth 7")

    rng = np.random.default_rng(31)
    V, d, B, T = 13, 6, 2, 5
    tokens = rng.integers(4, V, size=(B, T)).astype("int32")
    tokens[0, 0], tokens[1, 0] = START_ID, START_ID
    tokens[1, 3:] = PAD_ID
    layer = positional_embedding_class(V, d, max_length=16)
    out = _np(layer(tokens))
    assert out.shape == (B, T, d), f"PositionalEmbedding output shape {out.shape}, expected {(B, T, d)}"
    emb = _has(layer, "embedding", "keras.layers.Embedding(vocab_size, d_model, mask_zero=True)")
    table = rng.normal(0.0, 0.5, size=(V, d)).astype("float32")
    try:
        emb.set_weights([table])
    except ValueError as exc:
        raise AssertionError(f"could not copy a ({V}, {d}) table into PositionalEmbedding.embedding: {exc}") from None
    got = _np(layer(tokens)).astype(np.float64)
    e, pe = table[tokens].astype(np.float64), _pe_np(T, d)[None]
    want = e * np.sqrt(d) + pe
    if not _close(got, want):
        for other, hint in ((e + pe, "the embedding is not scaled: multiply it by sqrt(d_model) before adding PE"),
                            (e / np.sqrt(d) + pe, "the embedding is divided by sqrt(d_model): multiply instead"),
                            ((e + pe) * np.sqrt(d), "sqrt(d_model) scales the sum: scale the embedding only, then add PE"),
                            (e * np.sqrt(d), "the positional encoding is not added"),
                            (e * d + pe, "the embedding is multiplied by d_model: use sqrt(d_model)")):
            if _close(got, other):
                raise AssertionError(f"PositionalEmbedding: {hint}")
        raise AssertionError(f"PositionalEmbedding differs from embedding(tokens) * sqrt(d_model) + PE[:T] "
                             f"({_diff(got, want)})")
    _ok("embedding * sqrt(d_model) + PE", f"outputs ({B}, {T}, {d}); rows 0..T-1 of the table added")

    mask = layer.compute_mask(tokens)
    assert mask is not None, "PositionalEmbedding.compute_mask returned None: return tokens != [PAD]"
    mask = _np(mask)
    assert mask.dtype == bool and mask.shape == (B, T) and np.array_equal(mask, tokens != PAD_ID), (
        f"compute_mask(tokens) should be (B, T) bool, True at real tokens (tokens != 0); got "
        f"{mask.astype(int).tolist()} for tokens {tokens.tolist()}")
    _ok("compute_mask", "(B, T) bool, True = real token (attend), False at [PAD]")

    inp = keras.Input((None,), dtype="int32")
    model = keras.Model(inp, positional_embedding_class(V, d, max_length=16)(inp))
    for length in (3, 11):
        shape = tuple(model(rng.integers(1, V, size=(2, length)).astype("int32")).shape)
        assert shape == (2, length, d), f"symbolic model: input (2, {length}) gave {shape}, expected {(2, length, d)}"
    _ok("symbolic input (unknown length)", "keras.Input((None,), dtype='int32'); lengths 3 and 11")

    config = layer.get_config()
    assert (config.get("vocab_size"), config.get("d_model"), config.get("max_length")) == (V, d, 16), (
        "get_config() should contain vocab_size, d_model and max_length")
    twin = positional_embedding_class.from_config(config)
    twin(tokens)
    twin.set_weights(layer.get_weights())
    assert _close(_np(twin(tokens)), got), "from_config(get_config()) with the same weights gives other outputs"
    _ok("serialization", "get_config / from_config + copied weights, same outputs")
    _done("positional_encoding, PositionalEmbedding")


# ---------------------------------------------------------------------------------------------
# Exercise 2: masks
# ---------------------------------------------------------------------------------------------
class _MaskProbe(keras.layers.Layer):
    """Builds logical_and(look_ahead_mask(T), padding_mask(tokens)) inside a layer, T = ops.shape(tokens)[1]."""

    def __init__(self, padding_mask, look_ahead_mask, **kwargs):
        super().__init__(**kwargs)
        self.padding_mask, self.look_ahead_mask = padding_mask, look_ahead_mask

    def call(self, tokens):
        T = ops.shape(tokens)[1]
        return ops.cast(ops.logical_and(self.look_ahead_mask(T), self.padding_mask(tokens)), "int32")


def check_masks(padding_mask, look_ahead_mask) -> None:
    """padding_mask (B, 1, S) and look_ahead_mask (1, T, T), True = attend; their logical_and; a symbolic length."""
    _start()
    tokens = np.array([[2, 7, 5, 3, 0, 0], [2, 9, 3, 0, 0, 0]], "int32")   # (2, 6), PAD = 0
    got = _np(padding_mask(tokens))
    want = _padding_np(tokens)
    assert got.shape == want.shape, f"padding_mask shape {got.shape}, expected {want.shape} = (B, 1, S)"
    assert got.dtype == bool, f"padding_mask should be bool, got {got.dtype}"
    if not np.array_equal(got, want):
        if np.array_equal(got, ~want):
            raise AssertionError("padding_mask is inverted: True means attend (a real token), False means [PAD]")
        raise AssertionError(f"padding_mask(tokens) = {got.astype(int).tolist()}, expected {want.astype(int).tolist()}")
    _ok("padding_mask", f"(2, 1, 6) bool, True at real tokens: {want[1, 0].astype(int).tolist()}")

    T = 4
    got = _np(look_ahead_mask(T))
    want = _look_ahead_np(T)
    assert got.shape == want.shape, f"look_ahead_mask({T}) has shape {got.shape}, expected {want.shape} = (1, T, T)"
    assert got.dtype == bool, f"look_ahead_mask should be bool, got {got.dtype}"
    if not np.array_equal(got, want):
        hint = ""
        if np.array_equal(got, ~want):
            hint = ": it is inverted (True = attend: the lower triangle with the diagonal is True)"
        elif np.array_equal(got[0], want[0].T):
            hint = ": it is transposed (row = query position q, column = key position k; True where k <= q)"
        elif np.array_equal(got[0], np.tril(np.ones((T, T), bool), -1)):
            hint = ": the diagonal is missing (a position may attend to itself: k <= q, not k < q)"
        raise AssertionError(f"look_ahead_mask({T})[0] = {got[0].astype(int).tolist()}, expected "
                             f"{want[0].astype(int).tolist()}{hint}")
    _ok("look_ahead_mask", "(1, 4, 4) bool, row q True at keys k <= q (lower triangle)")

    T = tokens.shape[1]
    combined = ops.logical_and(look_ahead_mask(T), padding_mask(tokens))
    want = _look_ahead_np(T) & _padding_np(tokens)
    got = _np(combined)
    assert got.shape == want.shape and np.array_equal(got, want), (
        f"logical_and(look_ahead_mask(6), padding_mask(tokens)) gave shape {got.shape}, expected (2, 6, 6) with "
        f"row 3 of sentence 2 = {want[1, 3].astype(int).tolist()}")
    _ok("combined with logical_and", "(1, T, T) and (B, 1, T) -> (B, T, T)")

    inp = keras.Input((None,), dtype="int32")
    model = keras.Model(inp, _MaskProbe(padding_mask, look_ahead_mask)(inp))
    for length in (3, 6):
        t = tokens[:, :length]
        got = _np(model(t)).astype(bool)
        want = _look_ahead_np(length) & _padding_np(t)
        assert got.shape == want.shape and np.array_equal(got, want), (
            f"inside a symbolic model (T = ops.shape(tokens)[1] unknown), length {length}: shape {got.shape}, "
            f"expected {want.shape}; use keras.ops (ops.arange, ops.less_equal, ...) so that T may be a tensor")
    _ok("symbolic length", "T = ops.shape(tokens)[1] of a keras.Input((None,)); lengths 3 and 6")
    _done("padding_mask, look_ahead_mask")


# ---------------------------------------------------------------------------------------------
# Exercise 3: scaled dot-product attention
# ---------------------------------------------------------------------------------------------
def check_attention(scaled_dot_product_attention) -> None:
    """Shapes, the 1/sqrt(d_k) scale, the softmax axis, a padding mask, a look-ahead mask, per-head (4-D) inputs
    against keras.ops.dot_product_attention, float16."""
    _start()
    rng = np.random.default_rng(33)
    B, Tq, Tk, dk, dv = 2, 3, 5, 4, 6
    q = _f32(rng.normal(0.0, 1.5, size=(B, Tq, dk)))
    k = _f32(rng.normal(0.0, 1.5, size=(B, Tk, dk)))
    v = _f32(rng.normal(size=(B, Tk, dv)))
    out, w = (_np(t) for t in _outputs(scaled_dot_product_attention(q, k, v), 2, "scaled_dot_product_attention"))
    assert out.shape == (B, Tq, dv) and w.shape == (B, Tq, Tk), (
        f"shapes (outputs, weights) = {out.shape}, {w.shape}; expected {(B, Tq, dv)}, {(B, Tq, Tk)}")
    _ok("shapes (Tq != Tk, dv != dk)", f"outputs {(B, Tq, dv)}, weights {(B, Tq, Tk)}")

    want_out, want_w = _attention_np(q, k, v)
    if not _close(w, want_w):
        for kw, hint in (({"scale": "none"}, "the scores are not scaled: divide q k^T by sqrt(d_k)"),
                         ({"scale": "dk"}, "the scores are divided by d_k: divide by sqrt(d_k)"),
                         ({"axis": -2}, "the softmax runs over the query axis: it must run over the keys (axis=-1)")):
            if _close(w, _attention_np(q, k, v, **kw)[1]):
                raise AssertionError(f"scaled_dot_product_attention: {hint}")
        raise AssertionError(f"weights differ from softmax(q k^T / sqrt(d_k), axis=-1) ({_diff(w, want_w)})")
    assert _close(out, want_out), f"outputs should be weights @ v ({_diff(out, want_out)})"
    _ok("no mask: scale and softmax axis", "softmax(q k^T / sqrt(d_k)) over the keys; outputs = weights @ v")

    mask = np.array([[True, True, True, False, False], [True, True, True, True, False]])[:, None, :]  # (B, 1, Tk)
    out, w = (_np(t) for t in scaled_dot_product_attention(q, k, v, mask))
    want_out, want_w = _attention_np(q, k, v, mask)
    padded = np.broadcast_to(~mask, w.shape)
    if not np.all(w[padded] == 0.0):
        if np.all(w[~padded] < 1e-6):
            raise AssertionError("the mask is inverted: True means attend (real token); masked weights must be 0")
        raise AssertionError(f"masked positions must get weight exactly 0.0, got up to {np.abs(w[padded]).max():.3g}: "
                             "replace their scores with NEG_INF by ops.where(mask, scores, NEG_INF) before the softmax")
    assert np.allclose(w.sum(-1), 1.0, atol=1e-5), (
        "each row of the masked weights must sum to 1: mask the scores before the softmax, not the weights after it")
    assert _close(w, want_w) and _close(out, want_out), f"masked attention differs ({_diff(w, want_w)})"
    _ok("padding mask (B, 1, Tk)", "masked weights exactly 0.0; rows sum to 1 over the real keys")

    T = 4
    x = _f32(rng.normal(size=(B, T, dk)))
    causal = _look_ahead_np(T)
    out, w = (_np(t) for t in scaled_dot_product_attention(x, x, x, causal))
    want_out, want_w = _attention_np(x, x, x, causal)
    assert np.all(w[:, ~causal[0]] == 0.0) and _close(w, want_w) and _close(out, want_out), (
        f"self-attention with the look-ahead mask (1, {T}, {T}): weights above the diagonal must be 0.0 "
        f"({_diff(w, want_w)})")
    _ok("look-ahead mask (1, T, T)", "self-attention: row q attends to keys 0..q only")

    H = 3
    qh, kh, vh = (_f32(rng.normal(size=(B, H, n, dk))) for n in (Tq, Tk, Tk))
    mask4 = mask[:, None]                                                  # (B, 1, 1, Tk)
    out, w = (_np(t) for t in scaled_dot_product_attention(qh, kh, vh, mask4))
    bias_mask = np.broadcast_to(mask4, (B, H, Tq, Tk))
    ref = keras.ops.dot_product_attention(np.swapaxes(qh, 1, 2), np.swapaxes(kh, 1, 2), np.swapaxes(vh, 1, 2),
                                          mask=bias_mask)                  # (B, Tq, H, dk) layout
    ref = np.swapaxes(_np(ref), 1, 2)
    assert out.shape == (B, H, Tq, dk) and w.shape == (B, H, Tq, Tk), (
        f"per-head inputs (B, H, T, dk): shapes {out.shape}, {w.shape}; expected {(B, H, Tq, dk)}, {(B, H, Tq, Tk)}")
    assert _close(out, ref), (
        f"per-head inputs (B, H, Tq, dk) with a (B, 1, 1, Tk) mask differ from keras.ops.dot_product_attention "
        f"({_diff(out, ref)}): use the last two axes only (ops.swapaxes(k, -1, -2), not a fixed permutation)")
    _ok("per-head inputs (B, H, T, dk)", "= keras.ops.dot_product_attention with the same mask")

    q16, k16, v16 = (a.astype("float16") for a in (q, k, v))
    mask16 = mask.copy().repeat(Tq, axis=1)                                # (B, Tq, Tk)
    mask16[0, 2, :] = False                                                # a row with every key masked
    out, w = (_np(t) for t in scaled_dot_product_attention(q16, k16, v16, mask16))
    assert out.dtype == np.float16, f"float16 inputs should give float16 outputs, got {out.dtype}"
    assert np.all(np.isfinite(w)) and np.all(np.isfinite(out)), (
        "float16: a row whose keys are all masked gave NaN or inf. -1e9 overflows float16 to -inf (and "
        "softmax(-inf, ..., -inf) is NaN): use NEG_INF_FP16 = -65504 when scores.dtype is float16")
    assert np.all(w[1][~mask16[1]] == 0.0), "float16: masked weights must be 0.0"
    _ok("float16 (NEG_INF_FP16)", "finite even where a row has no key left; masked weights 0.0")
    _done("scaled_dot_product_attention")


# ---------------------------------------------------------------------------------------------
# Exercise 4: MultiHeadAttention
# ---------------------------------------------------------------------------------------------
def _keras_mha(H, dh, query, value, key=None):
    ref = keras.layers.MultiHeadAttention(num_heads=H, key_dim=dh)
    _quiet_call(ref, query, value, key)
    return ref


def check_mha(mha_class) -> None:
    """Weight layout, self- and cross-attention with masks against keras.layers.MultiHeadAttention (weights
    copied), return_attention_scores, a separate key, 2-D and 4-D masks, symbolic inputs, get_config, a fit step."""
    _start()
    rng = np.random.default_rng(34)
    B, T, S, d, d_v, H, dh = 2, 4, 5, 8, 6, 3, 2
    x = _f32(rng.normal(size=(B, T, d)))
    enc = _f32(rng.normal(size=(B, S, d_v)))
    layer = mha_class(H, dh)
    layer(x, enc)
    shapes = _mha_shapes(layer)
    want = {"query_kernel": (d, H, dh), "query_bias": (H, dh), "key_kernel": (d_v, H, dh), "key_bias": (H, dh),
            "value_kernel": (d_v, H, dh), "value_bias": (H, dh), "output_kernel": (H, dh, d), "output_bias": (d,)}
    assert shapes == want, (f"weight shapes {shapes}, expected {want} (query (B, T, {d}), value (B, S, {d_v}), "
                            f"num_heads {H}, key_dim {dh})")
    _ok("weight layout", f"query_kernel {want['query_kernel']}, key/value_kernel {want['key_kernel']}, "
        f"output_kernel {want['output_kernel']}")

    # self-attention, padding mask of the sequence itself
    tokens = np.array([[5, 6, 7, 8], [5, 6, 0, 0]])
    pad = _padding_np(tokens)                                               # (B, 1, T)
    p_self = _rand_mha(rng, d, H, dh)
    mine = mha_class(H, dh)
    mine(x, x)
    _set_mha(mine, p_self)
    ref = _keras_mha(H, dh, x, x)
    _set_keras_mha(ref, p_self)
    r_out, r_w = (_np(t) for t in _quiet_call(ref, x, x, attention_mask=np.broadcast_to(pad, (B, T, T)),
                                               return_attention_scores=True))
    try:
        result = mine(x, x, mask=pad, return_attention_scores=True)
    except Exception as exc:
        raise AssertionError(f"MultiHeadAttention(x, x, mask=<(B, 1, T) padding mask>, return_attention_scores=True) "
                             f"raised {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}; a 3-D mask "
                             "needs a head axis: ops.expand_dims(mask, 1) -> (B, 1, 1, T)") from None
    out, w = (_np(t) for t in _outputs(result, 2, "MultiHeadAttention(..., return_attention_scores=True)"))
    assert w.shape == (B, H, T, T), f"attention weights shape {w.shape}, expected {(B, H, T, T)} = (B, H, Tq, Tk)"
    if not _close(w, r_w):
        if _close(w, _mha_np(p_self, x, x)[1]):
            raise AssertionError("the mask is not used: pass it to scaled_dot_product_attention (with a head axis)")
        raise AssertionError(f"attention weights differ from keras.layers.MultiHeadAttention with the same weights "
                             f"({_diff(w, r_w)}): look at the query/key projections and the split into heads (and run "
                             "check_attention first: this layer uses your scaled_dot_product_attention)")
    if not _close(out, r_out):
        raise AssertionError(f"the weights agree but the outputs differ ({_diff(out, r_out)}): look at the value "
                             "projection and at merging the heads with output_kernel (H, dh, d) and output_bias")
    _ok("self-attention, padding mask", f"= keras.layers.MultiHeadAttention (copied weights); weights {(B, H, T, T)}")

    # cross-attention (Tq != Tk, d_v != d), padding mask of the encoder side
    src = np.array([[4, 5, 6, 7, 8], [4, 5, 6, 0, 0]])
    cross = _padding_np(src)                                                # (B, 1, S)
    p = _rand_mha(rng, d, H, dh, d_v)
    _set_mha(layer, p)
    ref = _keras_mha(H, dh, x, enc)
    _set_keras_mha(ref, p)
    r_out, r_w = (_np(t) for t in _quiet_call(ref, x, enc, attention_mask=np.broadcast_to(cross, (B, T, S)),
                                               return_attention_scores=True))
    out, w = (_np(t) for t in layer(x, enc, mask=cross, return_attention_scores=True))
    assert w.shape == (B, H, T, S), f"cross-attention weights shape {w.shape}, expected {(B, H, T, S)}"
    assert _close(w, r_w) and _close(out, r_out), (
        f"cross-attention (queries (B, {T}, {d}), keys and values (B, {S}, {d_v})) differs from "
        f"keras.layers.MultiHeadAttention ({_diff(out, r_out)})")
    assert np.all(w[1, :, :, 3:] == 0.0), "weights at padded key positions must be exactly 0.0"
    _ok("cross-attention, padding mask", f"Tq={T}, Tk={S}, d_v={d_v}: = keras; padded keys 0.0")

    plain = layer(x, enc, mask=cross)
    assert not isinstance(plain, (list, tuple)), (
        "by default (return_attention_scores=False) MultiHeadAttention returns the outputs only, not a tuple")
    assert _close(_np(plain), r_out), "the outputs without return_attention_scores differ from those with it"
    _ok("return_attention_scores", "False: outputs (B, Tq, d); True: (outputs, weights (B, H, Tq, Tk))")

    causal = _look_ahead_np(T) & pad                                        # (B, T, T)
    key = _f32(rng.normal(size=(B, S, d_v)))
    p2 = _rand_mha(rng, d, H, dh, d_v)
    _set_mha(layer, p2)
    ref = _keras_mha(H, dh, x, enc, key)
    _set_keras_mha(ref, p2)
    got = _np(layer(x, enc, key, mask=cross))
    want = _np(_quiet_call(ref, x, enc, key, attention_mask=np.broadcast_to(cross, (B, T, S))))
    assert _close(got, want), (
        f"with a separate key, call(query, value, key) differs from keras.layers.MultiHeadAttention(query, value, key) "
        f"({_diff(got, want)}): keys come from `key`, values from `value`")
    got_c = _np(mine(x, x, mask=causal))
    got_2 = _np(mine(x, x, mask=tokens != PAD_ID))
    per_head = rng.random((B, H, T, T)) > 0.4
    per_head[..., 0] = True
    got_4 = _np(mine(x, x, mask=per_head))
    for got, m, what in ((got_c, causal, "a (B, T, T) look-ahead AND padding mask"),
                         (got_2, tokens != PAD_ID, "a 2-D (B, Tk) key mask (read as (B, 1, 1, Tk))"),
                         (got_4, per_head, "a 4-D (B, H, Tq, Tk) mask (used as it is)")):
        want = _mha_np(p_self, x, x, mask=m)[0]
        assert _close(got, want), f"with {what} the outputs differ from the NumPy reference ({_diff(got, want)})"
    _ok("separate key; 2-D, 3-D and 4-D masks", "key != value; masks (B, Tk), (B, T, T), (B, H, Tq, Tk)")

    qi, vi = keras.Input((None, d)), keras.Input((None, d_v))
    o, wi = mha_class(H, dh)(qi, vi, return_attention_scores=True)
    assert tuple(o.shape) == (None, None, d) and tuple(wi.shape) == (None, H, None, None), (
        f"symbolic shapes {tuple(o.shape)}, {tuple(wi.shape)}; expected (None, None, {d}), (None, {H}, None, None)")
    model = keras.Model([qi, vi], [o, wi])
    shapes = [tuple(t.shape) for t in model([x, enc])]
    assert shapes == [(B, T, d), (B, H, T, S)], f"the symbolic model gives shapes {shapes}"
    _ok("symbolic inputs", f"keras.Input((None, {d})), keras.Input((None, {d_v})): unknown Tq and Tk")

    config = layer.get_config()
    assert (config.get("num_heads"), config.get("key_dim")) == (H, dh), "get_config() should contain num_heads and key_dim"
    twin = mha_class.from_config(config)
    twin(x, enc)
    twin.set_weights(layer.get_weights())
    assert _close(_np(twin(x, enc, mask=cross)), _np(layer(x, enc, mask=cross))), (
        "from_config(get_config()) with the same weights gives other outputs")
    _ok("serialization", "num_heads, key_dim in get_config; from_config + copied weights")

    lay = mha_class(H, dh)
    model = keras.Model([qi, vi], lay(qi, vi))
    before = {n: _np(getattr(lay, n)).copy() for n in _MHA_KEYS}
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    _quiet_call(model.train_on_batch, [x, enc], np.ones((B, T, d), "float32"))
    # the key bias adds q . b_k to every score of a row: the softmax ignores it, its gradient is 0
    stuck = [n for n in _MHA_KEYS if n != "key_bias" and np.allclose(_np(getattr(lay, n)), before[n])]
    assert not stuck, f"a training step left {stuck} unchanged: are they created with add_weight and used in call()?"
    _ok("trainable", "a fit step changes every weight (but key_bias: its gradient is 0)")
    _done("MultiHeadAttention")


# ---------------------------------------------------------------------------------------------
# Exercise 5: FeedForward
# ---------------------------------------------------------------------------------------------
def check_feed_forward(ffn_class) -> None:
    """Sub-layers, numbers against relu(x W1 + b1) W2 + b2, dropout only while training, get_config."""
    _start()
    rng = np.random.default_rng(35)
    B, T, d, d_ff = 2, 3, 4, 10
    x = _f32(rng.normal(size=(B, T, d)))
    ffn = ffn_class(d, d_ff, dropout=0.5)
    out = _np(ffn(x))
    assert out.shape == (B, T, d), f"output shape {out.shape}, expected {(B, T, d)}"
    d1, d2 = _has(ffn, "dense1", "Dense(d_ff, activation='relu')"), _has(ffn, "dense2", "Dense(d_model)")
    drop = _has(ffn, "dropout", "Dropout(dropout)")
    assert d1.units == d_ff and d2.units == d, f"dense1 should have {d_ff} units (d_ff), dense2 {d} (d_model)"
    assert isinstance(drop, keras.layers.Dropout) and drop.rate == 0.5, "self.dropout should be Dropout(dropout)"
    _ok("sub-layers", f"dense1 Dense({d_ff}, relu), dense2 Dense({d}), dropout Dropout(0.5)")

    p = _rand_ffn(rng, d, d_ff)
    _set_ffn(ffn, p)
    got = _np(ffn(x, training=False))
    want = _ffn_np(x, p)
    if not _close(got, want):
        h = x @ p["W1"] + p["b1"]
        for other, hint in ((h @ p["W2"] + p["b2"], "there is no ReLU after dense1 (Dense(d_ff, activation='relu'))"),
                            (np.maximum(h @ p["W2"] + p["b2"], 0), "the ReLU must follow dense1 only, not dense2")):
            if _close(got, other):
                raise AssertionError(f"FeedForward: {hint}")
        raise AssertionError(f"FeedForward differs from relu(x W1 + b1) W2 + b2 ({_diff(got, want)})")
    _ok("numerics (training=False)", "relu(x W1 + b1) W2 + b2, the same at every position")

    a, b = _np(ffn(x, training=True)), _np(ffn(x, training=False))
    assert not np.allclose(a, b), "with training=True and dropout 0.5 the outputs should change: apply self.dropout"
    assert _close(_np(ffn(x)), b), "without training=True (inference) there must be no dropout"
    _ok("dropout while training only", "training=True drops; inference is deterministic")

    config = ffn.get_config()
    assert (config.get("d_model"), config.get("d_ff"), config.get("dropout")) == (d, d_ff, 0.5), (
        "get_config() should contain d_model, d_ff and dropout")
    twin = ffn_class.from_config(config)
    twin(x)
    twin.set_weights(ffn.get_weights())
    assert _close(_np(twin(x)), b), "from_config(get_config()) with the same weights gives other outputs"
    _ok("serialization", "d_model, d_ff, dropout in get_config; from_config + copied weights")

    xi = keras.Input((None, d))
    lay = ffn_class(d, d_ff, dropout=0.0)
    model = keras.Model(xi, lay(xi))
    stuck = _fit_step(model, x, np.ones((B, T, d), "float32"), {w.path: w for w in lay.trainable_weights})
    assert len(lay.trainable_weights) == 4 and not stuck, (
        f"a training step left {stuck or 'some weights'} unchanged (expected 4 trainable weights: the kernels and "
        f"biases of dense1 and dense2; found {len(lay.trainable_weights)})")
    _ok("trainable", "a fit step changes both kernels and both biases")
    _done("FeedForward")


# ---------------------------------------------------------------------------------------------
# Exercise 6: EncoderLayer
# ---------------------------------------------------------------------------------------------
def _set_encoder_layer(layer, p) -> None:
    _set_mha(_has(layer, "mha", "MultiHeadAttention"), p["mha"], "EncoderLayer.mha")
    _set_ffn(_has(layer, "ffn", "FeedForward"), p["ffn"], "EncoderLayer.ffn")
    _set_ln(_has(layer, "ln1", "LayerNormalization"), p["ln1"], "EncoderLayer.ln1")
    _set_ln(_has(layer, "ln2", "LayerNormalization"), p["ln2"], "EncoderLayer.ln2")


def check_encoder_layer(encoder_layer_class) -> None:
    """Sub-layers, the post-norm composition with a padding mask (NumPy, your MultiHeadAttention's weights
    copied), residuals, padding invariance, get_config. Run check_mha first: this check uses your MHA."""
    _start()
    rng = np.random.default_rng(36)
    B, S, d, H, d_ff = 2, 5, 8, 2, 12
    x = _f32(rng.normal(size=(B, S, d)))
    tokens = np.array([[4, 5, 6, 7, 8], [4, 5, 6, 0, 0]])
    mask = _padding_np(tokens)
    layer = encoder_layer_class(d, H, d_ff, dropout=0.1)
    out = _np(layer(x, mask=mask))
    assert out.shape == (B, S, d), f"output shape {out.shape}, expected {(B, S, d)}"
    mha = _has(layer, "mha", "MultiHeadAttention(num_heads, d_model // num_heads)")
    assert (mha.num_heads, mha.key_dim) == (H, d // H), (
        f"self.mha should have num_heads={H} and key_dim = d_model // num_heads = {d // H}")
    for name in ("ln1", "ln2"):
        ln = _has(layer, name, "LayerNormalization")
        assert isinstance(ln, keras.layers.LayerNormalization) and ln.epsilon == 1e-3, (
            f"self.{name} should be keras.layers.LayerNormalization() (default epsilon 1e-3)")
    assert isinstance(_has(layer, "dropout", "Dropout"), keras.layers.Dropout), "self.dropout should be a Dropout"
    _ok("sub-layers", f"mha ({H} heads, key_dim {d // H}), ffn, ln1, ln2, dropout")

    p = {"mha": _rand_mha(rng, d, H, d // H), "ffn": _rand_ffn(rng, d, d_ff), "ln1": _rand_ln(rng, d),
         "ln2": _rand_ln(rng, d)}
    _set_encoder_layer(layer, p)
    got = _np(layer(x, mask=mask, training=False))
    want = _encoder_layer_np(p, x, mask)
    if not _close(got, want):
        for variant, hint in (
                (None, "the padding mask is not passed to self.mha (mask=mask)"),
                ("no_residual_1", "the residual connection around the attention is missing: ln1(x + attention)"),
                ("no_residual_2", "the residual connection around the feed-forward network is missing: "
                                  "ln2(h + ffn(h))"),
                ("pre_norm", "this is the pre-norm layer (x + MHA(LN(x))); this kit's layer is post-norm, as in the "
                             "paper: LN(x + Sublayer(x))")):
            other = _encoder_layer_np(p, x, None) if variant is None else _encoder_layer_np(p, x, mask, variant)
            if _close(got, other):
                raise AssertionError(f"EncoderLayer: {hint}")
        raise AssertionError(f"EncoderLayer differs from ln2(h + ffn(h)), h = ln1(x + dropout(mha(x, x, mask))) "
                             f"({_diff(got, want)}); if check_mha passed, look at the order of the sub-layers")
    _ok("post-norm, residuals, padding mask", "h = LN1(x + MHA(x, x, mask)); out = LN2(h + FFN(h))")

    assert _close(_np(layer(x, training=False)), _encoder_layer_np(p, x)), "with mask=None the outputs differ"
    _ok("mask=None", "every position attends to every position")

    longer = np.concatenate([x, _f32(rng.normal(size=(B, 3, d)))], axis=1)
    long_mask = np.concatenate([mask, np.zeros((B, 1, 3), bool)], axis=2)
    got_long = _np(layer(longer, mask=long_mask, training=False))
    assert _close(got_long[:, :S][mask[:, 0]], got[mask[:, 0]]), (
        "three extra [PAD] positions (masked) changed the outputs at the real positions: pass the mask to self.mha")
    _ok("padding invariance", "extra masked positions leave the real positions unchanged")

    a, b = _np(layer(x, mask=mask, training=True)), _np(layer(x, mask=mask))
    assert not np.allclose(a, b) and _close(b, got), (
        "dropout: training=True should change the outputs (self.dropout on the attention, the FFN's own dropout), "
        "and a call without training=True should give the inference outputs: pass training on")
    _ok("dropout while training only", "training=True drops; inference is deterministic")

    config = layer.get_config()
    assert (config.get("d_model"), config.get("num_heads"), config.get("d_ff"), config.get("dropout")) == (
        d, H, d_ff, 0.1), "get_config() should contain d_model, num_heads, d_ff and dropout"
    twin = encoder_layer_class.from_config(config)
    twin(x, mask=mask)
    twin.set_weights(layer.get_weights())
    assert _close(_np(twin(x, mask=mask)), got), "from_config(get_config()) with the same weights gives other outputs"
    _ok("serialization", "get_config / from_config + copied weights, same outputs")

    xi = keras.Input((None, d))
    lay = encoder_layer_class(d, H, d_ff, dropout=0.0)
    model = keras.Model(xi, lay(xi))
    weights = {w.path: w for w in lay.trainable_weights if not w.path.endswith("key_bias")}
    stuck = _fit_step(model, x, _f32(rng.normal(size=(B, S, d))), weights)
    assert len(lay.trainable_weights) == 16 and not stuck, (
        f"a training step left {stuck or 'some weights'} unchanged (expected 16 trainable weights: 8 in mha, 4 in "
        f"ffn, gamma and beta of ln1 and ln2; found {len(lay.trainable_weights)})")
    _ok("trainable", "a fit step changes every weight (but mha's key_bias, whose gradient is 0)")
    _done("EncoderLayer")


# ---------------------------------------------------------------------------------------------
# Exercise 7: DecoderLayer
# ---------------------------------------------------------------------------------------------
def _set_decoder_layer(layer, p) -> None:
    _set_mha(_has(layer, "self_mha", "MultiHeadAttention"), p["self_mha"], "DecoderLayer.self_mha")
    _set_mha(_has(layer, "cross_mha", "MultiHeadAttention"), p["cross_mha"], "DecoderLayer.cross_mha")
    _set_ffn(_has(layer, "ffn", "FeedForward"), p["ffn"], "DecoderLayer.ffn")
    for name in ("ln1", "ln2", "ln3"):
        _set_ln(_has(layer, name, "LayerNormalization"), p[name], f"DecoderLayer.{name}")


def check_decoder_layer(decoder_layer_class) -> None:
    """Shapes, the composition (masked self-attention, cross-attention, FFN, post-norm) against NumPy,
    causality, the source mask, get_config. Run check_mha first: this check uses your MHA."""
    _start()
    rng = np.random.default_rng(37)
    B, T, S, d, H, d_ff = 2, 4, 6, 8, 2, 12
    x = _f32(rng.normal(size=(B, T, d)))
    enc = _f32(rng.normal(size=(B, S, d)))
    tgt = np.array([[2, 5, 6, 3], [2, 7, 3, 0]])
    src = np.array([[4, 5, 6, 7, 8, 9], [4, 5, 6, 7, 0, 0]])
    self_mask = _look_ahead_np(T) & _padding_np(tgt)                      # (B, T, T)
    cross_mask = _padding_np(src)                                          # (B, 1, S)
    layer = decoder_layer_class(d, H, d_ff, dropout=0.1)
    out, w = (_np(t) for t in _outputs(layer(x, enc, self_mask=self_mask, cross_mask=cross_mask), 2,
                                       "DecoderLayer.call"))
    if w.shape == (B, H, T, T):
        raise AssertionError("the weights returned are the self-attention's (B, H, T, T): return the "
                             "cross-attention weights (B, H, T, S)")
    assert out.shape == (B, T, d) and w.shape == (B, H, T, S), (
        f"shapes (out, weights) = {out.shape}, {w.shape}; expected {(B, T, d)}, {(B, H, T, S)}")
    for name in ("self_mha", "cross_mha"):
        mha = _has(layer, name, "MultiHeadAttention")
        assert (mha.num_heads, mha.key_dim) == (H, d // H), f"self.{name} should have {H} heads and key_dim {d // H}"
    _ok("shapes, sub-layers", f"out {(B, T, d)}, cross-attention weights {(B, H, T, S)}")

    p = {"self_mha": _rand_mha(rng, d, H, d // H), "cross_mha": _rand_mha(rng, d, H, d // H),
         "ffn": _rand_ffn(rng, d, d_ff), **{n: _rand_ln(rng, d) for n in ("ln1", "ln2", "ln3")}}
    _set_decoder_layer(layer, p)
    got, got_w = (_np(t) for t in layer(x, enc, self_mask=self_mask, cross_mask=cross_mask, training=False))
    want, want_w = _decoder_layer_np(p, x, enc, self_mask, cross_mask)
    if not (_close(got, want) and _close(got_w, want_w)):
        checks = [(_decoder_layer_np(p, x, enc, None, cross_mask), "self_mask is not passed to self.self_mha"),
                  (_decoder_layer_np(p, x, enc, self_mask, None), "cross_mask is not passed to self.cross_mha")]
        for variant, hint in (("no_residual_1", "the residual connection around the self-attention is missing"),
                              ("no_residual_2", "the residual connection around the cross-attention is missing"),
                              ("no_residual_3", "the residual connection around the feed-forward network is missing"),
                              ("cross_query_x", "the cross-attention's queries must be h1 (the output of the first "
                                                "block), not the layer's input x")):
            checks.append((_decoder_layer_np(p, x, enc, self_mask, cross_mask, variant), hint))
        for (other, _), hint in checks:
            if _close(got, other):
                raise AssertionError(f"DecoderLayer: {hint}")
        raise AssertionError(f"DecoderLayer differs from h1 = LN1(x + MHA_self(x, x, self_mask)), h2 = LN2(h1 + "
                             f"MHA_cross(h1, enc_out, cross_mask)), out = LN3(h2 + FFN(h2)) ({_diff(got, want)}); "
                             "the cross-attention takes queries from the decoder (h1), keys and values from enc_out")
    _ok("numerics (three post-norm blocks)", "self-attn -> cross-attn (queries h1, keys/values enc_out) -> FFN")

    changed = x.copy()
    changed[:, 2:] = _f32(rng.normal(size=(B, T - 2, d)))
    later = _np(layer(changed, enc, self_mask=self_mask, cross_mask=cross_mask, training=False)[0])
    assert np.allclose(later[:, :2], got[:, :2], atol=1e-5), (
        "changing the inputs at positions 2, 3 changed the outputs at positions 0, 1: the self-attention looks "
        "ahead; pass self_mask (look-ahead AND padding, True = attend) to self.self_mha")
    _ok("causality", "inputs at positions >= 2 do not change outputs at 0, 1")

    assert np.all(got_w[1, :, :, 4:] == 0.0), "cross-attention weights on padded source positions must be 0.0"
    _ok("source padding", "cross-attention weights at padded source positions 0.0")

    config = layer.get_config()
    assert (config.get("d_model"), config.get("num_heads"), config.get("d_ff"), config.get("dropout")) == (
        d, H, d_ff, 0.1), "get_config() should contain d_model, num_heads, d_ff and dropout"
    twin = decoder_layer_class.from_config(config)
    twin(x, enc)
    twin.set_weights(layer.get_weights())
    again = _np(twin(x, enc, self_mask=self_mask, cross_mask=cross_mask)[0])
    assert _close(again, got), "from_config(get_config()) with the same weights gives other outputs"
    _ok("serialization", "get_config / from_config + copied weights, same outputs")

    xi, ei = keras.Input((None, d)), keras.Input((None, d))
    lay = decoder_layer_class(d, H, d_ff, dropout=0.0)
    model = keras.Model([xi, ei], lay(xi, ei)[0])
    weights = {w.path: w for w in lay.trainable_weights if not w.path.endswith("key_bias")}
    stuck = _fit_step(model, [x, enc], _f32(rng.normal(size=(B, T, d))), weights)
    assert len(lay.trainable_weights) == 26 and not stuck, (
        f"a training step left {stuck or 'some weights'} unchanged (expected 26 trainable weights: 8 in each "
        f"attention, 4 in ffn, gamma and beta of ln1, ln2, ln3; found {len(lay.trainable_weights)})")
    _ok("trainable", "a fit step changes every weight (but the key biases)")
    _done("DecoderLayer")


# ---------------------------------------------------------------------------------------------
# Exercise 8: Encoder, Decoder, Transformer
# ---------------------------------------------------------------------------------------------
def check_transformer(transformer_class) -> None:
    """Shapes, the whole model against a NumPy composition of its own weights, causality, padding invariance
    of the source, a symbolic model of unknown lengths, the .keras round trip."""
    _start()
    rng = np.random.default_rng(38)
    L, d, H, d_ff, V_src, V_tgt = 2, 8, 2, 16, 15, 17
    src = np.array([[2, 5, 9, 4, 3, 0, 0], [2, 7, 6, 8, 11, 12, 3]], "int32")   # (2, 7)
    tgt = np.array([[2, 6, 5, 14, 3, 0], [2, 9, 4, 3, 0, 0]], "int32")          # (2, 6)
    B, S, T = src.shape[0], src.shape[1], tgt.shape[1]
    model = transformer_class(L, d, H, d_ff, V_src, V_tgt, dropout=0.1)
    result = _quiet_call(model, [src, tgt], training=False, return_attention=True)
    logits, weights = (_np(t) for t in _outputs(result, 2, "Transformer(..., return_attention=True)"))
    assert logits.shape == (B, T, V_tgt) and weights.shape == (B, H, T, S), (
        f"shapes (logits, weights) = {logits.shape}, {weights.shape}; expected {(B, T, V_tgt)}, {(B, H, T, S)}")
    plain = _quiet_call(model, [src, tgt], training=False)
    assert not isinstance(plain, (list, tuple)), "without return_attention the Transformer returns the logits only"
    n_enc, n_dec = len(_has(model.encoder, "enc_layers", "a list of EncoderLayers")), len(
        _has(model.decoder, "dec_layers", "a list of DecoderLayers"))
    assert (n_enc, n_dec) == (L, L), f"{L} layers each expected, got {n_enc} encoder and {n_dec} decoder layers"
    _ok("shapes", f"logits {(B, T, V_tgt)}, cross-attention weights {(B, H, T, S)}; {L} + {L} layers")

    _randomize(model, 38)
    logits, weights = (_np(t) for t in _quiet_call(model, [src, tgt], training=False, return_attention=True))
    assert np.array_equal(logits, _np(_quiet_call(model, [src, tgt], training=False))), (
        "two calls with training=False gave different logits: pass training=training to every Dropout (and to the "
        "layers that hold one), so that there is no dropout at inference")
    rng_t = np.random.default_rng(39)
    for t in (1, 3):
        changed = tgt.copy()
        changed[:, t:] = rng_t.integers(4, V_tgt, size=(B, T - t))
        got = _np(_quiet_call(model, [src, changed], training=False))
        assert np.allclose(got[:, :t], logits[:, :t], atol=1e-5), (
            f"changing the target from position {t} on changed the logits at positions before {t}: the decoder "
            "looks ahead; its self-attention mask must include look_ahead_mask(T) (True = attend, k <= q)")
        assert not np.allclose(got[:, t:], logits[:, t:]), f"changing the target from position {t} changed nothing"
    _ok("causality", "target tokens from position t on do not change the logits before t")

    padded = np.concatenate([src, np.zeros((B, 3), "int32")], axis=1)
    got, got_w = (_np(t) for t in _quiet_call(model, [padded, tgt], training=False, return_attention=True))
    assert np.allclose(got, logits, atol=1e-5), (
        "three more [PAD] positions at the end of the source changed the logits: build the source padding mask "
        "from the tokens and pass it to the encoder layers and to the cross-attention")
    assert np.all(got_w[..., S:] == 0.0), "cross-attention weights at padded source positions must be 0.0"
    _ok("source padding invariance", "3 extra [PAD] source positions: same logits, their weights 0.0")

    logits, weights = (_np(t) for t in _quiet_call(model, [src, tgt], training=False, return_attention=True))
    want, want_w = _transformer_np(model, src, tgt)
    if not (_close(logits, want) and _close(weights, want_w)):
        real = tgt != PAD_ID
        if _close(logits[real], want[real]):
            raise AssertionError("the logits differ only at [PAD] target positions: the decoder's self-attention mask "
                                 "is logical_and(look_ahead_mask(T), padding_mask(target))")
        raise AssertionError(f"the logits differ from the NumPy composition of your model's own weights "
                             f"({_diff(logits, want)}): PositionalEmbedding -> EncoderLayers (source padding mask) -> "
                             "DecoderLayers (look-ahead AND target padding; cross mask = source padding) -> "
                             "final_layer; no dropout when training=False. If the checks of Exercises 1-7 passed, "
                             "look at how Encoder, Decoder and Transformer put them together")
    last = getattr(model, "last_attention_weights", None)
    assert last is not None and _close(_np(last), want_w), (
        "after a call, self.last_attention_weights should hold the last decoder layer's cross-attention weights")
    _ok("numerics (NumPy composition)", "the whole model from its own weights; last_attention_weights set")

    si, ti = keras.Input((None,), dtype="int32"), keras.Input((None,), dtype="int32")
    inner = transformer_class(1, d, H, d_ff, V_src, V_tgt)
    lo, wo = _quiet_call(inner, [si, ti], return_attention=True)
    assert tuple(lo.shape) == (None, None, V_tgt) and tuple(wo.shape) == (None, H, None, None), (
        f"symbolic shapes {tuple(lo.shape)}, {tuple(wo.shape)}; expected (None, None, {V_tgt}), (None, {H}, None, None)")
    functional = keras.Model([si, ti], lo)
    for s_len, t_len in ((5, 4), (9, 3)):
        shape = tuple(functional([rng.integers(1, V_src, (2, s_len)), rng.integers(1, V_tgt, (2, t_len))]).shape)
        assert shape == (2, t_len, V_tgt), f"symbolic model, lengths ({s_len}, {t_len}): logits {shape}"
    _ok("symbolic model (unknown lengths)", "keras.Input((None,)) x 2; two source and target lengths")

    loaded = _save_load(model)
    assert type(loaded).__name__ == type(model).__name__, f"the .keras file loads as {type(loaded).__name__}"
    again = _np(_quiet_call(loaded, [src, tgt], training=False))
    assert _close(again, logits), f"the model loaded from a .keras file gives other logits ({_diff(again, logits)})"
    _ok(".keras round trip", "save / load_model: same logits")

    fresh = transformer_class(1, d, H, d_ff, V_src, V_tgt, dropout=0.0)
    _quiet_call(fresh, [src, tgt])
    labels = np.concatenate([tgt[:, 1:], np.zeros((B, 1), "int32")], axis=1)
    before = {w.path: _np(w).copy() for w in fresh.trainable_weights}
    fresh.compile(optimizer=keras.optimizers.SGD(0.5),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=PAD_ID))
    _quiet_call(fresh.train_on_batch, [src, tgt], labels)
    stuck = [p for p, w in zip(before, fresh.trainable_weights)
             if not p.endswith("key_bias") and np.allclose(_np(w), before[p])]
    assert not stuck, f"a training step left {stuck} unchanged: is every sub-layer used in call()?"
    _ok("trainable", f"a fit step changes all {len(before)} weights (but the key biases)")

    try:
        keras.mixed_precision.set_global_policy("mixed_float16")
        half = transformer_class(1, d, H, d_ff, V_src, V_tgt)
        lo, wo = (_np(t) for t in _quiet_call(half, [padded, tgt], training=False, return_attention=True))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert np.all(np.isfinite(lo)) and np.all(np.isfinite(wo)), (
        "under mixed_float16 the logits or weights hold NaN or inf: cast constants to the tensors' dtype "
        "(sqrt(d_model), the positional encoding) and use NEG_INF_FP16 for float16 scores")
    assert np.all(wo[..., S:] == 0.0), "under mixed_float16 the weights at padded source positions must be 0.0"
    _ok("mixed precision (mixed_float16)", "finite float16 logits; padded source weights 0.0")
    _done("Transformer")


# ---------------------------------------------------------------------------------------------
# Exercise 9: masked loss and accuracy
# ---------------------------------------------------------------------------------------------
def check_loss(masked_loss, masked_accuracy) -> None:
    """Against NumPy and SparseCategoricalCrossentropy(ignore_class=0); [PAD] positions ignored; all-PAD batches;
    as a compiled loss and metric."""
    _start()
    rng = np.random.default_rng(40)
    B, T, V = 3, 5, 9
    labels = np.array([[5, 6, 7, 3, 0], [4, 8, 3, 0, 0], [6, 3, 0, 0, 0]], "int32")
    logits = _f32(rng.normal(0.0, 2.0, size=(B, T, V)))
    got = float(_np(masked_loss(labels, logits)))
    want = _masked_loss_np(labels, logits)
    if not np.isclose(got, want, rtol=1e-5):
        if np.isclose(got, _masked_loss_np(labels, logits, pads_count=True), rtol=1e-5):
            raise AssertionError("masked_loss averages over every position: [PAD] labels must not count (keep = "
                                 "labels != PAD_ID; divide by the number of real tokens)")
        raise AssertionError(f"masked_loss = {got:.5f}, expected {want:.5f}: the mean cross-entropy from logits "
                             "(from_logits=True) over the positions whose label is not [PAD]")
    ref = float(_np(keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=PAD_ID)(labels, logits)))
    assert np.isclose(got, ref, rtol=1e-5), f"masked_loss = {got:.5f}, SparseCategoricalCrossentropy gives {ref:.5f}"
    _ok("masked_loss", f"{want:.4f} = SparseCategoricalCrossentropy(from_logits, ignore_class=0)")

    logits = np.zeros((B, T, V), "float32")
    real = np.argwhere(labels != PAD_ID)
    for i, (b, t) in enumerate(real):
        logits[b, t, labels[b, t] if i % 3 else 1] = 4.0               # 2 of 3 right
    logits[labels == PAD_ID, PAD_ID] = 4.0                              # PAD positions "right" too: must not count
    got = float(_np(masked_accuracy(labels, logits)))
    want = _masked_accuracy_np(labels, logits)
    if not np.isclose(got, want, atol=1e-6):
        if np.isclose(got, _masked_accuracy_np(labels, logits, pads_count=True), atol=1e-6):
            raise AssertionError(f"masked_accuracy = {got:.4f} counts the [PAD] positions; expected {want:.4f} "
                                 "over the real tokens only")
        hits_anywhere = ((np.argmax(logits, -1) == labels).sum() / (labels != PAD_ID).sum())
        if np.isclose(got, hits_anywhere, atol=1e-6):
            raise AssertionError(f"masked_accuracy = {got:.4f} counts the hits at [PAD] positions: keep only the hits "
                                 f"where labels != PAD_ID (logical_and); expected {want:.4f}")
        raise AssertionError(f"masked_accuracy = {got:.4f}, expected {want:.4f} (share of real positions where "
                             "argmax(logits) == label)")
    _ok("masked_accuracy", f"{want:.4f} ({int(round(want * len(real)))} of {len(real)} real tokens; PAD ignored)")

    none = np.zeros_like(labels)
    lz, az = float(_np(masked_loss(none, logits))), float(_np(masked_accuracy(none, logits)))
    assert lz == 0.0 and az == 0.0, (f"with every label [PAD], masked_loss and masked_accuracy should be 0.0 (no "
                                     f"division by zero), got {lz}, {az}: divide by maximum(count, 1)")
    _ok("all [PAD]", "0.0 and 0.0, not NaN")

    half = float(_np(masked_loss(labels, logits.astype("float16"))))
    assert np.isfinite(half) and np.isclose(half, _masked_loss_np(labels, logits), rtol=1e-3), (
        f"float16 logits: masked_loss = {half}; compute the loss in float32 (ops.cast(logits, 'float32'))")
    _ok("float16 logits", "a finite float32 loss")

    inp = keras.Input((T, V))
    model = keras.Model(inp, keras.layers.Identity()(inp))
    model.compile(loss=masked_loss, metrics=[masked_accuracy])
    result = _quiet_call(model.evaluate, logits, labels, verbose=0, return_dict=True)
    assert np.isclose(result["loss"], _masked_loss_np(labels, logits), rtol=1e-5), (
        f"model.compile(loss=masked_loss): evaluate gives {result['loss']:.5f}")
    acc = next(v for k, v in result.items() if "accuracy" in k)
    assert np.isclose(acc, want, atol=1e-6), f"compiled as a metric, masked_accuracy gives {acc:.4f}"
    _ok("compile(loss=..., metrics=[...])", "model.evaluate gives the same numbers")
    _done("masked_loss, masked_accuracy")


# ---------------------------------------------------------------------------------------------
# Exercise 10: warm-up schedule
# ---------------------------------------------------------------------------------------------
def check_schedule(schedule_class) -> None:
    """The formula at s = step + 1, the peak at warmup_steps - 1, the default warmup, what an optimizer reads,
    get_config."""
    _start()
    d, warmup = 32, 10
    schedule = schedule_class(d, warmup)
    assert isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule), (
        "WarmupSchedule should subclass keras.optimizers.schedules.LearningRateSchedule")
    steps = [0, 1, 5, 8, 9, 10, 11, 50, 1000]
    got = np.array([float(_np(schedule(s))) for s in steps])
    want = _warmup_np(steps, d, warmup)
    if not np.allclose(got, want, rtol=1e-5):
        if np.allclose(got[1:], _warmup_np(steps[1:], d, warmup, plus_one=False), rtol=1e-5):
            raise AssertionError("the schedule uses `step` as the paper's 1-based step: Keras passes the optimizer's "
                                 "0-based iteration, so use s = step + 1 (finite at step 0)")
        if np.allclose(got, _warmup_np(steps, d, warmup) * np.sqrt(d), rtol=1e-5):
            raise AssertionError("the factor d_model^-0.5 is missing")
        raise AssertionError(f"schedule at steps {steps} = {_fmt(got, 5)}, expected {_fmt(want, 5)}: "
                             "d_model^-0.5 * min(s^-0.5, s * warmup_steps^-1.5) with s = step + 1")
    _ok("values, s = step + 1", f"d_model={d}, warmup_steps={warmup}: step 0 -> {want[0]:.5f}, "
        f"step 9 -> {want[4]:.5f}")

    around = [float(_np(schedule(s))) for s in range(warmup + 6)]
    assert int(np.argmax(around)) == warmup - 1, (
        f"the peak is at step {int(np.argmax(around))}, expected {warmup - 1} (= warmup_steps - 1)")
    assert schedule_class(d).warmup_steps == 4000, "the default warmup_steps should be 4000"
    _ok("peak at warmup_steps - 1", f"step {warmup - 1}; default warmup_steps 4000")

    variable = keras.Variable(np.ones(2, "float32"))
    optimizer = keras.optimizers.SGD(learning_rate=schedule_class(d, warmup))
    for step in range(3):
        lr = float(_np(optimizer.learning_rate))
        assert np.isclose(lr, _warmup_np(step, d, warmup), rtol=1e-5), (
            f"after {step} updates the optimizer's learning rate is {lr:.6f}, expected {_warmup_np(step, d, warmup):.6f}")
        optimizer.apply_gradients([(ops.ones(2), variable)])
    _ok("inside an optimizer", "SGD(learning_rate=schedule): the rate of updates 0, 1, 2")

    config = schedule.get_config()
    assert config == {"d_model": d, "warmup_steps": warmup}, (
        f"get_config() = {config}, expected {{'d_model': {d}, 'warmup_steps': {warmup}}}")
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert np.isclose(float(_np(clone(5))), float(_np(schedule(5)))), "a deserialized schedule gives other values"
    _ok("serialization", "get_config == {'d_model', 'warmup_steps'}; serialize / deserialize")
    _done("WarmupSchedule")
