"""The 02_seq2seq_attention grader on answers held in a namespace (no notebook, no kernel): fast checks that
complement the mutant catalogue (tests/mutants/02_seq2seq_attention.py, graded from real notebooks).

The reference answers (tests/fixtures/02_reference_answers.py, test data, never an oracle) get full marks on
every item for three seeds; answers that score nothing get 0 without crashing; other correct styles (an
additive mask, tanh outside W_c, a greedy decoder that shrinks its batch) keep full marks; the probes run in
the worker's sandbox and write no warnings. Graded on the same path as `grade_namespace_item`: probe, records
dump/load/validate, judge.
"""
from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path

import pytest

from autograder import records
from autograder.registry import item_seed
from autograder.results import ItemResult

PACKAGE = "autograder.assignments.02_seq2seq_attention"
ITEMS = {i.grade_id: i for i in importlib.import_module(f"{PACKAGE}.items").ITEMS}
REFERENCE = (Path(__file__).parent / "fixtures" / "02_reference_answers.py").read_text(encoding="utf-8")
FAST_ITEMS = [g for g in ITEMS if g != "attention_training"]
SEEDS = (20261123, 7, 123456)

# answer cell -> the items whose probes run its code
CELL_ITEMS = {
    "encoder_code": ("encoder",), "decoder_code": ("decoder",),
    "masked_attention_code": ("masked_attention", "bahdanau_attention", "luong_attention"),
    "bahdanau_attention_code": ("bahdanau_attention",), "luong_attention_code": ("luong_attention",),
    "attention_decoder_code": ("attention_decoder",), "greedy_decoding_code": ("greedy_decoding",),
    "beam_search_code": ("beam_search",), "beam_error_analysis_code": ("beam_error_analysis",),
}


def namespace(source: str) -> dict:
    ns = {"__name__": "__main__"}
    exec(compile(source, "<cell answers>", "exec"), ns)
    return ns


def grade(grade_id: str, ns: dict, seed: int) -> ItemResult:
    """What grade_namespace_item does: probe, the record through files and validation, judge."""
    item = ITEMS[grade_id]
    s = item_seed(seed, item.id)
    raw = item.probe(ns, s)
    with tempfile.TemporaryDirectory() as tmp:
        npz, meta = os.path.join(tmp, "p.npz"), os.path.join(tmp, "p.json")
        records.dump(raw, npz, meta)
        return ItemResult(item.id, item.points, checks=item.judge(records.load(npz, meta), s))


def test_points_match_the_spec():
    points = {g: i.points for g, i in ITEMS.items()}
    assert points == {"encoder": 3, "decoder": 2, "masked_attention": 3, "bahdanau_attention": 3, "luong_attention": 5,
                      "attention_decoder": 4, "greedy_decoding": 2, "beam_search": 5, "beam_error_analysis": 2,
                      "attention_training": 3}
    assert sum(points.values()) == 32


@pytest.fixture(scope="module")
def reference():
    return namespace(REFERENCE)


@pytest.mark.parametrize("seed", SEEDS)
def test_reference_gets_full_marks(reference, seed):
    for grade_id in FAST_ITEMS:
        result = grade(grade_id, reference, seed)
        assert result.score == result.max_points, result.feedback()


def test_starter_like_answers_score_zero_without_crashing():
    """Every answer raising NotImplementedError: every item 0, each sub-check with a reason."""
    ns = namespace("import numpy as np\nimport keras\n")
    for name in ("Encoder", "Decoder", "BaseAttention", "BahdanauAttention", "LuongAttention", "AttentionDecoder"):
        exec(f"class {name}(keras.layers.Layer):\n    def __init__(self, *a, **k):\n        super().__init__()\n"
             f"    def call(self, *a, **k):\n        raise NotImplementedError\n    def score(self, *a):\n"
             f"        raise NotImplementedError\n", ns)
    for name in ("source_mask", "greedy_decode", "beam_search", "sequence_log_prob", "beam_error_analysis"):
        exec(f"def {name}(*a, **k):\n    raise NotImplementedError\n", ns)
    for grade_id in FAST_ITEMS:
        result = grade(grade_id, ns, SEEDS[0])
        assert result.score == 0, result.feedback()
        assert all(c.message for c in result.checks), result.feedback()


