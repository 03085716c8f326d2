"""The grader's training run of 04_translation: the student's Transformer trained from a fixed seed, judged by BLEU.

Two profiles, chosen automatically from the machine the probe runs on and recorded in the results: `gpu` when
the Keras backend sees a GPU (the full configuration; on a machine with JAX and no TensorFlow it runs with
`KERAS_BACKEND=jax`), `cpu` otherwise (a calibrated smaller configuration on short sentences). Thresholds and
configurations live in PROFILES, nowhere else.

Data: the tokenized arrays committed next to the checkpoint (`checkpoint/tokens.npz`, written by `make
checkpoints`; a test proves them equal to a fresh tokenization), so a run needs NumPy, Keras and a backend only:
the formality-tagged training pairs and the grader's hidden sentences (hidden.py). Batches are bucketed by length
and padded to fixed widths, so a compiled backend (JAX, XLA) traces a handful of shapes, not one per batch.

The grader's own loss (cross-entropy from logits, [PAD] ignored) and optimizer (Adam with the warm-up schedule of
the paper, written here): the student's loss and schedule are graded in their own items. BLEU of greedy
translations of the hidden sentences (the grader's loop over the student's model, transplant.greedy_ids).
"""
from __future__ import annotations

import hashlib
import json
import time

import numpy as np

from . import checkpoint as K

WIDTHS = (8, 12, 16, 24, 32, 48, 64)  # padded batch widths (tokens, [START]/[END] included): the cpu profile's

# cpu calibrated 2026-11-29 with `python benchmarks/translation_training.py --threads 1 --seeds ...` (2 shared CPU
# cores, 1 thread as in the grader's worker); BLEU on the profile's 150 hidden sentences, train seconds (852 steps):
#   reference                 83.80 / 88.68 / 84.57 / 84.36 (seeds 1-4), 52-62 s + 2-4 s of decoding
#   no_cross_attention        0.87 (seed 2): the Korean language model only
#   causal_leak (t sees t+1)  0.00 (seed 2): it learns to copy the next target token (loss 0.017), then cannot
#                             translate without it
#   reported only: no_scaling 66.87 / 51.34 / 67.34 (seeds 2, 3, 4), pre_norm 87.18,
#   no_positional_encoding 87.39 (seed 2): they train; the weight transplant (transplant.py) catches them.
# PASS (40) is 43 BLEU below the reference's worst seed and above every slow-but-sound learner seen (no_scaling's
# worst: 51.34), so a bug the transplant already charged is not charged again here; PARTIAL (15) is 14 above the
# best broken run.
#
# gpu measured 2026-11-30 on one NVIDIA H200 (JAX 0.11.2, Keras 3.15.1, no TensorFlow) with `OUT=... bash
# benchmarks/gpu_04.sh`, then still with the cpu profile's seven batch widths and 16-token decoding buffers in chunks
# of 100; BLEU on the profile's 400 hidden sentences (1386 steps):
#   reference                 85.21 / 89.20 (seeds 1-2); 6 epochs in 18.5 / 19.0 s of training once compiled
#                             (a warm JAX compilation cache); PASS reached after epoch 2 (BLEU 50.7 / 51.4, 12.9 /
#                             11.1 s); 10.7 ms per step, 129,652 target tokens/s, 0.86 of the step time of the same
#                             model on keras.layers.MultiHeadAttention (benchmarks/translation_speed.py)
#   causal_leak               0.00 (seed 1): 77.3 s of training and 33.2 s of decoding from a cold cache, so the
#                             run is compile-bound: about 60 s to compile its 6 training shapes, 30 s its 12
#                             decoding shapes. The gpu profile therefore pads to 3 widths (real tokens 56% of a
#                             batch instead of 71%) and decodes all 400 sentences in one chunk with one buffer
#                             width: 3 training programs and 1 decoding program (counted in tests/
#                             test_translation_training.py). Not yet re-measured on a GPU this way.
#   not measured (the lease ended): no_scaling, pre_norm, no_cross_attention; more seeds.
# PASS (45) is 40 below the reference's worst seed and reached at a third of its training; PARTIAL 25.
PROFILES = {
    "cpu": {"num_layers": 2, "d_model": 64, "num_heads": 4, "d_ff": 128, "dropout": 0.1,
            "max_words": 8, "epochs": 3, "batch_size": 64, "warmup_steps": 200,
            "eval_max_words": 8, "eval_n": 150, "pass_bleu": 40.0, "partial_bleu": 15.0,
            "widths": WIDTHS, "decode_chunk": 100, "decode_stride": None},
    "gpu": {"num_layers": 2, "d_model": 128, "num_heads": 4, "d_ff": 256, "dropout": 0.1,
            "max_words": 32, "epochs": 6, "batch_size": 128, "warmup_steps": 400,
            "eval_max_words": 32, "eval_n": 400, "pass_bleu": 45.0, "partial_bleu": 25.0,
            "widths": (16, 32, 64), "decode_chunk": 400, "decode_stride": K.MAX_LEN + 1},
}


