"""The 03_transformer grader on answers held in a namespace (no notebook, no kernel): fast checks that complement
the mutant catalogue (tests/mutants/03_transformer.py, graded from real notebooks).

The reference answers (tests/fixtures/03_reference_answers.py, test data, never an oracle) get full marks on every
fast item for two seeds; other correct styles (written as different students would, against the docstrings) keep
full marks on every item their cell feeds; single plausible faults lose points on the items expected, with feedback
that names them, and keep full marks elsewhere. Graded on the same path as `grade_namespace_item`: probe, records
dump/load/validate, judge.
"""
from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path

import pytest

from autograder import records
from autograder.registry import item_seed
from autograder.results import ItemResult

PACKAGE = "autograder.assignments.03_transformer"
ITEMS = {i.grade_id: i for i in importlib.import_module(f"{PACKAGE}.items").ITEMS}
REFERENCE = (Path(__file__).parent / "fixtures" / "03_reference_answers.py").read_text(encoding="utf-8")
FAST_ITEMS = [g for g, i in ITEMS.items() if not i.slow]  # the slow ones: test_mutants and the nbgrader tests
SEEDS = (20261123, 7)

# answer cell -> the items whose probes run its code. The Transformer item composes the grader's parts, except its
# mixed-precision run, which uses the student's positional embedding, feed-forward and layers: those cells feed
# `transformer` too (graded on several such alternatives at once: test_alternatives_compose_in_the_transformer).
CELL_ITEMS = {
    "positional_encoding_code": ("positional_encoding",), "masks_code": ("masks",), "attention_code": ("attention",),
    "mha_code": ("mha",), "feed_forward_code": ("feed_forward",), "encoder_layer_code": ("encoder_layer",),
    "decoder_layer_code": ("decoder_layer",), "transformer_code": ("transformer",), "loss_code": ("loss",),
    "schedule_code": ("schedule",),
}


def namespace(source: str) -> dict:
    ns = {"__name__": "__main__"}
    exec(compile(source, "<cell answers>", "exec"), ns)
    return ns


def _register(ns: dict) -> None:
    """The namespace's classes under their registered names again: every answers file registers the same names
    (seqlab_student>Transformer, ...), and a .keras load looks the global registry up before custom_objects, so
    grading one namespace after another was executed would reload the other one's class."""
    import keras

    table = keras.saving.get_custom_objects()
    for value in list(ns.values()):
        if isinstance(value, type) or callable(value):
            name = keras.saving.get_registered_name(value)
            if name in table:
                table[name] = value


def grade(grade_id: str, ns: dict, seed: int) -> ItemResult:
    """What grade_namespace_item does: probe, the record through files and validation, judge."""
    item = ITEMS[grade_id]
    s = item_seed(seed, item.id)
    _register(ns)
    raw = item.probe(ns, s)
    with tempfile.TemporaryDirectory() as tmp:
        npz, meta = os.path.join(tmp, "p.npz"), os.path.join(tmp, "p.json")
        records.dump(raw, npz, meta)
        return ItemResult(item.id, item.points, checks=item.judge(records.load(npz, meta), s))


def _cell(source: str, cell: str) -> tuple[int, int]:
    start = source.index(f"# ===================== grade_id: {cell} ")
    nxt = source.find("# =====================", start + 10)
    return start, len(source) if nxt < 0 else nxt


def mutate(cell: str, edits=(), append: str = "", source: str = REFERENCE) -> str:
    """`source` with each `find` replaced inside one answer cell (each must occur there; all occurrences), then
    `append` added at the end of the cell (its definitions replace the cell's own)."""
    start, end = _cell(source, cell)
    block = source[start:end]
    for find, replace in edits:
        assert find in block, f"{find!r} not in {cell}"
        block = block.replace(find, replace)
    if append:
        block = block.rstrip("\n") + "\n\n" + append.strip("\n") + "\n\n\n"
    return source[:start] + block + source[end:]


def test_points_match_the_spec():
    points = {g: i.points for g, i in ITEMS.items()}
    assert points == {"positional_encoding": 3, "masks": 2, "attention": 3, "mha": 5, "feed_forward": 1.5,
                      "encoder_layer": 3.5, "decoder_layer": 4, "transformer": 5, "loss": 2, "schedule": 1.5,
                      "jax_backend": 1.5, "transformer_training": 3}
    assert sum(points.values()) == 35


@pytest.fixture(scope="module")
def reference():
    return namespace(REFERENCE)


@pytest.mark.parametrize("seed", SEEDS)
def test_reference_gets_full_marks(reference, seed):
    for grade_id in FAST_ITEMS:
        result = grade(grade_id, reference, seed)
        assert result.score == result.max_points, result.feedback()


# ---- other correct styles ----------------------------------------------------------------------------------

