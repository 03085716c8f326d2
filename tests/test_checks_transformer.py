"""The visible checks of 03_transformer (seqlab/checks_transformer.py): every check passes on the reference answers
(tests/fixtures/03_reference_answers.py) without a word on stderr, prints as many `[ok]` lines as the notebook's
check cell announces, and fails with a message that names the bug on answers with one obvious bug each."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import seqlab.checks_transformer as checks

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "03_reference_answers.py"
REFERENCE = FIXTURE.read_text(encoding="utf-8")
NOTEBOOK = ROOT / "solutions" / "03_transformer" / "03_transformer.ipynb"

# check -> (the notebook names it takes, the [ok] lines it prints on a correct answer)
CHECKS = {
    "check_positional_encoding": (("positional_encoding", "PositionalEmbedding"), 6),
    "check_masks": (("padding_mask", "look_ahead_mask"), 4),
    "check_attention": (("scaled_dot_product_attention",), 6),
    "check_mha": (("MultiHeadAttention",), 8),
    "check_feed_forward": (("FeedForward",), 5),
    "check_encoder_layer": (("EncoderLayer",), 7),
    "check_decoder_layer": (("DecoderLayer",), 6),
    "check_transformer": (("Transformer",), 8),
    "check_loss": (("masked_loss", "masked_accuracy"), 5),
    "check_schedule": (("WarmupSchedule",), 4),
}

# (name, find, replace, the check that must fail, a phrase its message must contain)
BUGS = [
    ("no_1_over_sqrt_dk", "scores = scores / ops.sqrt(ops.cast(dk, scores.dtype))", "scores = scores",
     "check_attention", "not scaled"),
    ("sin_cos_swapped", "ops.where(ops.equal(j % 2, 0), ops.sin(angles), ops.cos(angles))",
     "ops.where(ops.equal(j % 2, 0), ops.cos(angles), ops.sin(angles))", "check_positional_encoding", "swapped"),
    ("padding_mask_inverted", "return ops.expand_dims(ops.not_equal(tokens, PAD_ID), 1)",
     "return ops.expand_dims(ops.equal(tokens, PAD_ID), 1)", "check_masks", "padding_mask is inverted"),
    ("look_ahead_mask_inverted", "return ops.expand_dims(keep, 0)", "return ops.expand_dims(ops.logical_not(keep), 0)",
     "check_masks", "inverted"),
    ("encoder_residual_missing", "h = self.ln1(x + self.dropout(attn, training=training))",
     "h = self.ln1(self.dropout(attn, training=training))", "check_encoder_layer",
     "residual connection around the attention is missing"),
    ("decoder_residual_missing", "h2 = self.ln2(h1 + self.dropout(a2, training=training))",
     "h2 = self.ln2(self.dropout(a2, training=training))", "check_decoder_layer",
     "residual connection around the cross-attention is missing"),
    ("decoder_without_look_ahead", "self_mask = ops.logical_and(look_ahead_mask(ops.shape(target)[1]), padding_mask(target))",
     "self_mask = padding_mask(target)", "check_transformer", "looks ahead"),
    ("loss_counts_pad", "return ops.sum(loss * keep) / ops.maximum(ops.sum(keep), 1.0)", "return ops.mean(loss)",
     "check_loss", "[PAD] labels must not count"),
    ("schedule_without_step_plus_one", 's = ops.cast(step, "float32") + 1.0', 's = ops.cast(step, "float32")',
     "check_schedule", "s = step + 1"),
    ("float16_minus_1e9", 'fill = NEG_INF_FP16 if keras.backend.standardize_dtype(scores.dtype) == "float16" else NEG_INF',
     "fill = NEG_INF", "check_attention", "NEG_INF_FP16"),
]


def namespace(source: str) -> dict:
    ns = {"__name__": "__main__"}
    exec(compile(source, "<cell answers>", "exec"), ns)
    return ns


def run(check: str, ns: dict) -> None:
    names, _ = CHECKS[check]
    getattr(checks, check)(*[ns[name] for name in names])


def test_checks_pass_on_the_reference_without_stderr(capfd):
    ns = namespace(REFERENCE)  # exec'd again in every test: the .keras round trip loads the latest registered classes
    for check in CHECKS:
        run(check, ns)
    out, err = capfd.readouterr()
    assert err == ""
    blocks = re.split(r"(?m)^.*: all \d+ checks passed$", out)[:-1]
    assert len(blocks) == len(CHECKS), out
    for (check, (_, n)), block in zip(CHECKS.items(), blocks):
        lines = [line for line in block.splitlines() if line.strip()]
        assert len(lines) == n and all(line.startswith("[ok] ") and "  expected: " in line for line in lines), (check, lines)
    assert [int(x) for x in re.findall(r"all (\d+) checks passed", out)] == [n for _, n in CHECKS.values()]


@pytest.mark.parametrize("name, find, replace, check, says", BUGS, ids=[b[0] for b in BUGS])
def test_check_names_an_obvious_bug(name, find, replace, check, says, capfd):
    assert REFERENCE.count(find) == 1, find
    ns = namespace(REFERENCE.replace(find, replace))
    with pytest.raises(AssertionError) as info:
        run(check, ns)
    assert says in str(info.value), str(info.value)
    assert capfd.readouterr().err == ""


def test_the_notebook_check_cells_announce_these_counts():
    if not NOTEBOOK.exists():
        pytest.skip("no 03 notebook")
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    announced = {}
    for cell in cells:
        source = "".join(cell["source"])
        called = re.search(r"seqlab\.checks_transformer\.(check_\w+)\(", source)
        if cell["cell_type"] == "code" and called:
            first = source.splitlines()[0]
            count = re.match(r'# Expected output: (\d+) lines "\[ok\] <case>  expected: <value>", then "(.+): all (\d+) '
                             r'checks passed"\.', first)
            assert count and count.group(1) == count.group(3), first
            announced[called.group(1)] = int(count.group(1))
    assert announced == {check: n for check, (_, n) in CHECKS.items()}