def profile_name() -> str:
    """"gpu" when the Keras backend has a GPU, else "cpu"."""
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            return "gpu" if any(d.platform == "gpu" for d in jax.devices()) else "cpu"
        if backend == "tensorflow":
            import tensorflow as tf

            return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"
        if backend == "torch":
            import torch

            return "gpu" if torch.cuda.is_available() else "cpu"
    except Exception:  # a backend that cannot list its devices trains on the CPU
        return "cpu"
    return "cpu"


# ---- the committed token arrays --------------------------------------------------------------------------

TOKENS = K.DIR / "tokens.npz"


def _ragged(rows) -> tuple[np.ndarray, np.ndarray]:
    splits = np.cumsum([0] + [len(r) for r in rows]).astype(np.int64)
    values = np.concatenate([np.asarray(r, np.int32) for r in rows]) if rows else np.zeros(0, np.int32)
    return values.astype(np.int16 if values.size == 0 or values.max() < 2 ** 15 else np.int32), splits


def _rows(values, splits) -> list[np.ndarray]:
    return [values[splits[i]:splits[i + 1]].astype(np.int32) for i in range(len(splits) - 1)]


def corpus_key() -> str:
    """sha256 of what the token arrays are made from: the shipped training split, both vocabularies and the
    hidden sentences (a stale tokens.npz is refused)."""
    from seqlab import data as sd

    from .judges_hidden import hidden_pairs

    h = hashlib.sha256()
    for name in ("train.tsv", "vocab_en.txt", "vocab_ko.txt"):
        h.update((sd.DEFAULT_CORPUS_DIR / name).read_bytes())
    h.update(json.dumps(hidden_pairs(K.HIDDEN_N), ensure_ascii=False).encode())
    return h.hexdigest()


def tokenize_all() -> dict:
    """Fresh token arrays (needs tensorflow-text): tagged training pairs and the hidden sources."""
    from seqlab import data as sd
    from seqlab.formality import tag_pairs
    from seqlab.tokenizers import load_tokenizers

    from .judges_hidden import hidden_pairs

    en, ko = load_tokenizers(sd.DEFAULT_CORPUS_DIR, build=False)
    train = tag_pairs(sd.default_corpus("train", corpus_dir=sd.DEFAULT_CORPUS_DIR)).pairs
    return {"train_src": en.encode([p[0] for p in train]), "train_tgt": ko.encode([p[1] for p in train]),
            "train_words": [len(p[0].split()) - 1 for p in train],  # without the tag
            "hidden_src": en.encode([p[0] for p in hidden_pairs(K.HIDDEN_N)]),
            "hidden_words": [len(p[0].split()) - 1 for p in hidden_pairs(K.HIDDEN_N)]}  # without the tag


def write_tokens(path=TOKENS) -> None:
    t = tokenize_all()
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for name in ("train_src", "train_tgt", "hidden_src"):
        arrays[f"{name}_values"], arrays[f"{name}_splits"] = _ragged(t[name])
    np.savez_compressed(path, train_words=np.asarray(t["train_words"], np.int16),
                        hidden_words=np.asarray(t["hidden_words"], np.int16), key=np.array(corpus_key()), **arrays)


def load_tokens(path=TOKENS, verify: bool = True) -> dict:
    """The committed token arrays. verify=True (the judges, the tests, the instructor's tools) refuses a stale file;
    the probes pass verify=False: the check needs the hidden references, which never enter the student's process
    (a stale file there is caught by the judge's own load)."""
    with np.load(path) as z:
        if verify and str(z["key"]) != corpus_key():
            raise RuntimeError(f"{path} is stale (the corpus, the vocabularies or the hidden sentences changed): "
                               "run `make checkpoints`")
        return {"train_src": _rows(z["train_src_values"], z["train_src_splits"]),
                "train_tgt": _rows(z["train_tgt_values"], z["train_tgt_splits"]),
                "train_words": z["train_words"].astype(int), "hidden_words": z["hidden_words"].astype(int),
                "hidden_src": _rows(z["hidden_src_values"], z["hidden_src_splits"])}


# ---- batches -----------------------------------------------------------------------------------------------

def _width(n: int, widths=WIDTHS) -> int:
    return next((w for w in widths if w >= n), n)


