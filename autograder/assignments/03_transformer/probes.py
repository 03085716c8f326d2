"""Probes of 03_transformer: run the student's code on the grader's cases, in the student's process.

Each probe fills its item's declared record (see items.py) and decides nothing. One bug costs points once:
composite items are built with the grader's own versions of the parts graded before them, injected under
the names the student's code looks up at run time (`injected`): the student's `MultiHeadAttention` gets the
grader's `scaled_dot_product_attention`, `EncoderLayer` and `DecoderLayer` get the grader's
`MultiHeadAttention` and `FeedForward`, and the `Transformer` is composed from the grader's
`PositionalEmbedding`, layers and masks. Only the mixed-precision run uses the student's own positional
embedding, layers and composition (with the grader's masks, attention function and MultiHeadAttention: the
attention function's float16 handling is graded in its own item).
"""
from __future__ import annotations

import contextlib
import functools

import numpy as np

from autograder.checks.construct import construct
from autograder.checks.fitstep import fit_step_named
from autograder.checks.roundtrip import config_clone, keras_roundtrip
from autograder.checks.sequence import causality
from autograder.checks.symbolic import symbolic
from autograder.probing import as_list, put_outputs, quiet, shape_of, weight_path

from . import cases as C

MHA_WEIGHTS = C.MHA_KEYS
_MISSING = object()


def _tensor(x, dtype=None):
    import keras

    return keras.ops.convert_to_tensor(x, dtype=dtype)


@contextlib.contextmanager
def injected(ns: dict, **parts):
    """The grader's parts in the student's namespace (what the student's code looks up by name), restored after."""
    saved = {name: ns.get(name, _MISSING) for name in parts}
    ns.update(parts)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is _MISSING:
                ns.pop(name, None)
            else:
                ns[name] = value


@contextlib.contextmanager
def counting_ops():
    """Count calls of `keras.ops` functions (what `from keras import ops; ops.einsum(...)` reaches)."""
    import keras

    module, count, saved = keras.ops, [0], {}
    for name in dir(module):
        f = getattr(module, name)
        if name.startswith("_") or isinstance(f, type) or not callable(f):
            continue
        saved[name] = f

        def counted(*args, _f=f, **kwargs):
            count[0] += 1
            return _f(*args, **kwargs)

        setattr(module, name, counted)
    try:
        yield count
    finally:
        for name, f in saved.items():
            setattr(module, name, f)


# ---- the grader's parts (keras.ops, no refused built-in) ---------------------------------------------------

