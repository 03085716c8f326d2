"""Grader-chosen inputs, weights and next-token functions of 02_seq2seq_attention: pure NumPy functions
of a seed.

Both halves of a check use them: the probe feeds them to the student's code, the judge feeds the same
ones to the oracle. The decoding items get grader-made next-token functions (`RNNStep`, `TableStep`):
small fixed NumPy models that count their calls.
"""
from __future__ import annotations

import numpy as np

PAD_ID, START_ID, END_ID = 0, 2, 3


def _rng(seed, salt=0):
    return np.random.default_rng([int(seed), salt])


def _f32(rng, shape, scale=1.0):
    return rng.normal(0.0, scale, shape).astype(np.float32)


def _lstm_weights(rng, input_dim, units, scale=0.5):
    """keras.layers.LSTM's weights: kernel (D, 4U), recurrent_kernel (U, 4U), bias (4U,)."""
    return [_f32(rng, (input_dim, 4 * units), scale), _f32(rng, (units, 4 * units), scale), _f32(rng, (4 * units,), scale)]


def _tokens(rng, shape, vocab, lengths=None):
    """Random real tokens (never [PAD]); with `lengths`, each row is right-padded with [PAD] after its length."""
    tokens = rng.integers(1, vocab, shape).astype(np.int32)
    if lengths is not None:
        tokens[np.arange(shape[1])[None, :] >= np.asarray(lengths)[:, None]] = PAD_ID
    return tokens


# ---- encoder --------------------------------------------------------------------------------------
ENC_B, ENC_S, ENC_V, ENC_E, ENC_U = 3, 5, 13, 4, 3
ENC_LENGTHS = (5, 3, 1)


def encoder_case(seed):
    rng = _rng(seed, 1)
    return dict(tokens=_tokens(rng, (ENC_B, ENC_S), ENC_V),
                padded=_tokens(rng, (ENC_B, ENC_S), ENC_V, ENC_LENGTHS),
                embedding=_f32(rng, (ENC_V, ENC_E)),
                fw=_lstm_weights(rng, ENC_E, ENC_U), bw=_lstm_weights(rng, ENC_E, ENC_U),
                target=_f32(rng, (ENC_B, ENC_S, 2 * ENC_U)))


# ---- decoder --------------------------------------------------------------------------------------
DEC_B, DEC_T, DEC_V, DEC_E, DEC_U = 3, 4, 11, 4, 5


def decoder_case(seed):
    rng = _rng(seed, 2)
    tokens = _tokens(rng, (DEC_B, DEC_T), DEC_V)
    tokens[:, 0] = START_ID
    return dict(tokens=tokens, state=[_f32(rng, (DEC_B, DEC_U), 0.8), _f32(rng, (DEC_B, DEC_U), 0.8)],
                other=[_f32(rng, (DEC_B, DEC_U), 0.8), _f32(rng, (DEC_B, DEC_U), 0.8)],
                embedding=_f32(rng, (DEC_V, DEC_E)), lstm=_lstm_weights(rng, DEC_E, DEC_U),
                out=[_f32(rng, (DEC_U, DEC_V)), _f32(rng, (DEC_V,), 0.3)])


# ---- masked attention (BaseAttention with grader scores) -------------------------------------------
MA_B, MA_T, MA_S, MA_DQ, MA_DV = 3, 4, 5, 3, 2


def masked_attention_case(seed):
    """Scores come from the grader's score(): s^T M h with a grader matrix M (d_q, d_v)."""
    rng = _rng(seed, 3)
    mask = np.ones((MA_B, MA_S), bool)
    mask[1, 3:] = False  # right padding
    mask[2, [1, 4]] = False  # not a prefix: masking must follow the mask, not a length
    return dict(query=_f32(rng, (MA_B, MA_T, MA_DQ)), values=_f32(rng, (MA_B, MA_S, MA_DV)),
                M=_f32(rng, (MA_DQ, MA_DV), 1.2), mask=mask)


