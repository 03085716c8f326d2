"""Judges of 01_rnn_lstm: compare the probe records with oracles, in the grading process.

Each sub-check judges its own property: where another sub-check already covers the numerics, it is
judged relative to the student's own outputs, so one fault is named once.
"""
from __future__ import annotations

import numpy as np

from autograder.checks.compare import close, compare, split_by_mask
from autograder.checks.construct import constructed
from autograder.checks.fitstep import judge_fit_step
from autograder.checks.isolate import judge_cases
from autograder.checks.roundtrip import same_after_roundtrip
from autograder.checks.symbolic import judge_symbolic
from autograder.checks.train import judge_threshold
from autograder.oracles import keras_ref, numpy_rnn

from . import hints
from .cases import (ADD_PARTIAL_MSE, ADD_PASS_MSE, ADD_T, B, BI_T, CLASS, KERAS, LAYOUT, MS_T, N_STATES, U,
                    adding_data, bi_case, cell_cases, masked_case, sequence_case, weight_shapes)

LOCAL_CHECK = {
    "rnn": {"input_term": "terms", "recurrent_term": "terms", "bias_term": "terms"},
    "lstm": {"forget_gate": "forget gate", "input_gate": "input gate and candidate",
             "input_weights": "weight layout", "recurrent_weights": "weight layout"},
    "gru": {"update_gate": "update gate", "reset_gate": "reset gate", "candidate": "candidate"},
}


def _interface(j, kind) -> bool:
    problems = []
    expected_state = [U] * N_STATES[kind]
    if j.value("state_size") != expected_state:
        problems.append(f"state_size is {j.value('state_size')}, expected {expected_state}")
    build_err = j.error_for("build")
    if build_err:
        problems.append(f"build() failed: {build_err}")
    else:
        for wname, want in zip(("kernel", "recurrent_kernel", "bias"), weight_shapes(kind)):
            got = j.value(f"shape/{wname}")
            if got is None or tuple(got) != tuple(want):
                problems.append(f"`{wname}` has shape {tuple(got) if got else None}, expected {want}")
    j.add("interface", not problems, "; ".join(problems) + f". Prescribed layout: {LAYOUT[kind]}")
    if build_err or any("shape" in p for p in problems):
        j.fail_rest("not checked: the weights do not have the prescribed shapes")
        return False
    return True


def _lstm_c(j, key):
    """The student's returned cell state, whichever position it was returned in."""
    out, s0, s1 = j.array(f"{key}/out"), j.array(f"{key}/state0"), j.array(f"{key}/state1")
    return s0 if close(s1, out) and not close(s0, out) else s1


def _numerics(j, kind, expected, err):
    out_exp, states_exp = expected
    states = [j.array(f"case/full/state{i}") for i in range(len(states_exp))]
    if err:
        return j.fail("numerics", f"calling the cell raised an error: {err}")
    if close(j.array("case/full/out"), out_exp) and all(close(s, e) for s, e in zip(states, states_exp)):
        return j.add("numerics", True)
    if any(a is not None and not np.all(np.isfinite(a)) for a in [j.array("case/full/out"), *states]):
        return j.fail("numerics", "the output or a state contains NaN or inf")
    if kind == "lstm" and close(states[0], states_exp[1]) and close(states[1], states_exp[0]):
        return j.fail("numerics", hints.STATES_SWAPPED)
    h_ok = close(j.array("case/full/out"), out_exp) and close(states[0], states_exp[0])
    c_ok = kind != "lstm" or close(states[1], states_exp[1])
    parts = ([] if h_ok else ["h_t (the output or the returned h state)"]) + ([] if c_ok else ["c_t (the returned cell state)"])
    return j.fail("numerics", f"{' and '.join(parts)} differ from keras.layers.{KERAS[kind]} with the same weights; "
                  "the sub-checks below say which term")


def _lstm_terms(j, cases, expected):
    """Gate cases judged on c_t; the output gate judged on h_t relative to the student's own c_t."""
    for name, sub in LOCAL_CHECK["lstm"].items():
        err = j.error_for(f"case/{name}")
        ok = not err and close(_lstm_c(j, f"case/{name}"), expected[name][1][1])
        share = 1 / sum(1 for s in LOCAL_CHECK["lstm"].values() if s == sub)
        j.add(sub, ok, f"your code raised an error: {err}" if err else cases[name]["hint"], share=share)
    for name in ("output_gate", "input_gate"):  # kernels zero: o_t comes from the bias alone
        case, err = cases[name], j.error_for(f"case/{name}")
        o = numpy_rnn.lstm_gates(case["x"], case["states"][0], *case["weights"])["o"]
        c_got = _lstm_c(j, f"case/{name}")
        ok = not err and c_got is not None and close(j.array(f"case/{name}/out"), o * np.tanh(c_got))
        j.add("output gate", ok, f"your code raised an error: {err}" if err else hints.OUTPUT_GATE, share=0.5)


