"""Probes of 01_rnn_lstm: run the student's code on the grader's cases, in the student's process.

Each probe fills its item's declared record (see items.py) and decides nothing.
"""
from __future__ import annotations

import numpy as np

from autograder.checks.construct import construct
from autograder.checks.fitstep import fit_step
from autograder.checks.roundtrip import config_clone, keras_roundtrip
from autograder.checks.symbolic import symbolic
from autograder.probing import as_list, shape_of

from .cases import (ADD_BATCH, ADD_CHUNKS, ADD_LR, ADD_STEPS, ADD_T, ADD_UNITS, B, CLASS, D, MS_T, T, U,
                    adding_data, bi_case, cell_cases, masked_case, sequence_case)

WEIGHTS = ("kernel", "recurrent_kernel", "bias")


def _assign(cell, weights):
    for name, value in zip(WEIGHTS, weights):
        getattr(cell, name).assign(value)


def _put_step(p, key, out, states):
    p.put(f"{key}/out", out)
    states = as_list(states)
    p.put(f"{key}/n_states", len(states))
    for i, s in enumerate(states[:2]):
        p.put(f"{key}/state{i}", s)


def cell(p, seed, kind):
    import keras

    cls = construct(p, "construct", lambda: p.need(CLASS[kind]))
    layer = construct(p, "construct", lambda: cls(U)) if cls is not None else None
    if layer is None:
        return
    with p.step("construct"):
        p.put("state_size", [int(s) for s in as_list(layer.state_size)])
    with p.step("build"):
        layer.build((None, D))
        for name in WEIGHTS:
            if getattr(layer, name, None) is None:
                raise AttributeError(f"after build() the cell has no attribute `{name}`")
            p.put(f"shape/{name}", shape_of(getattr(layer, name)))
        p.put("init/bias", layer.bias)
    if p.failed("build"):
        return
    for name, case in cell_cases(kind, seed).items():
        with p.step(f"case/{name}"):
            _assign(layer, case["weights"])
            _put_step(p, f"case/{name}", *layer(case["x"], [keras.ops.convert_to_tensor(s) for s in case["states"]]))
    seq = sequence_case(kind, seed)
    with p.step("sequence"):
        _assign(layer, seq["weights"])
        p.put("sequence/out", keras.layers.RNN(layer, return_sequences=True)(seq["x"]))

    def functional():
        inputs = keras.Input(shape=(None, D))
        outputs = keras.layers.RNN(cls(U))(inputs)
        return outputs, keras.Model(inputs, outputs)

    symbolic(p, "symbolic", functional, concrete=seq["x"])
    with p.step("config"):
        config = layer.get_config()
        p.put("config/units", config.get("units"))
        p.put("config/clone_units", getattr(cls.from_config(config), "units", None))
    with p.step("config"):
        model = keras.Sequential([keras.Input((T, D)), keras.layers.RNN(cls(U))])
        keras_roundtrip(p, "roundtrip", model, seq["x"], {cls.__name__: cls})
    with p.step("train"):
        train_cell = cls(U)
        model = keras.Sequential([keras.Input((T, D)), keras.layers.RNN(train_cell), keras.layers.Dense(1)])
        target = np.random.default_rng(seed).normal(0, 1, (B, 1)).astype(np.float32)
        fit_step(p, "train", model, {n: getattr(train_cell, n) for n in WEIGHTS}, seq["x"], target, seed)


def oracle_cell(kind, weights):
    """A Keras built-in cell with the given weights, injected into composite items."""
    import keras

    made = {"lstm": keras.layers.LSTMCell, "gru": keras.layers.GRUCell, "rnn": keras.layers.SimpleRNNCell}[kind](U)
    made.build((None, D))
    made.set_weights(weights)
    return made


def _scaled_output_cell(weights):
    """A one-state cell whose output (2 h) is not its state (h): a Keras GRUCell inside a grader's wrapper."""
    import keras

    class ScaledOutputCell(keras.layers.Layer):
        def __init__(self, inner, **kwargs):
            super().__init__(**kwargs)
            self.inner, self.state_size, self.output_size = inner, inner.state_size, inner.output_size

        def call(self, inputs, states):
            output, new_states = self.inner(inputs, states)
            return 2.0 * output, new_states

    return ScaledOutputCell(oracle_cell("gru", weights))


def _put_outputs(p, key, outs, n=3):
    outs = as_list(outs)
    p.put(f"{key}/n", len(outs))
    for i, o in enumerate(outs[:n]):
        p.put(f"{key}/{i}", o)


