"""Student-facing messages of 02_seq2seq_attention's judges (what was expected, and where to look)."""

# ---- encoder / decoder
ENC_LAYOUT = ("the grader sets the weights through `encoder.embedding.set_weights` and `encoder.rnn.set_weights` "
              "after a first call: keep the prescribed sub-layers `self.embedding` (Embedding, mask_zero=True) and "
              "`self.rnn` (Bidirectional(LSTM(units, return_sequences=True, return_state=True)))")
ENC_OUTPUTS = ("the outputs differ from Embedding + Bidirectional(LSTM) with the same weights: embed the tokens, run "
               "the bidirectional LSTM and return its sequences (forward and backward halves concatenated)")
ENC_STATES = ("the outputs match but state_h / state_c do not: state_h = concat([forward h, backward h]) and "
              "state_c = concat([forward c, backward c]) (Bidirectional returns outputs, fw_h, fw_c, bw_h, bw_c)")
ENC_MASK = ("with padded sentences the outputs at real tokens or the final states differ from running the encoder "
            "on each sentence's real tokens alone: the [PAD] mask must reach the LSTM (Embedding(mask_zero=True) "
            "feeding self.rnn directly)")
SOURCE_MASK = "source_mask(tokens) should be a (B, S) boolean array, True where tokens != [PAD] (0)"
ENC_SERIALIZATION = ("from_config(get_config()) did not rebuild an encoder that computes the same outputs: get_config() "
                     "must include vocab_size, embed_dim and units (chain to super().get_config())")

DEC_LAYOUT = ("the grader sets the weights through `decoder.embedding`, `decoder.rnn` and `decoder.out` (set_weights "
              "after a first call): keep the prescribed sub-layers Embedding(mask_zero=True), LSTM(units, "
              "return_sequences=True, return_state=True) and Dense(vocab_size)")
DEC_NUMERICS = ("the logits differ from Embedding -> LSTM(initial_state=[h, c]) -> Dense with the same weights "
                "and initial state")
DEC_STATE_SWAPPED = "initial_state is used as [c, h]: the LSTM takes initial_state=[h, c]"
DEC_INITIAL_IGNORED = ("the logits are the same for two different initial states: initial_state is ignored (pass "
                       "initial_state=list(initial_state) to the LSTM)")
DEC_INITIAL = "with another initial state the first step's logits differ from the reference by a different amount"
DEC_RETURN_STATE = ("with return_state=True the decoder should return (logits, h, c), h and c the LSTM's final "
                    "states after the last step")
DEC_SERIALIZATION = ("from_config(get_config()) did not rebuild a decoder that computes the same logits: get_config() "
                     "must include vocab_size, embed_dim and units")

# ---- masked attention
SOFTMAX_QUERY_AXIS = ("the softmax runs over the query axis (axis 1): it must run over the source positions (axis "
                      "-1), so that each query's weights sum to 1")
SOFTMAX_BATCH_AXIS = "the softmax runs over the batch axis (axis 0): it must run over the source positions (axis -1)"
NO_SOFTMAX = "the weights equal the raw scores: apply ops.softmax(scores, axis=-1)"
SOFTMAX = "the weights (no mask) differ from softmax(scores) over the source positions (axis -1)"
MASK_IGNORED = ("the mask is ignored: masked source positions get non-zero weight. Put NEG_INF where mask is False "
                "(ops.where(mask[:, None, :], scores, NEG_INF)) before the softmax")
MASK_INVERTED = ("the mask is inverted: the real tokens (mask True) get weight 0 and the padding gets the weight. "
                 "True means attend / keep")
MASK_NOT_ZERO = ("masked positions (mask False) must get weight exactly 0.0: add NEG_INF = -1e9 (or use ops.where) "
                 "to the scores there before the softmax; a small penalty leaves them non-zero")
MASK_ROWS = "with a mask, each row of weights must still sum to 1 over the real source positions"
MASK_REAL = ("with a mask, the weights at real positions differ from the softmax over the real positions only: "
             "mask the scores (before the softmax), not the weights after it")
CONTEXT = "the context should be weights @ values: (B, T, S) @ (B, S, d_v) -> (B, T, d_v) (ops.matmul)"
ATTENTION_SHAPES = "call(query (B, T, d_q), values (B, S, d_v), mask) should return (context (B, T, d_v), weights (B, T, S))"

