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
from autograder.oracles import keras_ref, numpy_rnn

from . import hints
from .judges_adding import long_term_dependency  # noqa: F401  (the item's judge, in a module of its own)
from .cases import (B, BI_T, CLASS, KERAS, LAYOUT, MS_T, N_STATES, U,
                    bi_case, cell_cases, masked_case, sequence_case, weight_shapes)

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
    passed = {name: not j.error_for(f"case/{name}") and close(_lstm_c(j, f"case/{name}"), expected[name][1][1])
              for name in LOCAL_CHECK["lstm"]}
    both_layout = not passed["input_weights"] and not passed["recurrent_weights"]
    for name, sub in LOCAL_CHECK["lstm"].items():
        err = j.error_for(f"case/{name}")
        share = 1 / sum(1 for s in LOCAL_CHECK["lstm"].values() if s == sub)
        hint = hints.LSTM_LAYOUT if both_layout and sub == "weight layout" else cases[name]["hint"]
        j.add(sub, passed[name], f"your code raised an error: {err}" if err else hint, share=share)
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
            hints.SEQUENCE.format(states=states) if one_step_ok else hints.SEQUENCE_AFTER_STEP, step="sequence")
    judge_symbolic(j, "symbolic", "symbolic", [[None, U]], [[B, U]], f"keras.layers.RNN({name}(units))(keras.Input(...))")
    err = j.error_for("config", "roundtrip")
    ok = not err and j.value("config/units") == U and j.value("config/clone_units") == U and same_after_roundtrip(j, "roundtrip")
    j.add("serialization", ok, f"get_config / from_config / .keras round trip failed: {err}. {hints.SERIALIZATION_CELL}"
          if err else hints.SERIALIZATION_CELL)
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
    ref = keras_ref.rnn_layer("gru", case["x"], case["gru_weights"])  # the grader's cell outputs 2 h, keeps h
    ok = close(j.array("gru/0"), 2.0 * ref[0]) and close(j.array("gru/1"), ref[1])
    return j.add("any cell", not loop_ok or ok, hints.ANY_CELL)


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
    real_ok, padded_states_ok = _judge_bi_mask(j, case)
    j.add("final states", states_ok and not err and (padded_states_ok or not real_ok),
          "not checked: calling the encoder raised an error" if err else
          hints.BI_STATES if not states_ok else hints.BI_PADDED_STATES)
    judge_symbolic(j, "symbolic", "symbolic", [[None, None, 2 * U], [None, 2 * U], [None, 2 * U]],
                   [[B, BI_T, 2 * U], [B, 2 * U], [B, 2 * U]], "BidirectionalEncoder(...)(keras.Input(shape=(None, features)))")
    err = j.error_for("config")
    j.add("serialization", not err and close(j.array("config/out"), j.array("config/original")),
          f"get_config/from_config failed: {err}" if err else hints.BI_SERIALIZATION)


def _judge_bi_mask(j, case):
    """The masked run against the student's own encoder on each row's real steps alone (relative).

    Each half is compared in time order, or in reverse order when the student's half is time-reversed
    (a flip fault, judged by 'backward half', is not charged again here). Judges the sequences ('mask');
    returns (real steps ok, final states ok) for 'final states'.
    """
    err = j.error_for("masked", *(f"alone/{b}" for b in range(B)))
    got = j.array("masked/0")
    if err or got is None or got.shape != (B, BI_T, 2 * U):
        j.fail("mask", f"with a mask the encoder raised an error: {err}" if err else "with a mask the sequences have the wrong shape")
        return False, False
    real_ok = zeros_ok = states_ok = True
    for b, row in enumerate(case["mask"]):
        alone = [j.array(f"alone/{b}/{i}") for i in range(3)]
        if alone[0] is None or alone[0].shape != (1, int(row.sum()), 2 * U):
            j.fail("mask", "running the encoder on one sequence without padding failed or gave the wrong shape")
            return False, False
        for half in (slice(0, U), slice(U, 2 * U)):
            m, a = got[b, :, half], alone[0][0, :, half]
            timed = next((o for o, r in ((m, a), (m[::-1], a[::-1])) if close(o[row], r)), None)  # time order
            real_ok &= timed is not None
            zeros_ok &= timed is not None and close(timed[~row], np.zeros_like(timed[~row]))
        for i in (1, 2):
            state = j.array(f"masked/{i}")
            states_ok &= state is not None and alone[i] is not None and close(state[b:b + 1], alone[i])
    if not real_ok:
        j.fail("mask", hints.BI_MASK)
    else:
        j.add("mask", zeros_ok, hints.BI_MASK_ZEROS, fraction=0.5)
    return real_ok, states_ok
