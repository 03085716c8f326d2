"""Visible checks for the notebooks: shapes and one small numeric example each.

They help a student find a bug early; they are not the grade. The hidden tests of the autograder
use other inputs, other weights and more sub-checks.
"""
from __future__ import annotations

import numpy as np

import seqlab  # noqa: F401  (silences TF before keras import)
import keras

_RTOL, _ATOL = 1e-4, 1e-5


def _ok(msg: str) -> None:
    print(f"[ok] {msg}")


def _as_list(states):
    return list(states) if isinstance(states, (list, tuple)) else [states]


def _copy_weights(cell, reference, rng):
    """Give `cell` small random weights and copy them into the Keras `reference` cell."""
    names = ("kernel", "recurrent_kernel", "bias")
    values = []
    for name in names:
        var = getattr(cell, name, None)
        assert var is not None, f"{type(cell).__name__} has no attribute `{name}` after build()"
        ref_var = getattr(reference, name)
        assert tuple(var.shape) == tuple(ref_var.shape), (
            f"`{name}` has shape {tuple(var.shape)}; the prescribed layout is {tuple(ref_var.shape)}"
        )
        value = rng.normal(0.0, 0.5, size=tuple(var.shape)).astype("float32")
        var.assign(value)
        values.append(value)
    reference.set_weights(values)


def check_cell(cell_class, reference_class, units: int = 3, input_dim: int = 2, n_states: int = 1) -> None:
    """Run `cell_class` and the Keras `reference_class` on one small example with equal weights."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2, input_dim)).astype("float32")
    states = [rng.normal(size=(2, units)).astype("float32") for _ in range(n_states)]
    cell = cell_class(units)
    reference = reference_class(units)
    cell.build((None, input_dim))
    reference.build((None, input_dim))
    _copy_weights(cell, reference, rng)
    out, new_states = cell(x, states)
    new_states = _as_list(new_states)
    assert tuple(out.shape) == (2, units), f"output shape {tuple(out.shape)}, expected (2, {units})"
    assert len(new_states) == n_states, f"returned {len(new_states)} states, expected {n_states}"
    _ok(f"output shape (batch, units) = {tuple(out.shape)}, {n_states} state(s)")
    ref_out, ref_states = reference(x, states)
    ref_states = _as_list(ref_states)
    got = keras.ops.convert_to_numpy(out)
    want = keras.ops.convert_to_numpy(ref_out)
    if not np.allclose(got, want, rtol=_RTOL, atol=_ATOL):
        raise AssertionError(
            f"output differs from keras.layers.{reference_class.__name__} with the same weights "
            f"(max abs difference {np.abs(got - want).max():.3g}).\nyours:\n{got}\nexpected:\n{want}"
        )
    for i, (s, r) in enumerate(zip(new_states, ref_states)):
        s, r = keras.ops.convert_to_numpy(s), keras.ops.convert_to_numpy(r)
        if not np.allclose(s, r, rtol=_RTOL, atol=_ATOL):
            raise AssertionError(f"state {i} differs from keras.layers.{reference_class.__name__} (max abs difference {np.abs(s - r).max():.3g})")
    _ok(f"numbers match keras.layers.{reference_class.__name__} on one example")


def check_masked_rnn(masked_rnn_class) -> None:
    """MaskedRNN with a Keras LSTMCell against keras.layers.RNN on a right-padded batch."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    mask = np.array([[True, True, True, True], [True, True, False, False]])
    cell = keras.layers.LSTMCell(5, seed=1)
    layer = masked_rnn_class(cell, return_sequences=True, return_state=True)
    out, h, c = layer(x, mask=mask)
    assert tuple(out.shape) == (2, 4, 5), f"sequence output shape {tuple(out.shape)}, expected (2, 4, 5)"
    _ok("shapes with return_sequences=True, return_state=True")
    ref = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    ref_out, ref_h, ref_c = ref(x, mask=mask)
    got = keras.ops.convert_to_numpy(out)
    want = keras.ops.convert_to_numpy(ref_out)
    if not np.allclose(got[mask], want[mask], rtol=_RTOL, atol=_ATOL):
        raise AssertionError("outputs at real (unpadded) steps differ from keras.layers.RNN with the same cell")
    if not np.allclose(got, want, rtol=_RTOL, atol=_ATOL):
        raise AssertionError(
            "outputs match at real steps but not at padded steps: at a padded step the output should "
            "repeat the previous output and the states should be carried over unchanged"
        )
    for name, a, b in (("h", h, ref_h), ("c", c, ref_c)):
        if not np.allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), rtol=_RTOL, atol=_ATOL):
            raise AssertionError(f"final state {name} differs from keras.layers.RNN: is the state carried over padded steps?")
    _ok("padded batch matches keras.layers.RNN (outputs and final states)")


def check_bidirectional(encoder_class) -> None:
    """BidirectionalEncoder with Keras cells against keras.layers.Bidirectional on a padded batch."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    mask = np.array([[True, True, True, True], [True, True, True, False]])
    forward, backward = keras.layers.LSTMCell(2, seed=1), keras.layers.LSTMCell(2, seed=2)
    seqs, h, c = encoder_class(forward, backward)(x, mask=mask)
    assert tuple(seqs.shape) == (2, 4, 4), f"sequences shape {tuple(seqs.shape)}, expected (2, 4, 4)"
    assert tuple(h.shape) == (2, 4) and tuple(c.shape) == (2, 4), "state_h and state_c should be (batch, 2*units)"
    _ok("shapes: sequences (2, 4, 4), state_h (2, 4), state_c (2, 4)")
    ref = keras.layers.Bidirectional(keras.layers.RNN(keras.layers.LSTMCell(2), return_sequences=True, return_state=True))
    ref(x, mask=mask)
    ref.forward_layer.cell.set_weights(forward.get_weights())
    ref.backward_layer.cell.set_weights(backward.get_weights())
    r_seq, r_fh, r_fc, r_bh, r_bc = (keras.ops.convert_to_numpy(t) for t in ref(x, mask=mask))
    got = keras.ops.convert_to_numpy(seqs)
    if not np.allclose(got, r_seq, rtol=_RTOL, atol=_ATOL):
        raise AssertionError(
            "sequences differ from keras.layers.Bidirectional with the same cells: check the concatenation "
            "order [forward, backward], that the backward outputs are flipped back into time order, and "
            "zeros at padded steps"
        )
    if not np.allclose(keras.ops.convert_to_numpy(h), np.concatenate([r_fh, r_bh], -1), rtol=_RTOL, atol=_ATOL):
        raise AssertionError("state_h differs: expected concat([forward final h, backward final h])")
    _ok("padded batch matches keras.layers.Bidirectional")


def check_adding_problem(adding_problem) -> None:
    """Shapes and the definition of the adding problem on a small batch."""
    x, y = adding_problem(4, 10, seed=0)
    x, y = np.asarray(x), np.asarray(y)
    assert x.shape == (4, 10, 2) and y.shape == (4, 1), f"shapes {x.shape}, {y.shape}; expected (4, 10, 2), (4, 1)"
    markers = x[:, :, 1]
    assert np.all(markers.sum(axis=1) == 2), "each sequence needs exactly two markers (channel 1)"
    assert np.all(markers[:, :5].sum(axis=1) == 1), "one marker belongs in the first half"
    assert np.allclose(y[:, 0], (x[:, :, 0] * markers).sum(axis=1), atol=1e-6), "y must be the sum of the two marked values"
    _ok("adding problem: shapes, markers and targets are right")