# ---- Bahdanau
BA_WEIGHTS = "prescribed weights: W1 (d_q, units), W2 (d_v, units), v (units,), made in build() from the last input dims"
BA_SCORE = "score(query, values) differs from v^T tanh(W1 s_t + W2 h_j) (shape (B, T, S)) with the same weights"
BA_NO_TANH = "the score is v^T (W1 s_t + W2 h_j): the tanh is missing (v^T tanh(W1 s_t + W2 h_j))"
BA_QUERY_TERM = ("with W2 = 0 the score must be v^T tanh(W1 s_t) for every source position: check the query term "
                 "(query @ W1, broadcast over the source axis)")
BA_KEY_TERM = ("with W1 = 0 the score must be v^T tanh(W2 h_j) for every query step: check the key term "
               "(values @ W2, broadcast over the query axis)")
BA_SERIALIZATION = ("get_config() must include `units` (chain to super().get_config()), and a small model with the "
                    "layer must compute the same after a .keras save/load")

# ---- Luong
LU_WEIGHTS = ("prescribed weights: general W (d_q, d_v); concat W (d_q + d_v, units) and v (units,); location "
              "W (d_q, max_len); dot and scaled_dot none")
LU_NOT_CHECKED = "not checked: the layer could not be built with the prescribed weights (see weights)"
LU_SCORE = {
    "dot": "the dot score should be s_t^T h_j: query @ transpose(values) -> (B, T, S)",
    "general": "the general score should be s_t^T W h_j: (query @ W) @ transpose(values)",
    "concat": "the concat score should be v^T tanh(W [s_t; h_j]): W's first d_q rows act on s, the rest on h",
    "scaled_dot": "the scaled_dot score should be s_t^T h_j / sqrt(d)",
    "location": "the location score should be (query @ W)[:, :, :S]: it depends on the query and the position only",
}
LU_GENERAL_IS_DOT = "the general score ignores W: it equals the dot score s^T h, expected s^T W h"
LU_GENERAL_TRANSPOSED = "the general score uses W transposed: expected s^T W h with W (d_q, d_v)"
LU_CONCAT_SWAPPED = ("the halves of W are swapped: s is multiplied by W[d_q:] and h by W[:d_q]; in [s; h] the first "
                     "d_q rows of W act on the query s, the remaining d_v rows on h")
LU_CONCAT_NO_TANH = "the concat score is missing its tanh: v^T tanh(W [s; h])"
LU_NO_SQRT = "the scaled_dot score is divided by d: divide by sqrt(d) (d = the query's last dimension)"
LU_NOT_SCALED = "the scaled_dot score is not scaled: divide s^T h by sqrt(d)"
LU_NOT_SLICED = ("the location score has max_len columns: slice it to the S source positions ([:, :, :S], "
                 "S = ops.shape(values)[1]) so it can be masked like the others")
LU_LOCATION_CALL = ("called with values of S < max_len positions and a mask, the location variant should return "
                    "weights of shape (B, T, S)")
LU_SERIALIZATION = ("get_config() must hold `score`, `units` and `max_len` (from_config rebuilds the same variant), and "
                    "a small model with the layer must compute the same after a .keras save/load")

# ---- attention decoder
AD_LAYOUT = ("the grader sets the weights through the prescribed sub-layers `embedding`, `rnn` (LSTM), `W_c` "
             "(Dense(units, activation='tanh', use_bias=False)) and `out` (Dense(vocab_size)), and passes its own "
             "attention layer as `attention`")
AD_NUMERICS = ("the logits differ from embedding -> LSTM(initial_state) -> attention(s, enc_outputs, mask) -> "
               "tanh(W_c [c_t; s_t]) -> out, with the grader's (correct) dot attention injected")
AD_CONCAT_ORDER = "the concatenation is [s_t; c_t]: it must be [c_t; s_t] (context first), as the text prescribes"
AD_ORDER_NOT_CHECKED = "not checked: the logits differ from the reference in either concatenation order (see numerics)"
AD_MASK = ("the attention weights are not 0 at padded source positions: pass source_mask to the attention layer "
           "(self.attention(s, enc_outputs, mask=source_mask))")
AD_SERIALIZATION = ("from_config(get_config()) did not rebuild a decoder with the same outputs: get_config() must "
                    "serialize the attention layer (keras.saving.serialize_keras_object) and __init__ rebuild it "
                    "from that dict (keras.saving.deserialize_keras_object)")

# ---- greedy
GREEDY_ARGMAX = ("the tokens differ from greedy decoding (the argmax of each step's logits, fed back as the next "
                 "input, starting from [START])")
