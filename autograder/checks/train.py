"""Train to a calibrated threshold: the corpus slices a grading run trains and scores on, token accuracy, and
the verdict (full credit at or below `pass_at`, half credit up to `partial_at`)."""
from __future__ import annotations

import functools

import numpy as np


def _arrays(pairs, en, ko, source_len=0):
    """(source, target_in, target_out), int32, right-padded with [PAD] = 0 (sources to at least source_len)."""
    src = en.encode([p[0] for p in pairs])
    tgt = ko.encode([p[1] for p in pairs])
    x = np.zeros((len(pairs), max(source_len, *map(len, src))), np.int32)
    t_in = np.zeros((len(pairs), max(map(len, tgt)) - 1), np.int32)
    t_out = np.zeros_like(t_in)
    for i, (s, t) in enumerate(zip(src, tgt)):
        x[i, :len(s)] = s
        t_in[i, :len(t) - 1] = t[:-1]
        t_out[i, :len(t) - 1] = t[1:]
    return x, t_in, t_out


@functools.cache
def corpus_slices(n_pairs: int, n_eval: int, max_words: int, eval_pad: int) -> dict:
    """dict(train=(x, t_in, t_out), eval=(x, t_in, t_out), src_vocab, tgt_vocab) from the SHIPPED corpus and
    vocabularies (an explicit folder: SEQLAB_CORPUS set by a student's cell changes nothing): the first n_pairs
    training pairs and n_eval validation pairs of at most max_words English words, the held-out sources
    right-padded with [PAD] to eval_pad positions."""
    from seqlab import data as sd
    from seqlab import tokenizers

    folder = sd.DEFAULT_CORPUS_DIR
    en, ko = tokenizers.load_tokenizers(folder, build=False)

    def short(split, n):
        return [p for p in sd.default_corpus(split, corpus_dir=folder) if len(p[0].split()) <= max_words][:n]

    return dict(train=_arrays(short("train", n_pairs), en, ko), eval=_arrays(short("valid", n_eval), en, ko, eval_pad),
                src_vocab=en.vocab_size, tgt_vocab=ko.vocab_size)


def load_heldout(path, source_pad: int) -> dict:
    """A held-out question file (`autograder.checks.heldout`): dict(src=(N, >= source_pad), prefix=(N, P) int32,
    right-padded with [PAD]; length=(N,) prefix lengths; key). It holds no answer: the judge keeps those."""
    with np.load(path) as z:
        src, prefix, length, key = z["src"], z["prefix"], z["length"], str(z["key"])
    padded = np.zeros((len(src), max(source_pad, src.shape[1])), np.int32)
    padded[:, :src.shape[1]] = src
    return dict(src=padded, prefix=prefix.astype(np.int32), length=length.astype(np.int32), key=key)


def heldout_predictions(model, questions: dict, batch_size: int = 256) -> np.ndarray:
    """(N,) int32: for held-out sentence i, the argmax of model([src_i, prefix_i])[length_i - 1], i.e. the token
    the model predicts after the prefix. Sentences are batched by prefix length, so a model only ever sees the
    prefix of the sentence it answers for."""
    import keras

    src, prefix, length = questions["src"], questions["prefix"], questions["length"]
    pred = np.zeros(len(length), np.int32)
    for n in np.unique(length):
        rows = np.flatnonzero(length == n)
        for start in range(0, len(rows), batch_size):
            idx = rows[start:start + batch_size]
            logits = model([src[idx], prefix[idx, :n]], training=False)
            pred[idx] = np.asarray(keras.ops.convert_to_numpy(logits))[:, n - 1].argmax(-1)
    return pred


def token_accuracy(pred, gold) -> float:
    """Token accuracy over the real (non-[PAD]) gold positions."""
    pred, gold = np.asarray(pred), np.asarray(gold)
    mask = gold != 0
    return float((pred[mask] == gold[mask]).mean())


def judge_threshold(judge, name: str, value: float, pass_at: float, partial_at: float,
                    slow_message: str, fail_message: str) -> bool:
    """Lower is better (a loss, an error). The messages may use {value}, {pass_at}."""
    if value <= pass_at:
        return judge.add(name, True)
    if value <= partial_at:
        return judge.add(name, False, slow_message.format(value=value, pass_at=pass_at), fraction=0.5)
    return judge.fail(name, fail_message.format(value=value, pass_at=pass_at))


def judge_training_run(judge, gold, want_shape: list, pass_at: float, partial_at: float, model_hint: str,
                       slow_message: str, fail_message: str, model_steps=("model",)) -> None:
    """Judge a grader's training run of the student's model, from the probe's record: sub-check `model` (building
    the model and one call on a small batch, output shape `model/out` == want_shape) and `learns` (held-out token
    accuracy of `train/pred` against `gold`, recomputed by the judge: full credit from pass_at, half from
    partial_at). The messages may use {acc} and {pass_at}."""
    err = next((e for e in (judge.error_for(k) for k in model_steps) if e), None)
    got = judge.value("model/out")
    judge.add("model", not err and got == want_shape,
              f"{model_hint}; building or calling it raised an error: {err}" if err else
              f"{model_hint}; on a batch of {want_shape[0]} it returned shape {got}, expected {want_shape}")
    if err:
        judge.fail("learns", "not trained: the model could not be built (see model)")
        return
    err, pred = judge.error_for("train"), judge.array("train/pred")
    if err:
        judge.fail("learns", f"training raised an error: {err}")
    elif pred is None or pred.shape != np.shape(gold):
        judge.fail("learns", f"the trained model's predictions have shape {None if pred is None else pred.shape}, "
                   f"expected {np.shape(gold)}")
    else:
        acc = token_accuracy(pred, gold)
        # judge_threshold: lower is better, so it is given the error rate 1 - accuracy
        judge_threshold(judge, "learns", 1.0 - acc, 1.0 - pass_at, 1.0 - partial_at,
                        slow_message.format(acc=acc, pass_at=pass_at), fail_message.format(acc=acc, pass_at=pass_at))
