"""Student-facing messages of 04_translation (no hidden test source, no solution code)."""

MODEL = ("the grader builds Transformer(num_layers, d_model, num_heads, d_ff, src_vocab, tgt_vocab, dropout) and "
         "copies the checkpoint's weights in through the sub-layer names of assignment 03 (encoder.pos_embedding."
         "embedding, encoder.enc_layers[i].mha / ffn / ln1 / ln2, decoder.dec_layers[i].self_mha / cross_mha / ffn / "
         "ln1-3, final_layer)")
TRANSLATIONS_SLOW = ("with the checkpoint's weights your Transformer translates the grader's sentences with BLEU "
                     "{bleu:.1f}; the same weights in the reference architecture give {want:.1f} (full credit from "
                     "{pass_at:.1f}). Something in the forward pass differs slightly: compare your layers with the "
                     "formulas of 03 (the 1/sqrt(d_k) scale, the sqrt(d_model) embedding scale, post-norm "
                     "LayerNorm(x + Sublayer(x)), the masks)")
TRANSLATIONS_FAIL = ("with the checkpoint's weights your Transformer translates the grader's sentences with BLEU "
                     "{bleu:.1f}; the same weights in the reference architecture give {want:.1f}: your forward pass "
                     "computes something else. Check each layer against the formulas of 03 (post-norm residual "
                     "blocks, the 1/sqrt(d_k) scale, the embedding scale and the positional encoding, cross-attention "
                     "on the encoder's output)")
CAUSAL = ("the logits at target positions 0..{k} changed by up to {gap:.3g} when only the target tokens after position "
          "{k} changed: your decoder looks ahead (the look-ahead mask must keep key position <= query position; True "
          "= may attend)")
EXPORT = ("after model.save('translator.keras') and keras.saving.load_model, {n} of {total} translations differ: "
          "every layer needs get_config() returning its constructor arguments (and chaining to super), and "
          "@keras.saving.register_keras_serializable")
TRAIN_MODEL = ("the grader builds your Transformer at its training size and calls it on [source, target_in] "
               "(expected logits of shape (batch, T, tgt_vocab))")
TRAIN_SLOW = ("trained by the grader ({profile} profile, {seconds:.0f} s), your translator reached BLEU {bleu:.1f} on "
              "the grader's sentences; full credit from {pass_at:.0f}. It learns, but slowly: compare your layers "
              "with the formulas of 03 (the embedding scale, the attention scale)")
TRAIN_FAIL = ("trained by the grader ({profile} profile, {seconds:.0f} s), your translator reached BLEU {bleu:.1f} on "
              "the grader's sentences; full credit from {pass_at:.0f}: it does not learn to translate. A decoder that "
              "looks ahead learns to copy the next token and cannot translate without it; a decoder that ignores "
              "the encoder writes Korean that is unrelated to the source")
SMOOTH_VALUE = ("smoothed_masked_loss(labels, logits, epsilon={eps}) returned {got:.5f}, expected {want:.5f}: per "
                "real position (1 - epsilon) * (-log p[label]) + epsilon * mean over the vocabulary of (-log p[v]), "
                "averaged over the positions whose label is not [PAD]")
SMOOTH_PAD = ("with epsilon={eps} the loss changes when only the logits at [PAD] positions change: the smoothing term "
              "is counted at the [PAD] positions too. Mask both terms (multiply the whole per-position loss by "
              "labels != PAD before summing)")
SMOOTH_IGNORED = ("with epsilon={eps} the loss equals the unsmoothed masked cross-entropy: the epsilon argument is "
                  "ignored")
SMOOTH_CE_PAD = ("with epsilon=0 the loss changes when only the logits at [PAD] positions change: the cross-entropy is "
                 "averaged over every position; keep only the positions whose label is not [PAD] (as masked_loss in 03)")
SMOOTH_DEFAULT = ("called without epsilon, the loss equals the unsmoothed masked cross-entropy: the default is "
                  "epsilon=0.1")
SMOOTH_ALL_PAD = "with every label [PAD] the loss should be 0.0 (divide by max(count, 1)), not NaN"
SMOOTH_HALF = "with float16 logits the loss should equal the float32 one (cast the logits to float32 first)"
DEC_STEP = ("step_fn's logits at step {n} differ from the model's logits at the last position of [source, prefix]: "
            "append the tokens to the prefix, call model([source, prefix], training=False) and keep logits[:, -1]")
DEC_STATE = ("after the state's rows were reordered (as a beam does when it keeps some hypotheses), step_fn gave other "
             "logits than the model on the reordered sources and prefixes: keep the source and the prefix in the "
             "state, one row per hypothesis")
DEC_BEAM = ("your beam_search (pasted from 02) does not find the same hypotheses and scores as the reference on the "
            "grader's step_fn: check it with 02's visible check")
DEC_TRANSLATE = {
    "default": ("translate(model, sentences) returned {got}, expected {want}: tag each sentence with <polite> "
                "(tag_source), tokenize with en_tok, beam search with beam_width=4, alpha=0.6, max_len=2 * S + 10, "
                "and decode the best hypothesis with ko_tok.vocab.decode"),
    "plain": ("translate(model, sentences, beam_width=2, alpha=0.0, register='plain') returned {got}, expected {want}: "
              "pass beam_width, alpha and the register through"),
    "empty": "translate(model, []) returned {got}, expected []",
}
