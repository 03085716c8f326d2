"""The grader's training run of 04_translation (autograder/assignments/04_translation/training.py): the committed
token arrays, the fixed-width batches, the profiles, and the GPU profile's code path proven on the CPU under the
JAX backend with TensorFlow made unimportable (what a GPU machine with JAX and no TensorFlow runs), at a tiny size.

The profiles' thresholds are calibrated by benchmarks/translation_training.py (not here: a run takes minutes).
"""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.helpers import ROOT

T = importlib.import_module("autograder.assignments.04_translation.training")


def test_committed_tokens_equal_a_fresh_tokenization():
    stored, fresh = T.load_tokens(), T.tokenize_all()
    for name in ("train_src", "train_tgt", "hidden_src"):
        assert len(stored[name]) == len(fresh[name])
        assert all(np.array_equal(a, np.asarray(b)) for a, b in zip(stored[name], fresh[name])), name
    assert list(stored["train_words"]) == fresh["train_words"]
    assert list(stored["hidden_words"]) == fresh["hidden_words"]


def test_batches_are_full_fixed_width_and_reproducible():
    tokens = T.load_tokens()
    profile = T.PROFILES["cpu"]
    src, tgt = T.training_set(tokens, profile)
    one, again, other = (T.batches(src, tgt, 64, 0, 0), T.batches(src, tgt, 64, 0, 0), T.batches(src, tgt, 64, 0, 1))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(one, again))
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(one, other))  # reshuffled per epoch
    widths = set()
    for (x, t_in), t_out in one:
        assert x.shape[0] == t_in.shape[0] == 64 and x.shape[1] in T.WIDTHS and t_in.shape == t_out.shape
        widths.add(x.shape[1])
        # target_out is target_in shifted by one, [END] last, [PAD] after
        inner = (t_out[:, :-1] != 0) & (t_out[:, :-1] != 3)
        assert np.array_equal(t_in[:, 1:][inner], t_out[:, :-1][inner])
        assert (t_in[:, 0] == 2).all() and ((t_out == 3).sum(axis=1) == 1).all()
    assert len(widths) <= 4  # short sentences: few shapes to trace
    assert len(one) == sum(len(g) // 64 for g in _groups(src, tgt).values())


def _groups(src, tgt):
    groups: dict = {}
    for i, (s, t) in enumerate(zip(src, tgt)):
        groups.setdefault(T._width(max(len(s), len(t) - 1)), []).append(i)
    return groups


def test_profiles_share_one_table_and_judge_distinct_sentences():
    for name, p in T.PROFILES.items():
        assert p["partial_bleu"] < p["pass_bleu"]
        idx = T.eval_set(p, T.load_tokens()["hidden_words"])
        assert len(idx) == p["eval_n"] and len(set(idx)) == len(idx), name
    assert T.profile_name() == "cpu"  # this machine (and CI) has no GPU


GPU_PATH = textwrap.dedent("""
    import importlib, json, sys
    sys.modules["tensorflow"] = None          # a machine with JAX and no TensorFlow
    sys.modules["tensorflow_text"] = None
    sys.path.insert(0, "benchmarks")
    import keras
    assert keras.backend.backend() == "jax"
    import transformer_training as variants
    T = importlib.import_module("autograder.assignments.04_translation.training")
    profile = dict(T.PROFILES["gpu"], num_layers=1, d_model=16, num_heads=2, d_ff=32, max_words=4, epochs=1,
                   eval_n=12, eval_max_words=6)
    tokens = T.load_tokens()
    keras.utils.set_random_seed(0)
    model = T.compose(variants.reference_namespace()["Transformer"], profile, 600, len(T.K.korean_vocab()))
    model([tokens["train_src"][0][None], tokens["train_tgt"][0][None, :-1]])
    info = T.train(model, profile, tokens, 0)
    ids = T.hidden_ids(model, tokens, profile)
    print(json.dumps({"info": info, "n": len(ids), "bleu": T.hidden_bleu(ids, profile), "profile": T.profile_name(),
                      "tf": "tensorflow" in sys.modules and sys.modules["tensorflow"] is not None}))
""")


def test_gpu_profile_code_path_runs_on_jax_without_tensorflow():
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", GPU_PATH], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["tf"] is False and out["profile"] == "cpu" and out["n"] == 12
    assert out["info"]["steps"] > 0 and np.isfinite(out["info"]["loss"]).all()
    assert 0.0 <= out["bleu"] <= 100.0


class _Recorder:
    """A stand-in model that never emits [END] (every decoding step runs) and records the shapes it is called on."""

    def __init__(self):
        self.shapes = set()

    def predict_on_batch(self, inputs):
        src, tgt = inputs
        self.shapes.add((src.shape, tgt.shape))
        logits = np.zeros(tgt.shape + (8,), np.float32)
        logits[..., 5] = 1.0
        return logits


def test_the_gpu_profile_compiles_few_programs():
    """On a GPU the run is compile-bound (measured on an H200: about 60 s for 6 training shapes and 30 s for 12
    decoding shapes, against 19 s of training): the gpu profile trains on 3 batch shapes and decodes its 400
    sentences with a single input shape."""
    tokens = T.load_tokens()
    profile = T.PROFILES["gpu"]
    src, tgt = T.training_set(tokens, profile)
    shapes = {x.shape for epoch in range(profile["epochs"])
              for (x, _), _ in T.batches(src, tgt, profile["batch_size"], 1, epoch, profile["widths"])}
    assert len(shapes) <= 3 and {w for _, w in shapes} <= set(profile["widths"])
    model = _Recorder()
    assert len(T.hidden_ids(model, tokens, profile)) == profile["eval_n"]
    assert len(model.shapes) == 1, sorted(model.shapes)


def test_benchmark_settings_parse_as_the_profiles_own_values():
    """`benchmarks/translation_training.py --set NAME=VALUE`: widths as a tuple, the cpu profile's decode_stride
    (None by default) as a number or none, the rest as its default's type; an unknown name is refused."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from translation_training import setting

    cpu, gpu = T.PROFILES["cpu"], T.PROFILES["gpu"]
    assert setting(cpu, "widths", "16,32,64") == (16, 32, 64)
    assert setting(cpu, "decode_stride", "65") == 65 and setting(cpu, "decode_stride", "none") is None
    assert setting(gpu, "decode_stride", "17") == 17 and setting(cpu, "epochs", "2") == 2
    assert setting(cpu, "pass_bleu", "41.5") == 41.5
    with pytest.raises(SystemExit, match="not a setting"):
        setting(cpu, "epoch", "2")