PE_NUMPY = '''
def positional_encoding(length, depth):
    """NumPy, with the even/odd columns filled by slices; a float32 tensor at the end."""
    pos = np.arange(length)[:, np.newaxis]
    i = np.arange(depth)[np.newaxis, :]
    angle_rates = 1 / np.power(10000, (2 * (i // 2)) / np.float32(depth))
    angles = pos * angle_rates
    angles[:, 0::2] = np.sin(angles[:, 0::2])
    angles[:, 1::2] = np.cos(angles[:, 1::2])
    return ops.convert_to_tensor(angles, dtype="float32")


@keras.saving.register_keras_serializable(package="seqlab_student")
class PositionalEmbedding(keras.layers.Layer):
    """No build(); the mask from the Embedding; the table sliced with [:T]."""

    def __init__(self, vocab_size, d_model, max_length=2048, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.d_model = d_model
        self.max_length = max_length
        self.embedding = keras.layers.Embedding(vocab_size, d_model, mask_zero=True)
        self.pos_encoding = positional_encoding(length=max_length, depth=d_model)

    def compute_mask(self, *args, **kwargs):
        return self.embedding.compute_mask(*args, **kwargs)

    def call(self, x):
        length = ops.shape(x)[1]
        x = self.embedding(x)
        x *= ops.sqrt(ops.cast(self.d_model, x.dtype))
        x = x + ops.cast(self.pos_encoding[None, :length, :], x.dtype)
        return x

    def get_config(self):
        config = super().get_config()
        config.update({"vocab_size": self.vocab_size, "d_model": self.d_model, "max_length": self.max_length})
        return config
'''

PE_STACKED = '''
def positional_encoding(length, depth):
    """sin and cos of each pair stacked on a new last axis, reshaped to interleave them, cut to depth columns."""
    half = (depth + 1) // 2
    pos = ops.cast(ops.arange(length), "float32")[:, None]                      # (L, 1)
    rates = ops.exp(-np.log(10000.0) * ops.cast(2 * ops.arange(half), "float32") / depth)   # (half,)
    angles = pos * rates[None, :]                                               # (L, half)
    table = ops.stack([ops.sin(angles), ops.cos(angles)], axis=-1)              # (L, half, 2)
    return ops.reshape(table, (length, 2 * half))[:, :depth]


@keras.saving.register_keras_serializable(package="seqlab_student")
class PositionalEmbedding(keras.layers.Layer):
    """The table as a non-trainable weight made in build()."""

    def __init__(self, vocab_size, d_model, max_length=2048, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.d_model, self.max_length = vocab_size, d_model, max_length
        self.embedding = keras.layers.Embedding(vocab_size, d_model, mask_zero=True)

    def build(self, input_shape):
        self.embedding.build(input_shape)
        table = ops.convert_to_numpy(positional_encoding(self.max_length, self.d_model))
        self.table = self.add_weight(name="pe_table", shape=table.shape, trainable=False,
                                     initializer=keras.initializers.Constant(table))

    def call(self, tokens):
        x = self.embedding(tokens) * (self.d_model ** 0.5)
        pe = ops.slice(self.table, (0, 0), (ops.shape(tokens)[1], self.d_model))
        return x + ops.cast(pe, x.dtype)

    def compute_mask(self, tokens, mask=None):
        return tokens != PAD_ID

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "d_model": self.d_model,
                "max_length": self.max_length}
'''

MASKS_TRIL = '''
def padding_mask(tokens):
    return (tokens != PAD_ID)[:, None, :]


def look_ahead_mask(size):
    return ops.cast(ops.tril(ops.ones((size, size), dtype="int32")), "bool")[None, ...]
'''

MASKS_TRIU = '''
def padding_mask(tokens):
    mask = ops.cast(tokens, "int32") > 0
    return ops.reshape(mask, (ops.shape(tokens)[0], 1, ops.shape(tokens)[1]))


def look_ahead_mask(size):
    future = ops.triu(ops.ones((1, size, size)), k=1)        # 1 above the diagonal: the future
    return ops.equal(future, 0)
'''

ATTENTION_ADDITIVE = '''
def scaled_dot_product_attention(q, k, v, mask=None):
    """An additive mask: - (1 - mask) * a large number (65504, float16's largest, in float16)."""
    d_k = q.shape[-1]
    scores = ops.einsum("...id,...jd->...ij", q, k) * (1.0 / np.sqrt(d_k))
    if mask is not None:
        big = 65504.0 if keras.backend.standardize_dtype(scores.dtype) == "float16" else 1e9
        scores = scores - (1.0 - ops.cast(mask, scores.dtype)) * big
    weights = ops.softmax(scores)
    return ops.einsum("...ij,...jd->...id", weights, v), weights
'''

ATTENTION_FINFO = '''
def scaled_dot_product_attention(q, k, v, mask=None):
    """ops.where with the dtype's most negative finite number."""
    scale = ops.cast(1.0 / np.sqrt(ops.shape(q)[-1]), q.dtype)
    scores = ops.matmul(q, ops.moveaxis(k, -1, -2)) * scale
    if mask is not None:
        lowest = float(np.finfo(keras.backend.standardize_dtype(scores.dtype)).min)
        scores = ops.where(mask, scores, lowest)
    weights = ops.softmax(scores, axis=-1)
    return ops.matmul(weights, v), weights
'''