def _after_step(j, kind, name, seed, one_step_ok):
    seq_exp = keras_ref.rnn_layer(kind, sequence_case(kind, seed)["x"], sequence_case(kind, seed)["weights"])[0]
    states = "[h, c]" if kind == "lstm" else "[h]"
    compare(j, "sequence", "sequence/out", seq_exp,
            hints.SEQUENCE.format(states=states) if one_step_ok else hints.SEQUENCE_AFTER_STEP)
    judge_symbolic(j, "symbolic", "symbolic", [[None, U]], [[B, U]], f"keras.layers.RNN({name}(units))(keras.Input(...))")
    err = j.error_for("config", "roundtrip")
    ok = not err and j.value("config/units") == U and j.value("config/clone_units") == U and same_after_roundtrip(j, "roundtrip")
    j.add("serialization", ok, f"get_config / from_config / .keras round trip failed: {err}" if err else hints.SERIALIZATION_CELL)
    judge_fit_step(j, "trainable", "train", ("kernel", "recurrent_kernel", "bias"))


def cell(j, seed, kind):
    name = CLASS[kind]
    if not constructed(j, "construct", f"`{name}({U})`") or not _interface(j, kind):
        return
    if kind == "lstm":
        init = j.array("init/bias")
        want = np.concatenate([np.zeros(U), np.ones(U), np.zeros(2 * U)])
        j.add("forget bias init", close(init, want), hints.FORGET_BIAS_INIT)
    cases = cell_cases(kind, seed)
    expected = {n: keras_ref.cell_step(kind, c["x"], c["states"], c["weights"]) for n, c in cases.items()}
    err = j.error_for("case/full")
    out, n = j.array("case/full/out"), j.value("case/full/n_states")
    j.add("shape", not err and out is not None and out.shape == (B, U) and n == N_STATES[kind],
          f"calling the cell raised an error: {err}" if err else
          f"expected output (batch, units) = {(B, U)} and {N_STATES[kind]} state(s); got output "
          f"{None if out is None else out.shape} and {n} state(s)")
    one_step_ok = _numerics(j, kind, expected["full"], err)
    if kind == "lstm":
        _lstm_terms(j, cases, expected)
    else:
        judge_cases(j, [(LOCAL_CHECK[kind][c], f"case/{c}",
                         {f"case/{c}/out": expected[c][0], **{f"case/{c}/state{i}": s for i, s in enumerate(expected[c][1])}},
                         cases[c]["hint"]) for c in LOCAL_CHECK[kind]])
    _after_step(j, kind, name, seed, one_step_ok)


def masked_sequences(j, seed):
    case = masked_case(seed)
    if not constructed(j, "construct", "`MaskedRNN`"):
        return
    bad = []
    for rs in (False, True):
        for st in (False, True):
            key = f"flags/{int(rs)}{int(st)}"
            want = [[B, MS_T, U] if rs else [B, U]] + ([[B, U]] * 2 if st else [])
            if j.error_for(key):
                bad.append(f"return_sequences={rs}, return_state={st} raised {j.error_for(key)}")
            elif j.value(f"{key}/shapes") != want:
                bad.append(f"return_sequences={rs}, return_state={st} gave {j.value(f'{key}/shapes')}, expected {want}")
    j.add("shapes", not bad, "; ".join(bad))
    ref = keras_ref.rnn_layer("lstm", case["x"], case["weights"])
    err = j.error_for("unmasked")
    loop_ok = j.add("no mask", not err and all(close(j.array(f"unmasked/{i}"), ref[i]) for i in range(3)),
                    f"your code raised an error: {err}" if err else hints.NO_MASK)
    _judge_any_cell(j, case, loop_ok)
    _judge_mask(j, case)
    h0 = keras_ref.cell_step("lstm", case["x"][:, 0], case["initial"], case["weights"])[0]
    got = j.array("initial_state/out")
    err = j.error_for("initial_state")
    j.add("initial_state", not err and got is not None and got.ndim == 3 and close(got[:, 0], h0),
          f"your code raised an error: {err}" if err else hints.INITIAL_STATE + ("" if loop_ok else hints.AFTER_NO_MASK))
    err = j.error_for("embedding_mask")
    cm = j.array("embedding_mask/compute_mask")
    mask_ok = cm is not None and cm.shape == case["mask"].shape and bool(np.all((cm > 0.5) == case["mask"]))
    used = close(j.array("embedding_mask/out"), j.array("embedding_mask/explicit")) if not err else False
    j.add("mask propagation", not err and used and mask_ok,
          f"with Embedding(mask_zero=True) in front, your layer raised: {err}" if err else
          (hints.MASK_PROPAGATION if not used else hints.COMPUTE_MASK))
    err = j.error_for("config")
    ok = (not err and j.value("config/flags") == [True, False] and j.value("config/clone_flags") == [True, False]
          and close(j.array("config/out"), j.array("config/original")))
    j.add("serialization", ok, f"get_config/from_config failed: {err}" if err else hints.SERIALIZATION_RNN)


