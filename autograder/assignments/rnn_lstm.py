"""Graded items of assignment 01_rnn_lstm: probes (student side) and judges (grader side).

Inputs and weights are chosen by the grader from a seed. The probe assigns them into the student's
layer and returns only the outputs; the judge regenerates the same inputs and weights from the seed
and computes the expected values with an oracle (Keras built-ins with copied weights, NumPy).
"""
from __future__ import annotations

import os
import tempfile

import numpy as np

from autograder.judging import Judge
from autograder.probing import Probe, as_list, shape_of
from autograder.registry import Item, register

ASSIGNMENT = "01_rnn_lstm"
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


# ---------------------------------------------------------------------------------------------
# Cases: grader-chosen inputs and weights, a pure function of (kind, seed)
# ---------------------------------------------------------------------------------------------

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


def cell_cases(kind: str, seed: int) -> dict:
    """name -> dict(x, states, weights, hint). 'full' uses random everything; the others isolate a term."""
    rng = np.random.default_rng(seed)
    kshape, rshape, bshape = weight_shapes(kind)

    def rand(shape, scale=0.6):
        return rng.normal(0, scale, shape).astype(np.float32)

    def zeros(shape):
        return np.zeros(shape, np.float32)

    x = rand((B, D), 1.0)
    states = [rand((B, U), 0.8) for _ in range(N_STATES[kind])]
    cases = {"full": dict(x=x, states=states, weights=[rand(kshape), rand(rshape), rand(bshape)],
                          hint="the output differs from the reference cell with the same weights")}
    if kind == "rnn":
        cases["input_term"] = dict(x=x, states=states, weights=[rand(kshape), zeros(rshape), zeros(bshape)],
                                   hint="with only `kernel` non-zero, h_t should be tanh(x_t W_x): check the input term")
        cases["recurrent_term"] = dict(x=x, states=states, weights=[zeros(kshape), rand(rshape), zeros(bshape)],
                                       hint="with only `recurrent_kernel` non-zero, h_t should be tanh(h_{t-1} W_h): check the recurrent term")
        cases["bias_term"] = dict(x=x, states=states, weights=[zeros(kshape), zeros(rshape), rand(bshape)],
                                  hint="with only `bias` non-zero, h_t should be tanh(b): check the bias and the activation")
    elif kind == "lstm":
        big = 20.0
        no_memory = [states[0], zeros((B, U))]  # c_{t-1} = 0: the forget gate plays no part
        # each case holds the other gates fixed so that one wrong gate does not fail the others' cases:
        # candidate bias 0 (g = 0) removes i*g; c_{t-1} = 0 removes f*c
        cases["forget_gate"] = dict(
            x=x, states=states, weights=[zeros(kshape), zeros(rshape), _gate_bias("lstm", rng, {"i": -big, "c": 0.0, "o": big})],
            hint="with the input gate shut and the output gate open, c_t = f_t * c_{t-1}: the forget gate "
                 "f_t = sigmoid(x W_f + h U_f + b_f) is wrong (its activation, its bias, or which block of the weights it uses)")
        cases["input_gate"] = dict(
            x=x, states=no_memory, weights=[zeros(kshape), zeros(rshape), _gate_bias("lstm", rng, {"o": big})],
            hint="with c_{t-1} = 0 and the output gate open, c_t = i_t * tanh(candidate): the input gate "
                 "i_t = sigmoid(...) or the candidate tanh(...) is wrong (activation, bias or weight block)")
        cases["output_gate"] = dict(
            x=x, states=states, weights=[zeros(kshape), zeros(rshape), _gate_bias("lstm", rng, {"i": -big, "c": 0.0, "f": big})],
            hint="with c_t = c_{t-1} held, h_t = o_t * tanh(c_t): the output gate o_t = sigmoid(...) or the final "
                 "tanh on the cell state is wrong")
        cases["input_weights"] = dict(
            x=x, states=[zeros((B, U)), zeros((B, U))], weights=[rand(kshape), zeros(rshape), zeros(bshape)],
            hint="with only `kernel` non-zero the result is wrong: check x_t @ kernel and the gate order i, f, c, o of its columns")
        cases["recurrent_weights"] = dict(
            x=x, states=no_memory, weights=[zeros(kshape), rand(rshape), zeros(bshape)],
            hint="with only `recurrent_kernel` non-zero the result is wrong: check h_{t-1} @ recurrent_kernel (not c_{t-1})")
    elif kind == "gru":
        big = 20.0
        cases["update_gate"] = dict(
            x=x, states=states, weights=[zeros(kshape), zeros(rshape), _gate_bias("gru", rng, {"h": 0.0, "h_rec": 0.0})],
            hint="with the candidate at 0, h_t = z_t * h_{t-1}: the update gate z_t = sigmoid(x W_z + b_z + h U_z + b'_z) "
                 "or the interpolation h_t = z_t * h_{t-1} + (1 - z_t) * candidate is wrong")
        cases["reset_gate"] = dict(
            x=x, states=states, weights=[zeros(kshape), rand(rshape), _gate_bias("gru", rng, {"z": -big, "z_rec": 0.0})],
            hint="with z_t = 0, h_t = tanh(x W_h + b_h + r_t * (h_{t-1} U_h + b'_h)): the reset gate is applied in the "
                 "wrong place (this kit uses reset_after=True: r multiplies the recurrent product, after the matmul)")
        cases["candidate"] = dict(
            x=x, states=states, weights=[rand(kshape), zeros(rshape), _gate_bias("gru", rng, {"z": -big, "z_rec": 0.0})],
            hint="with z_t = 0 and no recurrent weights, h_t = tanh(x W_h + b_h + r_t * b'_h): the candidate is wrong "
                 "(check the column block z, r, h and the two bias rows)")
    return cases


