"""benchmarks/attention_training.py, the calibration of 02's attention_training, runs as documented
(a tiny configuration, in a subprocess so that its --set never touches this process's cases module),
and its variants change what they say they change."""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "attention_training.py"


def _load():
    spec = importlib.util.spec_from_file_location("attention_training_bench", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_variants_change_only_the_attention():
    bench = _load()
    ns = bench.reference_namespace()
    rng = np.random.default_rng(0)
    query = rng.normal(size=(2, 3, 4)).astype("float32")
    values = rng.normal(size=(2, 5, 4)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    out = {}
    for variant in bench.VARIANTS:
        layer = bench.attention_variant(ns, variant)("dot")
        out[variant] = [np.asarray(x) for x in layer(query, values, mask=mask)]
    ref_context, ref_weights = out["ref"]
    assert np.all(ref_weights[0, :, 3:] == 0) and np.all(ref_context != 0)
    assert np.all(out["no_attention"][0] == 0) and np.allclose(out["no_attention"][1], ref_weights)
    assert np.all(out["mask_inverted"][1][0, :, :3] == 0) and np.all(out["mask_inverted"][1][0, :, 3:] > 0)
    assert np.all(out["mask_ignored"][1][0, :, 3:] > 0)


def test_command_line_prints_one_line_per_run():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--variants", "ref,no_attention", "--seeds", "1",
         "--set", "TRAIN_N_PAIRS=96", "--set", "TRAIN_N_EVAL=16", "--set", "TRAIN_EPOCHS=1"],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [l for l in proc.stdout.splitlines() if "seed 1:" in l]
    assert [l.split()[0] for l in lines] == ["ref", "no_attention"], proc.stdout
    for line in lines:
        acc = float(re.search(r"accuracy ([0-9.]+)", line).group(1))
        assert 0.0 <= acc <= 1.0


def test_unknown_setting_is_refused():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--set", "EPOCHS=3"], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 2 and "not a TRAIN_* setting" in proc.stderr
