"""autograder.scratch: refused built-ins are detected at run time, whatever the student's style.

Each student style is a source string exec'd into a namespace, like a notebook cell; the probe-like usage
constructs the student's class and calls it on a small batch inside `scratch.watch`.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading

import keras
import numpy as np

from autograder import scratch

REFUSED_01 = {"keras.layers.LSTMCell", "keras.layers.GRUCell", "keras.layers.SimpleRNNCell",
              "keras.layers.LSTM", "keras.layers.GRU", "keras.layers.SimpleRNN"}
DPA = "keras.ops.dot_product_attention"
B, T, D, U = 2, 5, 3, 4


def cell(source: str, ns: dict | None = None) -> dict:
    """Run a notebook-like cell in `ns` (a fresh namespace by default) and return the namespace."""
    ns = {"__name__": "student_notebook"} if ns is None else ns
    exec(compile(textwrap.dedent(source), "<cell>", "exec"), ns)
    return ns


def step(cls):
    """The probe: construct the student's LSTM-like cell and run one step on a small batch."""
    rng = np.random.default_rng(0)
    c = cls(U)
    x = rng.normal(size=(B, D)).astype("float32")
    h, states = c(x, [np.zeros((B, U), "float32"), np.zeros((B, U), "float32")])
    assert tuple(h.shape) == (B, U)
    return c


def sequence(cls_or_cell):
    layer = keras.layers.RNN(cls_or_cell if not isinstance(cls_or_cell, type) else cls_or_cell(U))
    return layer(np.ones((B, T, D), "float32"))


HONEST = """
import keras
from keras import ops

class LSTMCell(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape):
        d = input_shape[-1]
        self.kernel = self.add_weight(shape=(d, 4 * self.units), name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, 4 * self.units), name="recurrent_kernel")
        self.bias = self.add_weight(shape=(4 * self.units,), initializer="zeros", name="bias")

    def call(self, inputs, states):
        h, c = states
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h, self.recurrent_kernel) + self.bias
        i, f, g, o = ops.split(z, 4, axis=-1)
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
        h = ops.sigmoid(o) * ops.tanh(c)
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(), "units": self.units}
"""

STYLES = {
    "subclass, no override": """
        import keras
        class LSTMCell(keras.layers.LSTMCell):
            pass
    """,
    "subclass, call calls super().call": """
        import keras
        class LSTMCell(keras.layers.LSTMCell):
            def __init__(self, units, **kwargs):
                super().__init__(units, **kwargs)
            def call(self, inputs, states, training=False):
                return super().call(inputs, states, training=training)
    """,
    "wrapper composing the built-in": """
        import keras
        class LSTMCell(keras.layers.Layer):
            def __init__(self, units, **kwargs):
                super().__init__(**kwargs)
                self.inner = keras.layers.LSTMCell(units)
                self.state_size = self.inner.state_size
            def call(self, inputs, states):
                return self.inner(inputs, states)
    """,
    "getattr evasion": """
        import keras.layers as L
        class LSTMCell(L.Layer):
            def __init__(self, units, **kwargs):
                super().__init__(**kwargs)
                self.inner = getattr(L, "LST" + "MCell")(units)
                self.state_size = [units, units]
            def build(self, input_shape):
                self.inner.build(input_shape)
            def call(self, inputs, states):
                return self.inner.call(inputs, states)
    """,
    "subclass posing as a Keras class": """
        import keras
        class LSTMCell(keras.layers.LSTMCell):
            __module__, __qualname__ = "keras.src.layers.rnn.lstm", "LSTMCell"
    """,
    "the unwrapped call borrowed by a plain Layer": """
        import keras
        class LSTMCell(keras.layers.Layer):
            def __init__(self, units, **kwargs):
                super().__init__(**kwargs)
                self.donor = keras.layers.LSTMCell(units)
                self.state_size = [units, units]
            def build(self, input_shape):
                self.donor.build(input_shape)
            def call(self, inputs, states):
                return type(self.donor).call(self.donor, inputs, states)
    """,
    "subclass overriding __init__ and call without super": """
        import keras
        from keras import ops
        class LSTMCell(keras.layers.LSTMCell):
            def __init__(self, units):
                keras.layers.Layer.__init__(self)
                self.units, self.state_size = units, [units, units]
            def build(self, input_shape):
                self.w = self.add_weight(shape=(input_shape[-1], self.units))
            def call(self, inputs, states):
                h = ops.tanh(ops.matmul(inputs, self.w))
                return h, [h, states[1]]
    """,
}