MHA_RESHAPE = '''
@keras.saving.register_keras_serializable(package="seqlab_student")
class MultiHeadAttention(keras.layers.Layer):
    """No einsum: kernels viewed as (d, H * dh) matrices, split/merge helpers (reshape + transpose)."""

    def __init__(self, num_heads, key_dim, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.key_dim = key_dim

    def build(self, query_shape, value_shape, key_shape=None):
        if key_shape is None:
            key_shape = value_shape
        H, dh = self.num_heads, self.key_dim
        self.query_kernel = self.add_weight(name="query_kernel", shape=(query_shape[-1], H, dh))
        self.query_bias = self.add_weight(name="query_bias", shape=(H, dh), initializer="zeros")
        self.key_kernel = self.add_weight(name="key_kernel", shape=(key_shape[-1], H, dh))
        self.key_bias = self.add_weight(name="key_bias", shape=(H, dh), initializer="zeros")
        self.value_kernel = self.add_weight(name="value_kernel", shape=(value_shape[-1], H, dh))
        self.value_bias = self.add_weight(name="value_bias", shape=(H, dh), initializer="zeros")
        self.output_kernel = self.add_weight(name="output_kernel", shape=(H, dh, query_shape[-1]))
        self.output_bias = self.add_weight(name="output_bias", shape=(query_shape[-1],), initializer="zeros")

    def split_heads(self, x, kernel, bias):
        """(B, T, d) -> (B, H, T, dh)"""
        h = ops.matmul(x, ops.reshape(kernel, (-1, self.num_heads * self.key_dim))) + ops.reshape(bias, (-1,))
        h = ops.reshape(h, (-1, ops.shape(x)[1], self.num_heads, self.key_dim))
        return ops.transpose(h, (0, 2, 1, 3))

    def merge_heads(self, heads):
        """(B, H, T, dh) -> (B, T, H * dh) -> output projection (B, T, d_q)"""
        heads = ops.transpose(heads, (0, 2, 1, 3))
        heads = ops.reshape(heads, (-1, ops.shape(heads)[1], self.num_heads * self.key_dim))
        kernel = ops.reshape(self.output_kernel, (self.num_heads * self.key_dim, -1))
        return ops.matmul(heads, kernel) + self.output_bias

    def call(self, query, value, key=None, mask=None, return_attention_scores=False):
        if key is None:
            key = value
        q = self.split_heads(query, self.query_kernel, self.query_bias)
        k = self.split_heads(key, self.key_kernel, self.key_bias)
        v = self.split_heads(value, self.value_kernel, self.value_bias)
        if mask is not None:
            mask = ops.cast(mask, "bool")
            while len(mask.shape) < 4:                  # (B, Tk) -> (B, 1, 1, Tk); (B, Tq, Tk) -> (B, 1, Tq, Tk)
                mask = ops.expand_dims(mask, 1)
        heads, weights = scaled_dot_product_attention(q, k, v, mask)
        outputs = self.merge_heads(heads)
        if return_attention_scores:
            return outputs, weights
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update({"num_heads": self.num_heads, "key_dim": self.key_dim})
        return config
'''

FFN_DROPOUT_HIDDEN = '''
@keras.saving.register_keras_serializable(package="seqlab_student")
class FeedForward(keras.layers.Layer):
    """Dropout on the hidden ReLU activations (a common variant); no build()."""

    def __init__(self, d_model, d_ff, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.d_model, self.d_ff, self.rate = d_model, d_ff, dropout
        self.dense1 = keras.layers.Dense(d_ff, activation="relu")
        self.dropout = keras.layers.Dropout(dropout)
        self.dense2 = keras.layers.Dense(d_model)

    def call(self, x, training=None):
        return self.dense2(self.dropout(self.dense1(x), training=training))

    def get_config(self):
        return {**super().get_config(), "d_model": self.d_model, "d_ff": self.d_ff, "dropout": self.rate}
'''

FFN_TRAINING_FROM_CONTEXT = '''
@keras.saving.register_keras_serializable(package="seqlab_student")
class FeedForward(keras.layers.Layer):
    """call() without a training argument: Keras 3 hands the caller's training flag to the Dropout."""

    def __init__(self, d_model, d_ff, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.d_model, self.d_ff, self.dropout_rate = d_model, d_ff, dropout
        self.dense1 = keras.layers.Dense(d_ff, activation="relu")
        self.dense2 = keras.layers.Dense(d_model)
        self.dropout = keras.layers.Dropout(dropout)

    def call(self, x):
        return self.dropout(self.dense2(self.dense1(x)))

    def get_config(self):
        config = super().get_config()
        config.update(d_model=self.d_model, d_ff=self.d_ff, dropout=self.dropout_rate)
        return config
'''

ENCODER_TWO_DROPOUTS = '''
@keras.saving.register_keras_serializable(package="seqlab_student")
class EncoderLayer(keras.layers.Layer):
    """No build(); keyword calls; an Add layer; its own Dropout for the attention block (none named `dropout`)."""

    def __init__(self, d_model, num_heads, d_ff, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.d_model, self.num_heads, self.d_ff, self.rate = d_model, num_heads, d_ff, dropout
        self.mha = MultiHeadAttention(num_heads=num_heads, key_dim=d_model // num_heads)
        self.attn_dropout = keras.layers.Dropout(dropout)
        self.ln1 = keras.layers.LayerNormalization(epsilon=1e-3)
        self.ffn = FeedForward(d_model=d_model, d_ff=d_ff, dropout=dropout)
        self.ln2 = keras.layers.LayerNormalization(epsilon=1e-3)
        self.add = keras.layers.Add()

    def call(self, x, mask=None, training=None):
        attn = self.mha(query=x, value=x, key=x, mask=mask)
        x = self.ln1(self.add([x, self.attn_dropout(attn, training=training)]))
        return self.ln2(self.add([x, self.ffn(x, training=training)]))

    def compute_mask(self, x, mask=None):
        return None

    def get_config(self):
        config = super().get_config()
        config.update({"d_model": self.d_model, "num_heads": self.num_heads, "d_ff": self.d_ff, "dropout": self.rate})
        return config
'''

