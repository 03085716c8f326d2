"""Grader-chosen inputs and weights of 01_rnn_lstm: pure functions of a seed (NumPy only).

Both halves of a check use them: the probe feeds them to the student's code, the judge feeds the same
ones to the oracle.
"""
from __future__ import annotations

import numpy as np

B, T, D, U = 5, 6, 3, 4  # batch, time, features, units used by the cell checks

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
N_STATES = {"rnn": 1, "lstm": 2, "gru": 1}
CLASS = {"rnn": "RNNCell", "lstm": "LSTMCell", "gru": "GRUCell"}
KERAS = {"rnn": "SimpleRNNCell", "lstm": "LSTMCell", "gru": "GRUCell"}
LAYOUT = {
    "rnn": "kernel (input_dim, units), recurrent_kernel (units, units), bias (units,)",
    "lstm": "kernel (input_dim, 4*units), recurrent_kernel (units, 4*units), bias (4*units,), gate blocks in order i, f, c, o",
    "gru": "kernel (input_dim, 3*units), recurrent_kernel (units, 3*units), bias (2, 3*units), gate blocks in order z, r, h",
}


def weight_shapes(kind, input_dim=D, units=U):
    k = GATES[kind] * units
    bias = (2, k) if kind == "gru" else (k,)
    return [(input_dim, k), (units, k), bias]


def _gate_bias(kind, rng, settings):
    """A bias with some gate blocks fixed (e.g. {"i": -20}) and the rest random."""
    names = {"lstm": "ifco", "gru": "zrh", "rnn": "h"}[kind]
    blocks = []
    for name in names:
        value = settings.get(name)
        blocks.append(np.full(U, value, np.float32) if value is not None else rng.normal(0, 1, U).astype(np.float32))
    bias = np.concatenate(blocks)
    if kind == "gru":
        second = []
        for name in names:
            value = settings.get(name + "_rec")
            second.append(np.full(U, value, np.float32) if value is not None else rng.normal(0, 1, U).astype(np.float32))
        bias = np.stack([bias, np.concatenate(second)])
    return bias


def _zero_block(weights, block: int, blocks: int):
    """`weights` with the columns of gate block `block` (of `blocks`) set to zero."""
    width = weights.shape[-1] // blocks
    weights[..., block * width:(block + 1) * width] = 0.0
    return weights


class _Draw:
    """Seeded draws for one cell kind: random or zero arrays of the weight shapes."""

    def __init__(self, kind: str, seed: int):
        self.rng = np.random.default_rng(seed)
        self.shapes = weight_shapes(kind)

    def rand(self, shape, scale=0.6):
        return self.rng.normal(0, scale, shape).astype(np.float32)

    @staticmethod
    def zeros(shape):
        return np.zeros(shape, np.float32)


def _rnn_cases(d, x, states, cases):
    """Only one of the input, recurrent and bias terms non-zero."""
    kshape, rshape, bshape = d.shapes
    cases["input_term"] = dict(x=x, states=states, weights=[d.rand(kshape), d.zeros(rshape), d.zeros(bshape)],
                               hint="with only `kernel` non-zero, h_t should be tanh(x_t W_x): check the input term")
    cases["recurrent_term"] = dict(x=x, states=states, weights=[d.zeros(kshape), d.rand(rshape), d.zeros(bshape)],
                                   hint="with only `recurrent_kernel` non-zero, h_t should be tanh(h_{t-1} W_h): check the recurrent term")
    cases["bias_term"] = dict(x=x, states=states, weights=[d.zeros(kshape), d.zeros(rshape), d.rand(bshape)],
                              hint="with only `bias` non-zero, h_t should be tanh(b): check the bias and the activation")