# (id, cell, [(find, replace)], {failing "item/sub-check"}, phrase the feedback must contain)
VARIANTS = [
    ("softmax_over_query_axis", "masked_attention_code",
     [("weights = ops.softmax(scores, axis=-1)", "weights = ops.softmax(scores, axis=1)")],
     {"masked_attention/softmax axis"}, "query axis"),
    ("mask_ignored", "masked_attention_code", [("        if mask is not None:\n", "        if False:\n")],
     {"masked_attention/masked weights"}, "mask is ignored"),
    ("mask_inverted", "masked_attention_code",
     [('keep = ops.expand_dims(ops.cast(mask, "bool"), 1)', 'keep = ops.logical_not(ops.expand_dims(ops.cast(mask, "bool"), 1))')],
     {"masked_attention/masked weights"}, "inverted"),
    ("uses_keras_attention", "masked_attention_code",
     [("        scores = self.score(query, values)", "        keras.layers.Attention()\n        scores = self.score(query, values)")],
     {f"{i}/{c}" for i in ("masked_attention", "bahdanau_attention", "luong_attention") for c, _ in ITEMS[i].checks},
     "from scratch"),
    ("bahdanau_without_tanh", "bahdanau_attention_code",
     [("return ops.sum(ops.tanh(q + k) * self.v, axis=-1)              # (B, T, S)",
       "return ops.sum((q + k) * self.v, axis=-1)")],
     {"bahdanau_attention/score", "bahdanau_attention/terms"}, "tanh is missing"),
    ("general_without_W", "luong_attention_code",
     [("return ops.matmul(ops.matmul(query, self.W), ops.transpose(values, (0, 2, 1)))",
       "return ops.matmul(query, ops.transpose(values, (0, 2, 1)))")],
     {"luong_attention/general"}, "ignores W"),
    ("concat_halves_swapped", "luong_attention_code",
     [("ops.matmul(query, self.W[:d_q]), 2)", "ops.matmul(query, self.W[d_q:]), 2)"),
      ("ops.matmul(values, self.W[d_q:]), 1)", "ops.matmul(values, self.W[:d_q]), 1)")],
     {"luong_attention/concat"}, "halves of W are swapped"),
    ("scaled_without_sqrt", "luong_attention_code",
     [("scores = scores / ops.sqrt(ops.cast(ops.shape(query)[-1], scores.dtype))",
       "scores = scores / ops.cast(ops.shape(query)[-1], scores.dtype)")],
     {"luong_attention/scaled_dot"}, "divided by d"),
    ("location_not_sliced", "luong_attention_code",
     [("return ops.matmul(query, self.W)[:, :, :S]", "return ops.matmul(query, self.W)")],
     {"luong_attention/location"}, "slice it"),
    ("encoder_without_mask", "encoder_code",
     [("self.embedding = keras.layers.Embedding(vocab_size, embed_dim, mask_zero=True)\n        self.rnn = keras.layers.Bidirectional(",
       "self.embedding = keras.layers.Embedding(vocab_size, embed_dim)\n        self.rnn = keras.layers.Bidirectional(")],
     {"encoder/mask"}, "[PAD] mask must reach the LSTM"),
    ("decoder_ignores_initial_state", "decoder_code",
     [("s, h, c = self.rnn(x, initial_state=list(initial_state))        # (B, T, U), (B, U), (B, U)",
       "s, h, c = self.rnn(x)")],
     {"decoder/initial state"}, "initial_state is ignored"),
    ("decoder_initial_state_swapped", "decoder_code",
     [("initial_state=list(initial_state))        # (B, T, U), (B, U), (B, U)", "initial_state=list(initial_state)[::-1])")],
     {"decoder/initial state"}, "[c, h]"),
    ("attention_decoder_s_then_c", "attention_decoder_code",
     [("ops.concatenate([context, s], axis=-1)", "ops.concatenate([s, context], axis=-1)")],
     {"attention_decoder/concat order"}, "[s_t; c_t]"),
    ("attention_decoder_mask_not_passed", "attention_decoder_code",
     [("self.attention(s, enc_outputs, mask=source_mask)", "self.attention(s, enc_outputs)")],
     {"attention_decoder/mask passed"}, "pass source_mask"),
    ("greedy_no_pad_after_end", "greedy_decoding_code",
     [("out[:, t] = np.where(done, PAD_ID, tokens)", "out[:, t] = tokens")],
     {"greedy_decoding/stops at END"}, "PAD_ID"),
    ("greedy_never_stops", "greedy_decoding_code", [("        if done.all():\n            break\n", "")],
     {"greedy_decoding/stops at END"}, "still called"),
    ("beam_without_length_normalization", "beam_search_code",
     [("scored = sorted(((tokens, lp / len(tokens) ** alpha)", "scored = sorted(((tokens, lp)")],
     {"beam_search/length normalization"}, "alpha is ignored"),
    ("beam_probabilities_multiplied", "beam_search_code",
     [("live = [([], 0.0)]", "live = [([], 1.0)]"),
      ("[:, None] + log_softmax(logits)", "[:, None] * np.exp(log_softmax(logits))")],
     {"beam_search/scores"}, "probabilities"),
    ("beam_finished_kept_expanding", "beam_search_code",
     [("                    finished.append(hyp)\n                else:\n", "                    finished.append(hyp)\n"),
      ("                    next_live.append(hyp)\n                    keep.append(r)\n",
       "                next_live.append(hyp)\n                keep.append(r)\n")],
     {"beam_search/matches the oracle", "beam_search/exhaustive"}, "must be set aside"),
    ("error_analysis_comparison_reversed", "beam_error_analysis_code",
     [("lr / len(r) ** alpha > lo / len(o) ** alpha", "lr / len(r) ** alpha < lo / len(o) ** alpha")],
     {"beam_error_analysis/verdicts"}, "reversed"),
    ("fractions_over_all_sentences", "beam_error_analysis_code",
     [("/ n if n else 0.0", "/ len(verdicts) if n else 0.0")],
     {"beam_error_analysis/fractions"}, "over the errors only"),
]


