"""The NumPy oracles of 03_transformer against the formulas written out here and against Keras built-ins.

Positional encoding vs a double loop and hand entries; masks vs tables written out; scaled dot-product
attention vs keras.ops.dot_product_attention and keras.layers.Attention; multi-head attention vs
keras.layers.MultiHeadAttention with the same weights (self and cross, padding and look-ahead masks);
layer norm, feed-forward, encoder and decoder layers vs compositions of Keras layers; the masked loss vs
keras.losses.SparseCategoricalCrossentropy(ignore_class=0); accuracy by hand; the warm-up schedule vs its
formula and vs the step Keras hands a schedule. No expected value here comes from the oracle itself.
"""
from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from autograder.oracles import transformer as tf_o

RTOL, ATOL = 1e-5, 1e-5  # float32 Keras against float64 NumPy


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x), np.float64)


def _f32(x):
    return np.asarray(x, np.float32)


def _close(got, want, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(_np(got), want, rtol=rtol, atol=atol)


# ---- positional encoding ----------------------------------------------------------------------------

@pytest.mark.parametrize("length, depth", [(7, 8), (5, 6), (6, 5), (3, 1)])
def test_positional_encoding_equals_the_double_loop(length, depth):
    want = np.zeros((length, depth))
    for pos in range(length):
        for col in range(depth):
            i = col // 2
            angle = pos / 10000 ** (2 * i / depth)
            want[pos, col] = math.sin(angle) if col % 2 == 0 else math.cos(angle)
    got = tf_o.positional_encoding(length, depth)
    assert got.shape == (length, depth) and got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_positional_encoding_hand_entries():
    pe = tf_o.positional_encoding(4, 6)
    np.testing.assert_array_equal(pe[0], [0, 1, 0, 1, 0, 1])
    assert pe[1, 0] == pytest.approx(math.sin(1.0), abs=1e-15)
    assert pe[1, 1] == pytest.approx(math.cos(1.0), abs=1e-15)
    assert pe[1, 2] == pytest.approx(math.sin(1 / 10000 ** (2 / 6)), abs=1e-15)
    assert pe[3, 5] == pytest.approx(math.cos(3 / 10000 ** (4 / 6)), abs=1e-15)
    # interleaved, not halves: the even columns are the sins, the odd ones the cosines of the same angles
    np.testing.assert_allclose(pe[:, 0::2] ** 2 + pe[:, 1::2] ** 2, 1.0, atol=1e-12)
    # odd depth: the last column is a sin without its cos, exponent with the true depth
    odd = tf_o.positional_encoding(3, 5)
    assert odd[:, 4] == pytest.approx([math.sin(p / 10000 ** (4 / 5)) for p in range(3)], abs=1e-15)
    assert odd[0, 4] == 0.0


# ---- masks ----------------------------------------------------------------------------------------------

def test_masks_equal_the_tables():
    tokens = np.array([[5, 3, 0, 0], [2, 0, 7, 0], [1, 1, 1, 1]])
    T, F = True, False
    np.testing.assert_array_equal(tf_o.padding_mask(tokens), [[[T, T, F, F]], [[T, F, T, F]], [[T, T, T, T]]])
    np.testing.assert_array_equal(tf_o.padding_mask(tokens, pad_id=1), [[[T, T, T, T]], [[T, T, T, T]], [[F, F, F, F]]])
    assert tf_o.padding_mask(tokens).shape == (3, 1, 4) and tf_o.padding_mask(tokens).dtype == bool
    look = tf_o.look_ahead_mask(4)
    np.testing.assert_array_equal(look, [[[T, F, F, F], [T, T, F, F], [T, T, T, F], [T, T, T, T]]])
    assert look.shape == (1, 4, 4) and look.dtype == bool
    both = tf_o.combine_masks(tf_o.padding_mask(tokens[:2]), look)
    np.testing.assert_array_equal(both, [
        [[T, F, F, F], [T, T, F, F], [T, T, F, F], [T, T, F, F]],
        [[T, F, F, F], [T, F, F, F], [T, F, T, F], [T, F, T, F]],
    ])
    np.testing.assert_array_equal(tf_o.combine_masks(None, look), look)


# ---- scaled dot-product attention ---------------------------------------------------------------------

B, H, TQ, TK, DK, DV = 2, 3, 4, 6, 5, 7
SRC = np.array([[4, 9, 2, 8, 0, 0], [3, 1, 5, 6, 2, 7]])  # source tokens, PAD = 0
TGT = np.array([[6, 2, 3, 0], [1, 5, 0, 0]])  # target tokens


def _qkv(seed, tq=TQ, tk=TK):
    rng = np.random.default_rng(seed)
    return (_f32(rng.normal(size=(B, H, tq, DK))), _f32(rng.normal(size=(B, H, tk, DK))),
            _f32(rng.normal(size=(B, H, tk, DV))))


def _bthd(x):  # (B, H, T, D) -> (B, T, H, D), keras.ops.dot_product_attention's layout
    return np.transpose(x, (0, 2, 1, 3))


@pytest.mark.parametrize("which", ["none", "padding", "look_ahead"])
def test_scaled_dot_product_attention_equals_keras_dot_product_attention(which):
    tk = TQ if which == "look_ahead" else TK
    q, k, v = _qkv(11, tk=tk)
    mask = {"none": None, "padding": tf_o.padding_mask(SRC), "look_ahead": tf_o.look_ahead_mask(TQ)}[which]
    out, weights = tf_o.scaled_dot_product_attention(q, k, v, None if mask is None else mask[:, None])
    assert out.shape == (B, H, TQ, DV) and weights.shape == (B, H, TQ, tk)
    want = keras.ops.dot_product_attention(_bthd(q), _bthd(k), _bthd(v), mask=None if mask is None else mask[:, None])
    _close(want, _bthd(out))
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-12)
    if mask is not None:
        keep = np.broadcast_to(mask[:, None], weights.shape)
        assert np.all(weights[~keep] == 0.0) and np.all(weights[keep] > 0.0)
    # the scale is 1/sqrt(dk): the unscaled softmax differs
    assert not np.allclose(weights, tf_o.scaled_dot_product_attention(q * np.sqrt(DK), k, v)[1])