DECODER_KEYWORDS = '''
@keras.saving.register_keras_serializable(package="seqlab_student")
class DecoderLayer(keras.layers.Layer):
    """No build(); keyword calls (query=, value=, key=); one Dropout per attention block."""

    def __init__(self, d_model, num_heads, d_ff, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.d_model, self.num_heads, self.d_ff, self.rate = d_model, num_heads, d_ff, dropout
        key_dim = d_model // num_heads
        self.self_mha = MultiHeadAttention(num_heads, key_dim)
        self.cross_mha = MultiHeadAttention(num_heads, key_dim)
        self.ffn = FeedForward(d_model, d_ff, dropout)
        self.ln1, self.ln2, self.ln3 = [keras.layers.LayerNormalization() for _ in range(3)]
        self.dropout1 = keras.layers.Dropout(dropout)
        self.dropout2 = keras.layers.Dropout(dropout)

    def call(self, x, enc_out, self_mask=None, cross_mask=None, training=None):
        attn1 = self.self_mha(query=x, value=x, key=x, mask=self_mask)
        out1 = self.ln1(x + self.dropout1(attn1, training=training))
        attn2, attn_weights = self.cross_mha(query=out1, value=enc_out, key=enc_out, mask=cross_mask,
                                             return_attention_scores=True)
        out2 = self.ln2(out1 + self.dropout2(attn2, training=training))
        out3 = self.ln3(out2 + self.ffn(out2, training=training))
        return out3, attn_weights

    def compute_mask(self, *args, **kwargs):
        return None

    def get_config(self):
        return {**super().get_config(), "d_model": self.d_model, "num_heads": self.num_heads, "d_ff": self.d_ff,
                "dropout": self.rate}
'''

TRANSFORMER_MASKS_IN_MODEL = '''
@keras.saving.register_keras_serializable(package="seqlab_student")
class Encoder(keras.layers.Layer):
    """Takes the padding mask as an argument; no build()."""

    def __init__(self, num_layers, d_model, num_heads, d_ff, vocab_size, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.config_ = dict(num_layers=num_layers, d_model=d_model, num_heads=num_heads, d_ff=d_ff,
                            vocab_size=vocab_size, dropout=dropout)
        self.pos_embedding = PositionalEmbedding(vocab_size=vocab_size, d_model=d_model)
        self.dropout = keras.layers.Dropout(dropout)
        self.enc_layers = [EncoderLayer(d_model, num_heads, d_ff, dropout=dropout) for _ in range(num_layers)]

    def call(self, tokens, mask, training=False):
        x = self.dropout(self.pos_embedding(tokens), training=training)
        for enc_layer in self.enc_layers:
            x = enc_layer(x, mask=mask, training=training)
        return x

    def compute_mask(self, *args, **kwargs):
        return None

    def get_config(self):
        return {**super().get_config(), **self.config_}


@keras.saving.register_keras_serializable(package="seqlab_student")
class Decoder(keras.layers.Layer):
    """Takes both masks as arguments; no build()."""

    def __init__(self, num_layers, d_model, num_heads, d_ff, vocab_size, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.config_ = dict(num_layers=num_layers, d_model=d_model, num_heads=num_heads, d_ff=d_ff,
                            vocab_size=vocab_size, dropout=dropout)
        self.pos_embedding = PositionalEmbedding(vocab_size=vocab_size, d_model=d_model)
        self.dropout = keras.layers.Dropout(dropout)
        self.dec_layers = [DecoderLayer(d_model, num_heads, d_ff, dropout=dropout) for _ in range(num_layers)]

    def call(self, target, enc_out, self_mask, cross_mask, training=False):
        x = self.dropout(self.pos_embedding(target), training=training)
        attention = []
        for dec_layer in self.dec_layers:
            x, w = dec_layer(x, enc_out, self_mask=self_mask, cross_mask=cross_mask, training=training)
            attention.append(w)
        return x, attention[-1]

    def compute_mask(self, *args, **kwargs):
        return None

    def get_config(self):
        return {**super().get_config(), **self.config_}


@keras.saving.register_keras_serializable(package="seqlab_student")
class Transformer(keras.Model):
    """All masks built here (the combined one with a minimum of 0/1 masks); no build()."""

    def __init__(self, num_layers, d_model, num_heads, d_ff, src_vocab, tgt_vocab, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.hparams = dict(num_layers=num_layers, d_model=d_model, num_heads=num_heads, d_ff=d_ff,
                            src_vocab=src_vocab, tgt_vocab=tgt_vocab, dropout=dropout)
        self.encoder = Encoder(num_layers, d_model, num_heads, d_ff, src_vocab, dropout)
        self.decoder = Decoder(num_layers, d_model, num_heads, d_ff, tgt_vocab, dropout)
        self.final_layer = keras.layers.Dense(tgt_vocab)
        self.last_attention_weights = None

    def call(self, inputs, training=False, return_attention=False):
        source, target = inputs[0], inputs[1]
        src_mask = padding_mask(source)
        causal = ops.cast(look_ahead_mask(ops.shape(target)[1]), "int32")
        tgt_mask = ops.cast(padding_mask(target), "int32")
        dec_mask = ops.cast(ops.minimum(causal, tgt_mask), "bool")
        enc_out = self.encoder(source, src_mask, training=training)
        x, attention = self.decoder(target, enc_out, dec_mask, src_mask, training=training)
        logits = self.final_layer(x)
        self.last_attention_weights = attention
        if return_attention:
            return logits, attention
        return logits

    def get_config(self):
        return {**super().get_config(), **self.hparams}
'''

