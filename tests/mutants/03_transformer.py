"""Mutant catalogue for 03_transformer: plausible student bugs, each applied to one solution cell.

`fails` lists the items the mutant must lose points on; every other item must keep full marks.
`checks` is the exact set of sub-checks that must fail; `says` a phrase its feedback must contain.
The layer items are graded with the grader's own versions of the parts graded before them, so a bug costs
points in its own item; transformer_training trains the student's whole Transformer, so a bug that breaks
learning (a mask that lets the decoder see the next token, cross-attention that never reads the source)
fails it too. jax_backend compares the student's own parts on TensorFlow and JAX: it catches code that only
TensorFlow runs (a tf.* call, a TensorFlow-only method), and a part that already raises on TensorFlow gets no
credit there either.
"""
from tests.mutants import Mutant
from tests.mutants import all_of as _all

PE = "positional_encoding_code"
MASKS = "masks_code"
ATT = "attention_code"
MHA = "mha_code"
FFN = "feed_forward_code"
ENC = "encoder_layer_code"
DEC = "decoder_layer_code"
TR = "transformer_code"
LOSS = "loss_code"
SCHED = "schedule_code"
TRAIN = "transformer_training/learns"
# a Transformer that raises on TensorFlow is not credited on JAX either (the check compares parts that run)
JAX_CRASH = ("jax_backend/layers", "jax_backend/training step")


HEADS_LOOP = (
    "heads_list, weights_list = [], []\n"
    "        for h in range(self.num_heads):  # one head at a time\n"
    "            o_h, w_h = scaled_dot_product_attention(q[:, h], k[:, h], v[:, h], None if mask is None else mask[:, 0])\n"
    "            heads_list.append(o_h)\n"
    "            weights_list.append(w_h)\n"
    "        heads, weights = ops.stack(heads_list, axis=1), ops.stack(weights_list, axis=1)")