@functools.cache
def grader_parts() -> dict:
    """The grader's own positional encoding, masks, attention and layers, in the prescribed layouts."""
    import keras
    from keras import ops

    register = keras.saving.register_keras_serializable(package="seqlab_grader")

    def positional_encoding(length, depth):
        pos = ops.cast(ops.expand_dims(ops.arange(length), 1), "float32")
        col = ops.arange(depth)
        angle = pos * ops.power(10000.0, -ops.cast(col - col % 2, "float32") / depth)
        return ops.where(ops.equal(col % 2, 0), ops.sin(angle), ops.cos(angle))

    def padding_mask(tokens):
        return ops.expand_dims(ops.not_equal(tokens, C.PAD_ID), 1)

    def look_ahead_mask(size):
        i = ops.arange(size)
        return ops.expand_dims(ops.expand_dims(i, 0) <= ops.expand_dims(i, 1), 0)

    def attention(q, k, v, mask=None):
        scores = ops.einsum("...qd,...kd->...qk", q, k) / ops.sqrt(ops.cast(ops.shape(q)[-1], q.dtype))
        if mask is not None:
            low = -65504.0 if keras.backend.standardize_dtype(scores.dtype) == "float16" else -1e9
            scores = ops.where(ops.cast(mask, "bool"), scores, ops.cast(low, scores.dtype))
        weights = ops.softmax(scores, axis=-1)
        return ops.einsum("...qk,...kd->...qd", weights, v), weights

    @register
    class GraderMultiHeadAttention(keras.layers.Layer):
        def __init__(self, num_heads, key_dim, **kwargs):
            super().__init__(**kwargs)
            self.num_heads, self.key_dim = num_heads, key_dim

        def build(self, query_shape, value_shape, key_shape=None):
            key_shape = value_shape if key_shape is None else key_shape
            H, dh = self.num_heads, self.key_dim
            for name, shape in (("query_kernel", (query_shape[-1], H, dh)), ("query_bias", (H, dh)),
                                ("key_kernel", (key_shape[-1], H, dh)), ("key_bias", (H, dh)),
                                ("value_kernel", (value_shape[-1], H, dh)), ("value_bias", (H, dh)),
                                ("output_kernel", (H, dh, query_shape[-1])), ("output_bias", (query_shape[-1],))):
                init = "zeros" if name.endswith("bias") else "glorot_uniform"
                setattr(self, name, self.add_weight(shape=shape, initializer=init, name=name))

        def call(self, query, value, key=None, mask=None, return_attention_scores=False):
            key = value if key is None else key
            q = ops.einsum("btd,dhk->bhtk", query, self.query_kernel) + ops.expand_dims(self.query_bias, 1)
            k = ops.einsum("bsd,dhk->bhsk", key, self.key_kernel) + ops.expand_dims(self.key_bias, 1)
            v = ops.einsum("bsd,dhk->bhsk", value, self.value_kernel) + ops.expand_dims(self.value_bias, 1)
            if mask is not None and len(mask.shape) == 3:
                mask = ops.expand_dims(mask, 1)
            heads, weights = attention(q, k, v, mask)
            out = ops.einsum("bhtk,hkd->btd", heads, self.output_kernel) + self.output_bias
            return (out, weights) if return_attention_scores else out

        def get_config(self):
            return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim}

    @register
    class GraderFeedForward(keras.layers.Layer):
        def __init__(self, d_model, d_ff, dropout=0.1, **kwargs):
            super().__init__(**kwargs)
            self.d_model, self.d_ff, self.rate = d_model, d_ff, dropout
            self.dense1 = keras.layers.Dense(d_ff, activation="relu")
            self.dense2 = keras.layers.Dense(d_model)
            self.dropout = keras.layers.Dropout(dropout)

        def build(self, x_shape):
            self.dense1.build(x_shape)
            self.dense2.build(tuple(x_shape[:-1]) + (self.d_ff,))

        def call(self, x, training=None):
            return self.dropout(self.dense2(self.dense1(x)), training=training)

        def get_config(self):
            return {**super().get_config(), "d_model": self.d_model, "d_ff": self.d_ff, "dropout": self.rate}

    @register
    class GraderPositionalEmbedding(keras.layers.Layer):
        def __init__(self, vocab_size, d_model, max_length=2048, **kwargs):
            super().__init__(**kwargs)
            self.vocab_size, self.d_model, self.max_length = vocab_size, d_model, max_length
            self.embedding = keras.layers.Embedding(vocab_size, d_model)
            self.pe = positional_encoding(max_length, d_model)

        def build(self, tokens_shape):
            self.embedding.build(tokens_shape)

        def call(self, tokens):
            x = self.embedding(tokens)
            x = x * ops.cast(self.d_model ** 0.5, x.dtype)
            return x + ops.cast(ops.take(self.pe, ops.arange(ops.shape(tokens)[1]), axis=0), x.dtype)[None]

        def get_config(self):
            return {**super().get_config(), "vocab_size": self.vocab_size, "d_model": self.d_model,
                    "max_length": self.max_length}

    class _Block(keras.layers.Layer):
        def __init__(self, d_model, num_heads, d_ff, dropout=0.1, **kwargs):
            super().__init__(**kwargs)
            self.d_model, self.num_heads, self.d_ff, self.rate = d_model, num_heads, d_ff, dropout
            self.ffn = GraderFeedForward(d_model, d_ff, dropout)
            self.dropout = keras.layers.Dropout(dropout)

        def get_config(self):
            return {**super().get_config(), "d_model": self.d_model, "num_heads": self.num_heads,
                    "d_ff": self.d_ff, "dropout": self.rate}

    @register
    class GraderEncoderLayer(_Block):
        def __init__(self, d_model, num_heads, d_ff, dropout=0.1, **kwargs):
            super().__init__(d_model, num_heads, d_ff, dropout, **kwargs)
            self.mha = GraderMultiHeadAttention(num_heads, d_model // num_heads)
            self.ln1, self.ln2 = keras.layers.LayerNormalization(), keras.layers.LayerNormalization()

        def build(self, x_shape):
            self.mha.build(x_shape, x_shape)
            self.ffn.build(x_shape)
            self.ln1.build(x_shape)
            self.ln2.build(x_shape)

        def call(self, x, mask=None, training=None):
            h = self.ln1(x + self.dropout(self.mha(x, x, mask=mask), training=training))
            return self.ln2(h + self.ffn(h, training=training))

        def compute_mask(self, x, mask=None):
            return None

    @register
    class GraderDecoderLayer(_Block):
        def __init__(self, d_model, num_heads, d_ff, dropout=0.1, **kwargs):
            super().__init__(d_model, num_heads, d_ff, dropout, **kwargs)
            self.self_mha = GraderMultiHeadAttention(num_heads, d_model // num_heads)
            self.cross_mha = GraderMultiHeadAttention(num_heads, d_model // num_heads)
            self.ln1, self.ln2, self.ln3 = (keras.layers.LayerNormalization() for _ in range(3))

        def build(self, x_shape, enc_out_shape):  # Keras matches *_shape names to call()'s arguments
            self.self_mha.build(x_shape, x_shape)
            self.cross_mha.build(x_shape, enc_out_shape)
            self.ffn.build(x_shape)
            for ln in (self.ln1, self.ln2, self.ln3):
                ln.build(x_shape)

        def call(self, x, enc_out, self_mask=None, cross_mask=None, training=None):
            h1 = self.ln1(x + self.dropout(self.self_mha(x, x, mask=self_mask), training=training))
            a2, weights = self.cross_mha(h1, enc_out, mask=cross_mask, return_attention_scores=True)
            h2 = self.ln2(h1 + self.dropout(a2, training=training))
            return self.ln3(h2 + self.ffn(h2, training=training)), weights

        def compute_mask(self, x, mask=None):
            return None

    return {"positional_encoding": positional_encoding, "padding_mask": padding_mask,
            "look_ahead_mask": look_ahead_mask, "scaled_dot_product_attention": attention,
            "MultiHeadAttention": GraderMultiHeadAttention, "FeedForward": GraderFeedForward,
            "PositionalEmbedding": GraderPositionalEmbedding, "EncoderLayer": GraderEncoderLayer,
            "DecoderLayer": GraderDecoderLayer}


def _parts(*names) -> dict:
    parts = grader_parts()
    return {n: parts[n] for n in names}


# ---- setting weights through the prescribed layout ---------------------------------------------------------

def _sub(layer, name: str, what: str):
    found = getattr(layer, name, None)
    if found is None:
        raise AttributeError(f"{what} has no attribute `{name}`: keep the prescribed sub-layer names")
    return found


def set_mha(layer, params: dict, what="the attention layer"):
    for name in MHA_WEIGHTS:
        variable = _sub(layer, name, what)
        variable.assign(np.asarray(params[name], np.float32).reshape(tuple(variable.shape)))


def set_ln(layer, params: dict):
    layer.gamma.assign(np.asarray(params["gamma"], np.float32))
    layer.beta.assign(np.asarray(params["beta"], np.float32))


def set_ffn(layer, params: dict, what="the feed-forward layer"):
    _sub(layer, "dense1", what).set_weights([params["W1"], params["b1"]])
    _sub(layer, "dense2", what).set_weights([params["W2"], params["b2"]])


def set_encoder_layer(layer, params: dict, what="EncoderLayer"):
    set_mha(_sub(layer, "mha", what), params["mha"], f"{what}.mha")
    set_ffn(_sub(layer, "ffn", what), params["ffn"], f"{what}.ffn")
    set_ln(_sub(layer, "ln1", what), params["ln1"])
    set_ln(_sub(layer, "ln2", what), params["ln2"])


def set_decoder_layer(layer, params: dict, what="DecoderLayer"):
    set_mha(_sub(layer, "self_mha", what), params["self_mha"], f"{what}.self_mha")
    set_mha(_sub(layer, "cross_mha", what), params["cross_mha"], f"{what}.cross_mha")
    set_ffn(_sub(layer, "ffn", what), params["ffn"], f"{what}.ffn")
    for n in ("ln1", "ln2", "ln3"):
        set_ln(_sub(layer, n, what), params[n])


def _named_weights(layer) -> dict:
    return {weight_path(w): w for w in layer.trainable_weights}


# ---- positional encoding -----------------------------------------------------------------------------------

@quiet
def positional_encoding(p, seed):
    import keras

    fn = construct(p, "construct_fn", lambda: p.need("positional_encoding"))
    if fn is not None:
        for i, (length, depth) in enumerate(C.PE_CASES):
            with p.step(f"table/{i}"):
                p.put(f"table/{i}", fn(length, depth))
    case = C.pe_case(seed)
    cls = construct(p, "construct", lambda: p.need("PositionalEmbedding"))
    if cls is None:
        return
    toks = case["tokens"]
    with injected(p.ns, **_parts("positional_encoding")):
        def make():
            layer = cls(C.PE_V, C.PE_D)
            layer(toks)
            _sub(layer, "embedding", "PositionalEmbedding").set_weights([case["embedding"]])
            return layer

        with p.step("embedding"):
            p.put("embedding", make()(toks))
        with p.step("mask"):
            p.put("mask", make().compute_mask(_tensor(toks)))

        def functional():
            inputs = keras.Input((None,), dtype="int32")
            outputs = cls(C.PE_V, C.PE_D)(inputs)
            return outputs, keras.Model(inputs, outputs)

        symbolic(p, "symbolic", functional, concrete=toks)
        with p.step("config"):
            config_clone(p, "config", make(), toks)


# ---- masks -------------------------------------------------------------------------------------------------

@quiet
def masks(p, seed):
    import keras

    toks = C.mask_tokens(seed)
    with p.step("padding"):
        got = p.need("padding_mask")(_tensor(toks))
        p.put("padding", got)
        p.put("padding/shape", shape_of(got))
        p.put("padding/dtype", keras.backend.standardize_dtype(got.dtype))
    for T_ in C.MASK_T:
        with p.step(f"look_ahead/{T_}"):
            got = p.need("look_ahead_mask")(T_)
            p.put(f"look_ahead/{T_}", got)
            p.put(f"look_ahead/{T_}/shape", shape_of(got))
            p.put(f"look_ahead/{T_}/dtype", keras.backend.standardize_dtype(got.dtype))


# ---- scaled dot-product attention --------------------------------------------------------------------------

@quiet
def attention(p, seed):
    case = C.attention_case(seed)
    fn = construct(p, "construct", lambda: p.need("scaled_dot_product_attention"))
    if fn is None:
        return
    q, k, v = (_tensor(case[n]) for n in "qkv")
    with p.step("plain"):
        put_outputs(p, "plain", fn(q, k, v))
    with p.step("masked"):
        put_outputs(p, "masked", fn(q, k, v, _tensor(case["mask"])))
    with p.step("heads"):
        h = case["heads"]
        put_outputs(p, "heads", fn(_tensor(h["q"]), _tensor(h["k"]), _tensor(h["v"]), _tensor(case["heads_mask"])))
    h, half_mask = case["half"], _tensor(case["pad"][:, None, :])
    with p.step("half"):
        put_outputs(p, "half", fn(_tensor(h["q"]), _tensor(h["k"]), _tensor(h["v"]), half_mask))
    with p.step("half32"):  # the same numbers in float32: float16 is judged against the student's own float32
        put_outputs(p, "half32", fn(*(_tensor(np.asarray(h[n], np.float32)) for n in "qkv"), half_mask))


# ---- multi-head attention ----------------------------------------------------------------------------------

@quiet
def mha(p, seed):
    import keras

    case = C.mha_case(seed)
    cls = construct(p, "construct", lambda: p.need("MultiHeadAttention"))
    if cls is None:
        return
    x, value, key = _tensor(case["x"]), _tensor(case["value"]), _tensor(case["key"])
    with injected(p.ns, **_parts("scaled_dot_product_attention")):
        with p.step("layout"):
            layer = cls(C.MHA_H, C.MHA_DH)
            layer(x, value, key=key)
            for name in MHA_WEIGHTS:
                p.put(f"layout/{name}", shape_of(_sub(layer, name, "MultiHeadAttention")))

        def made(params, cross):
            layer = cls(C.MHA_H, C.MHA_DH)
            layer(x, value, key=key) if cross else layer(x, x)
            set_mha(layer, params)
            return layer

        with p.step("self"):
            p.put("self", as_list(made(case["self"], False)(x, x))[0])
        with p.step("cross"):
            p.put("cross", as_list(made(case["cross"], True)(x, value, key=key))[0])
        with p.step("weights"):
            put_outputs(p, "weights", made(case["cross"], True)(x, value, key=key, return_attention_scores=True), 2)
        with p.step("masked_self"):
            put_outputs(p, "masked_self", made(case["self"], False)(x, x, mask=_tensor(case["self_mask"]),
                                                                    return_attention_scores=True), 2)
        with p.step("masked_cross"):
            put_outputs(p, "masked_cross", made(case["cross"], True)(x, value, key=key, mask=_tensor(case["cross_mask"]),
                                                                     return_attention_scores=True), 2)
        with p.step("heads"):
            for heads in C.MHA_HEADS_CALLS:
                layer = cls(heads, C.MHA_DH)
                layer(x, x)
                with counting_ops() as count:
                    layer(x, x)
                p.put(f"heads/{heads}", count[0])
        with p.step("config"):
            config_clone(p, "config", made(case["self"], False), x, x)
        with p.step("train"):
            layer = cls(C.MHA_H, C.MHA_DH)
            inputs = keras.Input((C.MHA_T, C.MHA_D))
            model = keras.Model(inputs, as_list(layer(inputs, inputs))[0])
            fit_step_named(p, "train", model, {n: _sub(layer, n, "MultiHeadAttention") for n in MHA_WEIGHTS},
                           case["x"], case["target"], seed)


# ---- feed-forward ------------------------------------------------------------------------------------------

@quiet
def feed_forward(p, seed):
    import keras

    case = C.ffn_case(seed)
    cls = construct(p, "construct", lambda: p.need("FeedForward"))
    if cls is None:
        return
    x = _tensor(case["x"])

    def make(rate=C.FF_DROPOUT):
        layer = cls(C.FF_D, C.FF_DFF, dropout=rate)
        layer(x)
        set_ffn(layer, case["ffn"], "FeedForward")
        return layer

    with p.step("out"):
        p.put("out", make()(x, training=False))
    with p.step("dropout"):
        layer = make()
        p.put("dropout/inference", layer(x, training=False))
        p.put("dropout/training", layer(x, training=True))
    with p.step("config"):
        config_clone(p, "config", make(), x)
    with p.step("train"):
        layer = cls(C.FF_D, C.FF_DFF, dropout=0.0)
        inputs = keras.Input((C.FF_T, C.FF_D))
        model = keras.Model(inputs, layer(inputs))
        fit_step_named(p, "train", model, _named_weights(layer), case["x"], case["target"], seed)


# ---- encoder and decoder layers ----------------------------------------------------------------------------

@quiet
def encoder_layer(p, seed):
    import keras

    case = C.layer_case(seed)
    cls = construct(p, "construct", lambda: p.need("EncoderLayer"))
    if cls is None:
        return
    x, mask = _tensor(case["x"]), _tensor(case["enc_mask"])
    with injected(p.ns, **_parts("MultiHeadAttention", "FeedForward")):
        def make():
            layer = cls(C.L_D, C.L_H, C.L_DFF, dropout=C.L_DROPOUT)
            layer(x, mask=mask)
            set_encoder_layer(layer, case["encoder"])
            return layer

        with p.step("out"):
            p.put("out", make()(x, mask=mask, training=False))
        with p.step("padding"):
            layer = make()
            longer = np.concatenate([case["x"], np.zeros((C.L_B, C.L_EXTRA, C.L_D), np.float32)], axis=1)
            long_mask = np.concatenate([case["pad"], np.zeros((C.L_B, C.L_EXTRA), bool)], axis=1)[:, None, :]
            p.put("padding/short", layer(x, mask=mask, training=False))
            p.put("padding/long", layer(_tensor(longer), mask=_tensor(long_mask), training=False))
        with p.step("dropout"):
            layer = make()
            p.put("dropout/inference", layer(x, mask=mask, training=False))
            p.put("dropout/training", layer(x, mask=mask, training=True))
        with p.step("config"):
            config_clone(p, "config", make(), x, mask)
        with p.step("train"):
            layer = cls(C.L_D, C.L_H, C.L_DFF, dropout=0.0)
            inputs = keras.Input((C.L_S, C.L_D))
            model = keras.Model(inputs, as_list(layer(inputs))[0])
            fit_step_named(p, "train", model, _named_weights(layer), case["x"], case["target_enc"], seed)


@quiet
def decoder_layer(p, seed):
    import keras

    case = C.layer_case(seed)
    cls = construct(p, "construct", lambda: p.need("DecoderLayer"))
    if cls is None:
        return
    y, enc = _tensor(case["y"]), _tensor(case["x"])
    self_mask, cross_mask = _tensor(case["self_mask"]), _tensor(case["enc_mask"])
    with injected(p.ns, **_parts("MultiHeadAttention", "FeedForward")):
        def make():
            layer = cls(C.L_D, C.L_H, C.L_DFF, dropout=C.L_DROPOUT)
            layer(y, enc, self_mask=self_mask, cross_mask=cross_mask)
            set_decoder_layer(layer, case["decoder"])
            return layer

        with p.step("out"):
            put_outputs(p, "out", make()(y, enc, self_mask=self_mask, cross_mask=cross_mask, training=False), 2)
        with p.step("causal"):
            layer = make()
            causality(p, "causal", lambda t: as_list(layer(_tensor(t), enc, self_mask=self_mask, cross_mask=cross_mask,
                                                              training=False))[0],
                      case["y"], C.L_CAUSAL_T, seed)
        with p.step("padding"):
            layer = make()
            longer = np.concatenate([case["x"], np.zeros((C.L_B, C.L_EXTRA, C.L_D), np.float32)], axis=1)
            long_mask = np.concatenate([case["pad"], np.zeros((C.L_B, C.L_EXTRA), bool)], axis=1)[:, None, :]
            p.put("padding/short", as_list(layer(y, enc, self_mask=self_mask, cross_mask=cross_mask, training=False))[0])
            p.put("padding/long", as_list(layer(y, _tensor(longer), self_mask=self_mask, cross_mask=_tensor(long_mask),
                                                training=False))[0])
        with p.step("config"):
            layer = make()
            p.put("config/original", as_list(layer(y, enc, self_mask=self_mask, cross_mask=cross_mask))[0])
            clone = cls.from_config(layer.get_config())
            clone(y, enc, self_mask=self_mask, cross_mask=cross_mask)
            clone.set_weights(layer.get_weights())
            p.put("config/out", as_list(clone(y, enc, self_mask=self_mask, cross_mask=cross_mask))[0])
        with p.step("train"):
            layer = cls(C.L_D, C.L_H, C.L_DFF, dropout=0.0)
            yi, ei = keras.Input((C.L_T, C.L_D)), keras.Input((C.L_S, C.L_D))
            model = keras.Model([yi, ei], as_list(layer(yi, ei))[0])
            fit_step_named(p, "train", model, _named_weights(layer), [case["y"], case["x"]], case["target_dec"], seed)


# ---- the Transformer ---------------------------------------------------------------------------------------

def _layers(parent, name: str, what: str) -> list:
    found = _sub(parent, name, what)
    if not isinstance(found, (list, tuple)) or not found:
        raise AttributeError(f"{what}.{name} should be the list of layers")
    return list(found)


def set_transformer(model, params: dict):
    enc, dec = _sub(model, "encoder", "Transformer"), _sub(model, "decoder", "Transformer")
    _sub(_sub(enc, "pos_embedding", "Encoder"), "embedding", "Encoder.pos_embedding").set_weights([params["src_embedding"]])
    _sub(_sub(dec, "pos_embedding", "Decoder"), "embedding", "Decoder.pos_embedding").set_weights([params["tgt_embedding"]])
    enc_layers, dec_layers = _layers(enc, "enc_layers", "Encoder"), _layers(dec, "dec_layers", "Decoder")
    if len(enc_layers) != len(params["encoder"]) or len(dec_layers) != len(params["decoder"]):
        raise ValueError(f"Transformer(num_layers={C.TR_LAYERS}, ...) has {len(enc_layers)} encoder and "
                         f"{len(dec_layers)} decoder layers")
    for layer, p in zip(enc_layers, params["encoder"]):
        set_encoder_layer(layer, p)
    for layer, p in zip(dec_layers, params["decoder"]):
        set_decoder_layer(layer, p)
    _sub(model, "final_layer", "Transformer").set_weights([params["final"]["kernel"], params["final"]["bias"]])


COMPOSITION_PARTS = ("positional_encoding", "padding_mask", "look_ahead_mask", "scaled_dot_product_attention",
                     "MultiHeadAttention", "FeedForward", "PositionalEmbedding", "EncoderLayer", "DecoderLayer")


@quiet
def transformer(p, seed):
    import keras

    case = C.transformer_case(seed)
    cls = construct(p, "construct", lambda: p.need("Transformer"))
    if cls is None:
        return
    src, tgt = case["src"], case["tgt"]
    new = lambda: cls(C.TR_LAYERS, C.TR_D, C.TR_H, C.TR_DFF, C.TR_SRC_V, C.TR_TGT_V, dropout=0.1)  # noqa: E731
    with injected(p.ns, **_parts(*COMPOSITION_PARTS)):
        def make():
            model = new()
            model([src, tgt])
            set_transformer(model, case["params"])
            return model

        with p.step("out"):
            p.put("out", as_list(make()([src, tgt], training=False))[0])
        with p.step("weights"):
            put_outputs(p, "weights", make()([src, tgt], training=False, return_attention=True), 2)
        with p.step("causal"):
            model = make()
            causality(p, "causal", lambda t: as_list(model([src, t], training=False))[0], tgt, C.TR_CAUSAL_T, seed)
        with p.step("padding"):
            model = make()
            longer = np.concatenate([src, np.zeros((src.shape[0], C.TR_EXTRA), np.int32)], axis=1)
            p.put("padding/short", as_list(model([src, tgt], training=False))[0])
            p.put("padding/long", as_list(model([longer, tgt], training=False))[0])

        def functional():
            s, t = keras.Input((None,), dtype="int32"), keras.Input((None,), dtype="int32")
            outputs = new()([s, t])
            return outputs, keras.Model([s, t], outputs)

        symbolic(p, "symbolic", functional, concrete=[src, tgt])
        with p.step("roundtrip"):
            custom = {cls.__name__: cls, **{v.__name__: v for v in grader_parts().values() if isinstance(v, type)}}
            keras_roundtrip(p, "roundtrip", make(), [src, tgt], custom)
        with p.step("train"):
            model = new()
            model([src, tgt])
            target = np.random.default_rng([seed, 9]).normal(0, 1, (src.shape[0], tgt.shape[1], C.TR_TGT_V))
            fit_step_named(p, "train", model, _named_weights(model), [src, tgt], target.astype(np.float32), seed)
    with injected(p.ns, **_parts("scaled_dot_product_attention", "MultiHeadAttention", "padding_mask", "look_ahead_mask")):
        for policy in ("mixed_float16", "mixed_bfloat16"):
            with p.step(f"mixed/{policy}"):
                before = keras.config.dtype_policy()
                keras.config.set_dtype_policy(policy)
                try:
                    keras.utils.set_random_seed(seed % (2 ** 31))
                    p.put(f"mixed/{policy}", as_list(new()([src, tgt], training=False))[0])
                finally:
                    keras.config.set_dtype_policy(before)


# ---- loss, accuracy, schedule ------------------------------------------------------------------------------

@quiet
def loss(p, seed):
    case = C.loss_case(seed)
    labels, logits = case["labels"], case["logits"]
    for name in ("masked_loss", "masked_accuracy"):
        fn = construct(p, f"construct/{name}", lambda name=name: p.need(name))
        if fn is None:
            continue
        with p.step(f"{name}/plain"):
            p.put(f"{name}/plain", fn(_tensor(labels), _tensor(logits)))
        with p.step(f"{name}/pad"):
            p.put(f"{name}/pad", fn(_tensor(np.zeros_like(labels)), _tensor(logits)))
        with p.step(f"{name}/half"):
            p.put(f"{name}/half", fn(_tensor(labels.astype(np.int64)), _tensor(logits.astype(np.float16))))


@quiet
def schedule(p, seed):
    import keras

    cls = construct(p, "construct", lambda: p.need("WarmupSchedule"))
    if cls is None:
        return
    steps = np.asarray(C.SCHED_STEPS, np.int64)

    def values(s, at):
        return [float(keras.ops.convert_to_numpy(s(_tensor(int(step), "int64")))) for step in at]

    for i, (d, warmup) in enumerate(C.SCHED_CASES):
        with p.step(f"values/{i}"):
            p.put(f"values/{i}", values(cls(d, warmup_steps=warmup), steps))
    d, warmup = C.SCHED_CASES[0]
    with p.step("peak"):
        p.put("peak", values(cls(d, warmup_steps=warmup), range(2 * warmup)))
    with p.step("optimizer"):
        variable = keras.Variable(np.zeros(3, np.float32))
        opt = keras.optimizers.Adam(learning_rate=cls(d, warmup_steps=warmup))
        opt.build([variable])
        for _ in range(C.SCHED_OPT_STEPS):
            opt.apply_gradients([(keras.ops.ones((3,)), variable)])
        p.put("optimizer", [float(keras.ops.convert_to_numpy(opt.learning_rate))])
    with p.step("config"):
        again = cls.from_config(cls(d, warmup_steps=warmup).get_config())
        restored = keras.optimizers.schedules.deserialize(
            keras.optimizers.schedules.serialize(cls(d, warmup_steps=warmup)), custom_objects={cls.__name__: cls})
        p.put("config/from_config", values(again, steps))
        p.put("config/serialize", values(restored, steps))


# ---- the same code on another backend ---------------------------------------------------------------------

@quiet
def portability(p, seed):
    """Each of the student's parts as written (nothing injected) on fixed inputs and weights, and on JAX one
    jit-compiled training step of the Transformer. The item runs this probe on TensorFlow and on JAX, each in its
    own process (`Item.backends`); the judge compares the two records."""
    import keras

    backend = keras.backend.backend()
    p.put("backend", backend)
    at, tr, lo = C.attention_case(seed), C.transformer_case(seed), C.loss_case(seed)
    src, tgt = tr["src"], tr["tgt"]
    with p.step("positional_encoding"):
        p.put("positional_encoding/table", p.need("positional_encoding")(*C.PE_CASES[0]))
        layer = p.need("PositionalEmbedding")(C.TR_SRC_V, C.TR_D)
        layer(_tensor(src))
        _sub(layer, "embedding", "PositionalEmbedding").set_weights([tr["params"]["src_embedding"]])
        p.put("positional_encoding/embedding", layer(_tensor(src)))
    with p.step("masks"):
        p.put("masks/padding", p.need("padding_mask")(_tensor(src)))
        p.put("masks/look_ahead", p.need("look_ahead_mask")(C.TR_T))
    with p.step("attention"):
        fn = p.need("scaled_dot_product_attention")
        put_outputs(p, "attention", fn(*(_tensor(at[n]) for n in "qkv"), _tensor(at["mask"])), 2)
    with p.step("loss"):
        labels, logits = _tensor(lo["labels"]), _tensor(lo["logits"])
        p.put("loss/loss", p.need("masked_loss")(labels, logits))
        p.put("loss/accuracy", p.need("masked_accuracy")(labels, logits))
    with p.step("schedule"):
        d, warmup = C.SCHED_CASES[0]
        s = p.need("WarmupSchedule")(d, warmup_steps=warmup)
        p.put("schedule", [float(keras.ops.convert_to_numpy(s(_tensor(step, "int64")))) for step in C.SCHED_STEPS])
    # the layers at the Transformer's sizes and lengths: JAX compiles each operation once per shape
    rng = np.random.default_rng([seed, 10])
    x = _tensor(rng.normal(0, 1, (src.shape[0], src.shape[1], C.TR_D)).astype(np.float32))
    y = _tensor(rng.normal(0, 1, (tgt.shape[0], tgt.shape[1], C.TR_D)).astype(np.float32))
    enc_mask = _tensor((src != C.PAD_ID)[:, None, :])
    self_mask = _tensor(np.tril(np.ones((tgt.shape[1],) * 2, bool))[None] & (tgt != C.PAD_ID)[:, None, :])
    enc, dec = tr["params"]["encoder"][0], tr["params"]["decoder"][0]
    with p.step("MultiHeadAttention"):
        layer = p.need("MultiHeadAttention")(C.TR_H, C.TR_D // C.TR_H)
        layer(y, x)
        set_mha(layer, dec["cross_mha"])
        put_outputs(p, "MultiHeadAttention", layer(y, x, mask=enc_mask, return_attention_scores=True), 2)
    with p.step("FeedForward"):
        layer = p.need("FeedForward")(C.TR_D, C.TR_DFF)
        layer(x)
        set_ffn(layer, enc["ffn"], "FeedForward")
        p.put("FeedForward", layer(x, training=False))
    with p.step("EncoderLayer"):
        layer = p.need("EncoderLayer")(C.TR_D, C.TR_H, C.TR_DFF)
        layer(x, mask=enc_mask)
        set_encoder_layer(layer, enc)
        p.put("EncoderLayer", as_list(layer(x, mask=enc_mask, training=False))[0])
    with p.step("DecoderLayer"):
        layer = p.need("DecoderLayer")(C.TR_D, C.TR_H, C.TR_DFF)
        layer(y, x, self_mask=self_mask, cross_mask=enc_mask)
        set_decoder_layer(layer, dec)
        put_outputs(p, "DecoderLayer", layer(y, x, self_mask=self_mask, cross_mask=enc_mask, training=False), 2)
    with p.step("Transformer"):
        model = p.need("Transformer")(C.TR_LAYERS, C.TR_D, C.TR_H, C.TR_DFF, C.TR_SRC_V, C.TR_TGT_V)
        model([src, tgt])
        set_transformer(model, tr["params"])
        put_outputs(p, "Transformer", model([src, tgt], training=False, return_attention=True), 2)
    with p.step("train"):  # one layer, no dropout, the same starting weights on every backend
        model = p.need("Transformer")(1, C.TR_D, C.TR_H, C.TR_DFF, C.TR_SRC_V, C.TR_TGT_V, dropout=0.0)
        model([src, tgt])
        rng = np.random.default_rng([seed, 11])
        model.set_weights([rng.normal(0, 0.3, tuple(w.shape)).astype(np.float32) for w in model.get_weights()])
        if backend == "jax":  # traced once without compiling: an error here is clearer than fit's
            import jax

            jax.eval_shape(lambda s, t: as_list(model([s, t], training=False))[0], src, tgt)
        weights = model.trainable_weights
        p.put("train/paths", [weight_path(w) for w in weights])
        target = np.random.default_rng([seed, 9]).normal(0, 1, (src.shape[0], tgt.shape[1], C.TR_TGT_V))
        fit_step_named(p, "train", model, {f"{i:03d}": w for i, w in enumerate(weights)}, [src, tgt],
                       target.astype(np.float32), seed)


# ---- the training run --------------------------------------------------------------------------------------

@quiet
def transformer_training(p, seed):
    import keras

    from . import training as T

    cls = construct(p, "construct", lambda: p.need("Transformer"))
    if cls is None:
        return
    data = T.corpus_arrays()
    with p.step("model"):
        keras.utils.set_random_seed(seed % (2 ** 31))
        model = T.compose(cls, data["src_vocab"], data["tgt_vocab"])
        x, t_in, _ = data["train"]
        p.put("model/out", shape_of(as_list(model([x[:2], t_in[:2]], training=False))[0]))
    if p.failed("model"):
        return
    with p.step("train"):
        p.put("train/pred", T.train(model, data))