@pytest.mark.parametrize("causal", [False, True])
def test_scaled_dot_product_attention_weights_equal_keras_attention(causal):
    rng = np.random.default_rng(12)
    tk = TQ if causal else TK
    q, k, v = (_f32(rng.normal(size=s)) for s in ((B, TQ, DK), (B, tk, DK), (B, tk, DV)))
    layer = keras.layers.Attention(score_mode="dot", use_scale=True)
    kwargs = {"use_causal_mask": True} if causal else {"mask": [None, SRC != 0]}
    layer([q, v, k], **kwargs)
    layer.scale.assign(1.0 / np.sqrt(DK))
    got_out, got_w = layer([q, v, k], return_attention_scores=True, **kwargs)
    mask = tf_o.look_ahead_mask(TQ) if causal else tf_o.padding_mask(SRC)  # 3-D against (B, Tq, Tk) scores
    out, weights = tf_o.scaled_dot_product_attention(q, k, v, mask)
    _close(got_w, weights)
    _close(got_out, out)


def test_fully_masked_row_is_uniform_here_and_zero_in_keras():
    """Documents the one difference: a query row with no key to attend (an all-PAD sequence)."""
    q, k, v = _qkv(13)
    mask = np.ones((B, 1, 1, TK), bool)
    mask[1] = False
    _, weights = tf_o.scaled_dot_product_attention(q, k, v, mask)
    np.testing.assert_allclose(weights[1], 1.0 / TK)  # every score -1e9: softmax is uniform
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)
    x = _f32(np.random.default_rng(0).normal(size=(B, TK, 4)))
    _, kw = layer(x, x, attention_mask=np.broadcast_to(mask[:, 0], (B, TK, TK)), return_attention_scores=True)
    assert np.all(_np(kw)[1] == 0.0)  # Keras's masked softmax zeroes a fully masked row


