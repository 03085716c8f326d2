"""Calibration of 03's transformer training run: does the grader's run tell a working Transformer from a broken one?

    python benchmarks/transformer_training.py [--variants ref,no_cross_attention,causal_leak,...]
                                              [--seeds 1,2,3] [--threads N] [--set NAME=VALUE ...]

Trains the student's Transformer in the grader's configuration (the TRAIN_* constants at the top of
autograder/assignments/03_transformer/training.py), once per variant and seed, and prints the accuracy
on the held-out questions (autograder.checks.heldout) that the judge compares with TRAIN_PASS_ACC /
TRAIN_PARTIAL_ACC, the verdict, the teacher-forced accuracy on the validation slice, and the seconds of
training.train (fit and the answers to the questions). The model is the reference answers of
tests/fixtures/03_reference_answers.py (a fresh namespace per run); the variants patch that namespace:

- ``ref``: as written;
- ``no_cross_attention``: the decoder's cross-attention output is zeroed (a Korean language model only);
- ``causal_leak``: the look-ahead mask lets position t see t + 1 too (teacher-forced accuracy would be
  high; a held-out question gives only the prefix, without the next token);
- ``no_scaling``: scores without 1 / sqrt(d_k);
- ``no_positional_encoding``: the sinusoid table is zero;
- ``pre_norm``: pre-norm encoder and decoder layers (x + Sublayer(LN(x))), no final norm.

The grader must score ``ref`` a pass on every seed and ``no_cross_attention`` / ``causal_leak`` a miss;
the last three are reported only. ``--set TRAIN_EPOCHS=3`` (any TRAIN_* name of training.py) tries another
configuration. ``--threads N`` sets TensorFlow's intra- and inter-op threads (the grader's worker uses 1;
default: TensorFlow's choice). One run takes about 25 s at 1 thread.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VARIANTS = ("ref", "no_cross_attention", "causal_leak", "no_scaling", "no_positional_encoding", "pre_norm")
TRAINING = "autograder.assignments.03_transformer.training"


def reference_namespace() -> dict:
    ns: dict = {"__name__": "reference_03"}
    exec((ROOT / "tests" / "fixtures" / "03_reference_answers.py").read_text(encoding="utf-8"), ns)
    return ns


def variant_namespace(variant: str) -> dict:
    """A fresh reference namespace with `variant` patched in (the classes look their helpers up there)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
    ns = reference_namespace()
    ops = ns["ops"]
    if variant == "no_cross_attention":
        mha, decoder_layer = ns["MultiHeadAttention"], ns["DecoderLayer"]

        class ZeroOutputAttention(mha):
            def call(self, query, value, key=None, mask=None, return_attention_scores=False):
                out, weights = super().call(query, value, key, mask, return_attention_scores=True)
                out = ops.zeros_like(out)
                return (out, weights) if return_attention_scores else out

        class NoCrossDecoderLayer(decoder_layer):
            def __init__(self, d_model, num_heads, d_ff, dropout=0.1, **kwargs):
                super().__init__(d_model, num_heads, d_ff, dropout, **kwargs)
                self.cross_mha = ZeroOutputAttention(num_heads, d_model // num_heads)

        ns["DecoderLayer"] = NoCrossDecoderLayer
    elif variant == "causal_leak":
        def look_ahead_mask(size):  # key position <= query position + 1
            idx = ops.arange(size)
            keep = ops.less_equal(ops.expand_dims(idx, 0), ops.expand_dims(idx, 1) + 1)
            return ops.expand_dims(keep, 0)

        ns["look_ahead_mask"] = look_ahead_mask
    elif variant == "no_scaling":
        def scaled_dot_product_attention(q, k, v, mask=None):
            scores = ops.matmul(q, ops.swapaxes(k, -1, -2))
            if mask is not None:
                scores = ops.where(ops.cast(mask, "bool"), scores, ops.cast(ns["NEG_INF"], scores.dtype))
            weights = ops.softmax(scores, axis=-1)
            return ops.matmul(weights, v), weights

        ns["scaled_dot_product_attention"] = scaled_dot_product_attention
    elif variant == "no_positional_encoding":
        ns["positional_encoding"] = lambda length, depth: ops.zeros((length, depth), "float32")
    elif variant == "pre_norm":
        encoder_layer, decoder_layer = ns["EncoderLayer"], ns["DecoderLayer"]

        class PreNormEncoderLayer(encoder_layer):
            def call(self, x, mask=None, training=None):
                y = self.ln1(x)
                h = x + self.dropout(self.mha(y, y, mask=mask), training=training)
                return h + self.ffn(self.ln2(h), training=training)

        class PreNormDecoderLayer(decoder_layer):
            def call(self, x, enc_out, self_mask=None, cross_mask=None, training=None):
                y = self.ln1(x)
                h1 = x + self.dropout(self.self_mha(y, y, mask=self_mask), training=training)
                a2, weights = self.cross_mha(self.ln2(h1), enc_out, mask=cross_mask, return_attention_scores=True)
                h2 = h1 + self.dropout(a2, training=training)
                return h2 + self.ffn(self.ln3(h2), training=training), weights

        ns["EncoderLayer"], ns["DecoderLayer"] = PreNormEncoderLayer, PreNormDecoderLayer
    return ns


def heldout_gold():
    """The answers to the run's held-out questions (grader-side: the benchmark is the instructor's tool)."""
    from autograder.checks import heldout

    return heldout.gold(importlib.import_module("autograder.assignments.03_transformer.judges").HELDOUT)


def run(variant: str, seed: int) -> tuple[float, float, float]:
    """(held-out question accuracy, teacher-forced token accuracy on the validation slice, seconds of train)."""
    import keras
    import numpy as np

    training = importlib.import_module(TRAINING)
    ns = variant_namespace(variant)
    data = training.corpus_arrays()
    keras.utils.set_random_seed(seed)
    model = training.compose(ns["Transformer"], data["src_vocab"], data["tgt_vocab"])
    start = time.perf_counter()
    pred = training.train(model, data)
    seconds = time.perf_counter() - start
    xv, tv_in, gold = data["eval"]  # the validation slice, teacher-forced: what a peeking decoder would get
    forced = np.asarray(keras.ops.convert_to_numpy(model([xv, tv_in], training=False))).argmax(-1)
    return training.token_accuracy(pred, heldout_gold()), training.token_accuracy(forced, gold), seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    training = importlib.import_module(TRAINING)
    for item in args.set:
        name, value = item.split("=", 1)
        if not name.startswith("TRAIN_") or not hasattr(training, name):
            parser.error(f"--set {item}: not a TRAIN_* setting of training.py")
        setattr(training, name, type(getattr(training, name))(value))
    variants = args.variants.split(",")
    for variant in variants:
        if variant not in VARIANTS:
            parser.error(f"--variants: unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
    if args.threads:
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    t = training
    print(f"pass at {t.TRAIN_PASS_ACC}, partial at {t.TRAIN_PARTIAL_ACC}; {t.TRAIN_LAYERS} layer(s), d_model "
          f"{t.TRAIN_D_MODEL}, {t.TRAIN_HEADS} heads, d_ff {t.TRAIN_D_FF}, dropout {t.TRAIN_DROPOUT}; "
          f"{t.TRAIN_EPOCHS} epochs, batch {t.TRAIN_BATCH}, lr {t.TRAIN_LR}", flush=True)
    for variant in variants:
        for seed in (int(s) for s in args.seeds.split(",")):
            acc, forced, seconds = run(variant, seed)
            verdict = ("pass" if acc >= t.TRAIN_PASS_ACC else
                       "partial" if acc >= t.TRAIN_PARTIAL_ACC else "miss")
            print(f"{variant:22s} seed {seed}: accuracy {acc:.3f} ({verdict}), teacher-forced {forced:.3f}, "
                  f"{seconds:.1f} s of training", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
