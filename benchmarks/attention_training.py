"""Calibration of 02's attention_training: does the grader's run tell attention from its absence?

    python benchmarks/attention_training.py [--variants ref,no_attention,mask_inverted,mask_ignored]
                                            [--seeds 1,2,3] [--threads N] [--set NAME=VALUE ...]

Trains the grader's own composition (autograder/assignments/02_seq2seq_attention/training.py: the
reference Encoder and AttentionDecoder, the decoder started from zero states) with the configuration in
that assignment's cases.py, once per variant and seed, and prints the accuracy on the held-out
questions (autograder.checks.heldout) that the judge compares with TRAIN_PASS_ACC / TRAIN_PARTIAL_ACC, and
the training seconds.
The layers are the reference answers of tests/fixtures/02_reference_answers.py; the variants change only
the attention layer:

- ``ref``: LuongAttention("general") as written;
- ``no_attention``: the context vector is zeroed (the decoder learns the Korean language model only);
- ``mask_inverted``: attends to the padding only;
- ``mask_ignored``: the [PAD] positions get weight too.

``--set TRAIN_EPOCHS=4`` (any TRAIN_* name of cases.py) tries another configuration. ``--threads``
sets TensorFlow's intra-op threads (the grader's worker uses 1; default: TensorFlow's choice).
One run takes about a minute on 2 cores.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VARIANTS = ("ref", "no_attention", "mask_inverted", "mask_ignored")


def reference_namespace() -> dict:
    ns: dict = {}
    exec((ROOT / "tests" / "fixtures" / "02_reference_answers.py").read_text(encoding="utf-8"), ns)
    return ns


def attention_variant(ns: dict, variant: str):
    from keras import ops

    luong = ns["LuongAttention"]

    class NoAttention(luong):
        def call(self, query, values, mask=None):
            context, weights = super().call(query, values, mask)
            return ops.zeros_like(context), weights

    class MaskInverted(luong):
        def call(self, query, values, mask=None):
            return super().call(query, values, ops.logical_not(mask))

    class MaskIgnored(luong):
        def call(self, query, values, mask=None):
            return super().call(query, values, None)

    return {"ref": luong, "no_attention": NoAttention, "mask_inverted": MaskInverted,
            "mask_ignored": MaskIgnored}[variant]


def heldout_gold():
    """The answers to the run's held-out questions (grader-side: the benchmark is the instructor's tool)."""
    from autograder.checks import heldout

    judges = importlib.import_module("autograder.assignments.02_seq2seq_attention.judges_training")
    return heldout.gold(judges.HELDOUT)


def run(variant: str, seed: int, ns: dict | None = None) -> tuple[float, float]:
    """(held-out token accuracy, training seconds) of one calibrated run."""
    import keras

    training = importlib.import_module("autograder.assignments.02_seq2seq_attention.training")
    ns = ns or reference_namespace()
    data = training.corpus_arrays()
    keras.utils.set_random_seed(seed)
    model = training.compose(ns["Encoder"], ns["AttentionDecoder"], attention_variant(ns, variant),
                             ns["source_mask"], data["src_vocab"], data["tgt_vocab"])
    start = time.perf_counter()
    pred = training.train(model, data)
    seconds = time.perf_counter() - start
    return training.token_accuracy(pred, heldout_gold()), seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    cases = importlib.import_module("autograder.assignments.02_seq2seq_attention.cases")
    for item in args.set:
        name, value = item.split("=", 1)
        if not name.startswith("TRAIN_") or not hasattr(cases, name):
            parser.error(f"--set {item}: not a TRAIN_* setting of cases.py")
        setattr(cases, name, type(getattr(cases, name))(value))
    if args.threads:
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    ns = reference_namespace()
    print(f"pass at {cases.TRAIN_PASS_ACC}, partial at {cases.TRAIN_PARTIAL_ACC}; "
          f"{cases.TRAIN_EPOCHS} epochs, batch {cases.TRAIN_BATCH}, lr {cases.TRAIN_LR}")
    for variant in args.variants.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            acc, seconds = run(variant, seed, ns)
            verdict = ("pass" if acc >= cases.TRAIN_PASS_ACC else
                       "partial" if acc >= cases.TRAIN_PARTIAL_ACC else "miss")
            print(f"{variant:14s} seed {seed}: accuracy {acc:.3f} ({verdict}), {seconds:.0f} s of training", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
