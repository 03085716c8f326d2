"""04's training item, graded on this machine: the grader's probe and judge on the reference Transformer or a broken
variant, in this process, with the profile this machine gets (gpu when the Keras backend sees one).

    [KERAS_BACKEND=jax] python benchmarks/translation_item.py [--variants ref,causal_leak,...] [--seed N]

The layers are tests/fixtures/03_reference_answers.py's (the ones 04's notebook re-declares) or a variant of
benchmarks/transformer_training.py. Prints the profile, the seconds of the probe (training and decoding) and of
the judge, the points, and each sub-check with its message. Exits 1 when the reference loses a point.
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

ITEMS = "autograder.assignments.04_translation.items"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", default="ref")
    ap.add_argument("--seed", type=int, default=20261129)
    a = ap.parse_args(argv)
    import keras

    import transformer_training as variants

    T = importlib.import_module("autograder.assignments.04_translation.training")
    K = importlib.import_module("autograder.assignments.04_translation.checkpoint")
    item = next(i for i in importlib.import_module(ITEMS).ITEMS if i.grade_id == "translation_training")
    status = 0
    for variant in a.variants.split(","):
        ns = variants.reference_namespace() if variant == "ref" else variants.variant_namespace(variant)
        start = time.perf_counter()
        record = item.probe(ns, a.seed)
        probed = time.perf_counter()
        checks = item.judge(record, a.seed)
        judged = time.perf_counter()
        earned, points = sum(c.earned for c in checks), sum(c.points for c in checks)
        data = record["data"]
        name = data.get("profile")
        bleu = (T.hidden_bleu([K.trim(row) for row in data["train/ids"]], T.PROFILES[name])
                if data.get("train/ids") is not None and name in T.PROFILES else None)
        seconds = float(data["train/seconds"][0]) if data.get("train/seconds") is not None else None
        print(f"{variant}: backend {keras.backend.backend()}, profile {name}, {earned:g}/{points:g} points, "
              f"BLEU {bleu}, training {seconds} s; probe {probed - start:.1f} s (training, decoding), "
              f"judge {judged - probed:.1f} s", flush=True)
        for c in checks:
            print(f"    {c.name:24s} {c.earned:g}/{c.points:g}  {c.message}", flush=True)
        if variant == "ref" and earned < points:
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