def sequence_case(kind: str, seed: int) -> dict:
    rng = np.random.default_rng(seed + 1)
    kshape, rshape, bshape = weight_shapes(kind)
    return dict(x=rng.normal(0, 1, (B, T, D)).astype(np.float32),
                weights=[rng.normal(0, 0.5, s).astype(np.float32) for s in (kshape, rshape, bshape)])


# ---------------------------------------------------------------------------------------------
# Cell items
# ---------------------------------------------------------------------------------------------

def _assign(cell, weights):
    for name, value in zip(("kernel", "recurrent_kernel", "bias"), weights):
        getattr(cell, name).assign(value)


def probe_cell(kind: str, ns: dict, seed: int) -> dict:
    import keras

    p = Probe(ns)
    cell = None
    with p.step("construct"):
        cls = p.need(CLASS[kind])
        cell = cls(U)
        p.put("state_size", [int(s) for s in as_list(cell.state_size)])
    if cell is None:
        return p.result()
    with p.step("build"):
        cell.build((None, D))
        for name in ("kernel", "recurrent_kernel", "bias"):
            if getattr(cell, name, None) is None:
                raise AttributeError(f"after build() the cell has no attribute `{name}`")
            p.put(f"shape/{name}", shape_of(getattr(cell, name)))
    if "build" in p.errors:
        return p.result()
    for name, case in cell_cases(kind, seed).items():
        with p.step(f"case/{name}"):
            _assign(cell, case["weights"])
            out, new_states = cell(case["x"], [keras.ops.convert_to_tensor(s) for s in case["states"]])
            p.put(f"case/{name}/out", out)
            for i, s in enumerate(as_list(new_states)):
                p.put(f"case/{name}/state{i}", s)
            p.put(f"case/{name}/n_states", len(as_list(new_states)))
    seq = sequence_case(kind, seed)
    with p.step("sequence"):
        _assign(cell, seq["weights"])
        layer = keras.layers.RNN(cell, return_sequences=True)
        p.put("sequence/out", layer(seq["x"]))
    with p.step("symbolic"):
        inputs = keras.Input(shape=(T, D))
        outputs = keras.layers.RNN(cls(U))(inputs)
        model = keras.Model(inputs, outputs)
        p.put("symbolic/shape", shape_of(outputs))
        p.put("symbolic/run", shape_of(model(seq["x"])))
    with p.step("config"):
        config = cell.get_config()
        p.put("config/units", config.get("units") if isinstance(config.get("units"), int) else None)
        clone = cls.from_config(config)
        p.put("config/clone_units", getattr(clone, "units", None))
        model = keras.Sequential([keras.Input((T, D)), keras.layers.RNN(cls(U))])
        expected = model(seq["x"])
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.keras")
            model.save(path)
            loaded = keras.saving.load_model(path, custom_objects={cls.__name__: cls})
        p.put("config/roundtrip_diff", float(np.max(np.abs(keras.ops.convert_to_numpy(loaded(seq["x"])) - keras.ops.convert_to_numpy(expected)))))
    with p.step("train"):
        keras.utils.set_random_seed(seed % (2**31))
        train_cell = cls(U)
        model = keras.Sequential([keras.Input((T, D)), keras.layers.RNN(train_cell), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
        names = ("kernel", "recurrent_kernel", "bias")
        before = [keras.ops.convert_to_numpy(getattr(train_cell, n)).copy() for n in names]
        target = np.random.default_rng(seed).normal(0, 1, (B, 1)).astype(np.float32)
        model.train_on_batch(seq["x"], target)
        after = [keras.ops.convert_to_numpy(getattr(train_cell, n)) for n in names]
        p.put("train/changed", [bool(not np.allclose(a, b, atol=0, rtol=0)) for a, b in zip(after, before)])
    return p.result()


def judge_cell(kind: str, result: dict, seed: int):
    from autograder.oracles import keras_ref

    j = Judge(result)
    name = CLASS[kind]
    pts = POINTS_CELL[kind]
    construct_err = j.error_for("construct")
    if construct_err:
        msg = f"could not create `{name}({U})`: {construct_err}"
        for check, points in pts.items():
            j.fail(check, points, msg if check == "interface" else "not checked: the cell could not be created")
        return j.checks
    # interface: state size and the prescribed weight layout
    problems = []
    expected_state = [U] * N_STATES[kind]
    if j.data.get("state_size") != expected_state:
        problems.append(f"state_size is {j.data.get('state_size')}, expected {expected_state}")
    build_err = j.error_for("build")
    if build_err:
        problems.append(f"build() failed: {build_err}")
    else:
        for wname, want in zip(("kernel", "recurrent_kernel", "bias"), weight_shapes(kind)):
            got = j.data.get(f"shape/{wname}")
            if got is None or tuple(got) != tuple(want):
                problems.append(f"`{wname}` has shape {tuple(got) if got else None}, expected {want}")
    j.add("interface", pts["interface"], not problems,
          "; ".join(problems) + f". Prescribed layout: {LAYOUT[kind]}")
    if build_err or any("shape" in p for p in problems):
        for check, points in pts.items():
            if check != "interface":
                j.fail(check, points, "not checked: the weights do not have the prescribed shapes")
        return j.checks

    cases = cell_cases(kind, seed)
    expected = {n: keras_ref.cell_step(kind, c["x"], c["states"], c["weights"]) for n, c in cases.items()}
    # shapes of the output and the states
    err = j.error_for("case/full")
    if err:
        j.fail("shape", pts["shape"], f"calling the cell raised an error: {err}")
    else:
        out = j.array("case/full/out")
        n = j.data.get("case/full/n_states")
        ok = out is not None and out.shape == (B, U) and n == N_STATES[kind]
        j.add("shape", pts["shape"], ok,
              f"expected output (batch, units) = {(B, U)} and {N_STATES[kind]} state(s); got output "
              f"{None if out is None else out.shape} and {n} state(s)")
    # full numerics: output and every state
    out_exp, states_exp = expected["full"]
    keys_ok = j.close("case/full/out", out_exp) and all(
        j.close(f"case/full/state{i}", s) for i, s in enumerate(states_exp))
    if err:
        j.fail("numerics", pts["numerics"], f"calling the cell raised an error: {err}")
    elif keys_ok:
        j.add("numerics", pts["numerics"], True)
    elif any(a is not None and not np.all(np.isfinite(a)) for a in
             [j.array("case/full/out")] + [j.array(f"case/full/state{i}") for i in range(len(states_exp))]):
        j.fail("numerics", pts["numerics"], "the output or a state contains NaN or inf")
    else:
        h_ok = j.close("case/full/out", out_exp) and j.close("case/full/state0", states_exp[0])
        c_ok = kind != "lstm" or j.close("case/full/state1", states_exp[1])
        parts = ([] if h_ok else ["h_t (the output or the returned h state)"]) + ([] if c_ok else ["c_t (the returned cell state)"])
        j.fail("numerics", pts["numerics"],
               f"{' and '.join(parts)} differ from keras.layers.{KERAS[kind]} with the same weights; "
               "the sub-checks below say which term")
    # localization cases
    for case_name, case in cases.items():
        if case_name == "full":
            continue
        out_exp, states_exp = expected[case_name]
        check = LOCAL_CHECK[kind].get(case_name, case_name)
        err = j.error_for(f"case/{case_name}")
        ok = not err and j.close(f"case/{case_name}/out", out_exp) and all(
            j.close(f"case/{case_name}/state{i}", s) for i, s in enumerate(states_exp))
        msg = f"your code raised an error: {err}" if err else case["hint"]
        points = pts[check] / sum(1 for n in cases if LOCAL_CHECK[kind].get(n, n) == check)
        j.add(check, points, ok, msg)
    _merge_same_name(j)
    # over time inside keras.layers.RNN
    seq = sequence_case(kind, seed)
    seq_exp = keras_ref.rnn_layer(kind, seq["x"], seq["weights"])[0]
    one_step_ok = not err and keys_ok
    j.compare("sequence", pts["sequence"], "sequence/out", seq_exp,
              "inside keras.layers.RNN over 6 steps the outputs differ: check that the returned states are the "
              "ones the next step needs (" + ("[h, c]" if kind == "lstm" else "[h]") + ")" if one_step_ok else
              "inside keras.layers.RNN over 6 steps the outputs differ too (a single step is already wrong: fix that first)")
    # symbolic use with keras.Input
    err = j.error_for("symbolic")
    ok = not err and j.data.get("symbolic/shape") == [None, U] and j.data.get("symbolic/run") == [B, U]
    j.add("symbolic", pts["symbolic"], ok,
          f"keras.layers.RNN({name}(units))(keras.Input(shape=(time, features))) failed: {err}" if err else
          f"with a symbolic keras.Input the output shape was {j.data.get('symbolic/shape')}, expected [None, {U}]")
    # serialization
    err = j.error_for("config")
    ok = (not err and j.data.get("config/units") == U and j.data.get("config/clone_units") == U
          and j.data.get("config/roundtrip_diff") is not None and j.data["config/roundtrip_diff"] < 1e-5)
    j.add("serialization", pts["serialization"], ok,
          f"get_config / from_config / .keras round trip failed: {err}" if err else
          "get_config() must include `units` (chain to super().get_config()) so that from_config and a .keras "
          "save/load rebuild the same cell")
    # trainability
    err = j.error_for("train")
    changed = j.data.get("train/changed")
    ok = not err and isinstance(changed, list) and len(changed) == 3 and all(changed)
    if err:
        msg = f"a training step raised an error: {err}"
    else:
        stuck = [n for n, c in zip(("kernel", "recurrent_kernel", "bias"), changed or []) if not c]
        msg = f"one fit step did not change {', '.join(stuck) or 'the weights'}: are they created with add_weight(trainable=True) and used in call()?"
    j.add("trainable", pts["trainable"], ok, msg)
    return j.checks


def _merge_same_name(j: Judge) -> None:
    """Several cases may feed one sub-check (e.g. LSTM input and recurrent weights): merge them."""
    merged = []
    for c in j.checks:
        if merged and merged[-1].name == c.name:
            prev = merged[-1]
            prev.points = round(prev.points + c.points, 4)
            prev.earned = round(prev.earned + c.earned, 4)
            prev.message = "; ".join(m for m in (prev.message, c.message) if m)
        else:
            merged.append(c)
    j.checks[:] = merged


LOCAL_CHECK = {
    "rnn": {"input_term": "terms", "recurrent_term": "terms", "bias_term": "terms"},
    "lstm": {"forget_gate": "forget gate", "input_gate": "input gate and candidate", "output_gate": "output gate",
             "input_weights": "weight layout", "recurrent_weights": "weight layout"},
    "gru": {"update_gate": "update gate", "reset_gate": "reset gate", "candidate": "candidate"},
}

POINTS_CELL = {
    "rnn": {"interface": 0.25, "shape": 0.25, "numerics": 0.75, "terms": 0.75, "sequence": 0.25,
            "symbolic": 0.25, "serialization": 0.25, "trainable": 0.25},
    "lstm": {"interface": 0.25, "shape": 0.25, "numerics": 1.5, "forget gate": 0.5, "input gate and candidate": 0.5,
             "output gate": 0.5, "weight layout": 0.5, "sequence": 0.25, "symbolic": 0.25, "serialization": 0.25,
             "trainable": 0.25},
    "gru": {"interface": 0.25, "shape": 0.25, "numerics": 1.25, "update gate": 0.5, "reset gate": 0.5,
            "candidate": 0.25, "sequence": 0.25, "symbolic": 0.25, "serialization": 0.25, "trainable": 0.25},
}


# ---------------------------------------------------------------------------------------------
# masked_sequences: MaskedRNN around an oracle cell (a wrong LSTMCell is not charged again here)
# ---------------------------------------------------------------------------------------------

MS_T = 7


def masked_case(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (B, MS_T, D)).astype(np.float32)
    lengths = [MS_T, 4, 1, 6, 3]
    mask = np.array([[t < n for t in range(MS_T)] for n in lengths])
    mask[3] = [False, False, True, True, True, True, True]  # left-padded row
    weights = [rng.normal(0, 0.5, s).astype(np.float32) for s in weight_shapes("lstm")]
    initial = [rng.normal(0, 0.5, (B, U)).astype(np.float32) for _ in range(2)]
    vocab = 11
    ids = rng.integers(1, vocab, (B, MS_T))
    ids[~mask] = 0
    ids[3] = np.where(mask[3], ids[3], 0)
    embedding = rng.normal(0, 1, (vocab, D)).astype(np.float32)
    return dict(x=x, mask=mask, weights=weights, initial=initial, ids=ids, embedding=embedding)


def _oracle_lstm(weights):
    import keras

    cell = keras.layers.LSTMCell(U)
    cell.build((None, D))
    cell.set_weights(weights)
    return cell


def probe_masked(ns: dict, seed: int) -> dict:
    import keras

    p = Probe(ns)
    case = masked_case(seed)
    layer_cls = None
    with p.step("construct"):
        layer_cls = p.need("MaskedRNN")
    if layer_cls is None:
        return p.result()
    for rs in (False, True):
        for st in (False, True):
            key = f"flags/{int(rs)}{int(st)}"
            with p.step(key):
                out = layer_cls(_oracle_lstm(case["weights"]), return_sequences=rs, return_state=st)(case["x"])
                outs = as_list(out) if st else [out]
                p.put(key + "/shapes", [str(shape_of(o)) for o in outs])
    with p.step("unmasked"):
        outs = layer_cls(_oracle_lstm(case["weights"]), return_sequences=True, return_state=True)(case["x"])
        for i, o in enumerate(as_list(outs)[:3]):
            p.put(f"unmasked/{i}", o)
    with p.step("masked"):
        outs = layer_cls(_oracle_lstm(case["weights"]), return_sequences=True, return_state=True)(case["x"], mask=case["mask"])
        for i, o in enumerate(as_list(outs)[:3]):
            p.put(f"masked/{i}", o)
    with p.step("initial_state"):
        out = layer_cls(_oracle_lstm(case["weights"]), return_sequences=True)(
            case["x"], mask=case["mask"], initial_state=[keras.ops.convert_to_tensor(s) for s in case["initial"]])
        p.put("initial_state/out", out)
    with p.step("embedding_mask"):
        inputs = keras.Input(shape=(MS_T,), dtype="int32")
        emb = keras.layers.Embedding(case["embedding"].shape[0], D, mask_zero=True)
        hidden = emb(inputs)
        layer = layer_cls(_oracle_lstm(case["weights"]), return_sequences=True)
        outputs = layer(hidden)
        model = keras.Model(inputs, outputs)
        emb.set_weights([case["embedding"]])
        p.put("embedding_mask/out", model(case["ids"]))
        produced = layer.compute_mask(keras.ops.convert_to_tensor(case["x"]), keras.ops.convert_to_tensor(case["mask"]))
        p.put("embedding_mask/compute_mask", produced if produced is not None else np.zeros((0,)))
    with p.step("config"):
        layer = layer_cls(_oracle_lstm(case["weights"]), return_sequences=True, return_state=False)
        config = layer.get_config()
        p.put("config/flags", [config.get("return_sequences"), config.get("return_state")])
        clone = layer_cls.from_config(config)
        p.put("config/clone_flags", [getattr(clone, "return_sequences", None), getattr(clone, "return_state", None)])
        layer(case["x"])
        clone(case["x"])  # builds the clone's (fresh) weights, then copy the originals over
        clone.set_weights(layer.get_weights())
        p.put("config/out", clone(case["x"]))
    return p.result()


def judge_masked(result: dict, seed: int):
    from autograder.oracles import keras_ref

    j = Judge(result)
    case = masked_case(seed)
    err = j.error_for("construct")
    if err:
        for name, pts in POINTS_MASKED.items():
            j.fail(name, pts, err)
        return j.checks
    # shapes for the four flag combinations
    bad = []
    for rs in (False, True):
        for st in (False, True):
            key = f"flags/{int(rs)}{int(st)}"
            out_shape = str([B, MS_T, U] if rs else [B, U])
            want = [out_shape] + ([str([B, U])] * 2 if st else [])
            if j.error_for(key):
                bad.append(f"return_sequences={rs}, return_state={st} raised {j.error_for(key)}")
            elif j.data.get(key + "/shapes") != want:
                bad.append(f"return_sequences={rs}, return_state={st} gave {j.data.get(key + '/shapes')}, expected {want}")
    j.add("shapes", POINTS_MASKED["shapes"], not bad, "; ".join(bad))
    ref = keras_ref.rnn_layer("lstm", case["x"], case["weights"])
    ok = all(j.close(f"unmasked/{i}", ref[i]) for i in range(3))
    j.add("no mask", POINTS_MASKED["no mask"], ok,
          f"your code raised an error: {j.error_for('unmasked')}" if j.error_for("unmasked") else
          "without a mask the outputs or final states differ from keras.layers.RNN with the same cell: "
          "run the cell step by step and return [outputs, *final_states]")
    # masked: localize real steps vs padded steps vs final states
    ref = keras_ref.rnn_layer("lstm", case["x"], case["weights"], mask=case["mask"])
    err = j.error_for("masked")
    got = j.array("masked/0")
    if err:
        j.fail("mask", POINTS_MASKED["mask"], f"your code raised an error with a mask: {err}")
    elif got is None or got.shape != ref[0].shape:
        j.fail("mask", POINTS_MASKED["mask"], f"with a mask the output shape is {None if got is None else got.shape}, expected {ref[0].shape}")
    else:
        real = case["mask"]
        real_ok = np.allclose(got[real], ref[0][real], rtol=1e-4, atol=1e-5)
        pad_ok = np.allclose(got[~real], ref[0][~real], rtol=1e-4, atol=1e-5)
        states_ok = j.close("masked/1", ref[1]) and j.close("masked/2", ref[2])
        if real_ok and pad_ok and states_ok:
            j.add("mask", POINTS_MASKED["mask"], True)
        elif not real_ok:
            j.fail("mask", POINTS_MASKED["mask"],
                   "outputs at real (mask=True) steps differ from keras.layers.RNN: after a padded step the next real "
                   "step must start from the last real state. Are you carrying the previous state over padded steps "
                   "(ops.where(mask, new_state, old_state))?")
        elif not pad_ok:
            j.add("mask", POINTS_MASKED["mask"], False,
                  "output matches at real steps but not where the mask is 0: at a padded step the output should repeat "
                  "the previous output (keras.layers.RNN with zero_output_for_mask=False)",
                  earned=POINTS_MASKED["mask"] / 2)
        else:
            j.add("mask", POINTS_MASKED["mask"], False,
                  "outputs match but the returned final states do not: return the states as they were at the last "
                  "real step (carry them over padded steps)", earned=POINTS_MASKED["mask"] / 2)
    ref = keras_ref.rnn_layer("lstm", case["x"], case["weights"], mask=case["mask"], initial_state=case["initial"])
    j.compare("initial_state", POINTS_MASKED["initial_state"], "initial_state/out", ref[0],
              "initial_state=[h0, c0] was not used as the starting state", step="initial_state")
    embedded = case["embedding"][case["ids"]]
    ref = keras_ref.rnn_layer("lstm", embedded, case["weights"], mask=case["ids"] != 0)
    err = j.error_for("embedding_mask")
    ok = not err and j.close("embedding_mask/out", ref[0])
    cm = j.array("embedding_mask/compute_mask")
    mask_ok = cm is not None and cm.shape == case["mask"].shape and bool(np.all((cm > 0.5) == case["mask"]))
    j.add("mask propagation", POINTS_MASKED["mask propagation"], ok and mask_ok,
          f"with Embedding(mask_zero=True) in front, your layer raised: {err}" if err else
          ("the mask made by Embedding(mask_zero=True) was not used: accept `mask=None` in call() and set "
           "supports_masking = True" if not ok else
           "compute_mask should return the input mask when return_sequences=True (so later layers see it)"))
    err = j.error_for("config")
    ok = (not err and j.data.get("config/flags") == [True, False] and j.data.get("config/clone_flags") == [True, False]
          and j.close("config/out", keras_ref.rnn_layer("lstm", case["x"], case["weights"])[0]))
    j.add("serialization", POINTS_MASKED["serialization"], ok,
          f"get_config/from_config failed: {err}" if err else
          "get_config() must hold `cell`, `return_sequences` and `return_state`, and from_config must rebuild a "
          "layer that computes the same outputs")
    return j.checks


POINTS_MASKED = {"shapes": 0.5, "no mask": 0.5, "mask": 1.0, "initial_state": 0.25, "mask propagation": 0.5,
                 "serialization": 0.25}


# ---------------------------------------------------------------------------------------------
# bidirectional_encoder: oracle LSTM cells injected
# ---------------------------------------------------------------------------------------------

BI_T = 6


def bi_case(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (B, BI_T, D)).astype(np.float32)
    lengths = [BI_T, 3, 5, 1, 4]
    mask = np.array([[t < n for t in range(BI_T)] for n in lengths])
    fw = [rng.normal(0, 0.5, s).astype(np.float32) for s in weight_shapes("lstm")]
    bw = [rng.normal(0, 0.5, s).astype(np.float32) for s in weight_shapes("lstm")]
    return dict(x=x, mask=mask, fw=fw, bw=bw)


def probe_bidirectional(ns: dict, seed: int) -> dict:
    import keras

    p = Probe(ns)
    case = bi_case(seed)
    cls = None
    with p.step("construct"):
        cls = p.need("BidirectionalEncoder")
    if cls is None:
        return p.result()
    for key, mask in (("plain", None), ("masked", case["mask"])):
        with p.step(key):
            encoder = cls(_oracle_lstm(case["fw"]), _oracle_lstm(case["bw"]))
            outs = encoder(case["x"], mask=mask) if mask is not None else encoder(case["x"])
            outs = as_list(outs)
            p.put(f"{key}/n", len(outs))
            for i, o in enumerate(outs[:3]):
                p.put(f"{key}/{i}", o)
    with p.step("symbolic"):
        inputs = keras.Input(shape=(BI_T, D))
        outs = as_list(cls(keras.layers.LSTMCell(U), keras.layers.LSTMCell(U))(inputs))
        p.put("symbolic/shapes", [str(shape_of(o)) for o in outs])
    with p.step("config"):
        encoder = cls(_oracle_lstm(case["fw"]), _oracle_lstm(case["bw"]))
        clone = cls.from_config(encoder.get_config())
        outs = as_list(clone(case["x"]))
        p.put("config/shape", shape_of(outs[0]))
    return p.result()


def judge_bidirectional(result: dict, seed: int):
    from autograder.oracles import keras_ref

    j = Judge(result)
    case = bi_case(seed)
    pts = POINTS_BI
    err = j.error_for("construct")
    if err:
        for name, p in pts.items():
            j.fail(name, p, err)
        return j.checks
    err = j.error_for("plain")
    seq, h, c = (j.array(f"plain/{i}") for i in range(3))
    want_shapes = [(B, BI_T, 2 * U), (B, 2 * U), (B, 2 * U)]
    got_shapes = [None if a is None else a.shape for a in (seq, h, c)]
    if err:
        j.fail("shapes", pts["shapes"], f"calling the encoder raised an error: {err}")
    else:
        j.add("shapes", pts["shapes"], got_shapes == want_shapes and j.data.get("plain/n") == 3,
              f"expected (sequences, state_h, state_c) with shapes {want_shapes}; got {j.data.get('plain/n')} outputs with shapes {got_shapes}")
    ref = keras_ref.bidirectional_lstm(case["x"], case["fw"], case["bw"])
    r_seq, r_fh, r_fc, r_bh, r_bc = ref
    ok_shape = seq is not None and seq.shape == r_seq.shape
    fwd_ok = ok_shape and np.allclose(seq[..., :U], r_seq[..., :U], rtol=1e-4, atol=1e-5)
    bwd_ok = ok_shape and np.allclose(seq[..., U:], r_seq[..., U:], rtol=1e-4, atol=1e-5)
    if err or not ok_shape:
        j.fail("forward half", pts["forward half"], "not checked: the sequences have the wrong shape or raised an error")
        j.fail("backward half", pts["backward half"], "not checked: the sequences have the wrong shape or raised an error")
    else:
        swapped = np.allclose(seq[..., :U], r_seq[..., U:], rtol=1e-4, atol=1e-5)
        j.add("forward half", pts["forward half"], fwd_ok,
              "sequences[..., :units] look like the backward direction: concatenate [forward, backward]" if swapped else
              "sequences[..., :units] should be the forward RNN's outputs, in time order")
        if bwd_ok:
            j.add("backward half", pts["backward half"], True)
        elif np.allclose(seq[..., U:], r_seq[:, ::-1, U:], rtol=1e-4, atol=1e-5):
            j.fail("backward half", pts["backward half"],
                   "the backward outputs are in reversed time order: a go_backwards RNN returns its outputs from the last "
                   "step to the first, so flip them back along the time axis before concatenating")
        elif np.allclose(seq[..., :U], r_seq[..., U:], rtol=1e-4, atol=1e-5):
            j.fail("backward half", pts["backward half"], "sequences[..., units:] look like the forward direction: concatenate [forward, backward]")
        else:
            j.fail("backward half", pts["backward half"],
                   "sequences[..., units:] should be the backward RNN's outputs (it reads x_T ... x_1), flipped back into time order")
    states_ok = (j.close("plain/1", np.concatenate([r_fh, r_bh], -1)) and j.close("plain/2", np.concatenate([r_fc, r_bc], -1)))
    j.add("final states", pts["final states"], states_ok and not err,
          "state_h / state_c should be concat([forward final, backward final]) of h and c respectively "
          "(the backward final state is the one after reading x_1)")
    ref = keras_ref.bidirectional_lstm(case["x"], case["fw"], case["bw"], mask=case["mask"])
    err = j.error_for("masked")
    m_seq = j.array("masked/0")
    if err:
        j.fail("mask", pts["mask"], f"with a mask the encoder raised an error: {err}")
    elif m_seq is None or m_seq.shape != ref[0].shape:
        j.fail("mask", pts["mask"], "with a mask the sequences have the wrong shape")
    else:
        real = case["mask"]
        real_ok = np.allclose(m_seq[real], ref[0][real], rtol=1e-4, atol=1e-5)
        pad_zero = np.allclose(m_seq[~real], 0.0, atol=1e-6)
        states_ok = j.close("masked/1", np.concatenate([ref[1], ref[3]], -1)) and j.close("masked/2", np.concatenate([ref[2], ref[4]], -1))
        if real_ok and pad_zero and states_ok:
            j.add("mask", pts["mask"], True)
        elif not real_ok or not states_ok:
            j.fail("mask", pts["mask"], "with right-padded sequences the real steps or final states differ from "
                   "keras.layers.Bidirectional: pass the mask to both RNNs so the backward one starts at the last real token")
        else:
            j.add("mask", pts["mask"], False, "real steps match, but padded steps should be zeros in both halves "
                  "(zero_output_for_mask=True)", earned=pts["mask"] / 2)
    err = j.error_for("symbolic")
    want = [str([None, BI_T, 2 * U]), str([None, 2 * U]), str([None, 2 * U])]
    j.add("symbolic", pts["symbolic"], not err and j.data.get("symbolic/shapes") == want,
          f"with a symbolic keras.Input the encoder raised: {err}" if err else
          f"with a symbolic keras.Input the output shapes were {j.data.get('symbolic/shapes')}, expected {want}")
    err = j.error_for("config")
    j.add("serialization", pts["serialization"], not err and j.data.get("config/shape") == [B, BI_T, 2 * U],
          f"get_config/from_config failed: {err}" if err else "from_config(get_config()) did not rebuild a working encoder")
    return j.checks


POINTS_BI = {"shapes": 0.25, "forward half": 0.5, "backward half": 0.75, "final states": 0.5, "mask": 0.5,
             "symbolic": 0.25, "serialization": 0.25}


# ---------------------------------------------------------------------------------------------
# long_term_dependency: the adding problem
# ---------------------------------------------------------------------------------------------

ADD_T = 50
ADD_UNITS = 32
ADD_STEPS = 800
ADD_BATCH = 64
ADD_CHUNKS = 16  # loss recorded once per chunk of ADD_STEPS / ADD_CHUNKS steps
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


def train_adding(build_model, cell, seed: int, steps: int = ADD_STEPS, length: int = ADD_T):
    """The calibrated CPU run: Adam(1e-2, clipnorm=1), batch 64. Returns (losses per chunk, model)."""
    import keras

    keras.utils.set_random_seed(seed % (2**31))
    model = build_model(cell)
    model.compile(optimizer=keras.optimizers.Adam(ADD_LR, clipnorm=1.0), loss="mse")
    x, y = adding_data(steps * ADD_BATCH, length, seed)
    losses = []
    per_chunk = steps // ADD_CHUNKS * ADD_BATCH
    for k in range(ADD_CHUNKS):
        chunk = slice(k * per_chunk, (k + 1) * per_chunk)
        history = model.fit(x[chunk], y[chunk], batch_size=ADD_BATCH, epochs=1, shuffle=False, verbose=0)
        losses.append(float(history.history["loss"][-1]))
    return losses, model


def probe_adding(ns: dict, seed: int) -> dict:
    import keras

    p = Probe(ns)
    data_seed = seed % 10_000
    with p.step("data"):
        gen = p.need("adding_problem")
        x, y = gen(64, 11, seed=data_seed)
        p.put("data/x", np.asarray(x, np.float64))
        p.put("data/y", np.asarray(y, np.float64))
        x2, y2 = gen(64, 11, seed=data_seed)
        x3, _ = gen(64, 11, seed=data_seed + 1)
        p.put("data/same_seed_equal", bool(np.array_equal(np.asarray(x), np.asarray(x2)) and np.array_equal(np.asarray(y), np.asarray(y2))))
        p.put("data/other_seed_differs", bool(not np.array_equal(np.asarray(x), np.asarray(x3))))
    with p.step("model"):
        build = p.need("build_adding_model")
        cell = keras.layers.LSTMCell(8)
        model = build(cell)
        p.put("model/out", shape_of(model(np.zeros((3, ADD_T, 2), np.float32))))
        model_weights = {id(w) for w in model.trainable_weights}
        p.put("model/uses_cell", bool(cell.trainable_weights) and all(id(w) in model_weights for w in cell.trainable_weights))
    if "model" in p.errors:
        return p.result()
    with p.step("train"):
        losses, model = train_adding(build, keras.layers.LSTMCell(ADD_UNITS), seed)
        x_test, _ = adding_data(500, ADD_T, seed + 7)
        p.put("train/losses", np.asarray(losses))
        p.put("train/pred", model.predict(x_test, batch_size=250, verbose=0))
    return p.result()


def judge_adding(result: dict, seed: int):
    from autograder.oracles import numpy_rnn

    j = Judge(result)
    pts = POINTS_ADD
    err = j.error_for("data")
    x, y = j.array("data/x"), j.array("data/y")
    if err or x is None or y is None:
        msg = f"adding_problem raised an error: {err}" if err else "adding_problem returned nothing"
        for name in ("data shapes", "markers", "targets", "seeding"):
            j.fail(name, pts[name], msg)
    else:
        shapes_ok = x.shape == (64, 11, 2) and y.shape == (64, 1)
        j.add("data shapes", pts["data shapes"], shapes_ok,
              f"adding_problem(64, 11) returned x {x.shape} and y {y.shape}; expected (64, 11, 2) and (64, 1)")
        if shapes_ok:
            markers = x[:, :, 1]
            half = 11 // 2
            markers_ok = (np.all(np.isin(markers, (0.0, 1.0))) and np.all(markers.sum(1) == 2)
                          and np.all(markers[:, :half].sum(1) == 1) and np.all(x[:, :, 0] >= 0) and np.all(x[:, :, 0] < 1))
            j.add("markers", pts["markers"], markers_ok,
                  "channel 1 must hold exactly two 1.0 markers, one in steps [0, length//2) and one in [length//2, length); "
                  "channel 0 values must lie in [0, 1)")
            j.add("targets", pts["targets"], bool(np.allclose(y, numpy_rnn.adding_targets(x), atol=1e-5)),
                  "y must be the sum of the two values whose marker is 1")
        else:
            j.fail("markers", pts["markers"], "not checked: wrong shapes")
            j.fail("targets", pts["targets"], "not checked: wrong shapes")
        j.add("seeding", pts["seeding"], bool(j.data.get("data/same_seed_equal")) and bool(j.data.get("data/other_seed_differs")),
              "the same seed must give the same data and another seed other data: draw everything from "
              "np.random.default_rng(seed)")
    err = j.error_for("model")
    uses_cell = j.data.get("model/uses_cell") is True
    j.add("model", pts["model"], not err and j.data.get("model/out") == [3, 1] and uses_cell,
          f"build_adding_model(cell) raised: {err}" if err else
          f"the model should map (batch, time, 2) to (batch, 1); it returned shape {j.data.get('model/out')}"
          if j.data.get("model/out") != [3, 1] else
          "the model does not train the cell it was given: wrap that cell in keras.layers.RNN(cell)")
    if not uses_cell and not err:
        j.fail("learns the adding problem", pts["learns the adding problem"],
               "not credited: the model does not use the given cell, so it does not show that an LSTM learns the task")
        return j.checks
    err = j.error_for("train", "model")
    pred = j.array("train/pred")
    _, y_test = adding_data(500, ADD_T, seed + 7)
    if err:
        j.fail("learns the adding problem", pts["learns the adding problem"], f"training raised an error: {err}")
    elif pred is None or pred.shape != y_test.shape or not np.all(np.isfinite(pred)):
        j.fail("learns the adding problem", pts["learns the adding problem"], "the trained model's predictions have the wrong shape or are not finite")
    else:
        mse = float(np.mean((pred - y_test) ** 2))
        name, full = "learns the adding problem", pts["learns the adding problem"]
        if mse <= ADD_PASS_MSE:
            j.add(name, full, True)
        elif mse <= ADD_PARTIAL_MSE:
            j.add(name, full, False, f"after the calibrated run the test MSE is {mse:.4f} (full credit at <= {ADD_PASS_MSE}); "
                  "the model learns slowly: read the RNN's final output directly with one Dense(1)", earned=full / 2)
        else:
            j.fail(name, full, f"after the calibrated run (LSTM with {ADD_UNITS} units, {ADD_STEPS} steps) the test MSE is "
                   f"{mse:.4f}; predicting the mean gives ~0.167 and full credit needs <= {ADD_PASS_MSE}. Check that the "
                   "model is RNN(cell) -> Dense(1) with a linear output and that the inputs reach the RNN unchanged")
    return j.checks


POINTS_ADD = {"data shapes": 0.25, "markers": 0.25, "targets": 0.25, "seeding": 0.25, "model": 0.5,
              "learns the adding problem": 1.5}


# ---------------------------------------------------------------------------------------------
# registration
# ---------------------------------------------------------------------------------------------

def _cell_item(kind, grade_id, title):
    return Item(
        id=f"{ASSIGNMENT}/{grade_id}", title=title, points=sum(POINTS_CELL[kind].values()), needs=(CLASS[kind],),
        probe=lambda ns, seed, kind=kind: probe_cell(kind, ns, seed),
        judge=lambda result, seed, kind=kind: judge_cell(kind, result, seed), timeout_s=90)


register(_cell_item("rnn", "rnn_cell", "Simple RNN cell"))
register(_cell_item("lstm", "lstm_cell", "LSTM cell"))
register(_cell_item("gru", "gru_cell", "GRU cell"))
register(Item(id=f"{ASSIGNMENT}/masked_sequences", title="Masked sequences (MaskedRNN)", points=sum(POINTS_MASKED.values()),
              needs=("MaskedRNN",), probe=probe_masked, judge=judge_masked, timeout_s=90))
register(Item(id=f"{ASSIGNMENT}/bidirectional_encoder", title="Bidirectional encoder", points=sum(POINTS_BI.values()),
              needs=("BidirectionalEncoder",), probe=probe_bidirectional, judge=judge_bidirectional, timeout_s=90))
register(Item(id=f"{ASSIGNMENT}/long_term_dependency", title="Long-term dependency (adding problem)",
              points=sum(POINTS_ADD.values()), needs=("adding_problem", "build_adding_model"),
              probe=probe_adding, judge=judge_adding, timeout_s=240))
