"""Visible checks for the notebooks: the same kinds of small isolated cases as the hidden tests.

Each check runs several cases and prints one line per case:

    [ok] <case>                      expected: <what the reference computes>
    [FAIL] <case>: <what is wrong and which term to look at>

and ends with "<name>: all N checks passed", or raises AssertionError naming the failed cases. Where a
formula has several terms, a case zeroes all weights but one group (or holds the other gates shut or
open), so a failure names the term that is wrong. The hidden tests run the same kinds of cases with
other seeds, sizes, inputs and weights (and, for the adding problem, a training run): passing these
rarely hides a surprise, but they are not the grade. References are Keras built-ins with copied weights.
"""
from __future__ import annotations

import contextlib
import os
import re
import tempfile

import numpy as np

import seqlab  # noqa: F401  (silences TF before keras import)
import keras

_RTOL, _ATOL = 1e-4, 1e-5
_BIG = 20.0  # a pre-activation that shuts (-) or opens (+) a sigmoid gate: sigmoid(20) = 1 - 2e-9
_WEIGHTS = ("kernel", "recurrent_kernel", "bias")
_KIND = {"SimpleRNNCell": "rnn", "LSTMCell": "lstm", "GRUCell": "gru"}
_N_STATES = {"rnn": 1, "lstm": 2, "gru": 1}
_REFERENCE = {kind: name for name, kind in _KIND.items()}
_BLOCKS = {"rnn": "h", "lstm": "ifco", "gru": "zrh"}
_LAYOUT = {
    "rnn": "kernel (input_dim, units), recurrent_kernel (units, units), bias (units,)",
    "lstm": "kernel (input_dim, 4*units), recurrent_kernel (units, 4*units), bias (4*units,), blocks i, f, c, o",
    "gru": "kernel (input_dim, 3*units), recurrent_kernel (units, 3*units), bias (2, 3*units), blocks z, r, h",
}
_REFUSED_CELLS = ("SimpleRNNCell", "LSTMCell", "GRUCell", "SimpleRNN", "LSTM", "GRU")


# ---- reporting ----------------------------------------------------------------------------------

class _Report:
    """Collects the cases of one check: prints a line per case, raises at the end if any failed."""

    def __init__(self, title: str):
        self.title, self.passed, self.failed, self.error = title, 0, [], None

    def ok(self, name: str, expected: str) -> bool:
        self.passed += 1
        print(f"[ok] {name:<38s} expected: {expected}")
        return True

    def fail(self, name: str, message: str) -> bool:
        self.failed.append(name)
        print(f"[FAIL] {name}: {message}")
        return False

    def case(self, name: str, fn, hint: str = "") -> bool:
        """Run `fn() -> (passed, expected, message)`; an exception in the student's code fails the case
        (with `hint` appended)."""
        try:
            passed, expected, message = fn()
        except NotImplementedError as error:  # the exercise is not written yet: nothing else can run
            self.error = self.error or error
            self.fail(name, "not written yet: replace `raise NotImplementedError()` with your code")
            self.done()
        except Exception as error:  # the student's code raised: name the case, keep the traceback
            self.error = self.error or error
            return self.fail(name, f"your code raised {type(error).__name__}: {_first_line(error)}" + (f"; {hint}" if hint else ""))
        return self.ok(name, expected) if passed else self.fail(name, message)

    def done(self) -> None:
        total = self.passed + len(self.failed)
        if self.failed:
            raise AssertionError(
                f"{self.title}: {len(self.failed)} of {total} checks failed ({', '.join(self.failed)}); "
                "the [FAIL] lines above say which term to look at"
            ) from self.error
        print(f"{self.title}: all {total} checks passed")


def _first_line(error) -> str:
    """The informative line of an error message (Keras wraps it in 'Exception encountered when calling ...')."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(error).splitlines()]
    skip = ("Exception encountered when calling", "Arguments received by", "•")
    lines = [line for line in lines if line and not line.startswith(skip)]
    return (lines[0] if lines else "")[:300]


@contextlib.contextmanager
def _watch_built_ins():
    """Names of the Keras recurrent layers and cells instantiated inside the block (the hidden tests refuse
    some of them in some parts, and detect them the same way: at run time)."""
    made = []
    classes = (keras.layers.RNN, keras.layers.Bidirectional, keras.layers.SimpleRNNCell, keras.layers.LSTMCell,
               keras.layers.GRUCell)
    originals = {cls: cls.__dict__["__init__"] for cls in classes}

    def watched(cls):
        original = originals[cls]

        def __init__(self, *args, **kwargs):
            made.append(type(self).__name__)
            original(self, *args, **kwargs)

        return __init__

    for cls in classes:
        cls.__init__ = watched(cls)
    try:
        yield made
    finally:
        for cls, original in originals.items():
            cls.__init__ = original


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float64)


def _close(got, want) -> bool:
    if got is None:
        return False
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return got.shape == want.shape and bool(np.all(np.isfinite(got))) and bool(np.allclose(got, want, rtol=_RTOL, atol=_ATOL))


def _diff(got, want) -> str:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        return f"shape {got.shape}, expected {want.shape}"
    return f"max abs difference {np.abs(got - want).max():.3g}"


def _vec(a, n: int = 3) -> str:
    a = np.asarray(a, np.float64).ravel()
    return "[" + ", ".join(f"{v:+.3f}" for v in a[:n]) + (", ...]" if a.size > n else "]")


def _as_list(states):
    return list(states) if isinstance(states, (list, tuple)) else [states]


def _shape(x):
    return tuple(None if d is None else int(d) for d in x.shape)


def _refused_in(obj, names) -> list[str]:
    """Keras built-ins among names that `obj`'s class subclasses, or that `obj` holds as an attribute."""
    cls = obj if isinstance(obj, type) else type(obj)
    found = [c.__name__ for c in cls.__mro__ if c.__module__.startswith("keras") and c.__name__ in names]
    if not isinstance(obj, type):
        found += [type(v).__name__ for v in vars(obj).values()
                  if type(v).__module__.startswith("keras") and type(v).__name__ in names]
    return sorted(set(found))


