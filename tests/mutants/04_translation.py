"""Mutant catalogue for 04_translation: plausible student bugs, each applied to one answer cell of the master notebook.

`fails` lists the items the mutant must lose points on; every other item must keep full marks. `checks` is the
exact set of sub-checks that must fail; `says` a phrase its feedback must contain.

Part 1's cell is the student's 03 layers pasted again, so its mutants are 03's bugs: the weight transplant
(`transplant`) catches any layer that computes something else with the checkpoint's weights, a decoder that looks
ahead (`causal`) and a model that does not reload from its `.keras` file (`export`). The grader's training run
(`translation_training`) fails the bugs that stop learning: a look-ahead leak (it learns to copy the next token;
with the checkpoint's weights its greedy translations are exact, since greedy decoding never shows it a next token,
so the transplant catches it by `causal`) and a decoder that never reads the source; and gives half credit to an
unscaled embedding, which learns slowly (BLEU 17.8 where full credit starts at 40). A layer that is slightly off
but learns (no attention scaling, pre-norm) keeps full marks there: the transplant has already charged it. (Every
mutant was graded on every item when the catalogue was written, the Part 1 ones through the training run too.) The decoding item charges a fault in
`make_step_fn` or the pasted `beam_search` once, where it is, and not again in `translate`.
"""
from tests.mutants import Mutant
from tests.mutants import all_of as _all

TR = "transformer_code"
LOSS = "smoothed_loss_code"
BEAM = "beam_search_code"
DEC = "decoding_code"
TRANSLATIONS = "transplant/translations"
LEARNS = "translation_training/learns"


KERAS_LOSS = '''log_p = None  # the built-in computes everything below
    cce = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=epsilon, reduction="sum")
    keep = ops.cast(ops.not_equal(labels, PAD_ID), "float32")
    onehot = ops.one_hot(ops.cast(labels, "int32"), ops.shape(logits)[-1])
    return cce(onehot, ops.cast(logits, "float32"), sample_weight=keep) / ops.maximum(ops.sum(keep), 1.0)'''