def _cell(source: str, cell: str) -> tuple[int, int]:
    start = source.index(f"# ===================== grade_id: {cell} ")
    nxt = source.find("# =====================", start + 10)
    return start, len(source) if nxt < 0 else nxt


def mutate(cell: str, edits) -> str:
    """The reference with each `find` replaced inside one answer cell (each must occur there, all occurrences)."""
    start, end = _cell(REFERENCE, cell)
    block = REFERENCE[start:end]
    for find, replace in edits:
        assert find in block, f"{find!r} not in {cell}"
        block = block.replace(find, replace)
    return REFERENCE[:start] + block + REFERENCE[end:]


# (the same faults, applied to the master notebook and graded end to end: tests/mutants/02_seq2seq_attention.py)


def test_training_item_composes_and_runs(reference, monkeypatch):
    """The reference passes `model`; `learns` runs to a verdict (a short run: the threshold is calibrated
    elsewhere, so its value is not asserted here)."""
    cases = importlib.import_module(f"{PACKAGE}.cases")
    monkeypatch.setattr(cases, "TRAIN_N_PAIRS", 256)
    monkeypatch.setattr(cases, "TRAIN_N_EVAL", 64)
    monkeypatch.setattr(cases, "TRAIN_EPOCHS", 1)
    result = grade("attention_training", reference, SEEDS[0])
    checks = {c.name: c for c in result.checks}
    assert checks["model"].passed, result.feedback()
    assert "accuracy is" in checks["learns"].message or checks["learns"].passed, result.feedback()
    broken = namespace(mutate("attention_decoder_code", [("logits = self.out(attentional)", "logits = attentional")]))
    result = grade("attention_training", broken, SEEDS[0])
    assert result.score == 0 and "expected [3," in result.feedback(), result.feedback()