def _lstm_cases(d, x, states, cases):
    """Each case holds the other gates fixed, so that one wrong gate does not fail the others' cases."""
    kshape, rshape, bshape = d.shapes
    big = 20.0
    no_memory = [states[0], d.zeros((B, U))]  # c_{t-1} = 0: the forget gate plays no part
    # candidate bias 0 (g = 0) removes i*g; c_{t-1} = 0 removes f*c
    cases["forget_gate"] = dict(
        x=x, states=states, weights=[d.zeros(kshape), d.zeros(rshape), _gate_bias("lstm", d.rng, {"i": -big, "c": 0.0, "o": big})],
        hint="with the input gate shut and the output gate open, c_t = f_t * c_{t-1}: the forget gate "
             "f_t = sigmoid(x W_f + h U_f + b_f) is wrong (its activation, its bias, or which block of the weights it uses)")
    cases["input_gate"] = dict(
        x=x, states=no_memory, weights=[d.zeros(kshape), d.zeros(rshape), _gate_bias("lstm", d.rng, {"o": big})],
        hint="with c_{t-1} = 0 and the output gate open, c_t = i_t * tanh(candidate): the input gate "
             "i_t = sigmoid(...) or the candidate tanh(...) is wrong (activation, bias or weight block)")
    cases["output_gate"] = dict(
        x=x, states=states, weights=[d.zeros(kshape), d.zeros(rshape), _gate_bias("lstm", d.rng, {"i": -big, "c": 0.0, "f": big})],
        hint="with c_t = c_{t-1} held, h_t = o_t * tanh(c_t): the output gate o_t = sigmoid(...) or the final "
             "tanh on the cell state is wrong")
    # layout cases: the candidate block is held at g = 1 (its columns zero, its bias large, where tanh and
    # sigmoid agree), so they test which columns feed i and f, whatever the candidate's activation
    layout_bias = _gate_bias("lstm", d.rng, {"i": 0.0, "f": 0.0, "c": big, "o": 0.0})
    cases["input_weights"] = dict(
        x=x, states=[d.zeros((B, U)), d.zeros((B, U))], weights=[_zero_block(d.rand(kshape), 2, 4), d.zeros(rshape), layout_bias],
        hint="with only `kernel` non-zero (and the candidate held at 1) c_t is wrong: check x_t @ kernel and the gate "
             "order i, f, c, o of its columns")
    cases["recurrent_weights"] = dict(
        x=x, states=no_memory, weights=[d.zeros(kshape), _zero_block(d.rand(rshape), 2, 4), layout_bias],
        hint="with only `recurrent_kernel` non-zero (and the candidate held at 1) c_t is wrong: check "
             "h_{t-1} @ recurrent_kernel (not c_{t-1})")


def _gru_cases(d, x, states, cases):
    """The update gate alone; then the reset gate and the candidate with z_t = 1/2."""
    kshape, rshape, bshape = d.shapes
    cases["update_gate"] = dict(
        x=x, states=states, weights=[d.zeros(kshape), d.zeros(rshape), _gate_bias("gru", d.rng, {"h": 0.0, "h_rec": 0.0})],
        hint="with the candidate at 0, h_t = z_t * h_{t-1}: the update gate z_t = sigmoid(x W_z + b_z + h U_z + b'_z) "
             "or the interpolation h_t = z_t * h_{t-1} + (1 - z_t) * candidate is wrong")
    # z_t = 1/2 exactly (its columns and biases zero): h_t = (h_{t-1} + candidate) / 2 whichever way the
    # interpolation is written, so these cases test the reset gate and the candidate alone
    half_z = _gate_bias("gru", d.rng, {"z": 0.0, "z_rec": 0.0})
    cases["reset_gate"] = dict(
        x=x, states=states, weights=[d.zeros(kshape), _zero_block(d.rand(rshape), 0, 3), half_z],
        hint="with z_t = 1/2 and no input weights, the candidate tanh(b_h + r_t * (h_{t-1} U_h + b'_h)) is wrong: "
             "the reset gate is applied in the wrong place (this kit uses reset_after=True: r multiplies the "
             "recurrent product, after the matmul) or r_t is wrong")
    cases["candidate"] = dict(
        x=x, states=states, weights=[_zero_block(d.rand(kshape), 0, 3), d.zeros(rshape),
                                     _gate_bias("gru", d.rng, {"z": 0.0, "z_rec": 0.0, "h_rec": 0.0})],
        hint="with z_t = 1/2 and no recurrent terms, the candidate tanh(x W_h + b_h) is wrong "
             "(check the column block z, r, h and the two bias rows)")


