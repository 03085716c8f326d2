"""The items of 04_translation graded directly (Item.probe in this process, Item.judge on its record) on the
reference Transformer (tests/fixtures/03_reference_answers.py, the layers the 04 notebook re-declares) and on
broken variants of it (benchmarks/transformer_training.py). The master notebook does not exist yet, so the registry
does not list 04; once it does, the generic tests (solution, starter, mutants, nbgrader) grade these items too.

Each variant must lose exactly the sub-checks its bug breaks, with feedback that names the fault.
"""
from __future__ import annotations

import importlib
import sys

import pytest

from tests.helpers import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import transformer_training as variants  # noqa: E402

ITEMS = {i.grade_id: i for i in importlib.import_module("autograder.assignments.04_translation.items").ITEMS}
SEED = 20261129


def grade(grade_id: str, ns: dict) -> dict:
    item = ITEMS[grade_id]
    return {c.name: c for c in item.judge(item.probe(ns, SEED), SEED)}


def earned(result: dict) -> dict:
    return {name: round(c.earned, 4) for name, c in result.items()}


def full(grade_id: str) -> dict:
    return dict(ITEMS[grade_id].checks)


def leaking_and_unsaveable() -> dict:
    """Two independent bugs: a look-ahead mask off by one (position t sees t + 1), and a Transformer whose
    get_config leaves out num_layers (from_config cannot rebuild it: the saved .keras file does not load)."""
    ns = variants.variant_namespace("causal_leak")
    base = ns["Transformer"]

    class Transformer(base):
        def get_config(self):
            config = super().get_config()
            config.pop("num_layers")
            return config

    Transformer.__name__ = Transformer.__qualname__ = "TransformerWithoutNumLayers"
    import keras

    ns["Transformer"] = keras.saving.register_keras_serializable(package="seqlab_test")(Transformer)
    return ns


SANDBOXED = r"""
import importlib, pickle, sys
import numpy as np
import seqlab, keras
from autograder.worker import _BlockGraderImports
sys.meta_path.insert(0, _BlockGraderImports())
for name in list(sys.modules):
    if _BlockGraderImports.refuses(name):
        del sys.modules[name]
ns = {"__name__": "__main__"}
for path in sys.argv[2:]:  # the 03 layers, then the decoding answers (with the notebook's setup cells)
    exec(compile(open(path, encoding="utf-8").read(), path, "exec"), ns)
exec(sys.argv[1], ns)  # the label-smoothed loss
items = {i.grade_id: i for i in importlib.import_module("autograder.assignments.04_translation.items").ITEMS}
records = {gid: items[gid].probe(ns, %d) for gid in ("transplant", "smoothed_loss", "decoding")}
# the training run's data path, with a stand-in model (the run itself takes a minute: graded in-process below)
T = importlib.import_module("autograder.assignments.04_translation.training")
tokens = T.load_tokens(verify=False)
stub = lambda inputs, training=False: np.eye(2000, dtype="float32")[np.full(np.shape(inputs[1]), 3)]
assert len(T.hidden_ids(stub, tokens, T.PROFILES["cpu"])) == T.PROFILES["cpu"]["eval_n"]
loaded = sorted(n for n in sys.modules if n.startswith("autograder.") and _BlockGraderImports.refuses(n))
sys.stdout.buffer.write(pickle.dumps({"records": records, "grader_only_loaded": loaded}))
""" % SEED


