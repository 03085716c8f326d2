"""Student-facing messages of 03_transformer's judges (what was expected, and where to look)."""

# ---- positional encoding
PE_TABLE = ("the table differs from PE[pos, 2i] = sin(pos / 10000^(2i/depth)), PE[pos, 2i+1] = cos(pos / "
            "10000^(2i/depth)) (shape (length, depth))")
PE_SWAPPED = "sin and cos are swapped: even columns (2i) get the sine, odd columns (2i+1) the cosine"
PE_HALVES = ("the table uses the sin-half / cos-half layout (all sines, then all cosines): this assignment asks for "
             "the paper's interleaved layout, sine at column 2i and cosine at column 2i+1")
PE_RATES = ("the frequencies are off: columns 2i and 2i+1 share the frequency 1 / 10000^(2i/depth) (use the even "
            "index 2i = j - j % 2 of column j, not j itself)")
PE_ODD = ("with an odd depth the last column is a sine (column depth-1 is even): build the table column by column "
          "rather than as depth/2 pairs")
PE_EMBEDDING = "PositionalEmbedding should return embedding(tokens) * sqrt(d_model) + PE[:T]"
PE_NOT_SCALED = ("the embeddings are not scaled: multiply them by sqrt(d_model) before adding the positional encoding "
                 "(the paper's scaling keeps the embeddings from being drowned by the table)")
PE_SCALED_BY_D = "the embeddings are multiplied by d_model: the scale is sqrt(d_model)"
PE_NO_TABLE = "the positional encoding is not added: return embedding * sqrt(d_model) + PE[:T]"
PE_LAYOUT = ("the grader sets the embedding weights through `layer.embedding` (keras.layers.Embedding(vocab_size, "
             "d_model)) after a first call: keep the prescribed sub-layer name")
PE_MASK = "compute_mask(tokens) should return a (B, T) boolean array, True where tokens != [PAD] (0)"
PE_SERIALIZATION = ("from_config(get_config()) did not rebuild a layer that computes the same outputs: get_config() "
                    "must include vocab_size and d_model (chain to super().get_config())")

# ---- masks
PADDING_VALUES = "padding_mask(tokens) should be True at real tokens (tokens != [PAD]) and False at [PAD]"
PADDING_INVERTED = ("the padding mask is inverted: in this kit True means 'may attend' (a real token) and False means "
                    "[PAD]")
LOOK_AHEAD_VALUES = ("look_ahead_mask(T)[0, q, k] should be True exactly when k <= q (the lower triangle with the "
                     "diagonal)")
LOOK_AHEAD_STRICT = ("the diagonal is False: a position may attend to itself (k <= q, not k < q); otherwise the first "
                     "position attends to nothing")
LOOK_AHEAD_AHEAD = ("the look-ahead mask is off by one: position q may also see position q + 1 (keep k <= q), so the "
                    "decoder can copy the next token it should predict")
LOOK_AHEAD_INVERTED = ("the look-ahead mask is inverted or transposed: rows are queries, columns keys, True = may "
                       "attend, so row q is True for the columns k <= q")

# ---- attention
AT_OUTPUTS = "the outputs differ from softmax(q k^T / sqrt(d_k)) v"
AT_NO_SCALE = "the scores are not scaled: divide q k^T by sqrt(d_k) (d_k = the last dimension of q)"
AT_SCALE_DK = "the scores are divided by d_k: divide them by sqrt(d_k)"
AT_QUERY_AXIS = ("the softmax runs over the query axis: each query's weights must sum to 1 over the keys (axis=-1 of "
                 "the (..., Tq, Tk) scores)")
AT_WEIGHTS = "the weights differ from softmax(q k^T / sqrt(d_k)) over the key axis (each row sums to 1)"
AT_MASK_IGNORED = ("the mask has no effect: replace the masked scores (mask False) by a large negative number with "
                   "ops.where(mask, scores, NEG_INF) before the softmax")
