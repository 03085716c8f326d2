"""Calibration of 02's story (Part 10): which training setup makes the attention align, run after run?

    python benchmarks/story_alignment.py [--models bahdanau,general,plain] [--seeds 0,1,2]
                                         [--min-words 7] [--pairs 16000] [--epochs 4] [--lr 3e-3]
                                         [--threads N]

Trains the story's models from the reference answers (tests/fixtures/02_reference_answers.py) with the
story's sizes (embedding 64, encoder 2 x 64, decoders 128 units, batch 32, Adam with clipnorm 1) on the
first ``--pairs`` training pairs whose English has at least ``--min-words`` words, once per model and
seed, and prints one line per run:

- the teacher-forced next-token accuracy on ``test`` (first 1,000 pairs) and ``test_long`` (first 300)
  by English length bucket: does the model hold up on long sentences?
- for the attention models (decoder started from zero states, as in the story and the grader), three
  statistics of the attention weights on 200 test sentences of 6-12 words, over real target tokens:
  ``ends``, the mean weight on [START] and [END] (the summary positions of the bidirectional encoder: a
  model that "collapsed" puts nearly all its weight there); ``entropy`` of each row (0 = one-hot);
  ``distinct``, the number of distinct source positions that are some row's argmax, over the source
  length (an aligned model looks at many positions).

``plain`` is Encoder + Decoder started from the encoder's final states (the fixed-length context vector).
One run takes about 2.5 min at 1 thread on a 2-core machine.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUCKETS = ((1, 6), (7, 10), (11, 16), (17, 32), (33, 44))


def reference_namespace() -> dict:
    ns: dict = {}
    exec((ROOT / "tests" / "fixtures" / "02_reference_answers.py").read_text(encoding="utf-8"), ns)
    return ns


def run(ns: dict, model_name: str, seed: int, args) -> str:
    import keras
    import numpy as np

    from autograder.checks.train import _arrays as teacher_forcing_arrays
    from seqlab import data as sd
    from seqlab.formality import strip_tag, tag_pairs
    from seqlab.pipeline import make_dataset
    from seqlab.tokenizers import END_ID, PAD_ID, START_ID, load_tokenizers

    en_tok, ko_tok = load_tokenizers()
    words = lambda pair: len(strip_tag(pair[0]).split())  # noqa: E731
    train = [p for p in tag_pairs(sd.default_corpus("train")).pairs if words(p) >= args.min_words][:args.pairs]
    test = tag_pairs(sd.default_corpus("test")).pairs[:1000] + tag_pairs(sd.default_corpus("test_long")).pairs[:300]

    keras.utils.set_random_seed(seed)
    source = keras.Input((None,), dtype="int32")
    target_in = keras.Input((None,), dtype="int32")
    enc_outputs, h, c = ns["Encoder"](en_tok.vocab_size, 64, 64)(source)
    weights = None
    if model_name == "plain":
        logits = ns["Decoder"](ko_tok.vocab_size, 64, 128)(target_in, [h, c])
    else:
        attention = ns["BahdanauAttention"](64) if model_name == "bahdanau" else ns["LuongAttention"](model_name)
        zeros = keras.ops.zeros_like(h)
        decoder = ns["AttentionDecoder"](ko_tok.vocab_size, 64, 128, attention)
        logits, weights = decoder(target_in, enc_outputs, [zeros, zeros], ns["source_mask"](source))
    model = keras.Model([source, target_in], logits)
    model.compile(optimizer=keras.optimizers.Adam(args.lr, clipnorm=1.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=PAD_ID))
    t0 = time.time()
    model.fit(make_dataset(train, en_tok, ko_tok, batch_size=32, shuffle=True, seed=seed), epochs=args.epochs, verbose=0)
    seconds = time.time() - t0

    lengths = np.array([words(p) for p in test])
    accuracy = []
    for lo, hi in BUCKETS:
        x, t_in, t_out = teacher_forcing_arrays([p for p, n in zip(test, lengths) if lo <= n <= hi], en_tok, ko_tok)
        pred = model.predict([x, t_in], verbose=0, batch_size=256).argmax(-1)
        real = t_out != PAD_ID
        accuracy.append((pred[real] == t_out[real]).mean())
    line = (f"{model_name:9s} seed {seed}  {len(train)} pairs of >= {args.min_words} words, {args.epochs} epochs, "
            f"{seconds:.0f} s  accuracy " + " ".join(f"{lo}-{hi}: {a:.3f}" for (lo, hi), a in zip(BUCKETS, accuracy)))
    if weights is not None:
        x, t_in, t_out = teacher_forcing_arrays([p for p, n in zip(test, lengths) if 6 <= n <= 12][:200], en_tok, ko_tok)
        w = keras.Model([source, target_in], weights).predict([x, t_in], verbose=0)    # (N, T, S)
        real = t_out != PAD_ID
        ends = (w * np.isin(x, [START_ID, END_ID])[:, None, :]).sum(-1)[real].mean()
        entropy = -(w * np.log(w + 1e-12)).sum(-1)[real].mean()
        top = w.argmax(-1)
        distinct = np.mean([len(set(top[i][real[i]])) / (x[i] != PAD_ID).sum() for i in range(len(x))])
        line += f"  | ends {ends:.2f} entropy {entropy:.2f} distinct {distinct:.2f}"
    return line


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="bahdanau,general,plain",
                        help="bahdanau, plain, or a LuongAttention score (general, dot, scaled_dot, concat)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--min-words", type=int, default=7)
    parser.add_argument("--pairs", type=int, default=16_000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow intra-op threads (0: its choice)")
    args = parser.parse_args(argv)
    import seqlab  # noqa: F401  (quiet logging)
    if args.threads:
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    ns = reference_namespace()
    for model_name in args.models.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            print(run(ns, model_name, seed, args), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