def masked_sequences(p, seed):
    import keras

    case = masked_case(seed)
    cls = construct(p, "construct", lambda: p.need("MaskedRNN"))
    if cls is None:
        return
    lstm = lambda: oracle_cell("lstm", case["weights"])  # noqa: E731
    for rs in (False, True):
        for st in (False, True):
            key = f"flags/{int(rs)}{int(st)}"
            with p.step(key):
                p.put(f"{key}/shapes", [shape_of(o) for o in as_list(cls(lstm(), return_sequences=rs, return_state=st)(case["x"]))])
    with p.step("unmasked"):
        _put_outputs(p, "unmasked", cls(lstm(), return_sequences=True, return_state=True)(case["x"]))
    with p.step("masked"):
        _put_outputs(p, "masked", cls(lstm(), return_sequences=True, return_state=True)(case["x"], mask=case["mask"]))
    with p.step("gru"):
        _put_outputs(p, "gru", cls(_scaled_output_cell(case["gru_weights"]), return_sequences=True, return_state=True)(
            case["x"]), n=2)
    with p.step("initial_state"):
        p.put("initial_state/out", cls(lstm(), return_sequences=True)(
            case["x"], initial_state=[keras.ops.convert_to_tensor(s) for s in case["initial"]]))
    with p.step("embedding_mask"):
        inputs = keras.Input(shape=(MS_T,), dtype="int32")
        emb = keras.layers.Embedding(case["embedding"].shape[0], D, mask_zero=True)
        layer = cls(lstm(), return_sequences=True)
        model = keras.Model(inputs, layer(emb(inputs)))
        emb.set_weights([case["embedding"]])
        p.put("embedding_mask/out", model(case["ids"]))
        p.put("embedding_mask/explicit", layer(case["embedding"][case["ids"]], mask=case["ids"] != 0))
        produced = layer.compute_mask(keras.ops.convert_to_tensor(case["x"]), keras.ops.convert_to_tensor(case["mask"]))
        p.put("embedding_mask/compute_mask", produced if produced is not None else np.zeros((0,)))
    with p.step("config"):
        layer = cls(lstm(), return_sequences=True, return_state=False)
        config = layer.get_config()
        p.put("config/flags", [config.get("return_sequences"), config.get("return_state")])
        clone = cls.from_config(config)
        p.put("config/clone_flags", [getattr(clone, "return_sequences", None), getattr(clone, "return_state", None)])
        p.put("config/original", layer(case["x"]))
        clone(case["x"])  # builds the clone's (fresh) weights, then copy the originals over
        clone.set_weights(layer.get_weights())
        p.put("config/out", clone(case["x"]))


def bidirectional_encoder(p, seed):
    import keras

    case = bi_case(seed)
    cls = construct(p, "construct", lambda: p.need("BidirectionalEncoder"))
    if cls is None:
        return
    make = lambda: cls(oracle_cell("lstm", case["fw"]), oracle_cell("lstm", case["bw"]))  # noqa: E731
    with p.step("plain"):
        _put_outputs(p, "plain", make()(case["x"]))
    with p.step("masked"):
        _put_outputs(p, "masked", make()(case["x"], mask=case["mask"]))
    for b, row in enumerate(case["mask"]):  # each row's real steps alone: what the masked run must reproduce
        with p.step(f"alone/{b}"):
            _put_outputs(p, f"alone/{b}", make()(case["x"][b:b + 1, row]))

    def functional():
        inputs = keras.Input(shape=(None, D))
        outputs = cls(keras.layers.LSTMCell(U), keras.layers.LSTMCell(U))(inputs)
        return outputs, keras.Model(inputs, outputs)

    symbolic(p, "symbolic", functional, concrete=case["x"])
    with p.step("config"):
        config_clone(p, "config", make(), case["x"])


def train_adding(build_model, rnn_cell, seed: int, steps: int = ADD_STEPS, length: int = ADD_T):
    """The calibrated CPU run: Adam(1e-2, clipnorm=1), batch 64. Returns (losses per chunk, model)."""
    import keras

    keras.utils.set_random_seed(seed % (2**31))
    model = build_model(rnn_cell)
    model.compile(optimizer=keras.optimizers.Adam(ADD_LR, clipnorm=1.0), loss="mse")
    x, y = adding_data(steps * ADD_BATCH, length, seed)
    losses = []
    per_chunk = steps // ADD_CHUNKS * ADD_BATCH
    for k in range(ADD_CHUNKS):
        chunk = slice(k * per_chunk, (k + 1) * per_chunk)
        history = model.fit(x[chunk], y[chunk], batch_size=ADD_BATCH, epochs=1, shuffle=False, verbose=0)
        losses.append(float(history.history["loss"][-1]))
    return losses, model


def long_term_dependency(p, seed):
    import keras

    data_seed = seed % 10_000
    with p.step("data"):
        gen = p.need("adding_problem")
        x, y = gen(512, 11, seed=data_seed)
        p.put("data/dtypes", [str(getattr(x, "dtype", type(x).__name__)), str(getattr(y, "dtype", type(y).__name__))])
        p.put("data/x", x)
        p.put("data/y", y)
        x2, y2 = gen(512, 11, seed=data_seed)
        p.put("data/x_again", x2)
        p.put("data/y_again", y2)
        p.put("data/x_other", gen(512, 11, seed=data_seed + 1)[0])
    with p.step("model"):
        build = p.need("build_adding_model")
        keras.utils.set_random_seed(seed % (2**31))  # the model's own initial weights, reproducibly
        given = keras.layers.LSTMCell(8)
        model = build(given)
        p.put("model/out", shape_of(model(np.zeros((3, ADD_T, 2), np.float32))))
        p.put("model/cell_weights", [id(w) for w in given.trainable_weights])
        p.put("model/model_weights", [id(w) for w in model.trainable_weights])
        # the model's output against the given cell's final output, with weights that spread h over (-1, 1)
        rng = np.random.default_rng(seed + 3)
        given.set_weights([rng.normal(0, 1.0, w.shape).astype(np.float32) for w in given.get_weights()])
        probe_x = rng.normal(0, 2.0, (64, 12, 2)).astype(np.float32)  # h of both signs in every unit
        p.put("model/outputs", model(probe_x))
        p.put("model/final_h", keras.layers.RNN(given)(probe_x))
    if p.failed("model"):
        return
    with p.step("train"):
        losses, model = train_adding(build, keras.layers.LSTMCell(ADD_UNITS), seed)
        p.put("train/losses", np.asarray(losses))
        # the trained model as data (its weights, and its Keras config when it has one): the judge rebuilds it
        # and computes the test predictions in the grading process, where no submission code runs
        _put_outputs(p, "train/weights", model.get_weights(), n=16)
        try:
            config = model.to_json().encode()
        except Exception:  # noqa: BLE001 - a subclassed model has no config: the judge uses the weights alone
            config = b""
        p.put("train/config", np.frombuffer(config, np.uint8))