AT_MASK_INVERTED = ("the mask is applied the wrong way round: True means 'may attend', so the scores where mask is "
                    "False get NEG_INF")
AT_MASK_SIGN = ("the masked scores get a large POSITIVE number, so the masked positions take all the weight: replace "
                "them with NEG_INF (a large negative number) so that their weight is exactly 0")
AT_MASKED = "with a mask, the masked weights (mask False) must be exactly 0 and the rest must match"
AT_BROADCAST = ("with per-head inputs (B, H, T, d) and a (B, 1, 1, S) mask the outputs or weights differ: use the "
                "last two axes only (ops.matmul with ops.swapaxes(k, -1, -2)) and let the mask broadcast")
AT_HALF_NAN = ("float16 inputs gave NaN or inf: in float16 -1e9 becomes -inf, and an additive mask then computes "
               "0 * -inf = NaN; replace masked scores with ops.where and NEG_INF_FP16 (-65504) for float16")
AT_HALF = ("float16 inputs gave other outputs than float32 arithmetic would: keep every constant in the scores' dtype "
           "(ops.cast(..., scores.dtype))")

# ---- multi-head attention
MHA_LAYOUT = ("the weights should be query_kernel (d_q, H, d_h), query_bias (H, d_h), key_kernel (d_k, H, d_h), "
              "key_bias (H, d_h), value_kernel (d_v, H, d_h), value_bias (H, d_h), output_kernel (H, d_h, d_q), "
              "output_bias (d_q,) (keras.layers.MultiHeadAttention's layout, d_h = key_dim)")
MHA_SELF = ("the self-attention outputs differ from keras.layers.MultiHeadAttention with the same weights: project "
            "q, k, v per head (x @ kernel + bias -> (B, H, T, d_h)), attend per head, then merge the heads with the "
            "output kernel (H, d_h, d) and add output_bias")
MHA_CROSS = ("cross-attention (query from one sequence, key and value from another, of other widths and lengths) "
             "differs: queries come from `query`, keys from `key` (default `value`), values from `value`")
MHA_MASK = ("with a mask the outputs or weights differ: a 3-D mask (B, Tq, Tk) needs a head axis (B, 1, Tq, Tk) so it "
            "applies to every head; masked weights must be 0")
MHA_WEIGHTS = ("with return_attention_scores=True the layer should return (outputs, weights) with weights (B, H, Tq, "
               "Tk), the softmax weights of every head")
MHA_HEADS = ("the number of keras.ops calls grows with num_heads: compute all heads at once (einsum or reshape + "
             "transpose), without a Python loop over the heads")
MHA_SERIALIZATION = ("from_config(get_config()) did not rebuild a layer that computes the same outputs: get_config() "
                     "must include num_heads and key_dim")

# ---- feed-forward
FF_NUMERICS = "the output differs from Dense(d_model)(Dense(d_ff, activation='relu')(x)) with the same weights"
FF_NO_RELU = "the hidden layer has no ReLU: Dense(d_ff, activation='relu')"
FF_LAYOUT = ("the grader sets the weights through `self.dense1` (Dense(d_ff, activation='relu')) and `self.dense2` "
             "(Dense(d_model)): keep the prescribed names")
FF_DROPOUT = ("with training=True the output equals the inference output: apply self.dropout (Dropout(dropout)) and "
              "pass training on")
FF_SERIALIZATION = "from_config(get_config()) failed or changed the outputs: get_config() needs d_model, d_ff, dropout"

# ---- encoder / decoder layers
LAYER_LAYOUT = ("the grader sets the weights through the prescribed sub-layers (`mha` / `self_mha`, `cross_mha`, "
                "`ffn`, `ln1`, `ln2`, `ln3`)")