def cell_cases(kind: str, seed: int) -> dict:
    """name -> dict(x, states, weights, hint). 'full' uses random everything; the others isolate a term."""
    d = _Draw(kind, seed)
    kshape, rshape, bshape = d.shapes
    x = d.rand((B, D), 1.0)
    states = [d.rand((B, U), 0.8) for _ in range(N_STATES[kind])]
    cases = {"full": dict(x=x, states=states, weights=[d.rand(kshape), d.rand(rshape), d.rand(bshape)],
                          hint="the output differs from the reference cell with the same weights")}
    {"rnn": _rnn_cases, "lstm": _lstm_cases, "gru": _gru_cases}[kind](d, x, states, cases)
    return cases


def sequence_case(kind: str, seed: int) -> dict:
    rng = np.random.default_rng(seed + 1)
    kshape, rshape, bshape = weight_shapes(kind)
    return dict(x=rng.normal(0, 1, (B, T, D)).astype(np.float32),
                weights=[rng.normal(0, 0.5, s).astype(np.float32) for s in (kshape, rshape, bshape)])


MS_T = 7


def _mask(lengths, steps):
    """(batch, steps) boolean mask, True on the first `length` steps of each row (right padding)."""
    return np.array([[t < n for t in range(steps)] for n in lengths])


def _weights(rng, kind):
    return [rng.normal(0, 0.5, s).astype(np.float32) for s in weight_shapes(kind)]


def masked_case(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (B, MS_T, D)).astype(np.float32)
    mask = _mask([MS_T, 4, 1, 6, 3], MS_T)
    mask[3] = [False, False, True, True, True, True, True]  # left-padded row
    weights = _weights(rng, "lstm")
    initial = [rng.normal(0, 0.5, (B, U)).astype(np.float32) for _ in range(2)]
    vocab = 11
    ids = rng.integers(1, vocab, (B, MS_T))
    ids[~mask] = 0
    ids[3] = np.where(mask[3], ids[3], 0)
    embedding = rng.normal(0, 1, (vocab, D)).astype(np.float32)
    # a one-state cell too: MaskedRNN must work with any cell, not only [h, c]
    gru_weights = _weights(np.random.default_rng(seed + 2), "gru")
    return dict(x=x, mask=mask, weights=weights, initial=initial, ids=ids, embedding=embedding, gru_weights=gru_weights)


BI_T = 6


def bi_case(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (B, BI_T, D)).astype(np.float32)
    mask = _mask([BI_T, 3, 5, 1, 4], BI_T)
    mask[4] = mask[4][::-1]  # a left-padded row too: final states must not be read off a fixed position
    return dict(x=x, mask=mask, fw=_weights(rng, "lstm"), bw=_weights(rng, "lstm"))


# The calibrated run (tests/test_calibration.py): at length 30 an LSTM of 32 units reaches a test MSE of ~0.001-0.002 in
# 500 steps and a simple RNN of the same size stays at the mean (~0.14-0.18) on every seed tried; at length 50 a
# similar separation took 800 steps (twice the grading time).
ADD_T = 30
ADD_UNITS = 32
ADD_STEPS = 500
ADD_BATCH = 64
ADD_CHUNKS = 10  # loss recorded once per chunk of ADD_STEPS / ADD_CHUNKS steps
ADD_LR = 1e-2
ADD_PASS_MSE = 0.02  # the variance of the target is 1/6 ~ 0.167: predicting the mean gives that
ADD_PARTIAL_MSE = 0.06


def adding_data(n: int, length: int, seed: int):
    """The grader's own adding-problem data (independent of the student's generator)."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, (n, length))
    markers = np.zeros((n, length))
    half = length // 2
    markers[np.arange(n), rng.integers(0, half, n)] = 1.0
    markers[np.arange(n), rng.integers(half, length, n)] = 1.0
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    return x, (values * markers).sum(axis=1, keepdims=True).astype(np.float32)
