"""The weight transplant: the instructor checkpoint loaded into a student's Transformer, translated by the grader.

The student's architecture is built at the checkpoint's configuration, called once (so it builds its weights),
then given the checkpoint's weights through the prescribed sub-layer names (03's `set_transformer`). The grader's
own greedy loop then decodes the hidden sentences with it: the whole prefix again at every step, [PAD] after a
row's [END]. With a correct architecture the translations are the oracle's (`checkpoint.json`'s BLEU, up to
float32 ties); a wrong layer (no scaling, a causal mask off by one, pre-norm instead of post-norm) translates
worse with the very same weights. Runs in the student's process; returns plain ids.
"""
from __future__ import annotations

import importlib

import numpy as np

from . import checkpoint as K

_T03 = "autograder.assignments.03_transformer.probes"
MARGIN = 2.0  # BLEU points below the checkpoint's (oracle) figure that still pass; calibrated in tests/test_checkpoint_04.py


def build(transformer_cls, src_vocab: int, tgt_vocab: int, params: dict):
    """The student's Transformer at the checkpoint's configuration with the checkpoint's weights."""
    c = K.CONFIG
    model = transformer_cls(c["num_layers"], c["d_model"], c["num_heads"], c["d_ff"], src_vocab, tgt_vocab,
                            c["dropout"])
    src, tgt = np.array([[2, 5, 3]], np.int32), np.array([[2, 5]], np.int32)
    model([src, tgt], training=False)
    importlib.import_module(_T03).set_transformer(model, params)
    return model


def greedy_ids(model, src: np.ndarray, max_len: int, start_id: int = 2, end_id: int = 3, pad_id: int = 0,
               stride: int | None = None):
    """(N, <= max_len) int32: the grader's greedy decoding with any ([source, target_in]) -> logits model.

    stride=None (the weight transplant): step t feeds the prefix, [START] and the t tokens chosen so far, and reads
    the last position's logits, so no model ever sees a position after the one it predicts, causal or not.
    stride=k (the training run): the target buffer is the prefix then [PAD], in widths that grow by k; step t reads
    position t. For a causal decoder that is the same, with a few shapes per chunk instead of one per step (under
    JAX and XLA each new shape is a new compilation); a decoder that looks ahead would see a [PAD] after position
    t, and a model trained that way fails the training run either way (it learns to copy the next token).
    The model runs compiled (`predict_on_batch`; TensorFlow relaxes the growing shape after a few traces); one
    that cannot be traced, or a plain callable, is called eagerly on the same inputs."""
    n = src.shape[0]
    out = np.full((n, max_len + 1), pad_id, np.int32)
    out[:, 0] = start_id
    done = np.zeros(n, bool)
    compiled = getattr(model, "predict_on_batch", None)  # a keras.Model; a plain callable is called eagerly
    step, eager = (compiled, False) if compiled is not None else (_eager(model), True)
    for t in range(max_len):
        try:
            width = t + 1 if stride is None else min(max_len + 1, (t // stride + 1) * stride)
            logits = step([src, out[:, :width]])
        except Exception:  # not traceable: the same buffers, eagerly
            if eager:
                raise
            step, eager = _eager(model), True
            logits = step([src, out[:, :width]])
        nxt = np.asarray(logits)[:, t].argmax(-1).astype(np.int32)
        nxt[done] = pad_id
        out[:, t + 1] = nxt
        done |= nxt == end_id
        if done.all():
            return out[:, 1:t + 2]
    return out[:, 1:]


def _eager(model):
    import keras

    return lambda inputs: keras.ops.convert_to_numpy(model(inputs, training=False))


def translate_hidden(model) -> list[list[int]]:
    """The first TRANSPLANT_N hidden sentences' greedy ids (without [START], [END] and [PAD]), by the grader's loop
    over `model`; sources from the committed token arrays (no tokenizer needed)."""
    from .training import load_tokens

    sources = load_tokens(verify=False)["hidden_src"][:K.TRANSPLANT_N]
    return K.translate_ids(lambda src, max_len: greedy_ids(model, src, max_len), sources)


def hidden_bleu(ids) -> float:
    """BLEU (sacrebleu) of decoded ids of the first TRANSPLANT_N hidden sentences against their references."""
    hidden = importlib.import_module(f"{__package__}.judges_hidden")
    return K.bleu_of(ids, [p[1] for p in hidden.hidden_pairs(K.HIDDEN_N)[:K.TRANSPLANT_N]])


def changed_after(t_in: np.ndarray, k: int, rng) -> np.ndarray:
    """t_in with every real target token after position k replaced by another real token ([PAD] kept)."""
    other = t_in.copy()
    tail = other[:, k + 1:]
    other[:, k + 1:] = np.where(tail != 0, 4 + (tail - 4 + rng.integers(1, 50, tail.shape)) % 1000, 0)
    return other


def future_sensitivity(model, src: np.ndarray, t_in: np.ndarray, k: int, seed: int = 0) -> float:
    """Largest change of the logits at positions 0..k when every target token after position k is replaced by
    another real token: 0 (up to float error) for a causal decoder."""
    other = changed_after(t_in, k, np.random.default_rng(seed))
    import keras

    a = np.asarray(keras.ops.convert_to_numpy(model([src, t_in], training=False)))[:, :k + 1]
    b = np.asarray(keras.ops.convert_to_numpy(model([src, other], training=False)))[:, :k + 1]
    return float(np.abs(a - b).max())
