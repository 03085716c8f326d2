"""Visible checks for assignment 02 (seq2seq, attention, greedy and beam search).

Each check runs the student's layer or function on small fixed inputs, prints one ``[ok] ...`` line
per property it confirmed, and raises an AssertionError that says what was expected, what came and
where to look. They help a student find a bug early; they are not the grade. The hidden tests of
the autograder run the same kinds of cases with other seeds, shapes and weights, and more of them.

Where a Keras built-in computes the same thing (``keras.layers.Attention`` for the dot scores,
``keras.layers.AdditiveAttention`` for Bahdanau on projected inputs, ``Embedding`` + ``LSTM`` for the
encoder and decoders) the check compares with it; otherwise with a small NumPy formula. The decoding
checks run on toy next-token functions written in NumPy (:class:`ToyStepFn`, :class:`TreeStepFn`);
their expected outputs are given as constants or found by exhaustive search.
"""
from __future__ import annotations

import itertools

import numpy as np

import seqlab  # noqa: F401  (silences TF before keras import)
import keras
from keras import ops

from seqlab.checks import _close, _diff  # the tolerances and messages of every visible check
from seqlab.tokenizers import END_ID, PAD_ID, START_ID



_COUNT = [0]


def _ok(case: str, expected: str) -> None:
    """One passed case, in the format of seqlab.checks: `[ok] <case>  expected: <value>`."""
    _COUNT[0] += 1
    print(f"[ok] {case:<38s} expected: {expected}")


def _start() -> None:
    _COUNT[0] = 0


def _done(title: str) -> None:
    print(f"{title}: all {_COUNT[0]} checks passed")


def _np(x) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(x))


def _fmt(x, digits: int = 4) -> str:
    return np.array2string(np.asarray(x, np.float64), precision=digits, suppress_small=True, separator=", ",
                           max_line_width=100)