# ---- Bahdanau ---------------------------------------------------------------------------------------
BA_B, BA_T, BA_S, BA_DQ, BA_DV, BA_UNITS = 2, 3, 4, 3, 5, 6


def bahdanau_case(seed):
    rng = _rng(seed, 4)
    W1, W2, v = _f32(rng, (BA_DQ, BA_UNITS), 0.7), _f32(rng, (BA_DV, BA_UNITS), 0.7), _f32(rng, (BA_UNITS,))
    zero1, zero2 = np.zeros_like(W1), np.zeros_like(W2)
    mask = np.ones((BA_B, BA_S), bool)
    mask[1, 2:] = False
    return dict(query=_f32(rng, (BA_B, BA_T, BA_DQ)), values=_f32(rng, (BA_B, BA_S, BA_DV)), mask=mask,
                weights={"full": (W1, W2, v), "query_term": (W1, zero2, v), "key_term": (zero1, W2, v)},
                target=_f32(rng, (BA_B, BA_T, BA_DV)))


# ---- Luong ------------------------------------------------------------------------------------------
LU_B, LU_T, LU_S, LU_D, LU_DQ, LU_DV, LU_UNITS, LU_MAX_LEN = 2, 3, 4, 4, 3, 5, 6, 7
SCORES = ("dot", "general", "concat", "scaled_dot", "location")


def luong_cases(seed):
    """score -> list of cases dict(name, query, values, weights {W, v}); square cases (d_q == d_v) first."""
    rng = _rng(seed, 5)

    def qv(dq, dv, s=LU_S):
        return _f32(rng, (LU_B, LU_T, dq)), _f32(rng, (LU_B, s, dv))

    cases = {}
    q, v = qv(LU_D, LU_D)
    cases["dot"] = [dict(name="square", query=q, values=v, weights={})]
    q, v = qv(LU_D, LU_D)
    cases["scaled_dot"] = [dict(name="square", query=q, values=v, weights={})]
    cases["general"] = []
    for name, (dq, dv) in (("square", (LU_D, LU_D)), ("rect", (LU_DQ, LU_DV))):
        q, v = qv(dq, dv)
        cases["general"].append(dict(name=name, query=q, values=v, weights={"W": _f32(rng, (dq, dv), 0.7)}))
    cases["concat"] = []
    for name, (dq, dv) in (("square", (LU_D, LU_D)), ("rect", (LU_DQ, LU_DV))):
        q, v = qv(dq, dv)
        cases["concat"].append(dict(name=name, query=q, values=v,
                                    weights={"W": _f32(rng, (dq + dv, LU_UNITS), 0.7), "v": _f32(rng, (LU_UNITS,))}))
    q, v = qv(LU_DQ, LU_DV)  # S = 4 < max_len = 7: the scores must be sliced to the source length
    cases["location"] = [dict(name="rect", query=q, values=v, weights={"W": _f32(rng, (LU_DQ, LU_MAX_LEN))})]
    return cases


def luong_mask():
    mask = np.ones((LU_B, LU_S), bool)
    mask[1, 2:] = False
    return mask


def luong_train_case(seed, score):
    """A fit-step batch; the location score gets S == max_len (its slicing is judged elsewhere)."""
    rng = _rng(seed, 6)
    s = LU_MAX_LEN if score == "location" else LU_S
    return dict(query=_f32(rng, (LU_B, LU_T, LU_D)), values=_f32(rng, (LU_B, s, LU_D)),
                target=_f32(rng, (LU_B, LU_T, LU_D)))


# ---- attention decoder ------------------------------------------------------------------------------
AD_B, AD_T, AD_S, AD_V, AD_E, AD_U = 2, 3, 5, 9, 4, 6
AD_D_ENC = AD_U  # d_enc == units: [c; s] and [s; c] both fit W_c, so the order can be told apart
AD_LENGTHS = (5, 2)


