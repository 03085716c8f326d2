"""Keras built-in layers with copied weights, used as oracles by the judges."""
from __future__ import annotations

import numpy as np

import seqlab  # noqa: F401  (silences TF)
import keras

CELLS = {
    "rnn": lambda units: keras.layers.SimpleRNNCell(units),
    "lstm": lambda units: keras.layers.LSTMCell(units),
    "gru": lambda units: keras.layers.GRUCell(units),  # reset_after=True
}


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float64)


def built_cell(kind, units, input_dim, weights):
    cell = CELLS[kind](units)
    cell.build((None, input_dim))
    cell.set_weights([np.asarray(w, np.float32) for w in weights])
    return cell


def cell_step(kind, x, states, weights):
    """Output and new states of keras.layers.<Kind>Cell with the given weights."""
    x = np.asarray(x, np.float32)
    units = np.asarray(weights[1]).shape[0]
    cell = built_cell(kind, units, x.shape[-1], weights)
    out, new_states = cell(x, [np.asarray(s, np.float32) for s in states])
    new_states = new_states if isinstance(new_states, (list, tuple)) else [new_states]
    return _np(out), [_np(s) for s in new_states]


def rnn_layer(kind, inputs, weights, mask=None, initial_state=None, return_sequences=True, go_backwards=False, zero_output_for_mask=False):
    """keras.layers.RNN(cell, return_sequences, return_state=True) with the given weights."""
    inputs = np.asarray(inputs, np.float32)
    units = np.asarray(weights[1]).shape[0]
    cell = built_cell(kind, units, inputs.shape[-1], weights)
    layer = keras.layers.RNN(cell, return_sequences=return_sequences, return_state=True,
                             go_backwards=go_backwards, zero_output_for_mask=zero_output_for_mask)
    kwargs = {}
    if mask is not None:
        kwargs["mask"] = np.asarray(mask, bool)
    if initial_state is not None:
        kwargs["initial_state"] = [np.asarray(s, np.float32) for s in initial_state]
    outs = layer(inputs, **kwargs)
    return [_np(o) for o in outs]


def bidirectional_lstm(inputs, forward_weights, backward_weights, mask=None):
    """keras.layers.Bidirectional(RNN(LSTMCell, return_sequences, return_state)) -> [seq, fh, fc, bh, bc]."""
    inputs = np.asarray(inputs, np.float32)
    units = np.asarray(forward_weights[1]).shape[0]
    layer = keras.layers.Bidirectional(
        keras.layers.RNN(keras.layers.LSTMCell(units), return_sequences=True, return_state=True)
    )
    kwargs = {"mask": np.asarray(mask, bool)} if mask is not None else {}
    layer(inputs, **kwargs)
    layer.forward_layer.cell.set_weights([np.asarray(w, np.float32) for w in forward_weights])
    layer.backward_layer.cell.set_weights([np.asarray(w, np.float32) for w in backward_weights])
    return [_np(o) for o in layer(inputs, **kwargs)]