LOSS_TAKE_ALONG = '''
@keras.saving.register_keras_serializable(package="seqlab_student")
def masked_loss(labels, logits):
    """-log_softmax at the label (take_along_axis), averaged over the real positions."""
    labels = ops.cast(labels, "int32")
    log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    nll = -ops.squeeze(ops.take_along_axis(log_probs, labels[..., None], axis=-1), axis=-1)
    keep = ops.cast(labels != PAD_ID, "float32")
    return ops.sum(nll * keep) / ops.maximum(ops.sum(keep), 1.0)


@keras.saving.register_keras_serializable(package="seqlab_student")
def masked_accuracy(labels, logits):
    pred = ops.argmax(logits, axis=-1)
    keep = ops.cast(ops.not_equal(labels, PAD_ID), "float32")
    correct = ops.cast(ops.equal(ops.cast(pred, "int32"), ops.cast(labels, "int32")), "float32") * keep
    return ops.divide_no_nan(ops.sum(correct), ops.sum(keep))
'''

SCHEDULE_TUTORIAL = '''
@keras.saving.register_keras_serializable(package="seqlab_student")
class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """The TensorFlow tutorial's schedule, with the paper's 1-based step written as ops.add(step, 1)."""

    def __init__(self, d_model, warmup_steps=4000):
        self.d_model = d_model
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        step = ops.add(ops.cast(step, dtype="float32"), 1)
        arg1 = step ** -0.5
        arg2 = step * (self.warmup_steps ** -1.5)
        return ops.rsqrt(ops.cast(self.d_model, "float32")) * ops.minimum(arg1, arg2)

    def get_config(self):
        return {"d_model": self.d_model, "warmup_steps": self.warmup_steps}
'''

# the Decoder and the Transformer built by their first call (no build()), as the TensorFlow tutorial does
DECODER_WITHOUT_BUILD = [("""    def build(self, target_shape, enc_out_shape):
        self.pos_embedding.build(target_shape)
        x_shape = tuple(target_shape) + (self.d_model,)
        for dec_layer in self.dec_layers:
            dec_layer.build(x_shape, enc_out_shape)

""", ""), ("""    def build(self, inputs_shape):
        source_shape, target_shape = inputs_shape
        enc_out_shape = tuple(source_shape) + (self.d_model,)
        self.encoder.build(source_shape)
        self.decoder.build(target_shape, enc_out_shape)
        self.final_layer.build(tuple(target_shape) + (self.d_model,))

""", "")]

# (id, cell, edits, code appended to the cell: its definitions replace the reference's)
ALTERNATIVES = [
    ("pe_numpy_slices", "positional_encoding_code", (), PE_NUMPY),
    ("pe_stacked_table_as_weight", "positional_encoding_code", (), PE_STACKED),
    ("masks_tril_operators", "masks_code", (), MASKS_TRIL),
    ("masks_triu_reshape", "masks_code", (), MASKS_TRIU),
    ("attention_additive_mask", "attention_code", (), ATTENTION_ADDITIVE),
    ("attention_where_finfo_min", "attention_code", (), ATTENTION_FINFO),
    ("mha_matmul_split_merge", "mha_code", (), MHA_RESHAPE),
    ("ffn_dropout_on_hidden", "feed_forward_code", (), FFN_DROPOUT_HIDDEN),
    ("ffn_training_from_call_context", "feed_forward_code", (), FFN_TRAINING_FROM_CONTEXT),
    ("encoder_own_dropout_add_layer", "encoder_layer_code", (), ENCODER_TWO_DROPOUTS),
    ("decoder_keyword_calls", "decoder_layer_code", (), DECODER_KEYWORDS),
    ("transformer_decoder_without_build", "transformer_code", DECODER_WITHOUT_BUILD, ""),
    ("transformer_masks_in_model", "transformer_code", (), TRANSFORMER_MASKS_IN_MODEL),
    ("loss_take_along_axis", "loss_code", (), LOSS_TAKE_ALONG),
    ("schedule_tutorial_style", "schedule_code", (), SCHEDULE_TUTORIAL),
]


