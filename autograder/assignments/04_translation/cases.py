"""Grader-chosen inputs of 04_translation: pure NumPy functions of a seed (imported by probes and judges)."""
from __future__ import annotations

import numpy as np

PAD_ID = 0
LOSS_B, LOSS_T, LOSS_V = 4, 7, 9
LOSS_LENGTHS = (7, 3, 5, 2)
LOSS_EPSILONS = (0.0, 0.1, 0.25)


def _rng(seed, salt):
    return np.random.default_rng([seed % (2 ** 32), salt])


def loss_case(seed) -> dict:
    """labels (B, T) with [PAD] tails, float32 logits (B, T, V); the [PAD] positions get large, uneven logits, so a
    smoothing term that is not masked there moves the loss far (their mean -log p is large)."""
    rng = _rng(seed, 1)
    labels = np.zeros((LOSS_B, LOSS_T), np.int64)
    for b, n in enumerate(LOSS_LENGTHS):
        labels[b, :n] = rng.integers(1, LOSS_V, n)
    logits = rng.normal(0.0, 2.0, (LOSS_B, LOSS_T, LOSS_V))
    pad = labels == PAD_ID
    logits[pad] = rng.normal(0.0, 12.0, (int(pad.sum()), LOSS_V))
    changed = logits.copy()
    changed[pad] = rng.normal(0.0, 12.0, (int(pad.sum()), LOSS_V))  # only what sits at [PAD] positions differs
    return {"labels": labels, "logits": logits.astype(np.float32), "changed": changed.astype(np.float32)}


# ---- decoding: a toy causal translator the grader can compute exactly ---------------------------------------
START_ID, END_ID = 2, 3
DEC_SOURCES = np.array([[2, 17, 45, 9, 3, 0], [2, 30, 3, 0, 0, 0], [2, 8, 61, 12, 77, 3]], np.int32)  # (3, 6)
DEC_STEPS = 3  # tokens fed to step_fn one after the other: [START] first
DEC_REORDER = (2, 0, 0)  # rows kept by a beam after the second step (the beam search reorders the state)
DEC_BEAM, DEC_ALPHA = 3, 0.6
TRANSLATE_SENTENCES = ("The cat sleeps.", "My teacher will read the old book in the park.", "Do you like apples?")


class ToyTranslator:
    """model([source (N, S), prefix (N, t)], training=False) -> logits (N, t, V) float32, causal, in NumPy: a mean
    of the source embeddings and the embedding of each prefix token through tanh and an output layer; [END] gets
    likelier with the position, so that decoding ends. Stands in for a trained Transformer where only the
    decoding code is graded."""

    def __init__(self, seed, src_vocab: int, tgt_vocab: int, d: int = 16):
        rng = _rng(seed, 2)
        self.E_src, self.E_tgt = rng.normal(0, 1, (src_vocab, d)), rng.normal(0, 1, (tgt_vocab, d))
        self.W, self.P = rng.normal(0, 0.5, (d, d)), rng.normal(0, 0.5, (128, d))
        self.U, self.b = rng.normal(0, 1.2, (d, tgt_vocab)), rng.normal(0, 0.5, tgt_vocab)

    def __call__(self, inputs, training=False):
        src, prefix = (np.asarray(x) for x in inputs)
        keep = (src != PAD_ID)[..., None]
        ctx = (self.E_src[src] * keep).sum(1) / np.maximum(keep.sum(1), 1)                   # (N, d)
        t = prefix.shape[1]
        h = np.tanh(self.E_tgt[prefix] + (ctx @ self.W)[:, None, :] + self.P[:t][None])       # (N, t, d)
        logits = h @ self.U + self.b                                                          # (N, t, V)
        logits[..., END_ID] += 1.5 * (np.arange(t) - 3.0)[None, :]
        return logits.astype(np.float32)


def toy_step_fn(model, source):
    """The reference (step_fn, state) for `model`: state = [source, prefix]; what make_step_fn should return."""
    state = [np.asarray(source, np.int32), np.zeros((len(source), 0), np.int32)]

    def step_fn(tokens, state):
        src, prefix = state
        prefix = np.concatenate([prefix, np.asarray(tokens, np.int32)[:, None]], axis=1)
        return model([src, prefix])[:, -1], [src, prefix]

    return step_fn, state


def dec_tokens(seed) -> np.ndarray:
    """(DEC_STEPS, 3) the tokens fed at each step: [START], then random real tokens."""
    rng = _rng(seed, 3)
    out = rng.integers(4, 1000, (DEC_STEPS, len(DEC_SOURCES))).astype(np.int32)
    out[0] = START_ID
    return out