def _judge_any_cell(j, case, loop_ok):
    """A one-state cell runs and returns [outputs, state]; its numbers are judged only if the loop is right."""
    err = j.error_for("gru")
    if err:
        return j.fail("any cell", f"with a one-state cell (a GRUCell) your layer raised: {err}")
    shapes = [None if j.array(f"gru/{i}") is None else j.array(f"gru/{i}").shape for i in range(2)]
    if j.value("gru/n") != 2 or shapes != [(B, MS_T, U), (B, U)]:
        return j.fail("any cell", f"{hints.ANY_CELL} (got {j.value('gru/n')} outputs with shapes {shapes})")
    ref = keras_ref.rnn_layer("gru", case["x"], case["gru_weights"])
    return j.add("any cell", not loop_ok or all(close(j.array(f"gru/{i}"), ref[i]) for i in range(2)), hints.ANY_CELL)


def _judge_mask(j, case):
    ref = keras_ref.rnn_layer("lstm", case["x"], case["weights"], mask=case["mask"])
    err, got = j.error_for("masked"), j.array("masked/0")
    if err:
        return j.fail("mask", f"your code raised an error with a mask: {err}")
    if got is None or got.shape != ref[0].shape:
        return j.fail("mask", f"with a mask the output shape is {None if got is None else got.shape}, expected {ref[0].shape}")
    real_ok, pad_ok = split_by_mask(got, ref[0], case["mask"])
    states_ok = close(j.array("masked/1"), ref[1]) and close(j.array("masked/2"), ref[2])
    if not real_ok:
        return j.fail("mask", hints.MASK_REAL)
    if not pad_ok:
        return j.add("mask", False, hints.MASK_PADDED, fraction=0.5)
    return j.add("mask", states_ok, hints.MASK_STATES, fraction=0.5)


def bidirectional_encoder(j, seed):
    case = bi_case(seed)
    if not constructed(j, "construct", "`BidirectionalEncoder`"):
        return
    err = j.error_for("plain")
    seq, h, c = (j.array(f"plain/{i}") for i in range(3))
    want = [(B, BI_T, 2 * U), (B, 2 * U), (B, 2 * U)]
    got = [None if a is None else a.shape for a in (seq, h, c)]
    j.add("shapes", not err and got == want and j.value("plain/n") == 3,
          f"calling the encoder raised an error: {err}" if err else
          f"expected (sequences, state_h, state_c) with shapes {want}; got {j.value('plain/n')} outputs with shapes {got}")
    r_seq, r_fh, r_fc, r_bh, r_bc = keras_ref.bidirectional_lstm(case["x"], case["fw"], case["bw"])
    if err or seq is None or seq.shape != r_seq.shape:
        j.fail("forward half", "not checked: the sequences have the wrong shape or raised an error")
        j.fail("backward half", "not checked: the sequences have the wrong shape or raised an error")
    else:
        fw, bw = seq[..., :U], seq[..., U:]
        j.add("forward half", close(fw, r_seq[..., :U]), hints.BI_SWAPPED if close(fw, r_seq[..., U:]) else hints.BI_FORWARD)
        j.add("backward half", close(bw, r_seq[..., U:]),
              hints.BI_REVERSED if close(bw, r_seq[:, ::-1, U:]) else
              hints.BI_BACKWARD_IS_FORWARD if close(bw, r_seq[..., :U]) else hints.BI_BACKWARD)
    states_ok = close(h, np.concatenate([r_fh, r_bh], -1)) and close(c, np.concatenate([r_fc, r_bc], -1))
    j.add("final states", states_ok and not err, "not checked: calling the encoder raised an error" if err else hints.BI_STATES)
    _judge_bi_mask(j, case)
    judge_symbolic(j, "symbolic", "symbolic", [[None, None, 2 * U], [None, 2 * U], [None, 2 * U]],
                   [[B, BI_T, 2 * U], [B, 2 * U], [B, 2 * U]], "BidirectionalEncoder(...)(keras.Input(shape=(None, features)))")
    err = j.error_for("config")
    j.add("serialization", not err and close(j.array("config/out"), j.array("config/original")),
          f"get_config/from_config failed: {err}" if err else hints.BI_SERIALIZATION)