def test_each_cheating_style_is_caught():
    for style, source in STYLES.items():
        ns = cell(source)
        with scratch.watch(REFUSED_01) as w:
            step(ns["LSTMCell"])
        assert w.used == ["keras.layers.LSTMCell"], style
        if "without super" in style:
            continue  # no dropout attributes: keras.layers.RNN cannot run it
        with scratch.watch(REFUSED_01) as w:  # the same code wrapped by the grader in an allowed RNN
            sequence(ns["LSTMCell"])
        assert w.used == ["keras.layers.LSTMCell"], style


def test_module_level_instance_created_before_the_watch_is_caught_when_called():
    ns = cell("""
        import keras
        _inner = keras.layers.LSTMCell(4)
        class LSTMCell(keras.layers.Layer):
            def __init__(self, units, **kwargs):
                super().__init__(**kwargs)
                self.state_size = [units, units]
            def call(self, inputs, states):
                return _inner(inputs, states)
    """)
    with scratch.watch(REFUSED_01) as w:
        step(ns["LSTMCell"])
    assert w.used == ["keras.layers.LSTMCell"]
    # an instance created before its class was ever patched (no provenance), used through an allowed RNN
    ns = cell("""
        import keras
        _dense = keras.layers.Dense(4)
        class Projection(keras.layers.Layer):
            def call(self, x):
                return _dense(x)
    """)
    refused = {"keras.layers.Dense"}
    with scratch.watch(refused) as w:
        ns["Projection"]()(np.ones((B, D), "float32"))
    assert w.used == ["keras.layers.Dense"]


ATTENTION_ALIAS = """
    from keras.ops import dot_product_attention as attend
"""
ATTENTION_LAYER = """
    import keras
    class Attention(keras.layers.Layer):
        def call(self, q, k, v):
            return attend(q, k, v)
"""


def attention_inputs():
    rng = np.random.default_rng(1)
    return [rng.normal(size=(B, T, 2, 4)).astype("float32") for _ in range(3)]


def test_function_alias_bound_before_the_watch_is_caught():
    ns = cell(ATTENTION_ALIAS)  # an earlier cell
    cell(ATTENTION_LAYER, ns)
    layer = ns["Attention"]()
    with scratch.watch({DPA}) as w:
        out = layer(*attention_inputs())
    assert tuple(out.shape) == (B, T, 2, 4)
    assert w.used == [DPA]
    ns = cell("from keras.src.backend import nn as _nn\nattend = _nn.dot_product_attention")  # what it delegates to
    cell(ATTENTION_LAYER, ns)
    with scratch.watch({DPA}) as w:
        ns["Attention"]()(*attention_inputs())
    assert w.used == [DPA]
    ns = cell(ATTENTION_ALIAS)  # handed to a Keras layer that calls it
    q, k, v = attention_inputs()
    ns.update(k=k, v=v)
    cell("import keras\nlayer = keras.layers.Lambda(lambda q: attend(q, k, v))\n"
         "lent = keras.layers.Lambda(attend, arguments={'key': k, 'value': v})", ns)
    with scratch.watch({DPA}) as w:
        ns["layer"](q)
    with scratch.watch({DPA}) as w2:
        ns["lent"](q)
    assert w.used == w2.used == [DPA]
    assert sys.getprofile() is None and threading.getprofile() is None  # the profile hook is removed