ENC_NUMERICS = "the output differs from the post-norm encoder layer h = LN1(x + MHA(x, x, mask)), out = LN2(h + FFN(h))"
PRE_NORM = ("the layer normalizes before each sub-layer (pre-norm: x + Sublayer(LN(x))): this assignment asks for "
            "the paper's post-norm, LN(x + Sublayer(x))")
NO_RESIDUAL_ATTN = "the attention block has no residual connection: LN1(x + attention), not LN1(attention)"
NO_RESIDUAL_FFN = "the feed-forward block has no residual connection: LN2(h + FFN(h)), not LN2(FFN(h))"
ENC_MASK_DROPPED = "the padding mask does not reach the attention: pass mask=mask to self.mha"
ENC_PADDING = ("appending [PAD] positions (mask False) changed the outputs at real positions: the padding mask must "
               "reach the self-attention")
LAYER_DROPOUT = ("with training=True the output equals the inference output: apply self.dropout to the attention "
                 "output (and pass training to the sub-layers)")
LAYER_SERIALIZATION = ("from_config(get_config()) did not rebuild a layer that computes the same outputs: get_config() "
                       "must include d_model, num_heads, d_ff and dropout")
DEC_NUMERICS = ("the output differs from the post-norm decoder layer h1 = LN1(x + MHA_self(x, x, self_mask)), "
                "h2 = LN2(h1 + MHA_cross(h1, enc_out, cross_mask)), out = LN3(h2 + FFN(h2))")
DEC_SELF_KEYS = ("the cross-attention takes its keys and values from the decoder: queries come from the decoder "
                 "(h1), keys and values from the encoder output (cross_mha(h1, enc_out, ...))")
DEC_SELF_WEIGHTS = ("the outputs are right but the returned weights are the self-attention's (B, H, T, T): return the "
                    "cross-attention weights (B, H, T, S) from cross_mha(..., return_attention_scores=True)")
DEC_CROSS_FROM_X = "the cross-attention queries come from x: use h1, the output of the first (self-attention) block"
DEC_NO_SELF_MASK = "the self-attention ignores self_mask: pass mask=self_mask to self.self_mha"
DEC_NO_CROSS_MASK = "the cross-attention ignores cross_mask: pass mask=cross_mask to self.cross_mha"
DEC_WEIGHTS = ("the layer should return (out, the cross-attention weights (B, H, T, S)) from cross_mha(..., "
               "return_attention_scores=True)")
DEC_PADDING = ("appending [PAD] positions to the encoder output (cross_mask False there) changed the outputs: the "
               "source padding mask must reach the cross-attention")

# ---- the Transformer
TR_LAYOUT = ("the grader sets the weights through the prescribed names: transformer.encoder / .decoder (each with "
             ".pos_embedding.embedding and the list .enc_layers / .dec_layers) and transformer.final_layer")
TR_NUMERICS = ("the logits differ from the composition PositionalEmbedding -> encoder layers (source padding mask) "
               "-> decoder layers (look-ahead AND target padding; source padding mask for the cross-attention) -> "
               "final Dense, with the same weights and dropout off")
TR_CAUSAL = ("changing target tokens after step {t} changed the logits at steps <= {t}: the decoder's self-attention "
             "needs the look-ahead mask (combined with the target padding mask by logical_and)")
TR_PADDING = ("appending [PAD] to the source changed the logits: the source padding mask must reach the encoder's "
              "self-attention and the decoder's cross-attention")
TR_WEIGHTS = ("Transformer(...)([source, target], return_attention=True) should return (logits, the last decoder "
              "layer's cross-attention weights (B, H, T, S))")
TR_SERIALIZATION = ("the model saved to .keras and loaded back computes other logits (or failed): get_config() must "
                    "include every constructor argument, and build() must create the weights from the input shapes")
TR_MIXED = ("under the mixed-precision policy {policy} the logits contain NaN or inf, or the call failed: keep "
            "constants in the input's dtype (ops.cast(..., x.dtype)), e.g. the sqrt(d_model) scale and the "
            "positional-encoding table")