def _judge_bi_mask(j, case):
    """The masked run against the student's own encoder on each row's real steps alone (relative).

    Each half is compared in time order, or in reverse order when the student's half is time-reversed
    (a flip fault, judged by 'backward half', is not charged again here).
    """
    err = j.error_for("masked", *(f"alone/{b}" for b in range(B)))
    got = j.array("masked/0")
    if err:
        return j.fail("mask", f"with a mask the encoder raised an error: {err}")
    if got is None or got.shape != (B, BI_T, 2 * U):
        return j.fail("mask", "with a mask the sequences have the wrong shape")
    real_ok = zeros_ok = states_ok = True
    for b, row in enumerate(case["mask"]):
        n, alone = int(row.sum()), [j.array(f"alone/{b}/{i}") for i in range(3)]
        if alone[0] is None or alone[0].shape != (1, n, 2 * U):
            return j.fail("mask", "running the encoder on one sequence without padding failed or gave the wrong shape")
        for half in (slice(0, U), slice(U, 2 * U)):
            m, a = got[b, :, half], alone[0][0, :, half]
            orientation = next((o for o in (m, m[::-1]) if close(o[:n], a if o is m else a[::-1])), None)
            real_ok &= orientation is not None
            zeros_ok &= orientation is not None and close(orientation[n:], np.zeros_like(orientation[n:]))
        for i in (1, 2):
            state = j.array(f"masked/{i}")
            states_ok &= state is not None and alone[i] is not None and close(state[b:b + 1], alone[i])
    if not (real_ok and states_ok):
        return j.fail("mask", hints.BI_MASK)
    return j.add("mask", zeros_ok, hints.BI_MASK_ZEROS, fraction=0.5)


def long_term_dependency(j, seed):
    _judge_data(j)
    err = j.error_for("model")
    cell_ids, model_ids = j.value("model/cell_weights") or [], set(j.value("model/model_weights") or [])
    uses_cell = bool(cell_ids) and all(i in model_ids for i in cell_ids)
    shape_ok = j.value("model/out") == [3, 1]
    j.add("model", not err and shape_ok and uses_cell,
          f"build_adding_model(cell) raised: {err}" if err else
          f"the model should map (batch, time, 2) to (batch, 1); it returned shape {j.value('model/out')}" if not shape_ok else
          "the model does not train the cell it was given: wrap that cell in keras.layers.RNN(cell)")
    name = "learns the adding problem"
    if not err and not uses_cell:
        return j.fail(name, "not credited: the model does not use the given cell, so it does not show that an LSTM learns the task")
    err = j.error_for("train", "model")
    pred = j.array("train/pred")
    _, y_test = adding_data(500, ADD_T, seed + 7)
    if err:
        return j.fail(name, f"training raised an error: {err}")
    if pred is None or pred.shape != y_test.shape or not np.all(np.isfinite(pred)):
        return j.fail(name, "the trained model's predictions have the wrong shape or are not finite")
    judge_threshold(j, name, float(np.mean((pred - y_test) ** 2)), ADD_PASS_MSE, ADD_PARTIAL_MSE, hints.ADD_SLOW, hints.ADD_FAIL)


def _judge_data(j):
    err = j.error_for("data")
    x, y = j.array("data/x"), j.array("data/y")
    if err or x is None or y is None:
        for name in ("data shapes", "markers", "targets", "seeding"):
            j.fail(name, f"adding_problem raised an error: {err}" if err else "adding_problem returned nothing")
        return
    n, length, half = 512, 11, 11 // 2
    dtypes = j.value("data/dtypes")
    shapes_ok = x.shape == (n, length, 2) and y.shape == (n, 1)
    j.add("data shapes", shapes_ok and dtypes == ["float32", "float32"],
          f"adding_problem({n}, {length}) returned x {x.shape} and y {y.shape}; expected ({n}, {length}, 2) and ({n}, 1)"
          if not shapes_ok else hints.ADD_DTYPES.format(dtypes=dtypes))
    if not shapes_ok:
        j.fail("markers", "not checked: wrong shapes")
        j.fail("targets", "not checked: wrong shapes")
    else:
        markers = x[:, :, 1]
        first, second = markers[:, :half].argmax(1), markers[:, half:].argmax(1) + half
        markers_ok = (np.all(np.isin(markers, (0.0, 1.0))) and np.all(markers.sum(1) == 2)
                      and np.all(markers[:, :half].sum(1) == 1) and np.all(x[:, :, 0] >= 0) and np.all(x[:, :, 0] < 1)
                      and set(first.tolist()) == set(range(half)) and set(second.tolist()) == set(range(half, length)))
        j.add("markers", markers_ok, hints.ADD_MARKERS)
        j.add("targets", close(y, numpy_rnn.adding_targets(x)), "y must be the sum of the two values whose marker is 1")
    same = (np.array_equal(x, j.array("data/x_again")) and np.array_equal(y, j.array("data/y_again"))
            if j.array("data/x_again") is not None else False)
    other = j.array("data/x_other")
    j.add("seeding", same and other is not None and not np.array_equal(x, other), hints.ADD_SEEDING)
