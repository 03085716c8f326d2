"""Mutant catalogue for 02_seq2seq_attention: plausible student bugs, each applied to one solution cell.

`fails` lists the items the mutant must lose points on; every other item must keep full marks.
`checks` is the exact set of sub-checks that must fail; `says` a phrase its feedback must contain.
attention_training trains the grader's composition, whose decoder starts from zero states: a bug that
stops the context from carrying the source (softmax over the query axis, inverted mask, logits from s_t
instead of the attentional state) fails it too;
an ignored mask does not (training learns to outscore the zero padding states), see cases.py.
"""
from tests.mutants import Mutant
from tests.mutants import all_of as _all

ENC = "encoder_code"
DEC = "decoder_code"
BASE = "masked_attention_code"
BAH = "bahdanau_attention_code"
LUONG = "luong_attention_code"
ATT_DEC = "attention_decoder_code"
GREEDY = "greedy_decoding_code"
BEAM = "beam_search_code"
ERR = "beam_error_analysis_code"


ATTENTION_ITEMS = {
    "masked_attention": ("shapes", "softmax axis", "masked weights", "context", "symbolic"),
    "bahdanau_attention": ("weights", "score", "terms", "serialization", "trainable"),
    "luong_attention": ("dot", "general", "concat", "scaled_dot", "location", "weights", "serialization", "trainable"),
}