def _softmax(x, axis=-1):
    x = np.asarray(x, np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _masked_softmax(scores, mask):
    """Softmax over the last axis (source positions) with weight exactly 0 where mask is False."""
    scores = np.where(mask[:, None, :], np.asarray(scores, np.float64), -np.inf)
    return _softmax(scores, axis=-1)


def _outputs(result, n: int, what: str) -> list:
    assert isinstance(result, (list, tuple)) and len(result) == n, (
        f"{what} should return {n} tensors, got {type(result).__name__}"
        + (f" of length {len(result)}" if isinstance(result, (list, tuple)) else ""))
    return list(result)


def _has(layer, name: str, what: str):
    sub = getattr(layer, name, None)
    assert sub is not None, f"{type(layer).__name__} has no attribute `{name}` ({what}); use the prescribed name"
    return sub


def _randomize(layer, rng, scale=0.5) -> list:
    """Give every weight of `layer` small random values; returns them (in get_weights order)."""
    values = [rng.normal(0.0, scale, size=w.shape).astype("float32") for w in layer.get_weights()]
    layer.set_weights(values)
    return values


def _fit_step_changes(model, x, y, variables: dict) -> list:
    """One SGD step on `model`; returns the names in `variables` whose value did not change."""
    before = {k: _np(v).copy() for k, v in variables.items()}
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    model.train_on_batch(x, y)
    return [k for k, v in variables.items() if np.allclose(_np(v), before[k])]


def _roundtrip(layer, call):
    """from_config(get_config()) + copied weights: the same outputs as `layer`."""
    config = layer.get_config()
    twin = type(layer).from_config(config)
    call(twin)  # build
    twin.set_weights(layer.get_weights())
    return twin


# ---------------------------------------------------------------------------------------------
# Exercise 1: Encoder
# ---------------------------------------------------------------------------------------------
def check_encoder(encoder_class, source_mask) -> None:
    """Shapes, numbers against Embedding + Bidirectional(LSTM), padding invariance, source_mask,
    symbolic input, get_config/from_config, a fit step."""
    _start()
    rng = np.random.default_rng(21)
    V, E, U, B, S = 11, 3, 2, 2, 5
    tokens = rng.integers(4, V, size=(B, S)).astype("int32")
    enc = encoder_class(V, E, U)
    out, h, c = _outputs(enc(tokens), 3, "Encoder.call")
    shapes = (tuple(out.shape), tuple(h.shape), tuple(c.shape))
    want = ((B, S, 2 * U), (B, 2 * U), (B, 2 * U))
    assert shapes == want, f"shapes (outputs, state_h, state_c) = {shapes}, expected {want}"
    _ok("shapes (three outputs)", f"outputs {want[0]}, state_h {want[1]}, state_c {want[2]}")

    emb, rnn = _has(enc, "embedding", "keras.layers.Embedding"), _has(enc, "rnn", "the Bidirectional LSTM")
    ref_emb = keras.layers.Embedding(V, E, mask_zero=True)
    ref_rnn = keras.layers.Bidirectional(keras.layers.LSTM(U, return_sequences=True, return_state=True))
    ref_rnn(ref_emb(tokens))
    emb_w = rng.normal(0.0, 0.5, size=(V, E)).astype("float32")
    rnn_w = [rng.normal(0.0, 0.5, size=w.shape).astype("float32") for w in ref_rnn.get_weights()]
    try:
        emb.set_weights([emb_w])
        rnn.set_weights(rnn_w)
    except ValueError as exc:
        raise AssertionError(f"could not copy the reference weights into encoder.embedding / encoder.rnn "
                             f"(are they Embedding({V}, {E}) and Bidirectional(LSTM({U}))?): {exc}") from None
    ref_emb.set_weights([emb_w])
    ref_rnn.set_weights(rnn_w)
    r_out, r_fh, r_fc, r_bh, r_bc = (_np(t) for t in ref_rnn(ref_emb(tokens)))
    out, h, c = (_np(t) for t in enc(tokens))
    assert _close(out, r_out), f"outputs differ from Embedding + Bidirectional(LSTM) with the same weights ({_diff(out, r_out)})"
    assert _close(h, np.concatenate([r_fh, r_bh], -1)), (
        "state_h differs: it should be concat([forward h, backward h], axis=-1)")
    assert _close(c, np.concatenate([r_fc, r_bc], -1)), (
        "state_c differs: it should be concat([forward c, backward c], axis=-1) (and c, not h, as the third output)")
    _ok("numerics, unpadded batch", "= keras Embedding + Bidirectional(LSTM), same weights; h, c = [forward; backward]")

    padded = tokens.copy()
    padded[0, 3:] = PAD_ID
    p_out, p_h, p_c = (_np(t) for t in enc(padded))
    a_out, a_h, a_c = (_np(t) for t in enc(padded[:1, :3]))
    assert _close(p_out[0, :3], a_out[0]) and _close(p_h[0], a_h[0]) and _close(p_c[0], a_c[0]), (
        "a padded sentence does not give the same outputs and final states as the sentence alone: does the "
        "Embedding use mask_zero=True, so that the LSTM skips [PAD] (in both directions)?")
    m = _np(source_mask(padded))
    assert m.dtype == bool and np.array_equal(m, padded != PAD_ID), (
        f"source_mask(tokens) should be a bool array, True at real tokens (tokens != 0); got {m.astype(int).tolist()}")
    _ok("padding invariance, source_mask", "a padded row = the sentence alone (outputs, h, c); mask == (tokens != 0)")

    inp = keras.Input((None,), dtype="int32")
    model = keras.Model(inp, list(encoder_class(V, E, U)(inp)))
    got = [tuple(t.shape) for t in model(tokens)]
    assert got == list(want), f"symbolic model gives shapes {got}, expected {list(want)}"
    _ok("symbolic input", "keras.Input((None,), dtype='int32') -> a functional model")

    twin = _roundtrip(enc, lambda layer: layer(tokens))
    assert _close(_np(twin(tokens)[0]), out), "from_config(get_config()) with the same weights gives other outputs"
    _ok("serialization", "get_config / from_config + copied weights, same outputs")

    train = encoder_class(V, E, U)
    o = train(inp)
    model = keras.Model(inp, keras.layers.Dense(1)(o[1]))
    stuck = _fit_step_changes(model, tokens, np.ones((B, 1), "float32"),
                              {f"weight {i}": w for i, w in enumerate(train.trainable_weights)})
    assert not stuck and len(train.trainable_weights) >= 7, (
        f"a training step left {stuck or 'some weights'} unchanged (expected 7 trainable weights: embedding, "
        f"and kernel, recurrent kernel, bias for each direction; found {len(train.trainable_weights)})")
    _ok("trainable", "a fit step changes the embedding and both LSTMs")
    _done("Encoder")


# ---------------------------------------------------------------------------------------------
# Exercise 2: Decoder
# ---------------------------------------------------------------------------------------------
def check_decoder(decoder_class) -> None:
    """Shapes, numbers against Embedding + LSTM + Dense with an initial state, initial_state used,
    return_state, get_config/from_config."""
    _start()
    rng = np.random.default_rng(22)
    V, E, U, B, T = 9, 3, 4, 2, 3
    target_in = rng.integers(4, V, size=(B, T)).astype("int32")
    target_in[:, 0] = START_ID
    s0 = [rng.normal(0.0, 0.5, size=(B, U)).astype("float32") for _ in range(2)]
    s1 = [rng.normal(0.0, 0.5, size=(B, U)).astype("float32") for _ in range(2)]
    dec = decoder_class(V, E, U)
    logits = dec(target_in, s0)
    assert tuple(logits.shape) == (B, T, V), f"logits shape {tuple(logits.shape)}, expected {(B, T, V)}"
    _ok("shapes", f"logits {(B, T, V)}")

    subs = [_has(dec, n, w) for n, w in (("embedding", "Embedding"), ("rnn", "LSTM"), ("out", "Dense"))]
    ref = [keras.layers.Embedding(V, E, mask_zero=True),
           keras.layers.LSTM(U, return_sequences=True, return_state=True), keras.layers.Dense(V)]

    def oracle(initial):
        seq, h, c = ref[1](ref[0](target_in), initial_state=initial)
        return _np(ref[2](seq)), _np(h), _np(c)

    oracle(s0)
    for sub, r in zip(subs, ref):
        r.set_weights(_randomize(sub, rng))
    want0, want_h, want_c = oracle(s0)
    want1 = oracle(s1)[0]
    got0, got1 = _np(dec(target_in, s0)), _np(dec(target_in, s1))
    if not _close(got0, want0):
        if _close(got0, _np(ref[2](ref[1](ref[0](target_in))[0]))):
            raise AssertionError("logits equal a run from a zero state: pass initial_state to the LSTM")
        raise AssertionError(f"logits differ from Embedding + LSTM + Dense with the same weights ({_diff(got0, want0)})")
    _ok("numerics", "= keras Embedding + LSTM + Dense, same weights and initial state")
    assert _close(got1[:, 0] - got0[:, 0], want1[:, 0] - want0[:, 0]) and not np.allclose(got0[:, 0], got1[:, 0]), (
        "two different initial states should change the first step's logits exactly as the reference says: "
        "is initial_state passed to the LSTM?")
    _ok("initial state", "two initial states change the first logits as the reference does")

    result = _outputs(dec(target_in, s0, return_state=True), 3, "Decoder.call(..., return_state=True)")
    assert _close(_np(result[1]), want_h) and _close(_np(result[2]), want_c), (
        "with return_state=True the 2nd and 3rd outputs should be the LSTM's final h and c")
    _ok("return_state", f"(logits, h {(B, U)}, c {(B, U)}), h and c = the LSTM's final states")

    twin = _roundtrip(dec, lambda layer: layer(target_in, s0))
    assert _close(_np(twin(target_in, s0)), want0), "from_config(get_config()) with the same weights gives other logits"
    _ok("serialization", "get_config / from_config + copied weights, same outputs")
    _done("Decoder")


# ---------------------------------------------------------------------------------------------
# Exercise 3: BaseAttention (masking, softmax, weighted sum)
# ---------------------------------------------------------------------------------------------
def _with_scores(base_class, scores):
    """A subclass of the student's base class whose score() returns the given scores."""
    fixed = np.asarray(scores, "float32")
    return type("GivenScores", (base_class,), {"score": lambda self, query, values: ops.convert_to_tensor(fixed)})()


def _dot_subclass(base_class):
    def score(self, query, values):
        return ops.matmul(query, ops.transpose(values, (0, 2, 1)))

    return type("DotScores", (base_class,), {"score": score})


def check_masked_attention(base_class) -> None:
    """Through subclasses whose score() is given: softmax over the source axis, masked weights exactly 0,
    context = weights @ values, agreement with keras.layers.Attention, symbolic inputs."""
    _start()
    rng = np.random.default_rng(23)
    B, T, S, d_q, d_v = 2, 3, 4, 2, 5
    query = rng.normal(size=(B, T, d_q)).astype("float32")
    values = rng.normal(size=(B, S, d_v)).astype("float32")
    scores = rng.normal(0.0, 2.0, size=(B, T, S)).astype("float32")
    result = _outputs(_with_scores(base_class, scores)(query, values), 2, "BaseAttention.call")
    context, weights = _np(result[0]), _np(result[1])
    assert context.shape == (B, T, d_v) and weights.shape == (B, T, S), (
        f"shapes (context, weights) = {context.shape}, {weights.shape}; expected {(B, T, d_v)}, {(B, T, S)}")
    _ok("shapes (T != S, d_v != d_q)", f"context {(B, T, d_v)}, weights {(B, T, S)}")

    want = _softmax(scores, -1)
    if not _close(weights, want):
        if _close(weights, _softmax(scores, 1)):
            raise AssertionError("the softmax runs over the query axis (axis 1): it must run over the source "
                                 "positions (axis -1), so that each row of weights sums to 1")
        raise AssertionError(f"without a mask, weights should be softmax(scores, axis=-1) ({_diff(weights, want)})")
    _ok("softmax axis (no mask)", "weights = softmax(scores, axis=-1); each row sums to 1")

    mask = np.array([[True, True, True, False], [True, False, False, False]])
    context, weights = (_np(t) for t in _with_scores(base_class, scores)(query, values, mask=mask))
    padded = np.broadcast_to(~mask[:, None, :], weights.shape)
    assert np.all(weights[padded] == 0.0), (
        f"masked (padding) positions must get weight exactly 0.0, got up to {np.abs(weights[padded]).max():.3g}: "
        "is the mask inverted (True = real token), or added instead of used with ops.where?")
    assert np.allclose(weights.sum(-1), 1.0, atol=1e-5), "each row of the masked weights must sum to 1"
    want = _masked_softmax(scores, mask)
    assert _close(weights, want), f"masked weights differ from the softmax over the real positions ({_diff(weights, want)})"
    _ok("masked weights", "padded columns exactly 0.0; rows sum to 1 over the real positions")

    assert _close(context, weights @ values), (
        f"context should be weights @ values: sum over source positions of weight * value ({_diff(context, weights @ values)})")
    _ok("context", "weights @ values")

    q = rng.normal(size=(B, T, d_v)).astype("float32")
    ctx, w = (_np(t) for t in _dot_subclass(base_class)()(q, values, mask=mask))
    r_ctx, r_w = (_np(t) for t in keras.layers.Attention()([q, values], mask=[None, mask], return_attention_scores=True))
    assert _close(w, r_w) and _close(ctx, r_ctx), (
        f"with a dot score the result differs from keras.layers.Attention with the same mask ({_diff(ctx, r_ctx)})")
    _ok("dot score vs keras.layers.Attention", "same weights and context with the value mask")

    qi, vi, mi = keras.Input((None, d_v)), keras.Input((None, d_v)), keras.Input((None,), dtype="bool")
    ctx_sym, w_sym = _dot_subclass(base_class)()(qi, vi, mask=mi)
    model = keras.Model([qi, vi, mi], [ctx_sym, w_sym])
    got = [tuple(t.shape) for t in model([q, values, mask])]
    assert got == [(B, T, d_v), (B, T, S)], f"symbolic model gives shapes {got}"
    _ok("symbolic inputs", "keras.Input with unknown T and S and a bool mask")
    _done("BaseAttention")


# ---------------------------------------------------------------------------------------------
# Exercise 4: Bahdanau
# ---------------------------------------------------------------------------------------------
def _bahdanau_np(query, values, W1, W2, v):
    q = (query @ W1)[:, :, None, :]   # (B, T, 1, units)
    k = (values @ W2)[:, None, :, :]  # (B, 1, S, units)
    return np.tanh(q + k) @ v         # (B, T, S)


def check_bahdanau(bahdanau_class) -> None:
    """Weight shapes, the score against NumPy, each term alone, keras.layers.AdditiveAttention on projected
    inputs, serialization, a fit step."""
    _start()
    rng = np.random.default_rng(24)
    B, T, S, d_q, d_v, units = 2, 3, 4, 3, 5, 6
    query = rng.normal(size=(B, T, d_q)).astype("float32")
    values = rng.normal(size=(B, S, d_v)).astype("float32")
    mask = np.array([[True, True, True, True], [True, True, True, False]])
    layer = bahdanau_class(units)
    layer(query, values, mask=mask)
    shapes = {n: tuple(_has(layer, n, "weight").shape) for n in ("W1", "W2", "v")}
    want = {"W1": (d_q, units), "W2": (d_v, units), "v": (units,)}
    assert shapes == want, f"weight shapes {shapes}, expected {want}"
    _ok("weights", f"W1 {want['W1']}, W2 {want['W2']}, v {want['v']}")

    W1, W2, v = (rng.normal(0.0, 0.5, size=want[n]).astype("float32") for n in ("W1", "W2", "v"))
    layer.W1.assign(W1), layer.W2.assign(W2), layer.v.assign(v)
    got = _np(layer.score(query, values))
    ref = _bahdanau_np(query, values, W1, W2, v)
    if not _close(got, ref):
        if _close(got, (((query @ W1)[:, :, None] + (values @ W2)[:, None]) @ v)):
            raise AssertionError("the score has no tanh: v^T tanh(W1 s + W2 h)")
        raise AssertionError(f"score(query, values) differs from v^T tanh(W1 s_t + W2 h_j) ({_diff(got, ref)})")
    _ok("score", "v^T tanh(W1 s_t + W2 h_j) (NumPy)")

    for zero, term, other in (("W2", "query term W1 s_t", "W1"), ("W1", "key term W2 h_j", "W2")):
        W = {"W1": W1, "W2": W2}
        W[zero] = np.zeros_like(W[zero])
        layer.W1.assign(W["W1"]), layer.W2.assign(W["W2"])
        got = _np(layer.score(query, values))
        assert _close(got, _bahdanau_np(query, values, W["W1"], W["W2"], v)), (
            f"with {zero} = 0 only the {term} is left, and the score is wrong: look at how {other} is applied "
            f"({'to the decoder state (query)' if other == 'W1' else 'to the encoder states (values)'})")
    layer.W1.assign(W1), layer.W2.assign(W2)
    _ok("terms", "W2 = 0: query term alone; W1 = 0: key term alone")

    ctx, w = (_np(t) for t in layer(query, values, mask=mask))
    add = keras.layers.AdditiveAttention(use_scale=True)
    add([query @ W1, values, values @ W2], mask=[None, mask])
    add.scale.assign(v)
    r_ctx, r_w = (_np(t) for t in add([query @ W1, values, values @ W2], mask=[None, mask], return_attention_scores=True))
    assert _close(w, r_w) and _close(ctx, r_ctx), (
        f"weights/context differ from keras.layers.AdditiveAttention on the projected inputs ({_diff(w, r_w)})")
    _ok("vs keras.layers.AdditiveAttention", "same weights/context on (query W1, values, values W2), scale v")

    assert layer.get_config().get("units") == units, "get_config() should contain units"
    qi, vi = keras.Input((None, d_q)), keras.Input((None, d_v))
    model = keras.Model([qi, vi], bahdanau_class(units)(qi, vi)[0])
    _roundtrip_keras(model, [query, values])
    _ok("serialization", "units in get_config; .keras round trip, same outputs")

    stuck = _fit_step_changes(model, [query, values], np.ones((B, T, d_v), "float32"),
                              {n: getattr(model.layers[-1], n) for n in ("W1", "W2", "v")})
    assert not stuck, f"a training step left {stuck} unchanged: are they created with add_weight and used in score()?"
    _ok("trainable", "a fit step changes W1, W2 and v")
    _done("BahdanauAttention")


def _roundtrip_keras(model, inputs):
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
    a, b = _np(model(inputs)), _np(loaded(inputs))
    assert _close(a, b), f"the model loaded from a .keras file gives other outputs ({_diff(a, b)})"


# ---------------------------------------------------------------------------------------------
# Exercise 5: Luong
# ---------------------------------------------------------------------------------------------
def _luong_np(name, query, values, W=None, v=None, max_len=None):
    if name == "dot":
        return query @ values.transpose(0, 2, 1)
    if name == "scaled_dot":
        return query @ values.transpose(0, 2, 1) / np.sqrt(query.shape[-1])
    if name == "general":
        return query @ W @ values.transpose(0, 2, 1)
    if name == "concat":
        d_q = query.shape[-1]
        return _bahdanau_np(query, values, W[:d_q], W[d_q:], v)
    if name == "location":
        return (query @ W)[:, :, :values.shape[1]]
    raise ValueError(name)


def check_luong(luong_class) -> None:
    """The five scores against NumPy (dot and scaled_dot also against keras.layers.Attention), weight
    shapes, the location score's masking, serialization, a fit step."""
    _start()
    rng = np.random.default_rng(25)
    B, T, S, d, d_v, units, max_len = 2, 3, 4, 4, 6, 5, 7
    query = rng.normal(size=(B, T, d)).astype("float32")
    same = rng.normal(size=(B, S, d)).astype("float32")   # d_v == d_q for dot / scaled_dot
    other = rng.normal(size=(B, S, d_v)).astype("float32")
    mask = np.array([[True, True, True, True], [True, True, False, False]])
    want_shapes = {"dot": {}, "scaled_dot": {}, "general": {"W": (d, d_v)},
                   "concat": {"W": (2 * d, units), "v": (units,)}, "location": {"W": (d, max_len)}}
    for name in ("dot", "general", "concat", "scaled_dot", "location"):
        values = same if name in ("dot", "scaled_dot", "concat") else other
        layer = luong_class(name, units=units, max_len=max_len)
        layer(query, values, mask=mask)
        shapes = {n: tuple(getattr(layer, n).shape) for n in ("W", "v") if getattr(layer, n, None) is not None}
        assert shapes == want_shapes[name], f"{name}: weight shapes {shapes}, expected {want_shapes[name]}"
        params = {n: rng.normal(0.0, 0.5, size=s).astype("float32") for n, s in want_shapes[name].items()}
        for n, val in params.items():
            getattr(layer, n).assign(val)
        got = _np(layer.score(query, values))
        ref = _luong_np(name, query, values, max_len=max_len, **params)
        if not _close(got, ref):
            hint = ""
            W_, v_ = params.get("W"), params.get("v")
            if name == "concat" and any(_close(got, _bahdanau_np(query, values, a, b, v_)) for a, b in (
                    (W_[d:], W_[:d]), (W_[d:], W_[d:]), (W_[:d], W_[:d]))):
                hint = ": the halves of W are mixed up: [s; h] means s meets W[:d_q] and h meets W[d_q:]"
            elif name == "scaled_dot" and _close(got, ref * np.sqrt(d)):
                hint = ": the scores are not scaled (divide by sqrt(d))"
            elif name == "scaled_dot" and _close(got, ref / np.sqrt(d)):
                hint = ": the scores are divided by d; divide by sqrt(d)"
            elif name == "location" and got.shape != ref.shape:
                hint = f": slice the (B, T, max_len) scores to the S = {S} source positions"
            raise AssertionError(f"{name}: score differs from the formula of the table ({_diff(got, ref)}){hint}")
        if name in ("dot", "scaled_dot"):
            att = keras.layers.Attention(use_scale=name == "scaled_dot")
            att([query, values], mask=[None, mask])
            if name == "scaled_dot":
                att.scale.assign(1.0 / np.sqrt(d))
            r_ctx, r_w = (_np(t) for t in att([query, values], mask=[None, mask], return_attention_scores=True))
            ctx, w = (_np(t) for t in layer(query, values, mask=mask))
            assert _close(w, r_w) and _close(ctx, r_ctx), f"{name}: weights differ from keras.layers.Attention"
            extra = " = keras.layers.Attention" + ("(use_scale, scale 1/sqrt(d))" if name == "scaled_dot" else "()")
        elif name == "location":
            ctx, w = (_np(t) for t in layer(query, values, mask=mask))
            assert np.all(w[1, :, 2:] == 0.0) and _close(w, _masked_softmax(ref, mask)), (
                "location: the weights should be the masked softmax of (W s)[:S] (padded positions 0.0)")
            extra = f"; sliced from max_len={max_len} to S={S} and masked"
        else:
            extra = ""
        _ok(f"{name} score", f"NumPy formula{extra}; weights {want_shapes[name] or 'none'}")

    layer = luong_class("location", units=None, max_len=max_len)
    config = layer.get_config()
    assert (config.get("score"), config.get("units"), config.get("max_len")) == ("location", None, max_len), (
        "get_config() should contain score, units and max_len")
    qi, vi = keras.Input((None, d)), keras.Input((None, d_v))
    model = keras.Model([qi, vi], luong_class("general")(qi, vi)[0])
    _roundtrip_keras(model, [query, other])
    _ok("serialization", "score, units, max_len in get_config; .keras round trip")

    for name in ("general", "concat", "location"):
        lay = luong_class(name, units=units, max_len=max_len)
        model = keras.Model([qi, vi], lay(qi, vi)[0])
        names = [n for n in ("W", "v") if getattr(lay, n, None) is not None]
        stuck = _fit_step_changes(model, [query, other], np.ones((B, T, d_v), "float32"), {n: getattr(lay, n) for n in names})
        assert not stuck, f"{name}: a training step left {stuck} unchanged"
    _ok("trainable", "a fit step changes W (and v) of general, concat, location")
    _done("LuongAttention")


# ---------------------------------------------------------------------------------------------
# Exercise 6: AttentionDecoder
# ---------------------------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="seqlab_checks")
class CheckDotAttention(keras.layers.Layer):
    """The checks' own attention layer (dot score, masked softmax), injected into the student's
    AttentionDecoder so that only the decoder is judged."""

    def call(self, query, values, mask=None):
        scores = ops.einsum("btd,bsd->bts", query, values)            # (B, T, S)
        if mask is not None:
            big = ops.cast(-1e9, scores.dtype)
            scores = ops.where(ops.cast(mask, "bool")[:, None, :], scores, big)
        weights = ops.softmax(scores, axis=-1)
        return ops.einsum("bts,bsd->btd", weights, values), weights


def check_attention_decoder(decoder_class) -> None:
    """With the checks' own dot attention injected: shapes, logits against a NumPy composition
    (Keras LSTM for the recurrence), the order [c; s], the mask passed on, serialization, a fit step."""
    _start()
    rng = np.random.default_rng(26)
    V, E, U, B, T, S = 9, 3, 4, 2, 3, 5
    target_in = rng.integers(4, V, size=(B, T)).astype("int32")
    target_in[:, 0] = START_ID
    enc = rng.normal(size=(B, S, U)).astype("float32")
    state = [rng.normal(0.0, 0.5, size=(B, U)).astype("float32") for _ in range(2)]
    mask = np.array([[True] * S, [True, True, True, False, False]])
    dec = decoder_class(V, E, U, CheckDotAttention())
    result = _outputs(dec(target_in, enc, state, mask, return_state=True), 4,
                      "AttentionDecoder.call(..., return_state=True)")
    shapes = [tuple(t.shape) for t in result]
    want = [(B, T, V), (B, T, S), (B, U), (B, U)]
    assert shapes == want, f"shapes (logits, weights, h, c) = {shapes}, expected {want}"
    assert len(_outputs(dec(target_in, enc, state, mask), 2, "AttentionDecoder.call")) == 2
    _ok("shapes", f"logits {want[0]}, weights {want[1]}; return_state: + h, c {want[2]}")

    subs = {n: _has(dec, n, w) for n, w in (("embedding", "Embedding"), ("rnn", "LSTM"), ("W_c", "Dense, no bias"),
                                            ("out", "Dense"))}
    assert len(subs["W_c"].get_weights()) == 1 and tuple(subs["W_c"].get_weights()[0].shape) == (2 * U, U), (
        f"W_c should be Dense({U}, activation='tanh', use_bias=False) on [c; s] (kernel {(2 * U, U)}, no bias)")
    w = {n: _randomize(layer, rng) for n, layer in subs.items()}
    ref_emb, ref_rnn = keras.layers.Embedding(V, E, mask_zero=True), keras.layers.LSTM(U, return_sequences=True, return_state=True)
    ref_rnn(ref_emb(target_in), initial_state=state)
    ref_emb.set_weights(w["embedding"])
    ref_rnn.set_weights(w["rnn"])
    s, r_h, r_c = (_np(t) for t in ref_rnn(ref_emb(target_in), initial_state=state))
    a = _masked_softmax(s @ enc.transpose(0, 2, 1), mask)              # (B, T, S)
    ctx = a @ enc                                                      # (B, T, U)

    def compose(first, second):
        att = np.tanh(np.concatenate([first, second], -1) @ w["W_c"][0])
        return att @ w["out"][0] + w["out"][1]

    logits, weights, h, c = (_np(t) for t in dec(target_in, enc, state, mask, return_state=True))
    want_logits = compose(ctx, s)
    if not _close(logits, want_logits):
        if _close(logits, compose(s, ctx)):
            raise AssertionError("W_c is applied to [s; c]: concatenate the context first, [c_t; s_t]")
        if not _close(weights, a):
            raise AssertionError("the attention weights returned differ: call self.attention(s, enc_outputs, "
                                 "mask=source_mask) with the LSTM outputs s as the query")
        raise AssertionError(f"logits differ from out(tanh(W_c [c_t; s_t])) ({_diff(logits, want_logits)})")
    assert _close(h, r_h) and _close(c, r_c), "h, c should be the LSTM's final states"
    _ok("numerics, concat order", "logits = out(tanh(W_c [c_t; s_t])), context first")

    assert np.all(weights[1, :, 3:] == 0.0), (
        "the weights at padded source positions are not 0: pass source_mask to the attention layer (mask=...)")
    _ok("mask passed", "weights at padded source positions are 0.0")

    config = dec.get_config()
    assert isinstance(config.get("attention"), dict), "get_config() should serialize the attention layer"
    twin = _roundtrip(dec, lambda layer: layer(target_in, enc, state, mask))
    assert _close(_np(twin(target_in, enc, state, mask)[0]), logits), (
        "from_config(get_config()) with the same weights gives other logits")
    _ok("serialization", "get_config holds the attention layer; from_config, same logits")

    ti, ei, mi = keras.Input((None,), dtype="int32"), keras.Input((None, U)), keras.Input((None,), dtype="bool")
    hi, ci = keras.Input((U,)), keras.Input((U,))
    lay = decoder_class(V, E, U, CheckDotAttention())
    model = keras.Model([ti, ei, hi, ci, mi], lay(ti, ei, [hi, ci], mi)[0])
    stuck = _fit_step_changes(model, [target_in, enc, *state, mask], np.ones((B, T, V), "float32"),
                              {f"weight {i}": v for i, v in enumerate(lay.trainable_weights)})
    assert not stuck, f"a training step left {stuck} of the decoder's weights unchanged"
    _ok("trainable", "symbolic inputs; a fit step changes every decoder weight")
    _done("AttentionDecoder")


# ---------------------------------------------------------------------------------------------
# Toy next-token functions for the decoding exercises
# ---------------------------------------------------------------------------------------------
class ToyStepFn:
    """A fixed random NumPy "RNN" with the next-token protocol of the decoding exercises:

        h' = tanh(h W + E[token]);  logits = h' O + b

    ``b`` is 0 except ``end_bias`` at [END] and -30 at the ``blocked`` tokens.

    ``step_fn(tokens (N,), [h (N, H)]) -> (logits (N, V), [h' (N, H)])``. It counts its calls
    (``calls``) and remembers the batch size of each call (``sizes``).
    """

    def __init__(self, vocab_size: int = 6, hidden: int = 5, seed: int = 0, scale: float = 1.5,
                 end_bias: float = 0.0, blocked=()):
        rng = np.random.default_rng(seed)
        self.V, self.H = vocab_size, hidden
        self.W = rng.normal(0.0, 1.0, size=(hidden, hidden))
        self.E = rng.normal(0.0, 1.0, size=(vocab_size, hidden))
        self.O = rng.normal(0.0, scale, size=(hidden, vocab_size))
        self.b = np.zeros(vocab_size)
        if END_ID < vocab_size:
            self.b[END_ID] = end_bias
        self.b[list(blocked)] = -30.0  # e.g. (PAD_ID, START_ID): tokens a real decoder never emits
        self.calls, self.sizes = 0, []

    def initial_state(self, batch: int, seed: int = 1) -> list:
        return [np.random.default_rng(seed).normal(0.0, 1.0, size=(batch, self.H))]

    def __call__(self, tokens, state):
        tokens = np.asarray(tokens, np.int64)
        h = np.tanh(np.asarray(state[0]) @ self.W + self.E[tokens])
        self.calls += 1
        self.sizes.append(len(tokens))
        return h @ self.O + self.b, [h]


class TreeStepFn:
    """A next-token function given as a tree of probabilities: ``tree`` maps a prefix (a tuple of
    tokens, without [START]) to the probabilities of the next token (a list of length V). Prefixes
    missing from the tree get ``default`` (uniform if None). The state is one number per row, the
    row's node in the tree (``[(N, 1) float array]``); ``initial_state()`` gives one row per tree
    (``TreeStepFn([tree_a, tree_b])`` batches two sentences). Counts its calls like :class:`ToyStepFn`.
    """

    def __init__(self, trees, default=None):
        self.trees = [trees] if isinstance(trees, dict) else list(trees)
        self.V = len(next(iter(self.trees[0].values())))
        self.default = np.full(self.V, 1.0 / self.V) if default is None else np.asarray(default, np.float64)
        self.nodes, self._index = [], {}   # node number -> (tree number, prefix)
        self.calls, self.sizes = 0, []

    def _node(self, tree: int, prefix: tuple) -> int:
        key = (tree, prefix)
        if key not in self._index:
            self._index[key] = len(self.nodes)
            self.nodes.append(key)
        return self._index[key]

    def probs(self, tree: int, prefix: tuple) -> np.ndarray:
        p = np.asarray(self.trees[tree].get(tuple(prefix), self.default), np.float64)
        return p / p.sum()

    def initial_state(self) -> list:
        # -(t + 1): "tree t, nothing read yet" (the first token fed is [START])
        return [np.array([[-(t + 1.0)] for t in range(len(self.trees))])]

    def __call__(self, tokens, state):
        tokens = np.asarray(tokens, np.int64)
        self.calls += 1
        self.sizes.append(len(tokens))
        logits, nodes = [], []
        for code, tok in zip(np.asarray(state[0])[:, 0], tokens):
            code = int(round(code))
            if code < 0:
                tree, prefix = -code - 1, ()
            else:
                tree, prefix = self.nodes[code]
                prefix = prefix + (int(tok),)
            logits.append(np.log(np.maximum(self.probs(tree, prefix), 1e-300)))
            nodes.append([self._node(tree, prefix)])
        return np.array(logits), [np.array(nodes, np.float64)]


def toy_tree():
    """The small tree of the beam-search figure and checks: 5 tokens (0 PAD, 1 "a", 2 START, 3 END,
    4 "b"). The most likely first token ("a", 0.5) leads to a worse sentence than the second ("b", 0.4)."""
    return {
        (): [0.0, 0.5, 0.0, 0.1, 0.4],
        (1,): [0.0, 0.3, 0.0, 0.3, 0.4],
        (4,): [0.0, 0.1, 0.0, 0.8, 0.1],
        (1, 1): [0.0, 0.1, 0.0, 0.8, 0.1],
        (1, 4): [0.0, 0.2, 0.0, 0.4, 0.4],
        (4, 1): [0.0, 0.2, 0.0, 0.6, 0.2],
        (4, 4): [0.0, 0.3, 0.0, 0.5, 0.2],
    }


def _replay_log_prob(step_fn, state_row, tokens, start_id=START_ID) -> float:
    """log P(tokens) for one sentence (state_row: the state list of a batch of one), by feeding the tokens."""
    total, last, state = 0.0, start_id, state_row
    for tok in tokens:
        logits, state = step_fn(np.array([last]), state)
        z = np.asarray(logits, np.float64)[0]
        total += z[tok] - (z.max() + np.log(np.exp(z - z.max()).sum()))
        last = tok
    return total


def _exhaustive(step_fn, state_row, vocab_size, max_len, alpha, end_id=END_ID):
    """Every sequence of at most max_len tokens that ends in [END] (or is max_len long), by score."""
    found = []
    for length in range(1, max_len + 1):
        for seq in itertools.product(range(vocab_size), repeat=length):
            if end_id in seq[:-1] or (length < max_len and seq[-1] != end_id):
                continue
            lp = _replay_log_prob(step_fn, state_row, list(seq))
            found.append((list(seq), lp / length ** alpha))
    return sorted(found, key=lambda h: -h[1])


def _row(state, b):
    return [np.asarray(s)[b:b + 1] for s in state]


# Expected outputs of the toy cases below (computed once with a reference implementation).
_GREEDY_WANT = np.array([[4, 3, 0, 0, 0, 0, 0],
                         [4, 4, 5, 4, 5, 4, 5],
                         [4, 5, 4, 3, 0, 0, 0]])


def _greedy_step():
    return ToyStepFn(vocab_size=6, hidden=5, seed=68, end_bias=0.5, blocked=(PAD_ID, START_ID))


def _greedy_case():
    step = _greedy_step()
    return step, step.initial_state(3, seed=69)


# ---------------------------------------------------------------------------------------------
# Exercise 7: greedy decoding
# ---------------------------------------------------------------------------------------------
def check_greedy(greedy_decode) -> None:
    """On a toy step function: the argmax tokens, [PAD] after [END], no call after every row finished,
    batch = one sentence at a time."""
    _start()
    step, state = _greedy_case()
    out = np.asarray(greedy_decode(step, state, 7))
    assert out.shape == (3, 7), f"output shape {out.shape}, expected (3, 7) = (batch, max_len)"
    for b in range(3):
        want, got = _GREEDY_WANT[b], out[b]
        n = int(np.argmax(want == END_ID)) + 1 if END_ID in want else len(want)
        if not np.array_equal(got[:n], want[:n]):
            raise AssertionError(f"row {b}: tokens {got.tolist()}, expected {want.tolist()} (the argmax of the logits "
                                 "at each step, fed back as the next input)")
    _ok("argmax tokens", f"{_GREEDY_WANT.tolist()}")
    assert np.array_equal(out, _GREEDY_WANT), (
        f"after [END] a row must hold [PAD] (0): got {out.tolist()}, expected {_GREEDY_WANT.tolist()}")
    _ok("stops at [END]", "[PAD] (0) after [END]; shape (batch, max_len) = (3, 7)")

    step, state = _greedy_case()
    short = greedy_decode(step, [s[[0, 2]] for s in state], 7)
    assert step.calls == 4, (
        f"step_fn was called {step.calls} times for two rows that have both ended after 4 steps: stop as soon as "
        "every row has produced [END]")
    assert np.array_equal(np.asarray(short), _GREEDY_WANT[[0, 2]])
    _ok("no calls after every row finished", "4 step_fn calls for rows ending at steps 2 and 4")

    for b in range(3):
        step, state = _greedy_case()
        one = np.asarray(greedy_decode(step, _row(state, b), 7))
        assert np.array_equal(one[0], out[b]), f"row {b} decoded alone gives {one[0].tolist()}, in the batch {out[b].tolist()}"
    _ok("batching", "the batch = one sentence at a time")
    _done("greedy_decode")


# ---------------------------------------------------------------------------------------------
# Exercise 8: beam search
# ---------------------------------------------------------------------------------------------
_BEAM_WANT = {  # (beam_width, alpha, n_best) -> per sentence [(tokens, score), ...]
    (2, 0.7, 2): [[([4, 3], -0.4555), ([3], -4.5411)],
                  [([4, 1, 1, 1, 4, 4, 4], -1.3160), ([4, 1, 1, 1, 1, 4, 4], -1.3165)],
                  [([4, 3], -0.7085), ([3], -2.0352)]],
    (3, 0.7, 2): [[([4, 3], -0.4555), ([4, 5, 3], -2.1907)],
                  [([1, 1, 4, 4, 4, 4, 4], -1.3065), ([1, 1, 1, 4, 4, 4, 4], -1.3065)],
                  [([4, 3], -0.7085), ([4, 5, 3], -1.0230)]],
}


def _as_hyps(result, what):
    try:
        return [[(list(map(int, tokens)), float(score)) for tokens, score in sentence] for sentence in result]
    except Exception:
        raise AssertionError(f"{what} should return, per sentence, a list of (tokens, score) pairs") from None


def _same_hyps(got, want, atol=1e-4):
    return len(got) == len(want) and all(
        g[0] == w[0] and abs(g[1] - w[1]) < atol for g, w in zip(got, want))


def check_beam_search(beam_search) -> None:
    """Width 1 = greedy; widths 2 and 3 against expected results; exhaustive search on a tiny vocabulary;
    length normalization changes the winner; scores; batching."""
    _start()
    step, state = _greedy_case()
    got = _as_hyps(beam_search(step, state, beam_width=1, max_len=7), "beam_search")
    for b in range(3):
        want = [int(t) for t in _GREEDY_WANT[b] if t != PAD_ID]
        assert len(got[b]) == 1 and got[b][0][0] == want, (
            f"sentence {b}: width 1 gives {got[b][0][0] if got[b] else None}, greedy gives {want}")
    _ok("width 1 is greedy", "the greedy tokens, without [START], with [END]")

    for (k, alpha, n_best), want in _BEAM_WANT.items():
        step, state = _greedy_case()
        got = _as_hyps(beam_search(step, state, beam_width=k, max_len=7, alpha=alpha, n_best=n_best), "beam_search")
        for b in range(3):
            assert _same_hyps(got[b], want[b]), (
                f"beam_width={k}, alpha={alpha}, n_best={n_best}, sentence {b}: got {got[b]}, expected {want[b]}")
    _ok("widths 2 and 3, alpha 0.7, n_best 2", "e.g. sentence 0, width 3: [4, 3] -0.4555, [4, 5, 3] -2.1907")

    step = ToyStepFn(vocab_size=4, hidden=3, seed=33, scale=1.0)
    state = step.initial_state(2, seed=34)
    for alpha in (0.0, 1.0):
        got = _as_hyps(beam_search(step, state, beam_width=4 ** 3, max_len=3, alpha=alpha, n_best=3), "beam_search")
        for b in range(2):
            want = _exhaustive(step, _row(state, b), 4, 3, alpha)[:3]
            assert _same_hyps(got[b], [(t, s) for t, s in want]), (
                f"alpha={alpha}, sentence {b}: a beam as wide as the whole tree should equal exhaustive search; "
                f"got {got[b]}, expected {want}")
    _ok("exhaustive (V=4, max_len=3, width 64)", "= exhaustive search, alpha 0 and 1, n_best 3")

    tree = {(): [0.0, 0.45, 0.0, 0.5, 0.05], (1,): [0.0, 0.1, 0.0, 0.8, 0.1]}
    winners = {}
    for alpha in (0.0, 1.0):
        step = TreeStepFn(tree)
        winners[alpha] = _as_hyps(beam_search(step, step.initial_state(), 2, 3, alpha=alpha), "beam_search")[0][0][0]
    assert winners == {0.0: [3], 1.0: [1, 3]}, (
        f"winners {winners}: with alpha=0 the short [END] (log 0.5) wins; with alpha=1 (length normalization) "
        "[1, END] wins ((log 0.45 + log 0.8) / 2 > log 0.5). Divide the log-probability by len(tokens) ** alpha")
    _ok("length normalization", "alpha=0 picks [END], alpha=1 picks [1, END]")

    step, state = _greedy_case()
    got = _as_hyps(beam_search(step, state, beam_width=3, max_len=7, alpha=0.7, n_best=3), "beam_search")
    for b in range(3):
        assert len(got[b]) == 3, f"n_best=3 should give 3 hypotheses, got {len(got[b])}"
        scores = [s for _, s in got[b]]
        assert scores == sorted(scores, reverse=True), f"sentence {b}: scores {scores} are not sorted best first"
        for tokens, score in got[b]:
            lp = _replay_log_prob(_greedy_step(), _row(state, b), tokens)
            assert abs(score - lp / len(tokens) ** 0.7) < 1e-4, (
                f"sentence {b}, {tokens}: score {score:.4f}, but its log-probability / len**alpha is "
                f"{lp / len(tokens) ** 0.7:.4f} (add log-probabilities, do not multiply probabilities)")
    _ok("scores", "log P / len**alpha, best first, n_best of them")

    step, state = _greedy_case()
    batch = _as_hyps(beam_search(step, state, 3, 7, alpha=0.7, n_best=2), "beam_search")
    for b in range(3):
        step, state = _greedy_case()
        one = _as_hyps(beam_search(step, _row(state, b), 3, 7, alpha=0.7, n_best=2), "beam_search")[0]
        assert _same_hyps(one, batch[b]), f"sentence {b} alone gives {one}, in the batch {batch[b]}"
    _ok("batching", "the batch = one sentence at a time")
    _done("beam_search")


# ---------------------------------------------------------------------------------------------
# Exercise 9: beam-search error analysis
# ---------------------------------------------------------------------------------------------
def check_error_analysis(sequence_log_prob, beam_error_analysis) -> None:
    """log P(y|x) of sequences of different lengths; verdicts search / model / correct; fractions."""
    _start()
    step, state = _greedy_case()
    seqs = [[1, 4, 3], [5, 1], [4, 4, 1, 3]]
    got = np.asarray(sequence_log_prob(step, state, seqs), np.float64)
    want = np.array([_replay_log_prob(_greedy_step(), _row(state, b), s) for b, s in enumerate(seqs)])
    assert got.shape == (3,) and np.allclose(got, want, atol=1e-5), (
        f"sequence_log_prob gives {_fmt(got)}, expected {_fmt(want)} (sum of log_softmax(logits)[token] over each "
        "sequence's own tokens; a shorter sequence stops adding at its end)")
    _ok("log prob (lengths 3, 2, 4)", f"{_fmt(want)}")

    tree = toy_tree()
    trees = [tree, tree, tree]
    refs = [[4, 3], [1, 3], [1, 1, 3]]      # y*: what a human would say
    outs = [[1, 4, 3], [4, 3], [1, 1, 3]]   # y^: what beam search returned
    step = TreeStepFn(trees)
    result = beam_error_analysis(step, step.initial_state(), refs, outs)
    verdicts = list(result["verdicts"])
    want = ["search", "model", "correct"]
    if verdicts != want:
        if verdicts == ["model", "search", "correct"]:
            raise AssertionError("the comparison is reversed: P(y*|x) > P(y^|x) means the model prefers the reference, "
                                 "so beam search is to blame ('search')")
        raise AssertionError(f"verdicts {verdicts}, expected {want} (P(y*) = 0.32 > P(y^) = 0.08 -> search; "
                             "P(y*) = 0.15 < P(y^) = 0.32 -> model; y^ == y* -> correct)")
    _ok("verdicts", f"{want}")
    assert abs(result["search"] - 0.5) < 1e-9 and abs(result["model"] - 0.5) < 1e-9, (
        f"fractions search={result['search']}, model={result['model']}; expected 0.5 and 0.5: count over the "
        "errors only (the correct sentence is not an error)")
    none = beam_error_analysis(TreeStepFn(tree), TreeStepFn(tree).initial_state(), [[4, 3]], [[4, 3]])
    assert none["search"] == 0.0 and none["model"] == 0.0, "with no error both fractions should be 0.0"
    _ok("fractions", "search 0.5, model 0.5 (errors only); 0.0 and 0.0 without errors")
    _done("sequence_log_prob, beam_error_analysis")