# ---- multi-head attention --------------------------------------------------------------------------------

def _keras_mha(params, H_, dh, query, value):
    layer = keras.layers.MultiHeadAttention(num_heads=H_, key_dim=dh)
    layer(query, value)  # build
    tf_o.mha_params_to_keras(layer, params)
    return layer


def test_mha_params_round_trip_and_layout():
    rng = np.random.default_rng(20)
    d, d_kv, H_, dh = 8, 5, 2, 3
    q, v = _f32(rng.normal(size=(B, TQ, d))), _f32(rng.normal(size=(B, TK, d_kv)))
    layer = keras.layers.MultiHeadAttention(num_heads=H_, key_dim=dh)
    layer(q, v)
    fresh = tf_o.mha_params_from_keras(layer)
    shapes = {name: a.shape for name, a in fresh.items()}
    assert shapes == {"query_kernel": (d, H_, dh), "query_bias": (H_, dh), "key_kernel": (d_kv, H_, dh),
                      "key_bias": (H_, dh), "value_kernel": (d_kv, H_, dh), "value_bias": (H_, dh),
                      "output_kernel": (H_, dh, d), "output_bias": (d,)}
    params = tf_o.mha_params_random(rng, d, H_, dh, d_kv=d_kv)
    tf_o.mha_params_to_keras(layer, params)
    back = tf_o.mha_params_from_keras(layer)
    for name in tf_o.MHA_KEYS:
        np.testing.assert_allclose(back[name], params[name], rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError):
        tf_o.mha_params_to_keras(layer, tf_o.mha_params_random(rng, d, H_, dh + 1, d_kv=d_kv))


MHA_CASES = {
    "self": dict(tq=TK, tk=TK, mask=None),
    "self_padding": dict(tq=TK, tk=TK, mask="src_padding"),
    "self_look_ahead": dict(tq=TQ, tk=TQ, mask="look_ahead"),
    "self_look_ahead_and_padding": dict(tq=TQ, tk=TQ, mask="both"),
    "cross": dict(tq=TQ, tk=TK, mask=None, d_kv=5),
    "cross_padding": dict(tq=TQ, tk=TK, mask="src_padding", d_kv=5),
}


def _mask(kind):
    return {None: None, "src_padding": tf_o.padding_mask(SRC), "look_ahead": tf_o.look_ahead_mask(TQ),
            "both": tf_o.combine_masks(tf_o.padding_mask(TGT), tf_o.look_ahead_mask(TQ))}[kind]


@pytest.mark.parametrize("case", list(MHA_CASES))
def test_multi_head_attention_equals_keras(case):
    c = MHA_CASES[case]
    rng = np.random.default_rng(21 + list(MHA_CASES).index(case))
    d, H_, dh = 8, 2, 4
    d_kv = c.get("d_kv", d)
    query = _f32(rng.normal(size=(B, c["tq"], d)))
    value = query if c["tq"] == c["tk"] and d_kv == d else _f32(rng.normal(size=(B, c["tk"], d_kv)))
    params = tf_o.mha_params_random(rng, d, H_, dh, d_kv=d_kv)
    layer = _keras_mha(params, H_, dh, query, value)
    mask = _mask(c["mask"])
    kwargs = {} if mask is None else {"attention_mask": np.broadcast_to(mask, (B, c["tq"], c["tk"]))}
    got_out, got_w = layer(query, value, return_attention_scores=True, **kwargs)
    got_fast = layer(query, value, **kwargs)  # the fused keras.ops.dot_product_attention path
    out, weights = tf_o.multi_head_attention(tf_o.mha_params_from_keras(layer), query, value, mask=mask)
    assert out.shape == (B, c["tq"], d) and weights.shape == (B, H_, c["tq"], c["tk"])
    _close(got_w, weights)
    _close(got_out, out)
    _close(got_fast, out)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-12)
    if mask is not None:
        keep = np.broadcast_to(tf_o.heads_mask(mask), weights.shape)
        assert np.all(weights[~keep] == 0.0)