MUTANTS = [
    # ---- the label-smoothed loss (first: the nbgrader test's one-item mutant, cheap to grade)
    Mutant("smoothing_over_pad", LOSS, "return ops.sum(loss * keep) / ops.maximum(ops.sum(keep), 1.0)",
           "n = ops.maximum(ops.sum(keep), 1.0)\n"
           "    return ((1.0 - epsilon) * ops.sum(nll * keep) - epsilon * ops.sum(ops.mean(log_p, axis=-1))) / n",
           ("smoothed_loss",), says="counted at the [PAD] positions", checks=("smoothed_loss/padding",)),
    Mutant("epsilon_ignored", LOSS, "loss = (1.0 - epsilon) * nll - epsilon * ops.mean(log_p, axis=-1)", "loss = nll",
           ("smoothed_loss",), says="ignored", checks=("smoothed_loss/smoothing",)),
    Mutant("smoothing_sum_not_mean", LOSS, "epsilon * ops.mean(log_p, axis=-1)", "epsilon * ops.sum(log_p, axis=-1)",
           ("smoothed_loss",), says="mean over the vocabulary", checks=("smoothed_loss/smoothing",)),
    Mutant("smoothed_all_pad_nan", LOSS, "return ops.sum(loss * keep) / ops.maximum(ops.sum(keep), 1.0)",
           "return ops.sum(loss * keep) / ops.sum(keep)", ("smoothed_loss",), says="not NaN",
           checks=("smoothed_loss/edge cases",)),
    Mutant("smoothed_keras_builtin", LOSS, 'log_p = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)', KERAS_LOSS,
           ("smoothed_loss",), says="CategoricalCrossentropy",
           checks=_all("smoothed_loss", "no smoothing", "smoothing", "padding", "edge cases")),
    # ---- Part 1: the 03 layers, with the checkpoint's weights and in the grader's training run
    Mutant("look_ahead_off_by_one", TR, "ops.expand_dims(idx, 0), ops.expand_dims(idx, 1))",
           "ops.expand_dims(idx, 0), ops.expand_dims(idx, 1) + 1)", ("transplant", "translation_training"),
           says="looks ahead", checks=("transplant/causal", LEARNS)),  # greedy BLEU with the checkpoint: unchanged
    Mutant("decoder_cross_keys_from_decoder", TR, "a2, weights = self.cross_mha(h1, enc_out, mask=cross_mask,",
           "a2, weights = self.cross_mha(h1, h1, mask=self_mask,", ("transplant", "translation_training"),
           says="cross-attention on the encoder's output", checks=(TRANSLATIONS, LEARNS)),
    Mutant("mha_keras_builtin", TR, "H, dh = self.num_heads, self.key_dim",
           "H, dh = self.num_heads, self.key_dim\n        self.inner = keras.layers.MultiHeadAttention(H, dh)",
           ("transplant", "translation_training"), says="keras.layers.MultiHeadAttention",
           checks=_all("transplant", "model", "translations", "causal", "export")
           + _all("translation_training", "model", "learns")),
    Mutant("attention_no_scaling", TR, "scores = scores / ops.sqrt(ops.cast(dk, scores.dtype))", "scores = scores",
           ("transplant",), says="1/sqrt(d_k)", checks=(TRANSLATIONS,)),
    Mutant("encoder_pre_norm", TR, "attn = self.mha(x, x, mask=mask)",
           "attn = self.mha(self.ln1(x), self.ln1(x), mask=mask)", ("transplant",), says="post-norm",
           checks=(TRANSLATIONS,),
           also=(("h = self.ln1(x + self.dropout(attn, training=training))", "h = x + self.dropout(attn, training=training)"),
                 ("return self.ln2(h + self.ffn(h, training=training))", "return h + self.ffn(self.ln2(h), training=training)"))),
    Mutant("embedding_not_scaled", TR, "x = x * ops.cast(self.d_model ** 0.5, x.dtype)", "x = x",
           ("transplant", "translation_training"), says="embedding scale", checks=(TRANSLATIONS, LEARNS)),
    Mutant("transformer_config_without_vocab", TR,
           '"num_heads": self.num_heads, "d_ff": self.d_ff, "src_vocab": self.src_vocab,',
           '"num_heads": self.num_heads, "d_ff": self.d_ff,', ("transplant",), says="get_config",
           checks=("transplant/export",)),
    # ---- Part 3: decoding
    Mutant("beam_no_length_normalization", BEAM, "lp / len(tokens) ** alpha", "lp", ("decoding",),
           says="beam_search", checks=("decoding/beam search",)),
    Mutant("step_first_position", DEC, "return ops.convert_to_numpy(logits[:, -1]), [source, prefix]",
           "return ops.convert_to_numpy(logits[:, 0]), [source, prefix]", ("decoding",),
           says="keep logits[:, -1]", checks=("decoding/step",)),  # the reordered state: charged to step, not again
    Mutant("translate_register_ignored", DEC, "[tag_source(s, register) for s in sentences]",
           '[tag_source(s, "polite") for s in sentences]', ("decoding",), says="register",
           checks=("decoding/translate",)),
    Mutant("translate_beam_width_ignored", DEC, "best = beam_search(step_fn, state, beam_width,",
           "best = beam_search(step_fn, state, 4,", ("decoding",), says="beam_width", checks=("decoding/translate",)),
    Mutant("translate_empty_raises", DEC, "    if not sentences:\n        return []\n", "", ("decoding",),
           says="translate([])", checks=("decoding/translate",)),
]

SAMPLE_CLASS = {
    "ada": None,
    "ben": "starter",
    "chloe": "look_ahead_off_by_one",
    "dae": "smoothing_over_pad",
    "eun": "translate_register_ignored",
}