MUTANTS = [
    # ---- the base class: mask, softmax, weighted sum
    Mutant("softmax_over_query_axis", BASE, "weights = ops.softmax(scores, axis=-1)", "weights = ops.softmax(scores, axis=1)",
           ("masked_attention", "attention_training"), says="query axis",
           checks=("masked_attention/softmax axis", "attention_training/learns")),
    Mutant("mask_ignored", BASE, "        if mask is not None:\n", "        if False:\n",
           ("masked_attention",), says="mask is ignored", checks=("masked_attention/masked weights",)),
    Mutant("mask_inverted", BASE, 'keep = ops.expand_dims(ops.cast(mask, "bool"), 1)',
           'keep = ops.logical_not(ops.expand_dims(ops.cast(mask, "bool"), 1))',
           ("masked_attention", "attention_training"), says="inverted",
           checks=("masked_attention/masked weights", "attention_training/learns")),
    Mutant("uses_keras_attention", BASE, "        scores = self.score(query, values)",
           "        keras.layers.Attention()\n        scores = self.score(query, values)",
           (*ATTENTION_ITEMS, "attention_training"), says="from scratch",
           checks=tuple(c for item, subs in ATTENTION_ITEMS.items() for c in _all(item, *subs))
           + _all("attention_training", "model", "learns")),
    # ---- Bahdanau
    Mutant("bahdanau_without_tanh", BAH, "return ops.sum(ops.tanh(q + k) * self.v, axis=-1)",
           "return ops.sum((q + k) * self.v, axis=-1)",
           ("bahdanau_attention",), says="tanh is missing", checks=("bahdanau_attention/score", "bahdanau_attention/terms")),
    # ---- Luong
    Mutant("general_without_W", LUONG, "return ops.matmul(ops.matmul(query, self.W), ops.transpose(values, (0, 2, 1)))",
           "return ops.matmul(query, ops.transpose(values, (0, 2, 1)))",
           ("luong_attention",), says="ignores W", checks=("luong_attention/general",)),
    Mutant("concat_halves_swapped", LUONG, "ops.matmul(query, self.W[:d_q]), 2)", "ops.matmul(query, self.W[d_q:]), 2)",
           ("luong_attention",), says="halves of W are swapped", checks=("luong_attention/concat",),
           also=(("ops.matmul(values, self.W[d_q:]), 1)", "ops.matmul(values, self.W[:d_q]), 1)"),)),
    Mutant("scaled_without_sqrt", LUONG, "scores = scores / ops.sqrt(ops.cast(ops.shape(query)[-1], scores.dtype))",
           "scores = scores / ops.cast(ops.shape(query)[-1], scores.dtype)",
           ("luong_attention",), says="divided by d", checks=("luong_attention/scaled_dot",)),
    Mutant("location_not_sliced", LUONG, "return ops.matmul(query, self.W)[:, :, :S]", "return ops.matmul(query, self.W)",
           ("luong_attention",), says="slice it", checks=("luong_attention/location",)),
    # ---- encoder and decoders
    Mutant("encoder_without_mask", ENC, "keras.layers.Embedding(vocab_size, embed_dim, mask_zero=True)",
           "keras.layers.Embedding(vocab_size, embed_dim)",
           ("encoder",), says="[PAD] mask must reach the LSTM", checks=("encoder/mask",)),
    Mutant("decoder_ignores_initial_state", DEC, "s, h, c = self.rnn(x, initial_state=list(initial_state))",
           "s, h, c = self.rnn(x)", ("decoder",), says="initial_state is ignored", checks=("decoder/initial state",)),
    Mutant("decoder_initial_state_swapped", DEC, "initial_state=list(initial_state))",
           "initial_state=list(initial_state)[::-1])", ("decoder",), says="[c, h]", checks=("decoder/initial state",)),
    Mutant("attention_decoder_s_then_c", ATT_DEC, "ops.concatenate([context, s], axis=-1)",
           "ops.concatenate([s, context], axis=-1)",
           ("attention_decoder",), says="[s_t; c_t]", checks=("attention_decoder/concat order",)),
    Mutant("attention_decoder_skips_attentional_state", ATT_DEC, "logits = self.out(attentional)",
           "logits = self.out(s)",
           ("attention_decoder", "attention_training"), says="did not change W_c",
           checks=("attention_decoder/numerics", "attention_decoder/concat order", "attention_decoder/trainable",
                   "attention_training/learns")),
    Mutant("attention_decoder_mask_not_passed", ATT_DEC, "self.attention(s, enc_outputs, mask=source_mask)",
           "self.attention(s, enc_outputs)",
           ("attention_decoder",), says="pass source_mask", checks=("attention_decoder/mask passed",)),
    # ---- decoding
    Mutant("greedy_no_pad_after_end", GREEDY, "out[:, t] = np.where(done, PAD_ID, tokens)", "out[:, t] = tokens",
           ("greedy_decoding",), says="PAD_ID", checks=("greedy_decoding/stops at END",)),
    Mutant("greedy_never_stops", GREEDY, "        if done.all():\n            break\n", "",
           ("greedy_decoding",), says="still called", checks=("greedy_decoding/stops at END",)),
    Mutant("beam_without_length_normalization", BEAM, "scored = sorted(((tokens, lp / len(tokens) ** alpha)",
           "scored = sorted(((tokens, lp)",
           ("beam_search",), says="alpha is ignored", checks=("beam_search/length normalization",)),
    Mutant("beam_probabilities_multiplied", BEAM, "live = [([], 0.0)]", "live = [([], 1.0)]",
           ("beam_search",), says="probabilities", checks=("beam_search/scores",),
           also=(("[:, None] + log_softmax(logits)", "[:, None] * np.exp(log_softmax(logits))"),)),
    Mutant("beam_finished_kept_expanding", BEAM,
           "                    finished.append(hyp)\n                else:\n", "                    finished.append(hyp)\n",
           ("beam_search",), says="must be set aside",
           checks=("beam_search/matches the oracle", "beam_search/exhaustive"),
           also=(("                    next_live.append(hyp)\n                    keep.append(r)\n",
                  "                next_live.append(hyp)\n                keep.append(r)\n"),)),
    Mutant("error_analysis_comparison_reversed", ERR, "lr / len(r) ** alpha > lo / len(o) ** alpha",
           "lr / len(r) ** alpha < lo / len(o) ** alpha",
           ("beam_error_analysis",), says="reversed", checks=("beam_error_analysis/verdicts",)),
    Mutant("fractions_over_all_sentences", ERR, "/ n if n else 0.0", "/ len(verdicts) if n else 0.0", count=2,
           fails=("beam_error_analysis",), says="over the errors only", checks=("beam_error_analysis/fractions",)),
]

# The sample class that `make demo` grades (examples/build_class.py).
# bugs in cells the training run uses that keep full marks there: their training run is graded too (test_mutants)
TRAINING_KEEPS = ("mask_ignored", "encoder_without_mask", "attention_decoder_s_then_c")

SAMPLE_CLASS = {
    "ada": None,
    "ben": "starter",
    "chloe": "softmax_over_query_axis",
    "dae": "attention_decoder_mask_not_passed",
    "eun": "beam_without_length_normalization",
    "farah": "concat_halves_swapped",
    "gus": Mutant("loops_forever", GREEDY, "    return out\n",
                  "    return out\n\n\nsteps = 0\nwhile steps >= 0:  # 'decode until done' - never ends\n"
                  "    steps += 1\n", ()),
}