GREEDY_PAD = "after a sentence's [END] the rest of its row must be PAD_ID (0)"
GREEDY_SHAPE = "greedy_decode should return an int array of shape (B, max_len)"
GREEDY_CALLS = ("step_fn was still called after every sentence had produced [END]: stop the loop as soon as all "
                "rows are finished")
GREEDY_BATCH = ("decoding the batch gives other tokens than decoding each sentence alone: each row must follow its "
                "own state (step_fn's state rows) and its own previous token")

# ---- beam search
BEAM_RAISED = "your beam_search raised an error: {err}"
BEAM_FORMAT = ("beam_search should return, per sentence, a list of n_best (tokens, score) pairs: tokens a list of "
               "ints without [START], score a float")
BEAM_GREEDY = "with beam_width=1 beam search should return the greedy sentence (tokens up to and including [END])"
BEAM_KEPT_EXPANDING = ("a returned hypothesis has [END] before its last token: a hypothesis that ends in [END] is "
                       "finished and must be set aside, not expanded further")
BEAM_DIFFERS = ("the hypotheses differ from the reference beam search: keep the beam_width best candidates by "
                "log-prob over all live hypotheses x all tokens; set aside the ones ending in [END]; stop when "
                "beam_width have finished or none is live; after max_len steps the live ones count as finished")
BEAM_EXHAUSTIVE = ("with a beam wider than V**max_len beam search must return what exhaustive search returns (every "
                   "possible output scored): check that no candidate is lost and the stopping rule")
BEAM_ALPHA_IGNORED = ("length normalization: alpha is ignored: the score must be log P / len(tokens) ** alpha "
                      "(with alpha=1, a longer sentence with a better per-token log-prob wins)")
BEAM_START_COUNTED = ("length normalization: the length counts [START]: len(tokens) counts the tokens without "
                      "[START], with [END]")
BEAM_LENGTH_WINNER = ("length normalization: with alpha=0 and alpha=1 the winners should differ (score = log P / "
                      "len(tokens) ** alpha)")
BEAM_PROBS = ("the scores are probabilities (multiplied): add log-probabilities (log_softmax) instead, then divide "
              "by len(tokens) ** alpha")
BEAM_SCORES_UNKNOWN = "the scores are not log P(tokens) / len(tokens) ** alpha of the returned tokens"
BEAM_NOT_SORTED = "the hypotheses must be sorted by score, best first"
BEAM_COUNT = "each sentence should get exactly n_best hypotheses"
BEAM_BATCH = ("decoding the batch gives other hypotheses than decoding each sentence alone: gather each sentence's "
              "state rows and keep the sentences apart")

# ---- error analysis
LOG_PROB = ("sequence_log_prob should be the sum over each sequence's tokens of log_softmax(logits)[token], feeding "
            "[START] then the sequence's own tokens (teacher forcing); shorter sequences stop adding at their end")
VERDICTS_REVERSED = ("the comparison is reversed: if the reference y* scores higher than the output y^, beam search "
                     "missed a better sentence: that is a 'search' error; otherwise it is the model's")
VERDICTS = ("the verdicts differ: 'correct' when y^ == y*, 'search' when log P(y*)/len(y*)**alpha > log "
            "P(y^)/len(y^)**alpha, else 'model'")
VERDICTS_ALPHA = "the verdicts ignore alpha: compare the length-normalized scores log P(y) / len(y) ** alpha"
FRACTIONS_ALL = ("the fractions are taken over all sentences: take them over the errors only (correct sentences "
                 "excluded), so that search + model = 1 when there is an error")
FRACTIONS = "search and model should be the shares of the errors blamed on each (both 0.0 when there is no error)"
FRACTIONS_NONE = "with no error at all, both fractions should be 0.0 (no division by zero)"

# ---- training
TRAIN_MODEL = ("the grader composes Encoder(V_src, E, U), AttentionDecoder(V_tgt, E, 2U, LuongAttention('general')) "
               "and source_mask into a model ([source, target_in]) -> logits (B, T, V_tgt), the decoder starting "
               "from zero states")
TRAIN_SLOW = ("after the calibrated run the held-out token accuracy is {acc:.3f} (full credit at >= {pass_at}): the "
              "model learns, slowly")
TRAIN_FAIL = ("after the calibrated run the held-out token accuracy is {acc:.3f}; full credit needs >= {pass_at}. "
              "In this run the decoder starts from zero states, so it learns about the source only through the "
              "attention context, and the held-out sources carry extra [PAD]: check that the context is the "
              "weighted sum of the encoder outputs, that the weights are a softmax over source positions, and that "
              "the source mask is passed and applied")