def test_look_ahead_mask_is_keras_use_causal_mask_and_key_defaults_to_value():
    rng = np.random.default_rng(30)
    d, H_, dh = 6, 3, 2
    x = _f32(rng.normal(size=(B, TQ, d)))
    params = tf_o.mha_params_random(rng, d, H_, dh)
    layer = _keras_mha(params, H_, dh, x, x)
    got_out, got_w = layer(x, x, use_causal_mask=True, return_attention_scores=True)
    out, weights = tf_o.multi_head_attention(params, x, x, mask=tf_o.look_ahead_mask(TQ))
    _close(got_w, weights)
    _close(got_out, out)
    # a distinct key: keys from one tensor, values from another
    key = _f32(rng.normal(size=(B, TQ, d)))
    got = layer(x, x, key=key)
    _close(got, tf_o.multi_head_attention(params, x, x, key=key)[0])
    assert not np.allclose(_np(got), out, atol=1e-3)
    # a 4-D per-head mask is used as it is; other ranks are refused
    per_head = np.broadcast_to(tf_o.look_ahead_mask(TQ)[:, None], (B, H_, TQ, TQ))
    np.testing.assert_allclose(tf_o.multi_head_attention(params, x, x, mask=per_head)[1], weights)
    with pytest.raises(ValueError):
        tf_o.multi_head_attention(params, x, x, mask=np.ones((B, TQ), bool))


# ---- layer norm, feed-forward ------------------------------------------------------------------------------

@pytest.mark.parametrize("epsilon", [None, 1e-5])
def test_layer_norm_equals_keras(epsilon):
    rng = np.random.default_rng(40)
    x = _f32(rng.normal(0.3, 0.05, size=(B, 5, 8)))  # small variance: the epsilon matters at this tolerance
    gamma, beta = rng.normal(1, 0.3, 8), rng.normal(0, 0.3, 8)
    layer = keras.layers.LayerNormalization() if epsilon is None else keras.layers.LayerNormalization(epsilon=epsilon)
    layer(x)
    layer.set_weights([_f32(gamma), _f32(beta)])
    want = tf_o.layer_norm(x, gamma, beta) if epsilon is None else tf_o.layer_norm(x, gamma, beta, eps=epsilon)
    _close(layer(x), want, rtol=1e-4)
    wrong_eps = tf_o.layer_norm(x, gamma, beta, eps=1e-6 if epsilon is None else 1e-3)
    assert not np.allclose(_np(layer(x)), wrong_eps, rtol=1e-4, atol=1e-4)


def test_feed_forward_equals_two_keras_dense_layers():
    rng = np.random.default_rng(41)
    x = _f32(rng.normal(size=(B, 5, 6)))
    p = tf_o.ffn_params_random(rng, 6, 10)
    dense1, dense2 = keras.layers.Dense(10, activation="relu"), keras.layers.Dense(6)
    dense2(dense1(x))
    dense1.set_weights([_f32(p["W1"]), _f32(p["b1"])])
    dense2.set_weights([_f32(p["W2"]), _f32(p["b2"])])
    want = tf_o.feed_forward(x, p["W1"], p["b1"], p["W2"], p["b2"])
    _close(dense2(dense1(x)), want)
    assert np.any(x @ p["W1"] + p["b1"] < 0)  # the relu cuts something


# ---- encoder and decoder layers ------------------------------------------------------------------------------

def _keras_ln(p, x):
    layer = keras.layers.LayerNormalization()
    layer(x)
    layer.set_weights([_f32(p["gamma"]), _f32(p["beta"])])
    return layer


