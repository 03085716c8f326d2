"""Probes of 04_translation: run the student's Transformer on the grader's data, in the student's process.

They return plain arrays (token ids, logits) and decide nothing: the judges compute BLEU and compare.
"""
from __future__ import annotations

import os
import tempfile

import numpy as np

from autograder import scratch
from autograder.probing import as_list, quiet, shape_of

from . import cases as C
from . import checkpoint as K
from . import training as T
from . import transplant as X

CAUSAL_ROWS, CAUSAL_WIDTH, CAUSAL_K = 8, 20, 3
EXPORT_ROWS = 40


def _pad(rows, width: int) -> np.ndarray:
    out = np.zeros((len(rows), width), np.int32)
    for i, r in enumerate(rows):
        r = np.asarray(r)[:width]
        out[i, :len(r)] = r
    return out


@quiet
def transplant(p, seed):
    import keras

    params, tokens = K.load(), T.load_tokens(verify=False)
    with p.step("model"):
        model = X.build(p.need("Transformer"), params["src_embedding"].shape[0], params["tgt_embedding"].shape[0],
                        params)
    if p.failed("model"):
        return
    with p.step("hidden"):
        p.put("hidden/ids", _pad(X.translate_hidden(model), K.MAX_LEN))
    with p.step("causal"):
        rng = np.random.default_rng(seed)
        src = _pad([tokens["hidden_src"][i] for i in rng.choice(K.HIDDEN_N, CAUSAL_ROWS, replace=False)], CAUSAL_WIDTH)
        t_in = _pad([tokens["train_tgt"][i][:-1] for i in rng.choice(len(tokens["train_tgt"]), CAUSAL_ROWS,
                                                                     replace=False)], CAUSAL_WIDTH)
        changed = X.changed_after(t_in, CAUSAL_K, rng)
        for name, target in (("given", t_in), ("changed", changed)):
            logits = as_list(model([src, target], training=False))[0]
            p.put(f"causal/{name}", np.asarray(keras.ops.convert_to_numpy(logits))[:, :CAUSAL_K + 1])
    with p.step("export"):
        sources = tokens["hidden_src"][:EXPORT_ROWS]
        before = K.translate_ids(lambda s, n: X.greedy_ids(model, s, n), sources)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "translator.keras")
            model.save(path)
            again = keras.saving.load_model(path)
        p.put("export/before", _pad(before, K.MAX_LEN))
        p.put("export/after", _pad(K.translate_ids(lambda s, n: X.greedy_ids(again, s, n), sources), K.MAX_LEN))


@quiet
def smoothed_loss(p, seed):
    import keras

    case = C.loss_case(seed)
    labels, logits = keras.ops.convert_to_tensor(case["labels"]), keras.ops.convert_to_tensor(case["logits"])
    with p.step("construct"):
        fn = p.need("smoothed_masked_loss")
    if p.failed("construct"):
        return
    for i, eps in enumerate(C.LOSS_EPSILONS):
        with p.step(f"eps/{i}"):
            p.put(f"eps/{i}", fn(labels, logits, eps))
    changed = keras.ops.convert_to_tensor(case["changed"])
    for i, eps in enumerate(C.LOSS_EPSILONS[:2]):
        with p.step(f"pad/{i}"):
            p.put(f"pad/{i}", fn(labels, changed, eps))
    with p.step("default"):
        p.put("default", fn(labels, logits))
    with p.step("all_pad"):
        p.put("all_pad", fn(keras.ops.zeros_like(labels), logits, 0.1))
    with p.step("half"):
        p.put("half", fn(labels, keras.ops.cast(logits, "float16"), 0.1))


@quiet
def decoding(p, seed):
    model = C.ToyTranslator(seed, *K.vocab_sizes())
    tokens = C.dec_tokens(seed)
    with p.step("step"):
        step_fn, state = p.need("make_step_fn")(model, C.DEC_SOURCES.copy())
        for i, t in enumerate(tokens):
            logits, state = step_fn(t.copy(), state)
            p.put(f"step/{i}", logits)
            if i == 1:
                kept = state
    if not p.failed("step"):
        with p.step("state"):
            reordered = [np.asarray(s)[list(C.DEC_REORDER)] for s in kept]
            logits, _ = step_fn(tokens[2][list(C.DEC_REORDER)].copy(), reordered)
            p.put("state", logits)
    with p.step("beam"):
        step_fn, state = C.toy_step_fn(model, C.DEC_SOURCES)
        found = p.need("beam_search")(step_fn, state, C.DEC_BEAM, 12, alpha=C.DEC_ALPHA, n_best=2)
        p.put("beam/tokens", _pad([tokens for hyps in found for tokens, _ in hyps], 12))
        p.put("beam/scores", np.array([score for hyps in found for _, score in hyps], np.float64))
    for name, kwargs in (("default", {}), ("plain", {"beam_width": 2, "alpha": 0.0, "register": "plain"})):
        with p.step(f"translate/{name}"):
            p.put(f"translate/{name}", list(p.need("translate")(model, list(C.TRANSLATE_SENTENCES), **kwargs)))
    with p.step("translate/empty"):
        p.put("translate/empty", list(p.need("translate")(model, [])))


@quiet
def translation_training(p, seed):
    import keras

    with p.step("model"):
        cls = p.need("Transformer")
        name = T.profile_name()
        profile = T.PROFILES[name]
        p.put("profile", name)
        p.put("backend", keras.backend.backend())
        tokens = T.load_tokens(verify=False)
        keras.utils.set_random_seed(seed % (2 ** 31))
        params = K.load()  # the vocabulary sizes
        model = T.compose(cls, profile, params["src_embedding"].shape[0], params["tgt_embedding"].shape[0])
        x, t = tokens["train_src"][0][None], tokens["train_tgt"][0][None, :-1]
        batch = [np.repeat(x, 2, 0), np.repeat(t, 2, 0)]
        model(batch, training=True)  # every code path of call, in both modes, under the from-scratch watch
        p.put("model/out", shape_of(as_list(model(batch, training=False))[0]))
    if p.failed("model") or scratch.used_so_far():  # a refused built-in scores 0: the run is not spent on it
        return
    with p.step("train"), scratch.functions_unwatched():  # the loop is the grader's; the layers ran watched above
        info = T.train(model, profile, tokens, seed % (2 ** 31))
        p.put("train/seconds", np.array([info["seconds"]], np.float64))
        p.put("train/loss", np.array(info["loss"], np.float64))
        p.put("train/ids", _pad(T.hidden_ids(model, tokens, profile), K.MAX_LEN))