def attention_decoder_case(seed):
    rng = _rng(seed, 7)
    tokens = _tokens(rng, (AD_B, AD_T), AD_V)
    tokens[:, 0] = START_ID
    W_c = _f32(rng, (AD_D_ENC + AD_U, AD_U), 0.6)
    W_c_context_only = W_c.copy()
    W_c_context_only[AD_D_ENC:] = 0.0  # in [c; s] the rows acting on s are zero: the output depends on c alone
    weights = {"embedding": _f32(rng, (AD_V, AD_E)), "lstm": _lstm_weights(rng, AD_E, AD_U), "W_c": W_c,
               "out": [_f32(rng, (AD_U, AD_V)), _f32(rng, (AD_V,), 0.3)]}
    padded_mask = np.arange(AD_S)[None, :] < np.asarray(AD_LENGTHS)[:, None]
    return dict(tokens=tokens, enc=_f32(rng, (AD_B, AD_S, AD_D_ENC)),
                state=[_f32(rng, (AD_B, AD_U), 0.8), _f32(rng, (AD_B, AD_U), 0.8)],
                full_mask=np.ones((AD_B, AD_S), bool), padded_mask=padded_mask,
                weights=weights, order_weights={**weights, "W_c": W_c_context_only},
                target=_f32(rng, (AD_B, AD_T, AD_V)))


# ---- next-token functions for the decoding items ------------------------------------------------------

class RNNStep:
    """A fixed random NumPy "RNN": h' = tanh(h W + E[token]), logits = h' O.

    With a second state (a clock, (N, 1)), the [END] logit also gets `end_slope * clock` after the clock
    ticks: an initial clock of -L makes a sentence likely to end near step L. Counts its calls (`calls`:
    the N of each call)."""

    def __init__(self, W, E, O, end_slope=0.0):
        self.W, self.E, self.O, self.end_slope = W, E, O, end_slope
        self.calls: list[int] = []

    def __call__(self, tokens, state):
        tokens = np.asarray(tokens).astype(np.int64).reshape(-1)
        h = np.tanh(np.asarray(state[0], np.float64) @ self.W + self.E[tokens])
        logits = h @ self.O
        new_state = [h]
        if len(state) > 1:
            clock = np.asarray(state[1], np.float64) + 1.0
            logits[:, END_ID] += self.end_slope * clock[:, 0]
            new_state.append(clock)
        self.calls.append(int(len(tokens)))
        return logits, new_state


class TableStep:
    """logits = table[t, previous token] with t the step (state [t (N, 1)]): a crafted model."""

    def __init__(self, table):
        self.table = table
        self.calls: list[int] = []

    def __call__(self, tokens, state):
        tokens = np.asarray(tokens).astype(np.int64).reshape(-1)
        t = np.minimum(np.asarray(state[0]).reshape(-1).astype(np.int64), len(self.table) - 1)
        self.calls.append(int(len(tokens)))
        return self.table[t, tokens].copy(), [np.asarray(state[0], np.float64) + 1.0]


def make_step(case):
    """A fresh next-token function (with its own call counter) for a decoding case."""
    return TableStep(case["table"]) if "table" in case else RNNStep(*case["rnn"])


def _rnn_params(rng, vocab, hidden, out_scale, end_slope):
    return (rng.normal(0, 0.8, (hidden, hidden)), rng.normal(0, 1.0, (vocab, hidden)),
            rng.normal(0, out_scale, (hidden, vocab)), end_slope)


# greedy: 4 sentences, 7 tokens; "ends": every sentence ends before max_len, at different steps;
# "long": one sentence never ends (its clock starts far back)
GR_V, GR_H, GR_B, GR_MAX = 7, 5, 4, 8


def greedy_cases(seed):
    rng = _rng(seed, 8)
    rnn = _rnn_params(rng, GR_V, GR_H, 1.0, 5.0)
    cases = {}
    for name, targets in (("ends", [1, 2, 3, 4]), ("long", [2, 1000, 3, 1])):
        targets = np.asarray(targets, np.float64)
        order = rng.permutation(GR_B)
        state = [rng.normal(0, 1.0, (GR_B, GR_H)), -targets[order][:, None]]
        cases[name] = dict(rnn=rnn, state=state, max_len=GR_MAX)
    return cases