# ---- cells: Exercises 1-3 -------------------------------------------------------------------------

def _cell_cases(kind: str, rng, batch: int, input_dim: int, units: int) -> list:
    """(name, x, states, weights, compared, hint): all terms, then one term or gate at a time."""
    k = len(_BLOCKS[kind]) * units
    kshape, rshape, bshape = (input_dim, k), (units, k), ((2, k) if kind == "gru" else (k,))

    def rand(shape, scale=0.6):
        return rng.normal(0.0, scale, shape).astype("float32")

    def zeros(shape):
        return np.zeros(shape, "float32")

    def bias(**fixed):
        """Random bias blocks, except those named (e.g. i=-20); for GRU `z_rec` etc. set the second row."""
        rows = [""] + (["_rec"] if kind == "gru" else [])
        made = [np.concatenate([np.full(units, fixed[b + r], "float32") if b + r in fixed else rand(units, 1.0)
                                for b in _BLOCKS[kind]]) for r in rows]
        return np.stack(made) if kind == "gru" else made[0]

    def without(weights, block):
        weights[..., block * units:(block + 1) * units] = 0.0
        return weights

    x = rand((batch, input_dim), 1.0)
    states = [rand((batch, units), 0.8) for _ in range(_N_STATES[kind])]
    cases = [("all terms together", x, states, [rand(kshape), rand(rshape), rand(bshape)], "all",
              f"the output or the states differ from keras.layers.{_REFERENCE[kind]} "
              "with the same weights; the cases below say which term")]
    if kind == "rnn":
        cases += [
            ("only kernel (input term)", x, states, [rand(kshape), zeros(rshape), zeros(bshape)], "h",
             "with only `kernel` non-zero, h_t should be tanh(x_t @ kernel): check the input term"),
            ("only recurrent_kernel", x, states, [zeros(kshape), rand(rshape), zeros(bshape)], "h",
             "with only `recurrent_kernel` non-zero, h_t should be tanh(h_{t-1} @ recurrent_kernel): check the "
             "recurrent term"),
            ("only bias", x, states, [zeros(kshape), zeros(rshape), rand(bshape)], "h",
             "with only `bias` non-zero, h_t should be tanh(b): check the bias and the activation"),
        ]
    elif kind == "lstm":
        no_memory = [states[0], zeros((batch, units))]  # c_{t-1} = 0: the forget gate plays no part
        layout = bias(i=0.0, f=0.0, c=_BIG, o=0.0)  # candidate held at tanh(20) = 1 whatever its activation
        cases += [
            ("forget gate f_t", x, states, [zeros(kshape), zeros(rshape), bias(i=-_BIG, c=0.0, o=_BIG)], "c",
             "with the input gate shut and the output gate open, c_t = f_t * c_{t-1}: the forget gate "
             "f_t = sigmoid(x W_f + h U_f + b_f) is wrong (its activation, its bias, or which block it uses)"),
            ("input gate i_t and candidate g_t", x, no_memory, [zeros(kshape), zeros(rshape), bias(o=_BIG)], "c",
             "with c_{t-1} = 0, c_t = i_t * g_t: the input gate i_t = sigmoid(...) or the candidate "
             "g_t = tanh(...) is wrong (activation, bias or weight block)"),
            ("output gate o_t", x, states, [zeros(kshape), zeros(rshape), bias(i=-_BIG, c=0.0, f=_BIG)], "o",
             "h_t should be o_t * tanh(c_t), with o_t = sigmoid(...) from the last block and "
             "the NEW cell state c_t: check the output gate and the tanh on c_t"),
            ("layout: kernel blocks i,f,c,o", x, [zeros((batch, units))] * 2, [without(rand(kshape), 2), zeros(rshape), layout],
             "c", "with only `kernel` non-zero (candidate held at 1) c_t is wrong: check x_t @ kernel and the gate "
             "order i, f, c, o of its columns"),
            ("layout: recurrent_kernel", x, no_memory, [zeros(kshape), without(rand(rshape), 2), layout], "c",
             "with only `recurrent_kernel` non-zero (candidate held at 1) c_t is wrong: check h_{t-1} @ "
             "recurrent_kernel (h, not c_{t-1}) and the gate order i, f, c, o"),
        ]
    else:
        half_z = dict(z=0.0, z_rec=0.0)  # z_t = 1/2 exactly: h_t = (h_{t-1} + candidate) / 2 either way round
        cases += [
            ("update gate z_t", x, states, [zeros(kshape), zeros(rshape), bias(h=0.0, h_rec=0.0)], "h",
             "with the candidate at 0, h_t = z_t * h_{t-1}: the update gate z_t = sigmoid(x W_z + b_z + h U_z + b'_z) "
             "or the interpolation h_t = z_t * h_{t-1} + (1 - z_t) * candidate is wrong (Keras: z weighs the OLD state)"),
            ("reset gate r_t", x, states, [zeros(kshape), without(rand(rshape), 0), bias(**half_z)], "h",
             "with z_t = 1/2 and no input weights, the candidate tanh(b_h + r_t * (h_{t-1} U_h + b'_h)) is wrong: r_t "
             "multiplies the recurrent product AFTER the matmul (reset_after=True), or r_t itself is wrong"),
            ("candidate (input part)", x, states, [without(rand(kshape), 0), zeros(rshape), bias(**half_z, h_rec=0.0)],
             "h", "with z_t = 1/2 and no recurrent weights, the candidate tanh(x W_h + b_h) is wrong (check the "
             "column block z, r, h and the two bias rows: row 0 input, row 1 recurrent)"),
        ]
    return cases


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def check_cell(cell_class, reference_class, units: int = 3, input_dim: int = 2, n_states: int | None = None,
               seed: int = 11, batch: int = 3) -> None:
    """Check `cell_class` against the Keras `reference_class` (SimpleRNNCell, LSTMCell or GRUCell).

    Cases: interface (state_size, weight shapes, from scratch), [LSTM: forget-bias init], output shape, all
    terms together, one term or gate at a time, a sequence inside keras.layers.RNN, keras.Input, get_config
    and a .keras round trip, and one training step. `n_states` is inferred from the reference (kept for
    backward compatibility).
    """
    kind = _KIND.get(reference_class.__name__)
    if kind is None:
        raise ValueError(f"no cases for reference {reference_class.__name__}; use one of {sorted(_KIND)}")
    n = _N_STATES[kind]
    report = _Report(cell_class.__name__)
    rng = np.random.default_rng(seed)
    reference = reference_class(units)
    reference.build((None, input_dim))
    want_shapes = [tuple(getattr(reference, name).shape) for name in _WEIGHTS]
    cell = None

    def interface():
        nonlocal cell
        refused = _refused_in(cell_class, _REFUSED_CELLS)
        if refused:
            return False, "", f"{cell_class.__name__} subclasses keras.layers.{refused[0]}: write the cell from scratch"
        with _watch_built_ins() as made:
            cell = cell_class(units)
            state_size = [int(s) for s in _as_list(cell.state_size)]
            cell.build((None, input_dim))
            if all(getattr(cell, name, None) is not None for name in _WEIGHTS):
                zeros = np.zeros((batch, units), "float32")
                cell(np.zeros((batch, input_dim), "float32"), [zeros] * n)
        problems = [] if state_size == [units] * n else [f"state_size is {state_size}, expected {[units] * n}"]
        for name, want in zip(_WEIGHTS, want_shapes):
            var = getattr(cell, name, None)
            got = None if var is None else tuple(var.shape)
            if got != want:
                problems.append(f"`{name}` has shape {got}, expected {want}")
        refused = sorted(set(_refused_in(cell, _REFUSED_CELLS)) | (set(made) & set(_REFUSED_CELLS)))
        if refused:
            problems.append(f"the cell uses keras.layers.{refused[0]}, which this part does not allow: write the cell "
                            "from scratch")
        shapes = ", ".join(f"{name} {want}" for name, want in zip(_WEIGHTS, want_shapes))
        return not problems, f"state_size {[units] * n}; {shapes}", "; ".join(problems) + f". Layout: {_LAYOUT[kind]}"

    if not report.case("interface and weight shapes", interface):
        report.done()  # nothing else can run with the wrong weight shapes

    if kind == "lstm":
        def forget_bias():
            got = _np(cell.bias)
            want = np.concatenate([np.zeros(units), np.ones(units), np.zeros(2 * units)])
            return (_close(got, want), "bias blocks (i, f, c, o) start at (0, 1, 0, 0)",
                    f"the bias starts at {_vec(got, 4 * units)}: the forget-gate block should start at 1 and the "
                    "others at 0 (unit forget bias)")

        report.case("forget bias starts at 1", forget_bias)

    def step(x, states, weights):
        for name, value in zip(_WEIGHTS, weights):
            getattr(cell, name).assign(value)
        reference.set_weights(weights)
        tensors = [keras.ops.convert_to_tensor(s) for s in states]
        out, new = cell(keras.ops.convert_to_tensor(x), tensors)
        ref_out, ref_new = reference(keras.ops.convert_to_tensor(x), tensors)
        return _np(out), [_np(s) for s in _as_list(new)], _np(ref_out), [_np(s) for s in _as_list(ref_new)]

    cases = _cell_cases(kind, rng, batch, input_dim, units)
    input_case = next((c[1:4] for c in cases if c[0].startswith("input gate")), None)
    name, x, states, weights, _, hint = cases[0]
    full = {}

    def shape():
        full["result"] = step(x, states, weights)
        out, new = full["result"][:2]
        return (out.shape == (batch, units) and len(new) == n, f"output (batch, units) = {(batch, units)}, {n} state(s)",
                f"output shape {out.shape} and {len(new)} state(s); expected {(batch, units)} and {n} state(s)")

    report.case("output shape and number of states", shape)

    def together():
        out, new, ref_out, ref_new = full["result"]
        if kind == "lstm" and len(new) == 2 and _close(new[0], ref_new[1]) and _close(new[1], ref_new[0]):
            return False, "", "the states come back as [c, h]: return h, [h, c] (the order of state_size)"
        ok = _close(out, ref_out) and len(new) == n and all(_close(s, r) for s, r in zip(new, ref_new))
        return ok, f"h_t[0] = {_vec(ref_out[0])}", f"{hint} ({_diff(out, ref_out)} on h_t)"

    if "result" in full:
        report.case(name, together)

    for name, x, states, weights, compared, hint in cases[1:]:
        def isolated(x=x, states=states, weights=weights, compared=compared, hint=hint):
            out, new, ref_out, ref_new = step(x, states, weights)
            if compared == "h":
                return _close(out, ref_out), f"h_t[0] = {_vec(ref_out[0])}", f"{hint} ({_diff(out, ref_out)})"
            c = new[1] if len(new) > 1 else None
            if compared == "c":
                where = _diff(c, ref_new[1]) if c is not None else "no c returned"
                return _close(c, ref_new[1]), f"c_t[0] = {_vec(ref_new[1][0])}", f"{hint} ({where})"
            # output gate: h_t judged against the student's own c_t (so a c_t fault is not charged twice), here
            # and in the input-gate case, where c_{t-1} = 0 tells the new c_t from the old one
            ok = True
            for case_x, case_states, case_weights in ((x, states, weights), input_case):
                out, new = step(case_x, case_states, case_weights)[:2]
                c = new[1] if len(new) > 1 else None
                o = _sigmoid(np.asarray(case_weights[2], np.float64)[3 * units:])  # kernels zero: o_t = sigmoid(b_o)
                ok &= c is not None and _close(out, o * np.tanh(c))
            return ok, f"h_t[0] = o_t * tanh(c_t) = {_vec(ref_out[0])}", hint

        report.case(name, isolated)

    steps = 5
    seq_x = rng.normal(0.0, 1.0, (batch, steps, input_dim)).astype("float32")
    seq_w = [rng.normal(0.0, 0.5, s).astype("float32") for s in want_shapes]

    def sequence():
        for name, value in zip(_WEIGHTS, seq_w):
            getattr(cell, name).assign(value)
        reference.set_weights(seq_w)
        got = _np(keras.layers.RNN(cell, return_sequences=True)(seq_x))
        want = _np(keras.layers.RNN(reference, return_sequences=True)(seq_x))
        states = "h, [h, c]" if kind == "lstm" else "h, [h]"
        return (_close(got, want), f"outputs {want.shape}, h_T[0] = {_vec(want[0, -1])}",
                f"inside keras.layers.RNN over {steps} steps the outputs differ ({_diff(got, want)}): return {states}, "
                "the states the next step needs (if a single step is already wrong, fix that first)")

    report.case(f"{steps} steps inside keras.layers.RNN", sequence,
                hint="inside keras.layers.RNN `states` arrives as a list or a tuple: read states[0] from either")

    def symbolic():
        inputs = keras.Input(shape=(None, input_dim))
        outputs = keras.layers.RNN(cell_class(units))(inputs)
        run = keras.Model(inputs, outputs)(seq_x)
        ok = _shape(outputs) == (None, units) and _shape(run) == (batch, units)
        return (ok, f"RNN(cell)(keras.Input((None, {input_dim}))) -> (None, {units})",
                f"on keras.Input the output shape is {_shape(outputs)}, on a batch {_shape(run)}; expected "
                f"(None, {units}) and {(batch, units)}")

    report.case("symbolic keras.Input", symbolic)

    def serialization():
        message = "get_config() must include `units` (chain to super().get_config()) so from_config rebuilds the cell"
        config = cell.get_config()
        if config.get("units") != units or getattr(cell_class.from_config(config), "units", None) != units:
            return False, "", message
        model = keras.Sequential([keras.Input((steps, input_dim)), keras.layers.RNN(cell_class(units))])
        before = _np(model(seq_x))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "cell.keras")
            model.save(path)
            after = _np(keras.saving.load_model(path, custom_objects={cell_class.__name__: cell_class})(seq_x))
        return (_close(after, before), f"get_config()['units'] = {units}; same outputs after a .keras save/load",
                f"a .keras save/load changed the outputs ({_diff(after, before)})")

    report.case("get_config and .keras round trip", serialization)

    def trainable():
        train_cell = cell_class(units)
        model = keras.Sequential([keras.Input((steps, input_dim)), keras.layers.RNN(train_cell), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
        before = [_np(getattr(train_cell, name)) for name in _WEIGHTS]
        model.train_on_batch(seq_x, rng.normal(0.0, 1.0, (batch, 1)).astype("float32"))
        stuck = [name for name, b in zip(_WEIGHTS, before) if np.array_equal(b, _np(getattr(train_cell, name)))]
        return (not stuck, "kernel, recurrent_kernel and bias all change",
                f"one SGD step did not change {', '.join(stuck)}: create them with add_weight (trainable) and use "
                "them in call() with keras.ops")

    report.case("one training step", trainable)
    report.done()


# ---- masked sequences: Exercise 4 ---------------------------------------------------------------

def _lengths_mask(lengths, steps):
    """(batch, steps) boolean, True on the first `length` steps of each row (right padding)."""
    return np.arange(steps)[None, :] < np.asarray(lengths)[:, None]


class _ScaledOutputCell(keras.layers.Layer):
    """A one-state cell whose output (2 h) is not its state (h): a Keras GRUCell inside a wrapper."""

    def __init__(self, inner, **kwargs):
        super().__init__(**kwargs)
        self.inner, self.state_size, self.output_size = inner, inner.state_size, inner.output_size

    def call(self, inputs, states):
        output, new_states = self.inner(inputs, states)
        return 2.0 * output, new_states


def check_masked_rnn(masked_rnn_class, seed: int = 3, units: int = 5) -> None:
    """MaskedRNN against keras.layers.RNN with the same cell, on padded batches.

    Cases: output shapes for the four flag combinations, no mask, a one-state cell, a mask (real steps,
    padded steps, final states, with right- and left-padded rows), initial_state, the mask made by
    Embedding(mask_zero=True), and get_config/from_config.
    """
    report = _Report(masked_rnn_class.__name__)
    rng = np.random.default_rng(seed)
    batch, steps, dim = 4, 6, 3
    x = rng.normal(0.0, 1.0, (batch, steps, dim)).astype("float32")
    mask = _lengths_mask([6, 3, 1, 6], steps)
    mask[3, :2] = False  # a left-padded row: 2 padded steps, then 4 real ones
    lstm_weights = [rng.normal(0.0, 0.5, s).astype("float32") for s in ((dim, 4 * units), (units, 4 * units), (4 * units,))]
    gru_weights = [rng.normal(0.0, 0.5, s).astype("float32") for s in ((dim, 3 * units), (units, 3 * units), (2, 3 * units))]

    def lstm():
        cell = keras.layers.LSTMCell(units)
        cell.build((None, dim))
        cell.set_weights(lstm_weights)
        return cell

    def keras_rnn(cell, **kwargs):
        return [_np(o) for o in keras.layers.RNN(cell, return_sequences=True, return_state=True)(x, **kwargs)]

    def run(cell, **kwargs):
        return [_np(o) for o in _as_list(masked_rnn_class(cell, return_sequences=True, return_state=True)(x, **kwargs))]

    def shapes():
        bad, want_all = [], None
        for rs in (False, True):
            for st in (False, True):
                got = [_shape(o) for o in _as_list(masked_rnn_class(lstm(), return_sequences=rs, return_state=st)(x))]
                want = [(batch, steps, units) if rs else (batch, units)] + [(batch, units)] * (2 if st else 0)
                want_all = want
                if got != want:
                    bad.append(f"return_sequences={rs}, return_state={st} gave {got}, expected {want}")
        return not bad, f"{want_all} with both flags True", "; ".join(bad)

    report.case("shapes (4 flag combinations)", shapes)
    ref = keras_rnn(lstm())

    def no_mask():
        cell = lstm()
        with _watch_built_ins() as made:
            got = run(cell)
        refused = sorted(set(made) & {"RNN", "SimpleRNN", "LSTM", "GRU"})
        if refused:
            return False, "", (f"MaskedRNN uses keras.layers.{refused[0]}, which this part does not allow: the loop over "
                               "time is what you write")
        ok = len(got) == 3 and all(_close(g, r) for g, r in zip(got, ref))
        return (ok, f"outputs[0, -1] = {_vec(ref[0][0, -1])}",
                "without a mask the outputs or final states differ from keras.layers.RNN with the same cell: run the "
                "cell step by step and return [outputs, *final_states]")

    loop_ok = report.case("no mask", no_mask)

    def any_cell():
        inner = keras.layers.GRUCell(units)
        inner.build((None, dim))
        inner.set_weights(gru_weights)
        cell = _ScaledOutputCell(inner)
        got, want = run(cell), keras_rnn(cell)
        ok = len(got) == 2 and all(_close(g, w) for g, w in zip(got, want))
        return (ok, f"[outputs, h]: outputs = 2 h, outputs[0, -1] = {_vec(want[0][0, -1])}",
                f"with a one-state cell whose output (2 h) is not its state, got {len(got)} outputs or other numbers: use "
                "len(cell.state_size) states (not always two), and take each step's output from what the cell returns "
                "as its output, not from its state")

    report.case("any cell (one state, output != state)", any_cell,
                hint="MaskedRNN must work with any cell: use len(cell.state_size) states, not always two")
    masked, masked_ref = {}, keras_rnn(lstm(), mask=mask)

    def real_steps():
        masked["out"] = run(lstm(), mask=mask)
        got, want = masked["out"][0], masked_ref[0]
        if got.shape != want.shape:
            return False, "", f"with a mask the outputs have shape {got.shape}, expected {want.shape}"
        return (_close(got[mask], want[mask]), f"row 3 (left-padded) at step 2 = {_vec(want[3, 2])}",
                "outputs at real (mask=True) steps differ from keras.layers.RNN: after a padded step the next real step "
                "must start from the last real state: carry the states over padded steps "
                "(ops.where(mask[:, t, None], new, old))" + ("" if loop_ok else " (this may follow from 'no mask')"))

    def padded_steps():
        got, want = masked["out"][0], masked_ref[0]
        return (_close(got, want), f"row 1 (3 real steps) repeats {_vec(want[1, 2])} at steps 3-5",
                "outputs match at real steps but not where the mask is False: at a padded step the output should repeat "
                "the previous output (as keras.layers.RNN does with zero_output_for_mask=False)")

    def final_states():
        got, want = masked["out"], masked_ref
        ok = len(got) == 3 and _close(got[1], want[1]) and _close(got[2], want[2])
        return (ok, f"row 2 (1 real step): h = {_vec(want[1][2])}",
                "the final states differ: return the states as they were after each row's last real step (carried over "
                "the padding that follows)")

    if report.case("mask: real steps", real_steps):  # the next two are judged only when the real steps are right
        report.case("mask: padded steps repeat output", padded_steps)
        report.case("mask: final states", final_states)

    def initial_state():
        h0, c0 = (rng.normal(0.0, 0.5, (batch, units)).astype("float32") for _ in range(2))
        got = _np(masked_rnn_class(lstm(), return_sequences=True)(x, initial_state=[h0, c0]))
        want = keras_rnn(lstm(), initial_state=[h0, c0])[0]
        return (_close(got, want), f"outputs[0, 0] = {_vec(want[0, 0])}",
                "initial_state=[h0, c0] was not used as the starting state (start from it instead of zeros)")

    report.case("initial_state", initial_state)

    def propagation():
        vocab = 9
        ids = rng.integers(1, vocab, (batch, steps))
        ids[~mask] = 0
        table = rng.normal(0.0, 1.0, (vocab, dim)).astype("float32")
        inputs = keras.Input(shape=(steps,), dtype="int32")
        emb = keras.layers.Embedding(vocab, dim, mask_zero=True)
        layer = masked_rnn_class(lstm(), return_sequences=True)
        model = keras.Model(inputs, layer(emb(inputs)))
        emb.set_weights([table])
        got = _np(model(ids))
        explicit = _np(layer(table[ids], mask=ids != 0))
        produced = layer.compute_mask(keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(mask))
        if not _close(got, explicit):
            return False, "", ("the mask made by Embedding(mask_zero=True) was not used: accept `mask=None` in call() and "
                               "set self.supports_masking = True")
        ok = produced is not None and np.array_equal(_np(produced) > 0.5, mask)
        return (ok, "same outputs as with mask=(ids != 0); compute_mask returns the mask",
                "compute_mask should return the input mask when return_sequences=True (so later layers see it)")

    report.case("mask from Embedding(mask_zero=True)", propagation)

    def serialization():
        layer = masked_rnn_class(lstm(), return_sequences=True, return_state=False)
        config = layer.get_config()
        clone = masked_rnn_class.from_config(config)
        flags = [config.get("return_sequences"), config.get("return_state"),
                 getattr(clone, "return_sequences", None), getattr(clone, "return_state", None)]
        original = _np(layer(x))
        clone(x)
        clone.set_weights(layer.get_weights())
        ok = flags == [True, False, True, False] and _close(_np(clone(x)), original)
        return (ok, "from_config(get_config()) computes the same outputs",
                "get_config() must hold `cell`, `return_sequences` and `return_state`, and from_config must rebuild a "
                "layer that computes the same outputs")

    report.case("get_config / from_config", serialization)
    report.done()


# ---- bidirectional encoder: Exercise 5 ----------------------------------------------------------

def check_bidirectional(encoder_class, seed: int = 5, units: int = 3) -> None:
    """BidirectionalEncoder with Keras LSTM cells against keras.layers.Bidirectional with the same weights.

    Cases: shapes, the forward half, the backward half in time order, the final states, a padded batch
    (real steps as if each row ran alone, zeros at padded steps, final states; one row left-padded),
    keras.Input, and get_config/from_config.
    """
    report = _Report(encoder_class.__name__)
    rng = np.random.default_rng(seed)
    batch, steps, dim, u = 4, 5, 3, units
    x = rng.normal(0.0, 1.0, (batch, steps, dim)).astype("float32")
    mask = _lengths_mask([5, 2, 4, 1], steps)
    mask[2] = mask[2][::-1]  # a left-padded row: the final states cannot be read off a fixed position
    shapes_w = ((dim, 4 * u), (u, 4 * u), (4 * u,))
    fw_w, bw_w = ([rng.normal(0.0, 0.5, s).astype("float32") for s in shapes_w] for _ in range(2))

    def cell(weights):
        made = keras.layers.LSTMCell(u)
        made.build((None, dim))
        made.set_weights(weights)
        return made

    def make():
        refused = _refused_in(encoder_class, ("Bidirectional", "SimpleRNN", "LSTM", "GRU"))
        if refused:
            raise TypeError(f"{encoder_class.__name__} subclasses keras.layers.{refused[0]}: build it from two RNNs")
        return encoder_class(cell(fw_w), cell(bw_w))

    reference = keras.layers.Bidirectional(keras.layers.RNN(keras.layers.LSTMCell(u), return_sequences=True, return_state=True))
    reference(x)
    reference.forward_layer.cell.set_weights(fw_w)
    reference.backward_layer.cell.set_weights(bw_w)
    r_seq, r_fh, r_fc, r_bh, r_bc = (_np(t) for t in reference(x))
    plain = {}

    def shapes():
        with _watch_built_ins() as made:
            plain["out"] = [_np(o) for o in _as_list(make()(x))]
        refused = sorted(set(made) & {"Bidirectional", "SimpleRNN", "LSTM", "GRU"})
        if refused:
            return False, "", (f"the encoder uses keras.layers.{refused[0]}, which this part does not allow: build it "
                               "from two keras.layers.RNN")
        got = [o.shape for o in plain["out"]]
        want = [(batch, steps, 2 * u), (batch, 2 * u), (batch, 2 * u)]
        return got == want, f"sequences {want[0]}, state_h {want[1]}, state_c {want[2]}", f"got {got}, expected {want}"

    if not report.case("shapes", shapes):
        report.done()
    seq = plain["out"][0]

    def forward_half():
        got = seq[..., :u]
        return (_close(got, r_seq[..., :u]), f"sequences[0, 0, :units] = {_vec(r_seq[0, 0, :u])}",
                "sequences[..., :units] look like the backward direction: concatenate [forward, backward]"
                if _close(got, r_seq[..., u:]) else "sequences[..., :units] should be the forward RNN's outputs, in time order")

    def backward_half():
        got = seq[..., u:]
        message = ("the backward outputs are in reversed time order: a go_backwards RNN returns its outputs from the "
                   "last step to the first, so flip them back (ops.flip(..., axis=1)) before concatenating"
                   if _close(got, r_seq[:, ::-1, u:]) else
                   "sequences[..., units:] look like the forward direction: concatenate [forward, backward]"
                   if _close(got, r_seq[..., :u]) else
                   "sequences[..., units:] should be the backward RNN's outputs (it reads x_T ... x_1, go_backwards=True), "
                   "flipped back into time order")
        return _close(got, r_seq[..., u:]), f"sequences[0, 0, units:] = {_vec(r_seq[0, 0, u:])} (saw all of x)", message

    def final_states():
        _, h, c = plain["out"]
        ok = _close(h, np.concatenate([r_fh, r_bh], -1)) and _close(c, np.concatenate([r_fc, r_bc], -1))
        return (ok, f"state_h[0] = [forward h | backward h] = {_vec(np.concatenate([r_fh, r_bh], -1)[0], 2 * u)}",
                "state_h / state_c should be concat([forward final, backward final]) of h and c (the backward final "
                "state is the one after reading x_1)")

    report.case("forward half", forward_half)
    report.case("backward half (in time order)", backward_half)
    report.case("final states", final_states)
    masked = {}

    def real_steps():
        masked["out"] = [_np(o) for o in _as_list(make()(x, mask=mask))]
        masked["alone"] = [[_np(o) for o in _as_list(make()(x[b:b + 1, row]))] for b, row in enumerate(mask)]
        got, ok, zeros = masked["out"][0], True, True
        if got.shape != (batch, steps, 2 * u):
            return False, "", f"with a mask the sequences have shape {got.shape}, expected {(batch, steps, 2 * u)}"
        for b, row in enumerate(mask):
            if masked["alone"][b][0].shape != (1, int(row.sum()), 2 * u):
                return False, "", "running the encoder on one sequence without padding gave the wrong shape"
            alone = masked["alone"][b][0][0]
            for half in (slice(0, u), slice(u, 2 * u)):
                m, a = got[b, :, half], alone[:, half]
                # compared in time order, or reversed if the half is reversed ('backward half' says that)
                timed = next((o for o, r in ((m, a), (m[::-1], a[::-1])) if _close(o[row], r)), None)
                ok &= timed is not None
                zeros &= timed is not None and _close(timed[~row], np.zeros_like(timed[~row]))
        masked["zeros"] = zeros
        return (ok, "each row = the encoder run on its real steps alone",
                "with padded sequences the outputs at real steps differ from running the encoder on the real steps "
                "alone: pass the mask to both RNNs, so the backward one starts at each row's last real token")

    real_ok = report.case("mask: real steps", real_steps)

    def padded_zeros():
        return (masked["zeros"], "zeros at padded steps in both halves",
                "real steps match, but padded steps should be zeros in both halves (zero_output_for_mask=True)")

    def padded_states():
        ok = all(_close(masked["out"][i][b:b + 1], masked["alone"][b][i]) for b in range(batch) for i in (1, 2))
        return (ok, "state_h, state_c of each row = those of its real steps alone",
                "with padding, state_h / state_c differ from the encoder's final states on the real steps alone: use "
                "the final states the two RNNs return (after each row's last real token), not the outputs at a "
                "fixed time step")

    if real_ok:  # the next two are judged only when the real steps are right
        report.case("mask: zeros at padded steps", padded_zeros)
        report.case("mask: final states", padded_states)

    def symbolic():
        inputs = keras.Input(shape=(None, dim))
        outputs = _as_list(encoder_class(keras.layers.LSTMCell(u), keras.layers.LSTMCell(u))(inputs))
        got = [_shape(o) for o in outputs]
        want = [(None, None, 2 * u), (None, 2 * u), (None, 2 * u)]
        return got == want, f"{want}", f"with keras.Input(shape=(None, {dim})) the output shapes were {got}, expected {want}"

    report.case("symbolic keras.Input", symbolic)

    def serialization():
        encoder = make()
        original = _np(_as_list(encoder(x))[0])
        clone = encoder_class.from_config(encoder.get_config())
        clone(x)
        clone.set_weights(encoder.get_weights())
        return (_close(_np(_as_list(clone(x))[0]), original), "from_config(get_config()) computes the same outputs",
                "from_config(get_config()) did not rebuild an encoder that computes the same outputs")

    report.case("get_config / from_config", serialization)
    report.done()


# ---- the adding problem: Exercise 6 -------------------------------------------------------------

def check_adding_problem(adding_problem, build_adding_model=None, seed: int = 4) -> None:
    """adding_problem: shapes, dtypes, markers (one per half, uniform, the last step included), targets,
    seeding; build_adding_model (if given): output shape, uses the given cell, linear Dense(1) read-out."""
    report = _Report("adding problem")
    n, length = 600, 9  # an odd length: the second half is one step longer, and its last step must occur
    half = length // 2
    data = {}

    def shapes():
        x, y = adding_problem(n, length, seed=seed)
        data["x"], data["y"] = np.asarray(x), np.asarray(y)
        got = (data["x"].shape, data["y"].shape, str(data["x"].dtype), str(data["y"].dtype))
        want = ((n, length, 2), (n, 1), "float32", "float32")
        return got == want, f"x {want[0]} float32, y {want[1]} float32", f"got x {got[0]} {got[2]}, y {got[1]} {got[3]}"

    if not report.case("shapes and dtypes", shapes):
        report.done()
    x, y = data["x"], data["y"]

    def markers():
        m, v = x[:, :, 1], x[:, :, 0]
        ok = (np.all(np.isin(m, (0.0, 1.0))) and np.all(m.sum(1) == 2) and np.all(m[:, :half].sum(1) == 1)
              and np.all(v >= 0) and np.all(v < 1))
        first, second = m[:, :half].argmax(1), m[:, half:].argmax(1) + half
        counts = [np.bincount(first, minlength=length)[:half], np.bincount(second, minlength=length)[half:]]
        chi2 = sum(float(((c - c.mean()) ** 2 / c.mean()).sum()) for c in counts)
        return (ok and chi2 < 40.0, f"one marker in steps 0-{half - 1}, one in {half}-{length - 1}, each step equally likely",
                f"channel 1 must hold exactly two 1.0 markers, one in [0, {half}) and one in [{half}, {length}), each "
                f"step of a half equally likely (the last step included; marker counts per step: first half "
                f"{counts[0].tolist()}, second half {counts[1].tolist()}); values in [0, 1)")

    def targets():
        want = (x[:, :, 0] * x[:, :, 1]).sum(1, keepdims=True)
        return (_close(y, want), f"y[0] = {want[0, 0]:.3f} (the two marked values of x[0] summed)",
                "y must be the sum of the two values whose marker is 1")

    def seeding():
        x2, y2 = adding_problem(n, length, seed=seed)
        x3, _ = adding_problem(n, length, seed=seed + 1)
        ok = np.array_equal(x, np.asarray(x2)) and np.array_equal(y, np.asarray(y2)) and not np.array_equal(x, np.asarray(x3))
        return ok, "same seed, same data; another seed, other data", "draw everything from np.random.default_rng(seed)"

    report.case("markers", markers)
    report.case("targets", targets)
    report.case("seeding", seeding)

    if build_adding_model is not None:
        def model_check():
            given = keras.layers.LSTMCell(4)
            model = build_adding_model(given)
            out = _shape(model(np.zeros((3, 20, 2), "float32")))
            if out != (3, 1):
                return False, "", f"the model should map (batch, time, 2) to (batch, 1); it returned {out}"
            model_ids = {id(w) for w in model.trainable_weights}
            if not given.trainable_weights or not all(id(w) in model_ids for w in given.trainable_weights):
                return False, "", "the model does not train the cell it was given: wrap that cell in keras.layers.RNN(cell)"
            rng = np.random.default_rng(seed)
            given.set_weights([rng.normal(0.0, 1.0, w.shape).astype("float32") for w in given.get_weights()])
            probe = rng.normal(0.0, 2.0, (48, 12, 2)).astype("float32")
            outputs, h = _np(model(probe)), _np(keras.layers.RNN(given)(probe))
            design = np.concatenate([h, np.ones((len(h), 1))], axis=1)
            fit = design @ np.linalg.lstsq(design, outputs, rcond=None)[0]
            return (_close(fit, outputs), "(3, 20, 2) -> (3, 1), a linear Dense(1) of the cell's final output",
                    "the output should be one linear Dense(1) read-out of the RNN's final output (keras.layers.RNN(cell) "
                    "-> Dense(1), no activation and no hidden layer in between)")

        report.case("model: RNN(cell) -> Dense(1)", model_check)
    report.done()