MUTANTS = [
    # ---- the same code on JAX
    Mutant("mha_tf_einsum", MHA, 'outputs = ops.einsum("bhtk,hkd->btd", heads, self.output_kernel)',
           'import tensorflow as tf\n        outputs = tf.einsum("bhtk,hkd->btd", heads, self.output_kernel)',
           ("jax_backend",), says="a tf.* call", checks=("jax_backend/training step",)),
    Mutant("loss_numpy_method", LOSS, "return ops.sum(loss * keep) / ops.maximum(ops.sum(keep), 1.0)",
           "return ops.convert_to_tensor((ops.sum(loss * keep) / ops.maximum(ops.sum(keep), 1.0)).numpy())",
           ("jax_backend",), says="raises on the JAX backend", checks=("jax_backend/functions",)),
    # ---- positional encoding
    Mutant("pe_sin_cos_swapped", PE, "ops.where(ops.equal(j % 2, 0), ops.sin(angles), ops.cos(angles))",
           "ops.where(ops.equal(j % 2, 0), ops.cos(angles), ops.sin(angles))", ("positional_encoding",),
           says="sin and cos are swapped", checks=_all("positional_encoding", "table", "odd depth")),
    Mutant("pe_not_interleaved", PE, "return ops.where(ops.equal(j % 2, 0), ops.sin(angles), ops.cos(angles))",
           "return ops.concatenate([ops.sin(angles[:, 0::2]), ops.cos(angles[:, 1::2])], axis=-1)",
           ("positional_encoding",), says="sin-half / cos-half layout",
           checks=_all("positional_encoding", "table", "odd depth")),
    Mutant("pe_embedding_not_scaled", PE, "x = x * ops.cast(self.d_model ** 0.5, x.dtype)", "x = x",
           ("positional_encoding", "transformer_training"), says="the embeddings are not scaled",
           checks=_all("positional_encoding", "embedding") + (TRAIN,)),
    Mutant("pe_mask_missing", PE, "return ops.not_equal(tokens, PAD_ID)", "return None", ("positional_encoding",),
           says="compute_mask(tokens)", checks=_all("positional_encoding", "mask")),
    # ---- masks
    Mutant("padding_mask_inverted", MASKS, "ops.not_equal(tokens, PAD_ID), 1)", "ops.equal(tokens, PAD_ID), 1)",
           ("masks", "transformer_training"), says="the padding mask is inverted",
           checks=_all("masks", "padding mask") + (TRAIN,)),
    Mutant("padding_mask_2d", MASKS, "return ops.expand_dims(ops.not_equal(tokens, PAD_ID), 1)",
           "return ops.not_equal(tokens, PAD_ID)", ("masks", "transformer_training", "jax_backend"), says="expected [",
           checks=_all("masks", "shapes") + ("transformer_training/model", TRAIN) + JAX_CRASH),
    Mutant("look_ahead_off_by_one", MASKS, "ops.expand_dims(idx, 0), ops.expand_dims(idx, 1))",
           "ops.expand_dims(idx, 0), ops.expand_dims(idx, 1) + 1)", ("masks", "transformer_training"),
           says="off by one", checks=_all("masks", "look-ahead mask") + (TRAIN,)),
    Mutant("look_ahead_strict", MASKS, "keep = ops.less_equal(", "keep = ops.less(", ("masks",),
           says="the diagonal is False", checks=_all("masks", "look-ahead mask")),
    # ---- scaled dot-product attention
    Mutant("attention_no_scaling", ATT, "scores = scores / ops.sqrt(ops.cast(dk, scores.dtype))", "scores = scores",
           ("attention",), says="the scores are not scaled",
           checks=_all("attention", "outputs", "weights", "masked weights", "broadcast")),
    Mutant("attention_softmax_query_axis", ATT, "weights = ops.softmax(scores, axis=-1)",
           "weights = ops.softmax(scores, axis=-2)", ("attention", "transformer_training"),
           says="the softmax runs over the query axis",
           checks=_all("attention", "outputs", "weights", "masked weights", "broadcast") + (TRAIN,)),
    Mutant("attention_mask_ignored", ATT, "if mask is not None:", "if False:", ("attention", "transformer_training"),
           says="the mask has no effect", checks=_all("attention", "masked weights", "broadcast") + (TRAIN,)),
    Mutant("attention_mask_wrong_sign", ATT, "scores = ops.where(ops.cast(mask, \"bool\"), scores, ops.cast(fill, scores.dtype))",
           "scores = ops.where(ops.cast(mask, \"bool\"), scores, ops.cast(-fill, scores.dtype))",
           ("attention", "transformer_training"), says="a large POSITIVE number",
           checks=_all("attention", "masked weights", "broadcast") + (TRAIN,)),
    Mutant("attention_additive_mask_float16", ATT,
           'scores = ops.where(ops.cast(mask, "bool"), scores, ops.cast(fill, scores.dtype))',
           "scores = scores + (1.0 - ops.cast(mask, scores.dtype)) * ops.cast(NEG_INF, scores.dtype)",
           ("attention",), says="float16 inputs gave NaN", checks=_all("attention", "float16")),
    # ---- multi-head attention
    Mutant("mha_heads_loop", MHA, "heads, weights = scaled_dot_product_attention(q, k, v, mask)", HEADS_LOOP,
           ("mha",), says="grows with num_heads",
           checks=_all("mha", "all heads at once")),
    Mutant("mha_no_output_projection", MHA,
           'outputs = ops.einsum("bhtk,hkd->btd", heads, self.output_kernel) + self.output_bias',
           "outputs = ops.reshape(ops.transpose(heads, (0, 2, 1, 3)), (ops.shape(heads)[0], ops.shape(heads)[2], -1))",
           ("mha",), says="merge the heads with the output kernel",
           checks=_all("mha", "self-attention", "cross-attention", "mask", "trainable")),
    Mutant("mha_heads_reshaped_without_transpose", MHA,
           'q = ops.einsum("btd,dhk->bhtk", query, self.query_kernel) + ops.expand_dims(self.query_bias, 1)',
           'q = ops.einsum("btd,dhk->bthk", query, self.query_kernel) + self.query_bias\n'
           '        q = ops.reshape(q, (ops.shape(q)[0], self.num_heads, ops.shape(q)[1], self.key_dim))',
           ("mha", "transformer_training"), says="project q, k, v per head",
           checks=_all("mha", "self-attention", "cross-attention", "mask", "weights returned") + (TRAIN,)),
    Mutant("mha_mask_without_head_axis", MHA, "mask = ops.expand_dims(mask, 1)                               # (B, 1, Tq, Tk): every head",
           "pass", ("mha", "transformer_training", "jax_backend"), says="needs a head axis",
           checks=_all("mha", "mask") + ("transformer_training/model", TRAIN) + JAX_CRASH),
    Mutant("mha_keras_builtin", MHA, "H, dh = self.num_heads, self.key_dim",
           "H, dh = self.num_heads, self.key_dim\n        self.inner = keras.layers.MultiHeadAttention(H, dh)",
           ("mha", "transformer_training"), says="keras.layers.MultiHeadAttention",
           checks=_all("mha", "layout", "self-attention", "cross-attention", "mask", "weights returned",
                       "all heads at once", "serialization", "trainable") + ("transformer_training/model", TRAIN)),
    # ---- feed-forward
    Mutant("ffn_no_relu", FFN, 'self.dense1 = keras.layers.Dense(d_ff, activation="relu")',
           "self.dense1 = keras.layers.Dense(d_ff)", ("feed_forward",), says="no ReLU",
           checks=_all("feed_forward", "numerics")),
    Mutant("ffn_no_dropout", FFN, "return self.dropout(self.dense2(h), training=training)", "return self.dense2(h)",
           ("feed_forward",), says="with training=True the output equals", checks=_all("feed_forward", "dropout")),
    # ---- encoder layer
    Mutant("encoder_pre_norm", ENC, "attn = self.mha(x, x, mask=mask)",
           "attn = self.mha(self.ln1(x), self.ln1(x), mask=mask)", ("encoder_layer",), says="pre-norm",
           checks=_all("encoder_layer", "numerics"),
           also=(("h = self.ln1(x + self.dropout(attn, training=training))", "h = x + self.dropout(attn, training=training)"),
                 ("return self.ln2(h + self.ffn(h, training=training))", "return h + self.ffn(self.ln2(h), training=training)"))),
    Mutant("encoder_no_residual", ENC, "h = self.ln1(x + self.dropout(attn, training=training))",
           "h = self.ln1(self.dropout(attn, training=training))", ("encoder_layer",),
           says="no residual connection", checks=_all("encoder_layer", "numerics")),
    Mutant("encoder_mask_not_passed", ENC, "attn = self.mha(x, x, mask=mask)", "attn = self.mha(x, x)",
           ("encoder_layer",), says="the padding mask does not reach the attention",
           checks=_all("encoder_layer", "numerics", "padding")),
    # ---- decoder layer
    Mutant("decoder_cross_keys_from_decoder", DEC, "a2, weights = self.cross_mha(h1, enc_out, mask=cross_mask,",
           "a2, weights = self.cross_mha(h1, h1, mask=self_mask,", ("decoder_layer", "transformer_training"),
           says="keys and values from the encoder",
           checks=_all("decoder_layer", "numerics", "cross-attention") + (TRAIN,)),
    Mutant("decoder_self_mask_dropped", DEC, "a1 = self.self_mha(x, x, mask=self_mask)", "a1 = self.self_mha(x, x)",
           ("decoder_layer", "transformer_training"), says="ignores self_mask",
           checks=_all("decoder_layer", "numerics", "causal", "cross-attention") + (TRAIN,)),
    # ---- the Transformer
    Mutant("transformer_no_look_ahead", TR,
           "self_mask = ops.logical_and(look_ahead_mask(ops.shape(target)[1]), padding_mask(target))",
           "self_mask = padding_mask(target)", ("transformer", "transformer_training"), says="look-ahead mask",
           checks=_all("transformer", "numerics", "causal", "attention weights") + (TRAIN,)),
    Mutant("transformer_no_cross_mask", TR, "cross_mask=source_mask,", "cross_mask=None,", ("transformer",),
           says="source padding mask", checks=_all("transformer", "numerics", "padding", "attention weights")),
    Mutant("transformer_first_layer_weights", TR,
           "x, weights = layer(x, enc_out, self_mask=self_mask, cross_mask=source_mask,",
           "x, w = layer(x, enc_out, self_mask=self_mask, cross_mask=source_mask,", ("transformer",),
           says="the last decoder layer's cross-attention weights", checks=_all("transformer", "attention weights"),
           also=(("        return x, weights", "            weights = w if weights is None else weights\n        return x, weights"),)),
    # ---- loss, accuracy, schedule
    Mutant("loss_counts_pad", LOSS, "return ops.sum(loss * keep) / ops.maximum(ops.sum(keep), 1.0)",
           "return ops.mean(loss)", ("loss",), says="the loss counts the [PAD] positions", checks=_all("loss", "loss")),
    Mutant("accuracy_counts_pad", LOSS, "hits = ops.cast(ops.logical_and(hits, keep), \"float32\")",
           "hits = ops.cast(hits, \"float32\")\n    keep = ops.ones_like(hits)", ("loss",),
           says="the accuracy counts the [PAD] positions", checks=_all("loss", "accuracy")),
    Mutant("loss_all_pad_nan", LOSS, "return ops.sum(loss * keep) / ops.maximum(ops.sum(keep), 1.0)",
           "return ops.sum(loss * keep) / ops.sum(keep)", ("loss",), says="not NaN", checks=_all("loss", "edge cases")),
    Mutant("schedule_off_by_one", SCHED, 's = ops.cast(step, "float32") + 1.0', 's = ops.cast(step, "float32")',
           ("schedule",), says="one step late", checks=_all("schedule", "values", "peak", "optimizer")),
    Mutant("schedule_no_warmup", SCHED, "ops.minimum(ops.rsqrt(s), s * (self.warmup_steps ** -1.5))",
           "ops.rsqrt(s)", ("schedule",), says="peak at step warmup_steps - 1",
           checks=_all("schedule", "values", "peak", "optimizer")),
]

# a bug in a cell the training run uses that keeps full marks there (the run does not detect it; its own item does):
# its training run is graded too (test_mutants), like the first one-item mutant (mha_tf_einsum) and the sample
# class's encoder_pre_norm. Every mutant was graded on every item when the catalogue was written (all as declared).
TRAINING_KEEPS = ("attention_no_scaling",)

SAMPLE_CLASS = {
    "ada": None,
    "ben": "starter",
    "chloe": "look_ahead_off_by_one",
    "dae": "encoder_pre_norm",
}
