"""The items of 04_translation graded directly (Item.probe in this process, Item.judge on its record), on answers
written as different students would: the label-smoothed loss and the decoding functions in other correct styles and
with subtle bugs, and a Transformer with two independent bugs (benchmarks/transformer_training.py's variants).

The master notebook itself (solution, starter, the mutant catalogue tests/mutants/04_translation.py, the sample
class, real nbgrader) is graded by the generic tests, in the worker's sandbox and with the grader's training run;
this file adds the answers the catalogue does not hold. Each must lose exactly the sub-checks its bug breaks, with
feedback that names the fault.
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


def test_two_bugs_lose_their_two_sub_checks_and_nothing_else():
    result = grade("transplant", leaking_and_unsaveable())
    lost = {name for name, c in result.items() if c.earned < c.points}
    assert lost == {"causal", "export"}, {n: c.message for n, c in result.items()}
    assert "looks ahead" in result["causal"].message
    assert "get_config" in result["export"].message or "num_layers" in result["export"].message


def _part1(*edits) -> dict:
    """The 04 solution's setup and Part 1 cells, executed with `edits` (find, replace[, count]) applied to Part 1."""
    from tests.helpers import cell_by_grade_id, read_nb, solution_nb

    nb = read_nb(solution_nb("04_translation"))
    source = cell_by_grade_id(nb, "transformer_code").source
    for find, replace, *count in edits:
        assert source.count(find) == (count or [1])[0], find
        source = source.replace(find, replace)
    ns: dict = {"__name__": "__main__"}
    exec(cell_by_grade_id(nb, "setup").source, ns)
    exec(source, ns)
    return ns


def test_part_1_written_another_correct_way_gets_full_marks():
    """A student whose 03 MultiHeadAttention runs the heads one at a time (03 charged it for speed, not numerics)
    and whose encoder layer names its steps differently: the same function, so the transplant gives full marks."""
    heads_loop = importlib.import_module("tests.mutants.03_transformer").HEADS_LOOP
    ns = _part1(("heads, weights = scaled_dot_product_attention(q, k, v, mask)", heads_loop),
                ("h = self.ln1(x + self.dropout(attn, training=training))",
                 "residual = x + self.dropout(attn, training=training)\n        h = self.ln1(residual)"))
    result = grade("transplant", ns)
    assert earned(result) == full("transplant"), {n: c.message for n, c in result.items()}


def test_a_sound_hyperparameter_of_the_students_own_passes_both_runs():
    """LayerNormalization(epsilon=1e-6) in all five of them (the reference keeps Keras's 1e-3): with the checkpoint's
    weights it translates within the margin, and the grader's training run still learns it past the threshold."""
    ns = _part1(("keras.layers.LayerNormalization()", "keras.layers.LayerNormalization(epsilon=1e-6)", 5))
    for grade_id in ("transplant", "translation_training"):
        result = grade(grade_id, ns)
        assert earned(result) == full(grade_id), {n: c.message for n, c in result.items()}


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