# beam search on a random RNN: widths 1, 2 and 3
BS_V, BS_H, BS_B, BS_MAX = 7, 5, 3, 6
BEAM_RUNS = {  # run -> (beam_width, alpha, n_best)
    "w1": (1, 0.0, 1), "w2": (2, 0.7, 2), "w3": (3, 0.7, 2),
}
BATCH_RUN = "w3"  # also run one sentence at a time


def beam_case(seed):
    rng = _rng(seed, 9)
    rnn = _rnn_params(rng, BS_V, BS_H, 1.3, 1.0)
    state = [rng.normal(0, 1.0, (BS_B, BS_H)), -rng.integers(2, 5, (BS_B, 1)).astype(np.float64)]
    return dict(rnn=rnn, state=state, max_len=BS_MAX)


# exhaustive: V**max_len <= beam width, so the beam keeps every candidate
EX_V, EX_H, EX_B, EX_MAX = 4, 4, 2, 4
EX_WIDTH = EX_V ** EX_MAX
EX_RUNS = {"ex0": (EX_WIDTH, 0.0, 3), "ex1": (EX_WIDTH, 1.0, 3)}


def exhaustive_case(seed):
    rng = _rng(seed, 10)
    rnn = _rnn_params(rng, EX_V, EX_H, 1.0, 0.5)
    state = [rng.normal(0, 1.0, (EX_B, EX_H)), -rng.integers(1, 4, (EX_B, 1)).astype(np.float64)]
    return dict(rnn=rnn, state=state, max_len=EX_MAX)


# length normalization: a crafted model with exactly two finished hypotheses under width 2: [END]
# (one token, the more probable) and [x, x, END] (three tokens, better per token): alpha = 0 and
# alpha = 1 must pick different winners
LN_V, LN_MAX, LN_WIDTH = 5, 5, 2
LN_RUNS = {"len0": (LN_WIDTH, 0.0, 2), "len1": (LN_WIDTH, 1.0, 2)}


def length_case(seed):
    rng = _rng(seed, 11)
    x, y = (1, 4) if rng.random() < 0.5 else (4, 1)

    def row(p):  # {token: prob} -> logits, jittered so that no two candidates tie
        probs = np.full(LN_V, 0.0)
        for tok, value in p.items():
            probs[tok] = value
        probs = probs * rng.uniform(0.97, 1.03, LN_V)
        return np.log(probs / probs.sum())

    default = {PAD_ID: 0.02, START_ID: 0.02, END_ID: 0.16, x: 0.4, y: 0.4}
    table = np.stack([np.stack([row(default) for _ in range(LN_V)]) for _ in range(LN_MAX)])
    table[0, START_ID] = row({END_ID: 0.5, x: 0.4, y: 0.06, PAD_ID: 0.02, START_ID: 0.02})
    table[1, x] = row({x: 0.95, y: 0.03, END_ID: 0.005, PAD_ID: 0.01, START_ID: 0.005})
    table[2, x] = row({END_ID: 0.95, x: 0.02, y: 0.02, PAD_ID: 0.005, START_ID: 0.005})
    return dict(table=table, state=[np.zeros((1, 1))], max_len=LN_MAX)


# beam-search error analysis
EA_V, EA_H = 7, 5


def _sequence(rng, length, ends=True):
    body = [int(t) for t in rng.choice([0, 1, 4, 5, 6], size=length - 1 if ends else length)]
    return body + [END_ID] if ends else body