SANDBOXED = r"""
import importlib, json, sys
import seqlab, keras
from autograder.worker import _BlockGraderImports, grader_only
sys.meta_path.insert(0, _BlockGraderImports())
for name in list(sys.modules):
    if grader_only(name):
        del sys.modules[name]
items = importlib.import_module("autograder.assignments.02_seq2seq_attention.items").ITEMS
ns = {"__name__": "__main__"}
exec(compile(open(sys.argv[1], encoding="utf-8").read(), "<cell answers>", "exec"), ns)
errors = {i.grade_id: i.probe(ns, 1)["errors"] for i in items if i.grade_id != "attention_training"}
print(json.dumps(errors))
"""


def test_probes_run_in_the_workers_sandbox():
    """The student's process refuses the oracles and judges: the probes must not need them."""
    import json
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", SANDBOXED, str(Path(__file__).parent / "fixtures" / "02_reference_answers.py")],
                          capture_output=True, text=True, timeout=600, cwd=Path(__file__).parent.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    errors = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(errors) == set(FAST_ITEMS) and not any(errors.values()), errors


SHRINKING_GREEDY = '''

def greedy_decode(step_fn, state, max_len, start_id=START_ID, end_id=END_ID):
    """Another correct style: only the unfinished rows go to step_fn."""
    B = len(state[0])
    out = np.zeros((B, max_len), dtype=np.int32)
    rows = np.arange(B)
    tokens = np.full(B, start_id)
    for t in range(max_len):
        logits, state = step_fn(tokens, state)
        tokens = np.argmax(logits, axis=-1)
        out[rows, t] = tokens
        alive = tokens != end_id
        rows, tokens, state = rows[alive], tokens[alive], [s[alive] for s in state]
        if len(rows) == 0:
            break
    return out
'''

# other correct styles: full marks on every item their cell feeds
ALTERNATIVES = [
    ("additive_mask", "masked_attention_code",
     [("scores = ops.where(keep, scores, ops.cast(NEG_INF, scores.dtype))",
       "scores = scores + (1.0 - ops.cast(keep, scores.dtype)) * NEG_INF")]),
    ("tanh_outside_W_c", "attention_decoder_code",
     [('keras.layers.Dense(units, activation="tanh", use_bias=False)', "keras.layers.Dense(units, use_bias=False)"),
      ("attentional = self.W_c(", "attentional = ops.tanh(self.W_c("),
      ("ops.concatenate([context, s], axis=-1))", "ops.concatenate([context, s], axis=-1)))")]),
    ("greedy_shrinks_the_batch", "greedy_decoding_code", [("    return out\n", "    return out\n" + SHRINKING_GREEDY)]),
]


@pytest.mark.parametrize("vid, cell, edits", ALTERNATIVES, ids=[v[0] for v in ALTERNATIVES])
def test_other_correct_styles_get_full_marks(vid, cell, edits):
    ns = namespace(mutate(cell, edits))
    for grade_id in CELL_ITEMS[cell]:
        result = grade(grade_id, ns, SEEDS[1])
        assert result.score == result.max_points, result.feedback()


def test_probes_raise_no_warnings(reference):
    """A hidden test cell must not write to stderr (nbgrader): Keras's mask, build and no-gradient warnings
    from the prescribed designs or a faulty answer stay inside the probe."""
    import warnings

    edits = next(v[2] for v in VARIANTS if v[0] == "general_without_W")  # no gradient for W
    faulty = namespace(mutate("luong_attention_code", edits))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for grade_id, ns in (("bahdanau_attention", reference), ("attention_decoder", reference), ("luong_attention", faulty)):
            ITEMS[grade_id].probe(ns, 3)
    assert not caught, [str(w.message)[:200] for w in caught]