def test_honest_code_uses_nothing():
    ns = cell(HONEST)
    with scratch.watch(REFUSED_01 | {DPA}) as w:
        step(ns["LSTMCell"])
        sequence(ns["LSTMCell"])  # the grader wraps the student's cell in keras.layers.RNN (not refused)
        dense = keras.layers.Dense(U)  # an allowed built-in
        dense(np.ones((B, D), "float32"))
        q, k, v = attention_inputs()
        weights = keras.ops.softmax(keras.ops.einsum("btnh,bsnh->bnts", q, k) / 2.0, axis=-1)
        keras.ops.einsum("bnts,bsnh->btnh", weights, v)
    assert w.used == []


def test_keras_internals_do_not_count_but_refused_wrappers_do():
    ns = cell(HONEST)
    x = np.ones((B, T, D), "float32")
    with scratch.watch(REFUSED_01 - {"keras.layers.LSTM"}) as w:  # LSTM allowed: the LSTMCell it builds is not the student's
        keras.layers.LSTM(U)(x)
    assert w.used == []
    with scratch.watch(REFUSED_01) as w:
        keras.layers.LSTM(U)(x)
    assert w.used == ["keras.layers.LSTM"]
    with scratch.watch(REFUSED_01 | {"keras.layers.RNN"}) as w:  # LSTM is an RNN subclass: counted as LSTM only
        keras.layers.LSTM(U)(x)
    assert w.used == ["keras.layers.LSTM"]
    refused = REFUSED_01 | {"keras.layers.Bidirectional"}
    with keras.saving.custom_object_scope({"LSTMCell": ns["LSTMCell"]}):
        with scratch.watch(REFUSED_01) as w:
            keras.layers.Bidirectional(keras.layers.RNN(ns["LSTMCell"](U)))(x)
        assert w.used == []
        with scratch.watch(refused) as w:
            keras.layers.Bidirectional(keras.layers.RNN(ns["LSTMCell"](U)))(x)
        assert w.used == ["keras.layers.Bidirectional"]
    mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    with scratch.watch({DPA}) as w:  # MultiHeadAttention (allowed) calls dot_product_attention itself
        mha(np.ones((B, T, 8), "float32"), np.ones((B, T, 8), "float32"))
    assert w.used == []


def test_recording_is_per_watch():
    ns = cell(STYLES["wrapper composing the built-in"])
    with scratch.watch({"keras.layers.LSTMCell"}) as first:
        step(ns["LSTMCell"])
    with scratch.watch({"keras.layers.GRUCell"}) as second:
        step(ns["LSTMCell"])
    assert (first.used, second.used) == (["keras.layers.LSTMCell"], [])
    with scratch.watch({"keras.layers.LSTMCell"}) as outer:
        with scratch.watch({"keras.layers.GRUCell"}) as inner:
            step(ns["LSTMCell"])  # only the innermost watch's refused set matters
        assert (outer.used, inner.used) == ([], [])
        step(ns["LSTMCell"])
    assert outer.used == ["keras.layers.LSTMCell"]
    with scratch.watch({"keras.layers.LSTMCell"}) as w:
        pass
    step(ns["LSTMCell"])  # outside any watch: nothing recorded anywhere
    assert w.used == []


