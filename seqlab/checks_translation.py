"""Visible checks for assignment 04 (the translator): the label-smoothed loss and the decoding functions.

Each check runs the student's function on small fixed inputs, prints one ``[ok] ...`` line per property it
confirmed, and raises an AssertionError that says what was expected, what came and where to look. They help a
student find a bug early; they are not the grade. The hidden tests run the same kinds of cases with other seeds.

References: the label-smoothed cross-entropy in NumPy and Keras's ``CategoricalCrossentropy(label_smoothing)``
on the real tokens; for decoding, a small causal NumPy "translator" whose logits this module computes itself,
and a beam search written here.
"""
from __future__ import annotations

import numpy as np

import seqlab  # noqa: F401  (silences TF before keras import)
import keras
from keras import ops

from seqlab.checks_attention import _done, _ok, _start  # the [ok] lines and their count
from seqlab.tokenizers import END_ID, PAD_ID, START_ID


def _np(x) -> np.ndarray:
    if hasattr(x, "numpy"):
        return np.asarray(x.numpy())
    return np.asarray(ops.convert_to_numpy(x))


def _log_softmax(x):
    x = np.asarray(x, np.float64)
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def _smoothed_np(labels, logits, eps, pad_counts=False):
    lp = _log_softmax(logits)
    nll = -np.take_along_axis(lp, labels[..., None].astype(np.int64), -1)[..., 0]
    keep = labels != PAD_ID
    smooth = -lp.mean(-1)
    total = ((1 - eps) * nll * keep).sum() + eps * (smooth.sum() if pad_counts else (smooth * keep).sum())
    return float(total / max(keep.sum(), 1))


# ---------------------------------------------------------------------------------------------
# Exercise 2: label smoothing
# ---------------------------------------------------------------------------------------------
def check_smoothed_loss(smoothed_masked_loss) -> None:
    """epsilon = 0 is the masked cross-entropy; epsilon > 0 against NumPy and Keras's label smoothing on the real
    tokens; the logits at [PAD] positions change nothing; all-[PAD] gives 0.0; float16 logits."""
    _start()
    rng = np.random.default_rng(41)
    labels = np.array([[5, 6, 7, 3, 0], [4, 8, 3, 0, 0], [6, 3, 0, 0, 0]], "int32")
    logits = rng.normal(0.0, 2.0, (3, 5, 9)).astype("float32")
    logits[labels == PAD_ID] = rng.normal(0.0, 10.0, (int((labels == PAD_ID).sum()), 9))
    got = float(_np(smoothed_masked_loss(labels, logits, 0.0)))
    want = _smoothed_np(labels, logits, 0.0)
    assert np.isclose(got, want, rtol=1e-5), (f"with epsilon=0 the loss is {got:.5f}, expected {want:.5f}: the mean "
                                              "cross-entropy over the positions whose label is not [PAD] (03's masked_loss)")
    _ok("epsilon=0", f"{want:.4f} = the masked cross-entropy")
    got = float(_np(smoothed_masked_loss(labels, logits, 0.1)))
    want = _smoothed_np(labels, logits, 0.1)
    if not np.isclose(got, want, rtol=1e-5):
        if np.isclose(got, _smoothed_np(labels, logits, 0.1, pad_counts=True), rtol=1e-5):
            raise AssertionError("the smoothing term is counted at the [PAD] positions: multiply the whole "
                                 "per-position loss (both terms) by labels != PAD before summing")
        if np.isclose(got, _smoothed_np(labels, logits, 0.0), rtol=1e-5):
            raise AssertionError("with epsilon=0.1 the loss equals the unsmoothed one: epsilon is ignored")
        raise AssertionError(f"with epsilon=0.1 the loss is {got:.5f}, expected {want:.5f}: per real position "
                             "(1 - eps) * (-log p[label]) + eps * mean over the vocabulary of (-log p[v])")
    keep = (labels != PAD_ID).astype("float32")
    cce = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1, reduction="sum")
    ref = float(_np(cce(ops.one_hot(labels, 9), logits, sample_weight=keep))) / keep.sum()
    assert np.isclose(got, ref, rtol=1e-5), f"epsilon=0.1: {got:.5f}, Keras's label smoothing gives {ref:.5f}"
    _ok("epsilon=0.1", f"{want:.4f} = CategoricalCrossentropy(label_smoothing=0.1) on the real tokens")
    default = float(_np(smoothed_masked_loss(labels, logits)))
    assert np.isclose(default, want, rtol=1e-5), f"called without epsilon: {default:.5f}; the default is 0.1"
    _ok("default epsilon", "0.1")
    changed = logits.copy()
    changed[labels == PAD_ID] *= -3.0
    moved = float(_np(smoothed_masked_loss(labels, changed, 0.1)))
    assert np.isclose(moved, got, rtol=1e-6), ("changing only the logits at [PAD] positions changed the loss "
                                               f"({got:.5f} -> {moved:.5f}): mask both terms")
    _ok("[PAD] positions", "their logits change nothing")
    none = float(_np(smoothed_masked_loss(np.zeros_like(labels), logits, 0.1)))
    assert none == 0.0, f"with every label [PAD] the loss should be 0.0, got {none}: divide by maximum(count, 1)"
    _ok("all [PAD]", "0.0, not NaN")
    half = float(_np(smoothed_masked_loss(labels, logits.astype("float16"), 0.1)))
    assert np.isfinite(half) and np.isclose(half, want, rtol=1e-3), (
        f"float16 logits: {half}; cast the logits to float32 first")
    _ok("float16 logits", "the float32 value")
    _done("smoothed_masked_loss")


