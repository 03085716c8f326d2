"""benchmarks/transformer_training.py, the calibration of 03's training run, runs as documented (a tiny
configuration, in a subprocess so that its --set never touches this process's training module), its
variants change what they say they change, and a held-out question is answered from its prefix alone."""
from __future__ import annotations

import importlib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "transformer_training.py"
LINE = re.compile(r"^(\S+) +seed (\d+): accuracy ([0-9.]+) \((pass|partial|miss)\), teacher-forced ([0-9.]+), "
                  r"([0-9.]+) s of training$")


def _load():
    spec = importlib.util.spec_from_file_location("transformer_training_bench", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_variants_patch_what_they_say():
    bench = _load()
    ref = bench.variant_namespace("ref")
    leak = bench.variant_namespace("causal_leak")
    assert np.array_equal(np.asarray(leak["look_ahead_mask"](3))[0],
                          [[True, True, False], [True, True, True], [True, True, True]])
    assert np.array_equal(np.asarray(ref["look_ahead_mask"](3))[0], np.tril(np.ones((3, 3), bool)))
    assert not np.any(np.asarray(bench.variant_namespace("no_positional_encoding")["positional_encoding"](4, 6)))
    rng = np.random.default_rng(0)
    q, k, v = (rng.normal(size=(1, 2, 3, 4)).astype("float32") for _ in range(3))
    unscaled = np.asarray(bench.variant_namespace("no_scaling")["scaled_dot_product_attention"](q, k, v)[1])
    scaled = np.asarray(ref["scaled_dot_product_attention"](q * 2.0, k, v)[1])  # sqrt(d_k) = 2
    assert np.allclose(unscaled, scaled, atol=1e-6)
    x = rng.normal(size=(2, 3, 8)).astype("float32")
    enc = rng.normal(size=(2, 5, 8)).astype("float32")
    layer = bench.variant_namespace("no_cross_attention")["DecoderLayer"](8, 2, 16, 0.0)
    out, weights = layer(x, enc)
    h2 = layer.ln2(layer.ln1(x + layer.self_mha(x, x)))  # the cross-attention block adds nothing
    assert np.allclose(np.asarray(out), np.asarray(layer.ln3(h2 + layer.ffn(h2))), atol=1e-5)
    assert np.asarray(weights).shape == (2, 2, 3, 5)


def test_heldout_predictions_answer_each_question_from_its_prefix_alone():
    from autograder.checks.train import heldout_predictions

    questions = dict(src=np.array([[4, 4, 0], [5, 0, 0], [6, 7, 8]], np.int32),
                     prefix=np.array([[2, 5, 7], [2, 0, 0], [2, 9, 0]], np.int32), length=np.array([3, 1, 2], np.int32))
    seen = []

    def model(inputs, training=None):
        src, tgt = inputs
        seen.append((tgt.shape[1], src[:, 0].tolist(), tgt.tolist()))
        logits = np.zeros(tgt.shape + (12,), np.float32)
        b, t = np.indices(tgt.shape)
        logits[b, t, (tgt + src[:, :1] + tgt.shape[1]) % 12] = 1.0  # depends on the source and the prefix width
        return logits

    pred = heldout_predictions(model, questions)
    # one call per prefix length, each with only the rows of that length and only their prefix
    assert seen == [(1, [5], [[2]]), (2, [6], [[2, 9]]), (3, [4], [[2, 5, 7]])]
    assert pred.tolist() == [(7 + 4 + 3) % 12, (2 + 5 + 1) % 12, (9 + 6 + 2) % 12] and pred.dtype == np.int32
    training = importlib.import_module("autograder.assignments.03_transformer.training")
    assert training.token_accuracy(np.array([[1, 2, 3]]), np.array([[1, 5, 0]])) == 0.5


def test_command_line_prints_one_line_per_run():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--variants", "ref,causal_leak", "--seeds", "1", "--threads", "1",
         "--set", "TRAIN_N_PAIRS=64", "--set", "TRAIN_N_EVAL=8", "--set", "TRAIN_EPOCHS=1",
         "--set", "TRAIN_D_MODEL=16", "--set", "TRAIN_D_FF=16", "--set", "TRAIN_HEADS=2"],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "d_model 16" in proc.stdout.splitlines()[0], proc.stdout
    lines = [LINE.match(l) for l in proc.stdout.splitlines() if "seed 1:" in l]
    assert all(lines) and [m.group(1) for m in lines] == ["ref", "causal_leak"], proc.stdout
    for m in lines:
        assert 0.0 <= float(m.group(3)) <= 1.0 and 0.0 <= float(m.group(5)) <= 1.0


def test_unknown_setting_or_variant_is_refused():
    for args in (["--set", "EPOCHS=3"], ["--variants", "nope"]):
        proc = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                              timeout=120, cwd=ROOT)
        assert proc.returncode == 2 and ("not a TRAIN_* setting" in proc.stderr or "unknown variant" in proc.stderr)
