"""Textbook recurrent formulas in NumPy (float64), with Keras's weight layout.

Layout (as keras.layers.*Cell): kernel (D, k*U), recurrent_kernel (U, k*U), gate blocks in order
  SimpleRNN: one block;  LSTM: i, f, c, o;  GRU (reset_after=True): z, r, h with bias (2, 3U).
"""
from __future__ import annotations

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def simple_rnn_step(x, h, kernel, recurrent_kernel, bias):
    h = np.tanh(x @ kernel + h @ recurrent_kernel + bias)
    return h, [h]


def lstm_gates(x, h, kernel, recurrent_kernel, bias):
    """The four LSTM gate activations {i, f, g, o} (g: the candidate), each (batch, units)."""
    z = np.asarray(x, np.float64) @ kernel + np.asarray(h, np.float64) @ recurrent_kernel + bias
    z_i, z_f, z_c, z_o = np.split(z, 4, axis=-1)
    return {"i": sigmoid(z_i), "f": sigmoid(z_f), "g": np.tanh(z_c), "o": sigmoid(z_o)}


def lstm_step(x, h, c, kernel, recurrent_kernel, bias):
    g = lstm_gates(x, h, kernel, recurrent_kernel, bias)
    c = g["f"] * c + g["i"] * g["g"]
    h = g["o"] * np.tanh(c)
    return h, [h, c]


def gru_step(x, h, kernel, recurrent_kernel, bias):
    x_z, x_r, x_h = np.split(x @ kernel + bias[0], 3, axis=-1)
    h_z, h_r, h_h = np.split(h @ recurrent_kernel + bias[1], 3, axis=-1)
    z = sigmoid(x_z + h_z)
    r = sigmoid(x_r + h_r)
    h_tilde = np.tanh(x_h + r * h_h)
    h = z * h + (1.0 - z) * h_tilde
    return h, [h]


STEPS = {"rnn": simple_rnn_step, "lstm": lstm_step, "gru": gru_step}


def run_cell(kind, x, states, weights):
    """One step of cell `kind` with weights (kernel, recurrent_kernel, bias)."""
    x = np.asarray(x, np.float64)
    states = [np.asarray(s, np.float64) for s in states]
    weights = [np.asarray(w, np.float64) for w in weights]
    return STEPS[kind](x, *states, *weights)


def masked_scan(kind, inputs, weights, mask=None, initial_states=None, go_backwards=False, zero_output_for_mask=False):
    """Run a cell over time like keras.layers.RNN: at a masked step states (and the output) carry over.

    Returns (outputs (B, T, U) in processing order, final_states).
    """
    inputs = np.asarray(inputs, np.float64)
    batch, steps, _ = inputs.shape
    units = np.asarray(weights[1]).shape[0]
    n_states = 2 if kind == "lstm" else 1
    states = [np.zeros((batch, units)) for _ in range(n_states)] if initial_states is None else [np.asarray(s, np.float64) for s in initial_states]
    mask = np.ones((batch, steps), bool) if mask is None else np.asarray(mask, bool)
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    output = np.zeros((batch, units))
    outputs = []
    for t in order:
        new_out, new_states = run_cell(kind, inputs[:, t], states, weights)
        keep = mask[:, t][:, None]
        output = np.where(keep, new_out, output)
        states = [np.where(keep, n, s) for n, s in zip(new_states, states)]
        outputs.append(np.where(keep, output, 0.0) if zero_output_for_mask else output)
    return np.stack(outputs, axis=1), states


def bidirectional(inputs, forward_weights, backward_weights, mask=None):
    """Bidirectional LSTM as keras.layers.Bidirectional(RNN(LSTMCell), merge_mode="concat").

    Returns (sequences (B, T, 2U), [forward_h, forward_c], [backward_h, backward_c]).
    """
    fwd, f_states = masked_scan("lstm", inputs, forward_weights, mask, zero_output_for_mask=True)
    bwd, b_states = masked_scan("lstm", inputs, backward_weights, mask, go_backwards=True, zero_output_for_mask=True)
    return np.concatenate([fwd, bwd[:, ::-1]], axis=-1), f_states, b_states


def adding_targets(x):
    """Target of the adding problem: the sum of the values whose marker (channel 1) is 1."""
    x = np.asarray(x, np.float64)
    return (x[:, :, 0] * x[:, :, 1]).sum(axis=1, keepdims=True)