ALTERNATIVE_XFAIL: dict = {}  # id -> reason, for a grader bug reported and not fixed yet (none)


def _alternative_params():
    for vid, cell, edits, code in ALTERNATIVES:
        marks = [pytest.mark.xfail(strict=True, reason=ALTERNATIVE_XFAIL[vid])] if vid in ALTERNATIVE_XFAIL else []
        yield pytest.param(vid, cell, edits, code, id=vid, marks=marks)


@pytest.mark.parametrize("vid, cell, edits, code", list(_alternative_params()))
def test_other_correct_styles_get_full_marks(vid, cell, edits, code):
    ns = namespace(mutate(cell, edits, append=code))
    for grade_id in CELL_ITEMS[cell]:
        result = grade(grade_id, ns, SEEDS[1])
        assert result.score == result.max_points, result.feedback()


COMPOSED = [
    pytest.param(("pe_stacked_table_as_weight", "ffn_training_from_call_context", "encoder_own_dropout_add_layer"),
                 id="own_layers_reference_composition"),
    pytest.param(("pe_numpy_slices", "ffn_dropout_on_hidden", "decoder_keyword_calls", "transformer_masks_in_model"),
                 id="own_layers_built_on_first_call"),
]


@pytest.mark.parametrize("chosen", COMPOSED)
def test_alternatives_compose_in_the_transformer(chosen):
    """The mixed-precision run of the Transformer item uses the student's own positional embedding, feed-forward,
    encoder and decoder layers: alternative styles of those cells, several at once (one grading run each)."""
    source = REFERENCE
    for vid, cell, edits, code in ALTERNATIVES:
        if vid in chosen:
            source = mutate(cell, edits, append=code, source=source)
    result = grade("transformer", namespace(source), SEEDS[0])
    assert result.score == result.max_points, result.feedback()


# ---- single faults -----------------------------------------------------------------------------------------

MHA_LOOP_OVER_HEADS = '''
@keras.saving.register_keras_serializable(package="seqlab_student")
class MultiHeadAttention(MultiHeadAttention):
    """The reference's weights, but one head at a time in a Python loop."""

    def call(self, query, value, key=None, mask=None, return_attention_scores=False):
        key = value if key is None else key
        outputs, weights = self.output_bias, []
        for h in range(self.num_heads):
            q = ops.matmul(query, self.query_kernel[:, h, :]) + self.query_bias[h]
            k = ops.matmul(key, self.key_kernel[:, h, :]) + self.key_bias[h]
            v = ops.matmul(value, self.value_kernel[:, h, :]) + self.value_bias[h]
            head, w = scaled_dot_product_attention(q, k, v, mask)        # (B, Tq, dh); a 3-D mask fits as it is
            outputs = outputs + ops.matmul(head, self.output_kernel[h])
            weights.append(w)
        return (outputs, ops.stack(weights, axis=1)) if return_attention_scores else outputs
'''