def test_probes_run_in_the_workers_sandbox_and_the_reference_gets_full_marks(tmp_path):
    """The student's process refuses the oracles, the judges and the hidden references: the probes must not need
    them (the transplant translates from token ids, saves and reloads a .keras file there); judged here."""
    import pickle
    import subprocess

    fixtures = ROOT / "tests" / "fixtures"
    proc = subprocess.run([sys.executable, "-c", SANDBOXED, LOSS_HEADER + REFERENCE_LOSS,
                           str(fixtures / "03_reference_answers.py"), str(fixtures / "04_decoding_answers.py")],
                          capture_output=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    out = pickle.loads(proc.stdout)
    assert out["grader_only_loaded"] == []
    for gid, record in out["records"].items():
        result = {c.name: c for c in ITEMS[gid].judge(record, SEED)}
        assert earned(result) == full(gid), (gid, {n: c.message for n, c in result.items()})


def test_reference_gets_full_marks_on_the_training_run():
    result = grade("translation_training", variants.reference_namespace())
    assert earned(result) == full("translation_training"), {n: c.message for n, c in result.items()}


def test_two_bugs_lose_their_two_sub_checks_and_nothing_else():
    result = grade("transplant", leaking_and_unsaveable())
    lost = {name for name, c in result.items() if c.earned < c.points}
    assert lost == {"causal", "export"}, {n: c.message for n, c in result.items()}
    assert "looks ahead" in result["causal"].message
    assert "get_config" in result["export"].message or "num_layers" in result["export"].message


def test_a_decoder_that_looks_ahead_does_not_learn_to_translate(monkeypatch):
    """One epoch instead of three (calibrated: 0.00 BLEU after three; after one it already copies)."""
    training = importlib.import_module("autograder.assignments.04_translation.training")
    monkeypatch.setitem(training.PROFILES, "cpu", dict(training.PROFILES["cpu"], epochs=1))
    result = grade("translation_training", variants.variant_namespace("causal_leak"))
    assert result["model"].earned == result["model"].points
    assert result["learns"].earned == 0, result["learns"].message
    assert "looks ahead" in result["learns"].message and "BLEU" in result["learns"].message


# ---- the label-smoothed loss, as different students write it ---------------------------------------------------

LOSS_HEADER = "import keras\nfrom keras import ops\nPAD_ID = 0\n"
REFERENCE_LOSS = '''
def smoothed_masked_loss(labels, logits, epsilon=0.1):
    log_p = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    index = ops.expand_dims(ops.cast(labels, "int32"), -1)
    nll = -ops.squeeze(ops.take_along_axis(log_p, index, axis=-1), -1)
    loss = (1.0 - epsilon) * nll - epsilon * ops.mean(log_p, axis=-1)
    keep = ops.cast(ops.not_equal(labels, PAD_ID), "float32")
    return ops.sum(loss * keep) / ops.maximum(ops.sum(keep), 1.0)
'''
ONE_HOT_STYLE = '''
def smoothed_masked_loss(labels, logits, epsilon=0.1):
    logits = ops.cast(logits, "float32")
    vocab = ops.shape(logits)[-1]
    q = ops.one_hot(ops.cast(labels, "int32"), vocab) * (1 - epsilon) + epsilon / vocab
    per_token = -ops.sum(q * ops.log_softmax(logits), axis=-1)
    mask = ops.cast(labels != PAD_ID, "float32")
    n = ops.sum(mask)
    return ops.where(n > 0, ops.sum(per_token * mask) / ops.maximum(n, 1.0), 0.0)
'''
SPARSE_CE_STYLE = '''
def smoothed_masked_loss(labels, logits, epsilon=0.1):
    logits = ops.cast(logits, "float32")
    ce = ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    uniform = -ops.mean(logits - ops.logsumexp(logits, axis=-1, keepdims=True), axis=-1)
    keep = ops.cast(ops.not_equal(labels, 0), "float32")
    total = ops.sum(((1 - epsilon) * ce + epsilon * uniform) * keep)
    return total / ops.maximum(ops.sum(keep), 1)
'''
SMOOTHING_OVER_PAD = '''
def smoothed_masked_loss(labels, logits, epsilon=0.1):
    log_p = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    nll = -ops.squeeze(ops.take_along_axis(log_p, ops.expand_dims(ops.cast(labels, "int32"), -1), axis=-1), -1)
    keep = ops.cast(ops.not_equal(labels, PAD_ID), "float32")
    n = ops.maximum(ops.sum(keep), 1.0)
    return (1.0 - epsilon) * ops.sum(nll * keep) / n - epsilon * ops.sum(ops.mean(log_p, axis=-1)) / n
'''
EPSILON_IGNORED = '''
def smoothed_masked_loss(labels, logits, epsilon=0.1):
    loss = ops.sparse_categorical_crossentropy(labels, ops.cast(logits, "float32"), from_logits=True)
    keep = ops.cast(ops.not_equal(labels, PAD_ID), "float32")
    return ops.sum(loss * keep) / ops.maximum(ops.sum(keep), 1.0)
'''
NAN_ON_ALL_PAD = '''
def smoothed_masked_loss(labels, logits, epsilon=0.1):
    log_p = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    nll = -ops.squeeze(ops.take_along_axis(log_p, ops.expand_dims(ops.cast(labels, "int32"), -1), axis=-1), -1)
    keep = ops.cast(ops.not_equal(labels, PAD_ID), "float32")
    return ops.sum(((1.0 - epsilon) * nll - epsilon * ops.mean(log_p, axis=-1)) * keep) / ops.sum(keep)
'''
KERAS_BUILTIN = '''
def smoothed_masked_loss(labels, logits, epsilon=0.1):
    cce = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=epsilon, reduction="sum")
    keep = ops.cast(ops.not_equal(labels, PAD_ID), "float32")
    onehot = ops.one_hot(ops.cast(labels, "int32"), ops.shape(logits)[-1])
    return cce(onehot, ops.cast(logits, "float32"), sample_weight=keep) / ops.maximum(ops.sum(keep), 1.0)
'''


def _loss_ns(source: str) -> dict:
    ns: dict = {"__name__": "__main__"}
    exec(LOSS_HEADER + source, ns)
    return ns


@pytest.mark.parametrize("source", [REFERENCE_LOSS, ONE_HOT_STYLE, SPARSE_CE_STYLE], ids=["reference", "one-hot", "sparse"])
def test_correct_smoothed_losses_get_full_marks(source):
    result = grade("smoothed_loss", _loss_ns(source))
    assert earned(result) == full("smoothed_loss"), {n: c.message for n, c in result.items()}


@pytest.mark.parametrize("source, loses, says", [
    (SMOOTHING_OVER_PAD, {"padding"}, "counted at the [PAD] positions"),
    (EPSILON_IGNORED, {"smoothing"}, "ignored"),
    (NAN_ON_ALL_PAD, {"edge cases"}, "0.0"),
    (KERAS_BUILTIN, set(full("smoothed_loss")), "CategoricalCrossentropy"),
], ids=["smoothing-over-pad", "epsilon-ignored", "nan-on-all-pad", "keras-builtin"])
def test_wrong_smoothed_losses_lose_only_what_is_wrong(source, loses, says):
    result = grade("smoothed_loss", _loss_ns(source))
    lost = {name for name, c in result.items() if c.earned < c.points}
    assert lost == loses, {n: c.message for n, c in result.items()}
    assert all(says in result[name].message for name in loses), {n: result[n].message for n in loses}


# ---- decoding: make_step_fn, the pasted beam search, translate ---------------------------------------------------

DRAFT = ROOT / "tests" / "fixtures" / "04_decoding_answers.py"


def _decoding_ns(replace: tuple = ()) -> dict:
    source = DRAFT.read_text(encoding="utf-8")
    for old, new in replace:
        assert old in source, old
        source = source.replace(old, new)
    ns: dict = {"__name__": "__main__"}
    exec(source, ns)
    return ns


def test_reference_decoding_gets_full_marks():
    result = grade("decoding", _decoding_ns())
    assert earned(result) == full("decoding"), {n: c.message for n, c in result.items()}


@pytest.mark.parametrize("replace, loses, says", [
    # the state holds only the last token: the model sees a prefix of length 1 at every step
    ((("prefix = np.concatenate([prefix, np.asarray(tokens, \"int32\")[:, None]], axis=1)",
       "prefix = np.asarray(tokens, \"int32\")[:, None]"),), {"step"}, "logits[:, -1]"),
    # logits of the first position instead of the last
    ((("return ops.convert_to_numpy(logits[:, -1]), [source, prefix]",
       "return ops.convert_to_numpy(logits[:, 0]), [source, prefix]"),), {"step"}, "logits[:, -1]"),
    # the register is not passed through
    ((("tag_source(s, register)", "tag_source(s, \"polite\")"),), {"translate"}, "register"),
    # beam search without length normalization (alpha ignored)
    ((("lp / len(tokens) ** alpha", "lp"),), {"beam search"}, "02"),
    # the prefix kept in a closure, not in the state: right step by step, wrong once a beam reorders the rows
    ((('''    def step_fn(tokens, state):
        source, prefix = state
        prefix = np.concatenate([prefix, np.asarray(tokens, "int32")[:, None]], axis=1)   # (N, t + 1)
        logits = model([source, prefix], training=False)                                    # (N, t + 1, V)
        return ops.convert_to_numpy(logits[:, -1]), [source, prefix]''', '''    history = []

    def step_fn(tokens, state):
        history.append(np.asarray(tokens, "int32"))
        prefix = np.stack(history, axis=1)                                                  # (N, t + 1)
        logits = model([state[0], prefix], training=False)
        return ops.convert_to_numpy(logits[:, -1]), state'''),), {"state"}, "in the state"),
], ids=["prefix-dropped", "first-position", "register-ignored", "no-length-normalization", "prefix-in-closure"])
def test_decoding_bugs_lose_only_their_sub_check(replace, loses, says):
    result = grade("decoding", _decoding_ns(replace))
    lost = {name for name, c in result.items() if c.earned < c.points}
    assert lost == loses, {n: c.message for n, c in result.items()}
    assert all(says in result[name].message for name in loses), {n: result[n].message for n in loses}


def test_unfinished_decoding_earns_nothing():
    source = DRAFT.read_text(encoding="utf-8")
    # the starter: every function body of the answer cell replaced by raise NotImplementedError()
    for name in ("def beam_search(", "def make_step_fn(", "def translate("):
        start = source.index(name)
        body = source.index('"""', source.index('"""', start) + 3) + 3
        end = source.find("\n\n\n", body)
        source = source[:body] + "\n    raise NotImplementedError()" + source[end if end > 0 else len(source):]
    ns: dict = {"__name__": "__main__"}
    exec(source, ns)
    result = grade("decoding", ns)
    assert all(c.earned == 0 for c in result.values()), {n: (c.earned, c.message) for n, c in result.items()}