def batches(src, tgt, batch_size: int, seed: int, epoch: int, widths=WIDTHS) -> list:
    """One epoch of ((source, target_in), target_out) int32 batches: pairs grouped by padded width (the wider of
    source and target), shuffled within and across groups from (seed, epoch), full batches only."""
    rng = np.random.default_rng([seed, epoch])
    groups: dict[int, list[int]] = {}
    for i, (s, t) in enumerate(zip(src, tgt)):
        groups.setdefault(_width(max(len(s), len(t) - 1), widths), []).append(i)
    out = []
    for width, idx in sorted(groups.items()):
        idx = np.array(idx)[rng.permutation(len(idx))]
        for b in range(0, len(idx) - batch_size + 1, batch_size):
            rows = idx[b:b + batch_size]
            x = np.zeros((batch_size, width), np.int32)
            t_in, t_out = np.zeros((batch_size, width), np.int32), np.zeros((batch_size, width), np.int32)
            for k, r in enumerate(rows):
                s, t = src[r], tgt[r]
                x[k, :len(s)] = s
                t_in[k, :len(t) - 1], t_out[k, :len(t) - 1] = t[:-1], t[1:]
            out.append(((x, t_in), t_out))
    return [out[i] for i in rng.permutation(len(out))]


def training_set(tokens: dict, profile: dict) -> tuple[list, list]:
    keep = [i for i, w in enumerate(tokens["train_words"]) if w <= profile["max_words"]]
    return [tokens["train_src"][i] for i in keep], [tokens["train_tgt"][i] for i in keep]


def eval_set(profile: dict, hidden_words) -> list[int]:
    """Indices of the hidden sentences this profile is judged on: the first eval_n of <= eval_max_words words."""
    return [i for i, w in enumerate(hidden_words) if w <= profile["eval_max_words"]][:profile["eval_n"]]


# ---- the run -------------------------------------------------------------------------------------------------

def compose(transformer_cls, profile: dict, src_vocab: int, tgt_vocab: int):
    p = profile
    return transformer_cls(p["num_layers"], p["d_model"], p["num_heads"], p["d_ff"], src_vocab, tgt_vocab, p["dropout"])


def warmup(d_model: int, warmup_steps: int):
    """The paper's schedule lr = d_model^-0.5 * min(s^-0.5, s * warmup^-1.5), s = step + 1 (the grader's own)."""
    import keras

    class Warmup(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            s = keras.ops.cast(step, "float32") + 1.0
            return d_model ** -0.5 * keras.ops.minimum(keras.ops.rsqrt(s), s * warmup_steps ** -1.5)

        def get_config(self):
            return {}

    return Warmup()


def train(model, profile: dict, tokens: dict, seed: int, on_epoch=None) -> dict:
    """Fit the (already built) model; returns {"seconds", "steps", "loss"}: the training loss per epoch.

    on_epoch(epoch, seconds_so_far) is called after each epoch (the benchmarks' BLEU curve); its time is not
    counted in "seconds"."""
    import keras

    model.compile(optimizer=keras.optimizers.Adam(warmup(profile["d_model"], profile["warmup_steps"]),
                                                  beta_1=0.9, beta_2=0.98, epsilon=1e-9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0))
    src, tgt = training_set(tokens, profile)
    seconds, losses, steps = 0.0, [], 0
    for epoch in range(profile["epochs"]):
        start = time.perf_counter()
        epoch_losses = [float(model.train_on_batch([x, t_in], t_out))
                        for (x, t_in), t_out in batches(src, tgt, profile["batch_size"], seed, epoch,
                                                        profile["widths"])]
        seconds += time.perf_counter() - start
        steps += len(epoch_losses)
        losses.append(round(float(np.mean(epoch_losses)), 4))
        if on_epoch is not None:
            on_epoch(epoch, seconds)
    return {"seconds": round(seconds, 1), "steps": steps, "loss": losses}


def hidden_ids(model, tokens: dict, profile: dict) -> list[list[int]]:
    from .transplant import greedy_ids

    sources = [tokens["hidden_src"][i] for i in eval_set(profile, tokens["hidden_words"])]
    return K.translate_ids(lambda src, max_len: greedy_ids(model, src, max_len, stride=profile["decode_stride"]),
                           sources, chunk=profile["decode_chunk"])


def hidden_bleu(ids, profile: dict) -> float:
    """Judge side: BLEU of the decoded ids against the references of the profile's hidden sentences."""
    from .judges_hidden import hidden_pairs

    pairs = hidden_pairs(K.HIDDEN_N)
    words = [len(en.split()) - 1 for en, _ in pairs]
    return K.bleu_of(ids, [pairs[i][1] for i in eval_set(profile, words)])