def _keras_ffn(p):
    dense1, dense2 = keras.layers.Dense(p["W1"].shape[1], activation="relu"), keras.layers.Dense(p["W2"].shape[1])
    dense1.build((None, p["W1"].shape[0]))
    dense2.build((None, p["W2"].shape[0]))
    dense1.set_weights([_f32(p["W1"]), _f32(p["b1"])])
    dense2.set_weights([_f32(p["W2"]), _f32(p["b2"])])
    return lambda h: dense2(dense1(h))


D, NH, DH, DFF = 8, 2, 4, 16


def test_encoder_layer_equals_the_keras_composition():
    rng = np.random.default_rng(50)
    x = _f32(rng.normal(size=(B, TK, D)))
    p = tf_o.encoder_params_random(rng, D, NH, DH, DFF)
    mask = tf_o.padding_mask(SRC)
    mha = _keras_mha(p["mha"], NH, DH, x, x)
    ln1, ln2, ffn = _keras_ln(p["ln1"], x), _keras_ln(p["ln2"], x), _keras_ffn(p["ffn"])
    a, w = mha(x, x, attention_mask=np.broadcast_to(mask, (B, TK, TK)), return_attention_scores=True)
    h = ln1(x + a)
    want_out = ln2(h + ffn(h))
    out, weights = tf_o.encoder_layer(p, x, mask, return_weights=True)
    _close(want_out, out, rtol=1e-4)
    _close(w, weights)
    np.testing.assert_allclose(tf_o.encoder_layer(p, x, mask), out)
    # padding: the PAD source positions get weight 0 and changing them leaves the real positions alone
    assert np.all(weights[0, :, :, 4:] == 0.0)
    x2 = x.copy()
    x2[0, 4:] += 1.0
    np.testing.assert_allclose(tf_o.encoder_layer(p, x2, mask)[0, :4], out[0, :4], atol=1e-12)


def test_decoder_layer_equals_the_keras_composition():
    rng = np.random.default_rng(51)
    d_enc = 6
    x = _f32(rng.normal(size=(B, TQ, D)))
    enc = _f32(rng.normal(size=(B, TK, d_enc)))
    p = tf_o.decoder_params_random(rng, D, NH, DH, DFF, d_enc=d_enc)
    self_mask = tf_o.combine_masks(tf_o.padding_mask(TGT), tf_o.look_ahead_mask(TQ))  # (B, T, T)
    cross_mask = tf_o.padding_mask(SRC)  # (B, 1, S)
    self_mha = _keras_mha(p["self_mha"], NH, DH, x, x)
    cross_mha = _keras_mha(p["cross_mha"], NH, DH, x, enc)
    ln1, ln2, ln3 = (_keras_ln(p[k], x) for k in ("ln1", "ln2", "ln3"))
    ffn = _keras_ffn(p["ffn"])
    a1 = self_mha(x, x, attention_mask=np.broadcast_to(self_mask, (B, TQ, TQ)))
    h1 = ln1(x + a1)
    a2, w2 = cross_mha(h1, enc, attention_mask=np.broadcast_to(cross_mask, (B, TQ, TK)), return_attention_scores=True)
    h2 = ln2(h1 + a2)
    want_out = ln3(h2 + ffn(h2))
    out, cross_weights = tf_o.decoder_layer(p, x, enc, self_mask, cross_mask)
    assert out.shape == (B, TQ, D) and cross_weights.shape == (B, NH, TQ, TK)
    _close(want_out, out, rtol=1e-4)
    _close(w2, cross_weights)
    assert np.all(cross_weights[0, :, :, 4:] == 0.0)
    # causal: changing the last target position leaves the earlier outputs alone
    x2 = x.copy()
    x2[:, -1] += 1.0
    out2, _ = tf_o.decoder_layer(p, x2, enc, self_mask, cross_mask)
    np.testing.assert_allclose(out2[:, :-1], out[:, :-1], atol=1e-12)
    assert not np.allclose(out2[:, -1], out[:, -1])