# ---------------------------------------------------------------------------------------------
# Exercise 3: decoding
# ---------------------------------------------------------------------------------------------
class _Toy:
    """A causal NumPy "translator": model([source, prefix], training=False) -> logits (N, t, V)."""

    def __init__(self, src_vocab=40, tgt_vocab=30, d=8, seed=5):
        rng = np.random.default_rng(seed)
        self.E, self.F = rng.normal(0, 1, (src_vocab, d)), rng.normal(0, 1, (tgt_vocab, d))
        self.W, self.P = rng.normal(0, 0.5, (d, d)), rng.normal(0, 0.5, (64, d))
        self.U = rng.normal(0, 1.5, (d, tgt_vocab))
        self.calls = 0

    def __call__(self, inputs, training=False):
        self.calls += 1
        src, prefix = (np.asarray(x) for x in inputs)
        keep = (src != PAD_ID)[..., None]
        ctx = (self.E[src] * keep).sum(1) / np.maximum(keep.sum(1), 1)
        t = prefix.shape[1]
        logits = np.tanh(self.F[prefix] + (ctx @ self.W)[:, None] + self.P[:t][None]) @ self.U
        logits[..., END_ID] += 2.0 * (np.arange(t) - 3.0)[None]
        return logits.astype("float32")


def _beam(model, src, width, max_len, alpha):
    """A plain beam search with length normalization (the 02 contract), one sentence at a time."""
    out = []
    for b in range(len(src)):
        live, finished = [([], 0.0)], []
        for _ in range(max_len):
            cands = []
            for tokens, lp in live:
                prefix = np.array([[START_ID] + tokens], "int32")
                logp = _log_softmax(model([src[b:b + 1], prefix])[0, -1])
                cands += [(tokens + [v], lp + logp[v]) for v in range(len(logp))]
            cands.sort(key=lambda h: -h[1])
            live = []
            for tokens, lp in cands[:width]:
                (finished if tokens[-1] == END_ID else live).append((tokens, lp))
            if len(finished) >= width or not live:
                break
        else:
            finished += live
        scored = sorted(((t, lp / len(t) ** alpha) for t, lp in finished), key=lambda h: -h[1])
        out.append(scored[:2])
    return out


def check_decoding(make_step_fn, beam_search) -> None:
    """make_step_fn's logits step by step and after a beam reorders the state; your beam_search with it gives the
    reference beam search's best hypotheses."""
    _start()
    model = _Toy()
    src = np.array([[START_ID, 11, 25, 7, END_ID, 0], [START_ID, 30, END_ID, 0, 0, 0]], "int32")
    step_fn, state = make_step_fn(model, src)
    tokens = [np.array([START_ID, START_ID]), np.array([9, 14]), np.array([21, 5])]
    prefix = np.zeros((2, 0), "int32")
    for i, t in enumerate(tokens):
        logits, state = step_fn(t, state)
        prefix = np.concatenate([prefix, t[:, None]], 1)
        want = model([src, prefix])[:, -1]
        got = np.asarray(logits, np.float64)
        assert got.shape == want.shape and np.allclose(got, want, rtol=1e-5, atol=1e-5), (
            f"step {i + 1}: step_fn's logits differ from model([source, prefix])[:, -1] with the prefix extended by "
            "the tokens: keep the prefix in the state, append the tokens, keep the last position")
        if i == 1:
            kept = [np.asarray(s)[[1, 0, 0]] for s in state]
            again, _ = step_fn(tokens[2][[1, 0, 0]], kept)
    _ok("step_fn", "the model's last-position logits, 3 steps")
    want = model([src[[1, 0, 0]], prefix[[1, 0, 0]]])[:, -1]
    assert np.allclose(np.asarray(again, np.float64), want, rtol=1e-5, atol=1e-5), (
        "after the state's rows were reordered (as a beam does), step_fn gave other logits: keep the source and the "
        "prefix in the state, one row per hypothesis")
    _ok("reordered state", "rows follow their hypotheses")
    step_fn, state = make_step_fn(model, src)
    found = beam_search(step_fn, state, 3, 10, alpha=0.6, n_best=2)
    want = _beam(model, src, 3, 10, 0.6)
    same = len(found) == len(want) and all(
        [t for t, _ in f] == [t for t, _ in w] and np.allclose([s for _, s in f], [s for _, s in w], rtol=1e-6)
        for f, w in zip(found, want))
    assert same, (f"beam_search with your step_fn found {found}, the reference {want} (width 3, alpha 0.6, the 2 best "
                  "per sentence with their length-normalized scores log P / len ** alpha)")
    _ok("beam_search(width 3, alpha 0.6, n_best 2)", f"best: {[w[0][0] for w in want]}")
    _done("make_step_fn, beam_search")