def error_analysis_cases(seed):
    """log_prob: 4 sequences of different lengths. mixed: 6 sentences, 1 correct and 5 errors; sentences
    1-2 and 3-4 share a source and swap y* and y^, so one of each pair is blamed on the search and the
    other on the model. none: every output is correct."""
    rng = _rng(seed, 12)
    rnn = _rnn_params(rng, EA_V, EA_H, 1.0, 0.0)
    lp_state = [rng.normal(0, 1.0, (4, EA_H))]
    lp_seqs = [_sequence(rng, 1), _sequence(rng, 3), _sequence(rng, 5, ends=False), _sequence(rng, 2)]
    h = rng.normal(0, 1.0, (6, EA_H))
    h[2], h[4] = h[1], h[3]
    a, b, c, d = _sequence(rng, 3), _sequence(rng, 2), _sequence(rng, 4), _sequence(rng, 1)
    correct, e, f = _sequence(rng, 3), _sequence(rng, 2), _sequence(rng, 3)  # e != f: a fifth error, so
    refs = [correct, a, b, c, d, e]                                            # the fractions are not 1/2
    outs = [list(correct), b, a, d, c, f]
    none_state = [rng.normal(0, 1.0, (3, EA_H))]
    none = [_sequence(rng, n) for n in (2, 3, 1)]
    mixed = dict(state=[h], references=refs, outputs=outs)
    return dict(rnn=rnn,
                log_prob=dict(state=lp_state, sequences=lp_seqs),
                runs={"mixed0": dict(mixed, alpha=0.0), "mixed1": dict(mixed, alpha=1.0),
                      "none": dict(state=none_state, references=none, outputs=[list(s) for s in none], alpha=0.0)})


# ---- attention training (grader-run) --------------------------------------------------------------------
# The grader's composition gives the decoder ZERO initial states (training.compose): everything the decoder
# learns about the source reaches it through the attention context, so a model without working attention
# can only learn the Korean language model. Scored on HELDOUT_N held-out questions (autograder.checks.heldout:
# an unseen sentence, one target prefix, the next token known only to the judge); their sources are padded to
# TRAIN_EVAL_PAD positions (a model that honours the [PAD] mask predicts exactly as without the padding).
# Calibrated 2026-11-30 with `benchmarks/attention_training.py --seeds 1,2,3 --threads 1` (2 CPU cores):
#   reference (LuongAttention("general")): 0.817 / 0.851 / 0.784 (55-66 s of training)
#   context zeroed (no attention) 0.518 / 0.526 / 0.526, mask inverted 0.516 / 0.524 / 0.528: both miss the
#   partial threshold.
#   Mask ignored: 0.741 / 0.821 / 0.836, it passes. The padded encoder outputs are zero vectors (the masked
#   LSTM), their "general" score is 0, and training makes the real scores large enough to outweigh them; that bug
#   is caught by masked_attention (masked weights exactly zero) and attention_decoder (mask passed) instead.
# (Scored on the validation split before, teacher-forced, the reference gave 0.793 / 0.792 for seeds 1 / 3, no
# attention 0.517, mask inverted 0.514, mask ignored 0.775: the held-out questions measure the same thing.)
TRAIN_N_PAIRS = 9000  # training pairs: the first ones of the train split with <= TRAIN_MAX_WORDS (all 8,117)
TRAIN_MAX_WORDS = 5  # English words per source sentence
TRAIN_N_EVAL = 300  # validation pairs (same length filter): the model check's batch and the benchmark's figure
TRAIN_EVAL_PAD = 40  # held-out sources are right-padded with [PAD] to this many positions
HELDOUT_N = 1000  # held-out questions the run is scored on (one next-token question per unseen sentence)
TRAIN_EPOCHS = 5
TRAIN_BATCH = 32
TRAIN_EMBED = 64  # embedding size of encoder and decoder
TRAIN_UNITS = 64  # encoder LSTM units (the decoder gets 2 * units)
TRAIN_LR = 1e-2  # Adam
TRAIN_PASS_ACC = 0.68  # accuracy on the held-out questions: full credit
TRAIN_PARTIAL_ACC = 0.60  # half credit from here up to TRAIN_PASS_ACC