# (id, cell, edits, appended code, the sub-checks that must fail ("item/sub-check"), a phrase of their feedback)
WRONG = [
    ("pe_rate_per_column", "positional_encoding_code",
     [('pair = ops.cast((j // 2) * 2, "float32")', 'pair = ops.cast(j, "float32")')], "",
     {"positional_encoding/table", "positional_encoding/odd depth"}, "frequencies are off"),
    ("pe_sin_cos_swapped", "positional_encoding_code",
     [("ops.where(ops.equal(j % 2, 0), ops.sin(angles), ops.cos(angles))",
       "ops.where(ops.equal(j % 2, 0), ops.cos(angles), ops.sin(angles))")], "",
     {"positional_encoding/table", "positional_encoding/odd depth"}, "sin and cos are swapped"),
    ("pe_not_scaled", "positional_encoding_code",
     [("        x = x * ops.cast(self.d_model ** 0.5, x.dtype)\n", "")], "",
     {"positional_encoding/embedding"}, "not scaled"),
    ("pe_mask_with_query_axis", "positional_encoding_code",
     [("return ops.not_equal(tokens, PAD_ID)                                  # (B, T)",
       "return ops.expand_dims(ops.not_equal(tokens, PAD_ID), 1)")], "",
     {"positional_encoding/mask"}, "(B, T) boolean"),
    ("padding_mask_b_s_1", "masks_code",
     [("ops.expand_dims(ops.not_equal(tokens, PAD_ID), 1)", "ops.expand_dims(ops.not_equal(tokens, PAD_ID), -1)")], "",
     {"masks/shapes"}, "(B, 1, S)"),
    ("padding_mask_inverted", "masks_code",
     [("ops.expand_dims(ops.not_equal(tokens, PAD_ID), 1)", "ops.expand_dims(ops.equal(tokens, PAD_ID), 1)")], "",
     {"masks/padding mask"}, "inverted"),
    ("look_ahead_strict", "masks_code", [("ops.less_equal(", "ops.less(")], "",
     {"masks/look-ahead mask"}, "the diagonal is False"),
    ("look_ahead_float", "masks_code",
     [("return ops.expand_dims(keep, 0)", 'return ops.cast(ops.expand_dims(keep, 0), "float32")')], "",
     {"masks/shapes"}, "expected bool"),
    ("attention_scaled_by_value_dim", "attention_code", [("dk = ops.shape(q)[-1]", "dk = ops.shape(v)[-1]")], "",
     {f"attention/{c}" for c, _ in ITEMS["attention"].checks} - {"attention/float16"}, "q k^T / sqrt(d_k)"),
    ("attention_mask_fill_positive", "attention_code",
     [("ops.cast(fill, scores.dtype)", "ops.cast(-fill, scores.dtype)")], "",
     {"attention/masked weights", "attention/broadcast"},
     "a large POSITIVE number"),
    ("attention_softmax_over_queries", "attention_code",
     [("weights = ops.softmax(scores, axis=-1)", "weights = ops.softmax(scores, axis=-2)")], "",
     {f"attention/{c}" for c, _ in ITEMS["attention"].checks} - {"attention/float16"}, "query axis"),
    ("attention_additive_mask_float32_only", "attention_code",
     [("scores = ops.where(ops.cast(mask, \"bool\"), scores, ops.cast(fill, scores.dtype))",
       "scores = scores + (1.0 - ops.cast(mask, scores.dtype)) * NEG_INF")], "",
     {"attention/float16"}, "NaN"),
    ("mha_heads_merged_without_transpose", "mha_code",
     [], MHA_RESHAPE.replace(
         "        heads = ops.transpose(heads, (0, 2, 1, 3))\n"
         "        heads = ops.reshape(heads, (-1, ops.shape(heads)[1], self.num_heads * self.key_dim))\n",
         "        heads = ops.reshape(heads, (-1, ops.shape(heads)[2], self.num_heads * self.key_dim))\n"),
     {"mha/self-attention", "mha/cross-attention", "mha/mask"}, "merge the heads"),
    ("mha_keys_from_value", "mha_code",
     [("        key = value if key is None else key\n", "        key = value\n")], "",
     {"mha/layout", "mha/cross-attention", "mha/mask", "mha/weights returned"}, "raised an error"),
    ("mha_python_loop_over_heads", "mha_code", [], MHA_LOOP_OVER_HEADS, {"mha/all heads at once"}, "Python loop"),
    ("ffn_without_relu", "feed_forward_code",
     [('self.dense1 = keras.layers.Dense(d_ff, activation="relu")', "self.dense1 = keras.layers.Dense(d_ff)")], "",
     {"feed_forward/numerics"}, "no ReLU"),
    ("ffn_dropout_not_applied", "feed_forward_code",
     [("return self.dropout(self.dense2(h), training=training)", "return self.dense2(h)")], "",
     {"feed_forward/dropout"}, "equals the inference output"),
    ("ffn_config_without_d_ff", "feed_forward_code", [('"d_ff": self.d_ff, ', "")], "",
     {"feed_forward/serialization"}, "get_config/from_config failed"),
    ("encoder_one_layernorm_for_both_blocks", "encoder_layer_code",
     [("h = self.ln1(x + self.dropout(attn, training=training))", "h = x + self.dropout(attn, training=training)")], "",
     {"encoder_layer/numerics", "encoder_layer/trainable"}, "post-norm encoder layer"),
    ("encoder_mask_not_passed", "encoder_layer_code", [("self.mha(x, x, mask=mask)", "self.mha(x, x)")], "",
     {"encoder_layer/numerics", "encoder_layer/padding"}, "does not reach the attention"),
    ("encoder_pre_norm", "encoder_layer_code",
     [("        attn = self.mha(x, x, mask=mask)                                      # (B, S, d)\n"
       "        h = self.ln1(x + self.dropout(attn, training=training))               # (B, S, d)\n"
       "        return self.ln2(h + self.ffn(h, training=training))                   # (B, S, d)\n",
       "        n = self.ln1(x)\n        h = x + self.dropout(self.mha(n, n, mask=mask), training=training)\n"
       "        return h + self.ffn(self.ln2(h), training=training)\n")], "",
     {"encoder_layer/numerics"}, "pre-norm"),
    ("decoder_cross_queries_from_x", "decoder_layer_code",
     [("self.cross_mha(h1, enc_out,", "self.cross_mha(x, enc_out,")], "",
     {"decoder_layer/numerics", "decoder_layer/cross-attention"}, "queries come from x"),
    ("decoder_encoder_as_queries", "decoder_layer_code",
     [("self.cross_mha(h1, enc_out,", "self.cross_mha(enc_out, h1,")], "",
     {f"decoder_layer/{c}" for c, _ in ITEMS["decoder_layer"].checks}, "raised an error"),
    ("decoder_self_mask_not_passed", "decoder_layer_code",
     [("self.self_mha(x, x, mask=self_mask)", "self.self_mha(x, x)")], "",
     {"decoder_layer/numerics", "decoder_layer/causal", "decoder_layer/cross-attention"}, "ignores self_mask"),
    ("decoder_returns_self_attention_weights", "decoder_layer_code",
     [("a1 = self.self_mha(x, x, mask=self_mask)",
       "a1, weights = self.self_mha(x, x, mask=self_mask, return_attention_scores=True)"),
      ("a2, weights = self.cross_mha(h1, enc_out, mask=cross_mask,\n" + " " * 37 + "return_attention_scores=True)",
       "a2 = self.cross_mha(h1, enc_out, mask=cross_mask)")], "",
     {"decoder_layer/cross-attention"}, "self-attention"),
    ("transformer_no_source_mask_in_decoder", "transformer_code",
     [("self.decoder(target, enc_out, source_mask, training=training)",
       "self.decoder(target, enc_out, None, training=training)")], "",
     {"transformer/numerics", "transformer/padding", "transformer/attention weights"},
     "source padding mask must reach"),
    ("transformer_no_look_ahead", "transformer_code",
     [("self_mask = ops.logical_and(look_ahead_mask(ops.shape(target)[1]), padding_mask(target))",
       "self_mask = padding_mask(target)")], "",
     {"transformer/numerics", "transformer/causal", "transformer/attention weights"}, "look-ahead mask"),
    ("transformer_first_layer_weights", "transformer_code",
     [("            x, weights = layer(x, enc_out, self_mask=self_mask, cross_mask=source_mask,\n",
       "            x, w = layer(x, enc_out, self_mask=self_mask, cross_mask=source_mask,\n"),
      ("training=training)                              # (B, T, d), (B, H, T, S)\n",
       "training=training)\n            weights = w if weights is None else weights\n")], "",
     {"transformer/attention weights"}, "last decoder layer's cross-attention weights"),
    ("loss_mean_per_sentence", "loss_code",
     [("    return ops.sum(loss * keep) / ops.maximum(ops.sum(keep), 1.0)",
       "    return ops.mean(ops.sum(loss * keep, axis=1) / ops.maximum(ops.sum(keep, axis=1), 1.0))")], "",
     {"loss/loss"}, "mean cross-entropy over the positions"),
    ("loss_counts_pad", "loss_code",
     [('    keep = ops.cast(ops.not_equal(labels, PAD_ID), "float32")                # (B, T)\n',
       '    keep = ops.ones_like(loss)\n')], "",
     {"loss/loss"}, "counts the [PAD] positions"),
    ("accuracy_counts_pad", "loss_code",
     [('    hits = ops.cast(ops.logical_and(hits, keep), "float32")\n'
       '    return ops.sum(hits) / ops.maximum(ops.sum(ops.cast(keep, "float32")), 1.0)',
       '    return ops.mean(ops.cast(hits, "float32"))')], "",
     {"loss/accuracy"}, "counts the [PAD] positions"),
    ("schedule_without_plus_one", "schedule_code",
     [('s = ops.cast(step, "float32") + 1.0', 's = ops.cast(step, "float32")')], "",
     {"schedule/values", "schedule/peak", "schedule/optimizer"}, "one step late"),
    ("schedule_max_instead_of_min", "schedule_code", [("ops.minimum(ops.rsqrt(s)", "ops.maximum(ops.rsqrt(s)")], "",
     {"schedule/values", "schedule/peak", "schedule/optimizer"}, "min(s^-0.5, s * warmup_steps^-1.5)"),
]
# sub-checks a fault may also cost (the same wrong formula judged again) and text its feedback must NOT contain
# (advice that does not fit the fault)
MAY_ALSO_FAIL: dict = {}  # id -> sub-checks the same wrong formula may cost again (none: those checks are relative)
MISLEADING = {
    "attention_scaled_by_value_dim": "keep every constant in the scores' dtype",
    "attention_mask_fill_positive": "keep every constant in the scores' dtype",
    "loss_mean_per_sentence": "cast the logits to float32",
    "loss_counts_pad": "cast the logits to float32",
    "accuracy_counts_pad": "cast the logits to float32",
    "decoder_returns_self_attention_weights": "keys and values from the decoder",
    "decoder_encoder_as_queries": "no output was produced",
    "mha_keys_from_value": "no output was produced",
}
WRONG_XFAIL: dict = {}  # id -> reason, for a grader problem reported and not fixed yet (none)


