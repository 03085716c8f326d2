"""The from-scratch Transformer's training step against an equal-size one built on keras.layers.MultiHeadAttention.

    [KERAS_BACKEND=jax] python benchmarks/translation_speed.py [--profile gpu|cpu] [--steps 60] [--warmup 10]
                                                               [--threads N]

Both models are the reference Transformer of tests/fixtures/03_reference_answers.py (the layers 04 re-declares)
at a profile's size (autograder/assignments/04_translation/training.py); in the second, the reference
MultiHeadAttention is replaced by a thin adapter over keras.layers.MultiHeadAttention (same weight shapes, same
parameter count, checked). Both train on the same batches (the grader's bucketed batches of the shipped corpus),
with the grader's loss and optimizer. After `--warmup` steps and one step on every batch shape the timed steps use (tracing,
compilation), `--steps` steps are timed per model, alternating in blocks of 10 so that a change in machine load hits both alike. Prints milliseconds per
step, target tokens per second and the ratio (from scratch / built-in), with the backend and the device.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

TRAINING = "autograder.assignments.04_translation.training"


def builtin_namespace() -> dict:
    """The reference namespace with MultiHeadAttention backed by keras.layers.MultiHeadAttention."""
    import keras

    import transformer_training as variants

    ns = variants.reference_namespace()
    ops = keras.ops

    class BuiltinMultiHeadAttention(keras.layers.Layer):
        def __init__(self, num_heads, key_dim, **kwargs):
            super().__init__(**kwargs)
            self.num_heads, self.key_dim = num_heads, key_dim
            self.inner = keras.layers.MultiHeadAttention(num_heads, key_dim)

        def build(self, query_shape, value_shape, key_shape=None):
            self.inner.build(query_shape, value_shape, key_shape)

        def call(self, query, value, key=None, mask=None, return_attention_scores=False):
            if mask is not None:  # the kit's (B|1, Tq|1, Tk) boolean mask -> Keras's (B, Tq, Tk)
                shape = (ops.shape(query)[0], ops.shape(query)[1], ops.shape(value)[1])
                mask = ops.broadcast_to(ops.cast(mask, "bool"), shape)
            return self.inner(query, value, key, attention_mask=mask,
                              return_attention_scores=return_attention_scores)

    ns["MultiHeadAttention"] = BuiltinMultiHeadAttention
    return ns


def device_name() -> str:
    import keras

    try:
        if keras.backend.backend() == "jax":
            import jax

            return str(jax.devices()[0].device_kind)
        if keras.backend.backend() == "torch":
            import torch

            return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU") if gpus else "cpu"
    except Exception as exc:  # the name is informative only
        return f"unknown ({exc})"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="gpu")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args(argv)
    import keras
    import numpy as np

    import transformer_training as variants

    if a.threads and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(a.threads)
        tf.config.threading.set_inter_op_parallelism_threads(a.threads)
    T = importlib.import_module(TRAINING)
    profile = T.PROFILES[a.profile]
    tokens = T.load_tokens()
    src, tgt = T.training_set(tokens, profile)
    plan = T.batches(src, tgt, profile["batch_size"], 0, 0, profile["widths"])
    n_src, n_tgt = T.K.vocab_sizes()
    models = {}
    for name, ns in (("from scratch", variants.reference_namespace()), ("built-in MHA", builtin_namespace())):
        keras.utils.set_random_seed(0)
        model = T.compose(ns["Transformer"], profile, n_src, n_tgt)
        (x, t_in), _ = plan[0]
        model([x, t_in])
        model.compile(optimizer=keras.optimizers.Adam(T.warmup(profile["d_model"], profile["warmup_steps"])),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0))
        models[name] = model
    counts = {name: m.count_params() for name, m in models.items()}
    if len(set(counts.values())) != 1:
        raise SystemExit(f"the two models differ in size: {counts}")
    seconds = {name: 0.0 for name in models}
    tokens_seen = {name: 0 for name in models}
    step = 0
    timed = plan[a.warmup:a.warmup + a.steps]
    shapes = {}
    for batch in timed:  # one batch of every shape the timed steps use
        shapes.setdefault((batch[0][0].shape, batch[0][1].shape), batch)
    for name, model in models.items():  # warm-up: tracing and compilation, every batch shape once
        for (x, t_in), t_out in plan[:a.warmup] + list(shapes.values()):
            model.train_on_batch([x, t_in], t_out)
    for block in range(0, a.steps, 10):
        for name, model in models.items():
            for (x, t_in), t_out in timed[block:block + 10]:
                start = time.perf_counter()
                float(model.train_on_batch([x, t_in], t_out))  # float(): wait for the step to finish
                seconds[name] += time.perf_counter() - start
                tokens_seen[name] += int((t_out != 0).sum())
                step += 1
    n = step // len(models)
    print(f"backend {keras.backend.backend()}, device {device_name()}, profile {a.profile} "
          f"({profile['num_layers']} layers, d_model {profile['d_model']}, {profile['num_heads']} heads, "
          f"batch {profile['batch_size']}), {counts['from scratch']:,} weights each, {n} timed steps each")
    for name in models:
        print(f"{name:14s} {1000 * seconds[name] / n:8.1f} ms/step  {tokens_seen[name] / seconds[name]:10.0f} "
              f"target tokens/s")
    print(f"ratio (from scratch / built-in): {seconds['from scratch'] / seconds['built-in MHA']:.2f}")
    return 0 if np.isfinite(list(seconds.values())).all() else 1


if __name__ == "__main__":
    raise SystemExit(main())