# ---- loss and accuracy
LOSS = "masked_loss should be the mean cross-entropy over the positions whose label is not [PAD]"
LOSS_COUNTS_PAD = ("the loss counts the [PAD] positions: average the cross-entropy over the real positions only "
                   "(sum(loss * keep) / sum(keep))")
ACCURACY = "masked_accuracy should be the share of non-[PAD] positions where argmax(logits) == label"
ACCURACY_COUNTS_PAD = "the accuracy counts the [PAD] positions: count hits and positions only where the label is not [PAD]"
EDGE_PAD = ("with every label [PAD] the result should be 0.0 (no real position), not NaN: divide by "
            "maximum(count, 1)")
EDGE_HALF = ("float16 logits and int64 labels gave another value than float32 logits and int32 labels (or failed): cast "
             "the logits to float32 and the labels to int32")

# ---- schedule
SCHED_VALUES = ("the learning rate differs from d_model^-0.5 * min(s^-0.5, s * warmup_steps^-1.5) with s = step + 1 "
                "(Keras passes the 0-based optimizer step)")
SCHED_OFF_BY_ONE = ("the schedule is one step late: Keras calls it with the 0-based iteration count (0 at the first "
                    "update), so use s = step + 1")
SCHED_PEAK = "the learning rate should peak at step warmup_steps - 1 (s = warmup_steps) and decay after it"
SCHED_OPTIMIZER = ("keras.optimizers.Adam(learning_rate=WarmupSchedule(...)) after {n} updates reports another "
                   "learning rate")
SCHED_SERIALIZATION = ("from_config(get_config()) or keras.optimizers.schedules.serialize/deserialize gave another "
                       "schedule: get_config() must return d_model and warmup_steps")

# ---- training
TRAIN_MODEL = ("the grader builds your Transformer(num_layers, d_model, num_heads, d_ff, src_vocab, tgt_vocab, "
               "dropout) and calls it on [source, target_in]; it should return logits (B, T, tgt_vocab)")
TRAIN_SLOW = ("after the grader's training run your Transformer reached a held-out token accuracy of {acc:.3f}, "
              "below {pass_at:.2f} (full credit), but it learns")
TRAIN_FAIL = ("after the grader's training run your Transformer reached a held-out token accuracy of only {acc:.3f} "
              "(full credit from {pass_at:.2f}; each target position is predicted from the target prefix up to it): "
              "check the parts a working model needs (scaled scores, masks with True = attend, the look-ahead mask, "
              "cross-attention from the encoder, residuals and layer normalization)")

# ---- the JAX backend
JAX_RAISED = ("{part} runs on TensorFlow but raises on the JAX backend: {err} (a tf.* call or a TensorFlow-only "
              "method? write layers with keras.ops only)")
JAX_DIFFERS = ("{part} gives different numbers on JAX than on TensorFlow (largest difference {diff:.2g}): does it "
               "depend on a TensorFlow-only behaviour, such as integer division or a dtype TensorFlow converts silently?")
JAX_SHAPE = "{part} returns shape {jax} on JAX but {tf} on TensorFlow"
JAX_NOT_RUN = "{part} {verb} on TensorFlow already ({err}): compared across backends once it runs"
JAX_TRAIN = ("a jit-compiled training step of your Transformer failed on JAX: {err} (a tf.* call, a Python `if` "
             "on a tensor value, or a NumPy conversion inside call()? use keras.ops)")
JAX_NO_RUN = "the JAX run gave no result: {err}"
JAX_STEP_DIFFERS = ("one training step from the same weights moves them differently on JAX than on TensorFlow "
                    "(largest difference {diff:.2g}, in {where}): does call() depend on a TensorFlow-only behaviour?")
JAX_VARIABLE = (" (on JAX a Keras variable cannot be passed to every keras.ops function: use `variable.value`, or "
                "ops.convert_to_tensor(variable), there)")