def test_threads_started_by_the_student_count():
    ns = cell(STYLES["getattr evasion"])
    ns2 = cell(ATTENTION_ALIAS)
    cell(ATTENTION_LAYER, ns2)
    with scratch.watch({"keras.layers.LSTMCell", DPA}) as w:
        threads = [threading.Thread(target=step, args=(ns["LSTMCell"],)),
                   threading.Thread(target=lambda: ns2["Attention"]()(*attention_inputs()))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert w.used == ["keras.layers.LSTMCell", DPA]


def test_hierarchy():
    ns = cell(STYLES["subclass overriding __init__ and call without super"])
    assert scratch.hierarchy(ns["LSTMCell"], REFUSED_01 | {"keras.layers.RNN"}) == ["keras.layers.LSTMCell"]
    assert scratch.hierarchy(cell(HONEST)["LSTMCell"], REFUSED_01) == []
    assert scratch.hierarchy(keras.layers.LSTM, REFUSED_01 | {"keras.layers.RNN"}) == \
        ["keras.layers.LSTM", "keras.layers.RNN"]


def test_describe():
    text = scratch.describe(["keras.layers.LSTMCell"], "Part 2 (LSTMCell)", allowed=["keras.layers.RNN"])
    assert "from scratch" in text and "keras.layers.LSTMCell (subclassed, wrapped, composed or called)" in text
    assert "which is not allowed" in text and "keras.layers.RNN" in text
    text = scratch.describe([DPA, "keras.layers.Attention"], "Part 1")
    assert DPA in text and "keras.layers.Attention" in text and "are not allowed" in text


BEHAVIOUR = r"""
import json, os, sys, tempfile, inspect
import numpy as np, keras
from autograder import scratch

def run(patched):
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(8, 5, 3)).astype("float32")
    y = np.random.default_rng(1).normal(size=(8, 1)).astype("float32")
    inputs = keras.Input((5, 3))
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.RNN(keras.layers.LSTMCell(4))(inputs)))
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    path = os.path.join(tempfile.mkdtemp(), "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    cell = model.layers[1].cell
    return {"patched": "__scratch_name__" in type(cell).__dict__ and patched,
            "weights": [w.tolist() for w in model.get_weights()],
            "loaded": np.allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0)),
            "config": cell.get_config(), "signature": str(inspect.signature(cell.call)),
            "init": inspect.getfullargspec(type(cell).__init__).args}

before = run(False)
scratch.prepare({"keras.layers.LSTMCell", "keras.layers.RNN"})
with scratch.watch({"keras.layers.LSTMCell"}) as w:
    after = run(True)
print(json.dumps({"before": before, "after": after, "used": w.used}))
"""


def test_patched_classes_behave_identically():
    done = subprocess.run([sys.executable, "-c", BEHAVIOUR], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    before, after = result["before"], result["after"]
    assert after["patched"] and result["used"] == ["keras.layers.LSTMCell"]
    assert before["loaded"] and after["loaded"]
    for key in ("config", "signature", "init"):
        assert before[key] == after[key], key
    for a, b in zip(before["weights"], after["weights"]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_functions_unwatched_suspends_only_the_function_hook_and_only_inside():
    """The grader's training loop runs with the profile hook off: a refused function called there is not seen,
    a refused class still is, and the hook is back (and sees calls) after the block."""
    ns = cell(ATTENTION_ALIAS)
    cell(ATTENTION_LAYER, ns)
    lstm = cell(STYLES["wrapper composing the built-in"])
    with scratch.watch({DPA, "keras.layers.LSTMCell"}) as w:
        with scratch.functions_unwatched():
            assert sys.getprofile() is None
            ns["Attention"]()(*attention_inputs())
        assert w.used == []
        with scratch.functions_unwatched():
            step(lstm["LSTMCell"])  # class wrappers stay
        assert w.used == ["keras.layers.LSTMCell"]
        ns["Attention"]()(*attention_inputs())
    assert w.used == ["keras.layers.LSTMCell", DPA]
    assert sys.getprofile() is None
    with scratch.functions_unwatched():  # outside any watch: nothing to suspend, nothing to restore
        assert sys.getprofile() is None
    assert sys.getprofile() is None


def test_used_so_far_is_the_innermost_watchs_record():
    """A probe asks what its watch has seen before a long run (04's training run is skipped for a model that
    created a refused layer: it scores 0 anyway)."""
    lstm = cell(STYLES["wrapper composing the built-in"])
    assert scratch.used_so_far() == []
    with scratch.watch({"keras.layers.LSTMCell"}):
        assert scratch.used_so_far() == []
        with scratch.watch({DPA}):
            step(lstm["LSTMCell"])  # not refused by the inner watch
            assert scratch.used_so_far() == []
        step(lstm["LSTMCell"])
        assert scratch.used_so_far() == ["keras.layers.LSTMCell"]
    assert scratch.used_so_far() == []