def _wrong_params():
    for v in WRONG:
        marks = [pytest.mark.xfail(strict=True, reason=WRONG_XFAIL[v[0]])] if v[0] in WRONG_XFAIL else []
        yield pytest.param(*v, id=v[0], marks=marks)


@pytest.mark.parametrize("vid, cell, edits, code, failing, phrase", list(_wrong_params()))
def test_single_faults_lose_points_where_expected(vid, cell, edits, code, failing, phrase):
    """The expected sub-checks fail (and no other, except those listed as judging the same formula again), their
    feedback names the fault and gives no advice that does not fit it; the other items of the cell keep full marks."""
    ns = namespace(mutate(cell, edits, append=code))
    failed, feedback = set(), []
    for grade_id in CELL_ITEMS[cell]:
        result = grade(grade_id, ns, SEEDS[0])
        failed |= {f"{grade_id}/{c.name}" for c in result.checks if not c.passed}
        feedback += [f"{grade_id}/{c.name}: {c.message}" for c in result.checks if not c.passed]
    text = "\n".join(feedback)
    assert failing <= failed <= failing | MAY_ALSO_FAIL.get(vid, set()), \
        f"failed {sorted(failed)}, expected {sorted(failing)}\n{text}"
    assert phrase in text, text
    assert vid not in MISLEADING or MISLEADING[vid] not in text, text
