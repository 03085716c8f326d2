"""Calibration of 04's training run: does the grader's run tell a working Transformer from a broken one, in time?

    [KERAS_BACKEND=jax] python benchmarks/translation_training.py [--profile cpu|gpu] [--variants ref,pre_norm,...]
                                                                  [--seeds 1,2,3] [--threads N] [--curve] [--set NAME=VALUE ...]

Trains the reference Transformer (tests/fixtures/03_reference_answers.py, the layers 04 re-declares) and its broken
variants (benchmarks/transformer_training.py: no_cross_attention, causal_leak, no_scaling, no_positional_encoding,
pre_norm) in a profile of autograder/assignments/04_translation/training.py (PROFILES; `--set epochs=2` changes one
value), and prints per run the BLEU of the greedy translations of the profile's hidden sentences, the verdict the
judge would give, the training loss per epoch, and the seconds of training and of decoding; `--curve` adds the
BLEU after every epoch and the training seconds to the profile's PASS threshold. `--threads N` sets
TensorFlow's intra- and inter-op threads (the grader's worker uses 1). `--backend-info` prints the device.
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


def run(variant: str, seed: int, profile: dict, curve: bool = False) -> dict:
    import keras

    import transformer_training as variants

    T = importlib.import_module(TRAINING)
    ns = variants.reference_namespace() if variant == "ref" else variants.variant_namespace(variant)
    tokens = T.load_tokens()
    keras.utils.set_random_seed(seed)
    model = T.compose(ns["Transformer"], profile, *T.K.vocab_sizes())
    model([tokens["train_src"][0][None], tokens["train_tgt"][0][None, :-1]])
    points = []

    def on_epoch(epoch, seconds):  # BLEU after each epoch, and the training seconds it took to get there
        if curve:
            points.append((epoch + 1, round(seconds, 1), T.hidden_bleu(T.hidden_ids(model, tokens, profile), profile)))

    info = T.train(model, profile, tokens, seed, on_epoch)
    info["curve"] = points
    start = time.perf_counter()
    ids = T.hidden_ids(model, tokens, profile)
    info["decode_seconds"] = round(time.perf_counter() - start, 1)
    info["bleu"] = T.hidden_bleu(ids, profile)
    return info


def setting(profile: dict, name: str, value: str):
    """`--set NAME=VALUE` parsed as the profile's own value: a tuple of ints ("16,32,64"), an optional int ("none"
    or a number, where the profile has None, e.g. the cpu profile's decode_stride), or the type of the default."""
    if name not in profile:
        raise SystemExit(f"--set {name}: not a setting of the profile (one of {', '.join(sorted(profile))})")
    default = profile[name]
    if isinstance(default, tuple):
        return tuple(int(v) for v in value.split(","))
    if default is None:
        return None if value.lower() == "none" else int(value)
    return type(default)(value)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--variants", default="ref,no_cross_attention,causal_leak,no_scaling,pre_norm")
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--curve", action="store_true", help="BLEU after every epoch and the training time to PASS")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    a = ap.parse_args(argv)
    import keras

    if a.threads and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(a.threads)
        tf.config.threading.set_inter_op_parallelism_threads(a.threads)
    T = importlib.import_module(TRAINING)
    profile = dict(T.PROFILES[a.profile])
    for item in a.set:
        name, value = item.split("=", 1)
        profile[name] = setting(profile, name, value)
    print(f"backend {keras.backend.backend()}, detected profile {T.profile_name()}, running {a.profile}: {profile}")
    for variant in a.variants.split(","):
        for seed in map(int, a.seeds.split(",")):
            r = run(variant, seed, profile, a.curve)
            verdict = ("pass" if r["bleu"] >= profile["pass_bleu"] else
                       "half" if r["bleu"] >= profile["partial_bleu"] else "fail")
            print(f"{variant:24s} seed {seed}: BLEU {r['bleu']:6.2f} {verdict:4s}  train {r['seconds']:6.1f} s "
                  f"({r['steps']} steps)  decode {r['decode_seconds']:5.1f} s  loss {r['loss']}", flush=True)
            if a.curve:
                reached = next((s for _, s, b in r["curve"] if b >= profile["pass_bleu"]), None)
                print(f"{'':24s} BLEU by epoch (epoch, train s, BLEU): {r['curve']}; time to PASS "
                      f"({profile['pass_bleu']}): {'not reached' if reached is None else f'{reached} s'}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