# ---- loss, accuracy ------------------------------------------------------------------------------------------

def test_masked_loss_equals_keras_ignore_class():
    rng = np.random.default_rng(60)
    labels = np.array([[3, 1, 4, 0, 0], [2, 2, 0, 0, 0], [5, 1, 3, 2, 4]])
    logits = _f32(rng.normal(0, 2, size=(3, 5, 6)))
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
    got = tf_o.masked_loss(labels, logits)
    assert got == pytest.approx(float(_np(keras_loss(labels, logits))), rel=1e-5)
    # by hand: mean over the 10 real tokens of -log softmax
    lp = logits - np.log(np.exp(logits.astype(np.float64)).sum(-1, keepdims=True))
    real = [(b, t) for b in range(3) for t in range(5) if labels[b, t] != 0]
    assert len(real) == 10 and got == pytest.approx(-np.mean([lp[b, t, labels[b, t]] for b, t in real]), rel=1e-9)
    # PAD positions are ignored, whatever their logits; all-PAD gives 0 (as Keras)
    assert tf_o.masked_loss(labels, np.where((labels == 0)[..., None], 50.0, logits)) == pytest.approx(got, rel=1e-12)
    assert tf_o.masked_loss(np.zeros_like(labels), logits) == 0.0 == float(_np(keras_loss(np.zeros_like(labels), logits)))


def test_masked_accuracy_by_hand():
    logits = np.zeros((2, 4, 5))
    predicted = np.array([[3, 1, 2, 2], [4, 4, 0, 1]])
    np.put_along_axis(logits, predicted[..., None], 1.0, axis=-1)
    labels = np.array([[3, 2, 2, 0], [4, 1, 0, 0]])
    # real tokens: (0,0) hit, (0,1) miss, (0,2) hit, (1,0) hit, (1,1) miss -> 3 / 5; the PAD (1,2) "hit" not counted
    assert tf_o.masked_accuracy(labels, logits) == pytest.approx(3 / 5)
    assert tf_o.masked_accuracy(np.zeros_like(labels), logits) == 0.0


# ---- warm-up learning rate -------------------------------------------------------------------------------------

def _paper(s, d_model, warmup):  # the formula with the 1-based step s of the paper
    return d_model ** -0.5 * min(s ** -0.5, s * warmup ** -1.5)


@pytest.mark.parametrize("d_model, warmup", [(128, 4000), (512, 50)])
def test_warmup_lr_is_the_formula_at_step_plus_one(d_model, warmup):
    for s in (1, 2, warmup, warmup + 1, 10 * warmup):
        assert tf_o.warmup_lr(s - 1, d_model, warmup) == pytest.approx(_paper(s, d_model, warmup), rel=1e-12)
    assert tf_o.warmup_lr(0, d_model, warmup) == pytest.approx(d_model ** -0.5 * warmup ** -1.5, rel=1e-12)
    peak = d_model ** -0.5 * warmup ** -0.5
    steps = np.arange(0, 3 * warmup)
    lr = tf_o.warmup_lr(steps, d_model, warmup)
    assert int(np.argmax(lr)) == warmup - 1 and lr.max() == pytest.approx(peak, rel=1e-12)
    assert np.all(np.diff(lr[:warmup]) > 0) and np.all(np.diff(lr[warmup - 1:]) < 0)
    with pytest.raises(ValueError):
        tf_o.warmup_lr(-1, d_model, warmup)


def test_keras_hands_a_schedule_the_zero_based_iteration():
    """The reason for step + 1: the first update asks the schedule for step 0."""
    seen = []

    class Recording(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            seen.append(int(step.numpy()))
            return keras.ops.cast(step, "float32") * 0.0 + 0.5

    optimizer = keras.optimizers.SGD(learning_rate=Recording())
    variable = keras.Variable(np.zeros(1, np.float32))
    for _ in range(3):
        optimizer.apply_gradients([(np.ones(1, np.float32), variable)])
    assert seen == [0, 1, 2]
