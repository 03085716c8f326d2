"""Probes of 02_seq2seq_attention: run the student's code on the grader's cases, in the student's process.

Each probe fills its item's declared record (see items.py) and decides nothing. Composite items get
grader layers injected where the prescribed layout allows: `BaseAttention` is probed through a grader
subclass whose score() is the grader's, and `AttentionDecoder` gets the grader's dot attention.
"""
from __future__ import annotations

import numpy as np

from autograder.checks.construct import construct
from autograder.checks.fitstep import fit_step_named
from autograder.checks.roundtrip import config_clone, keras_roundtrip
from autograder.checks.symbolic import symbolic
from autograder.probing import as_list, put_outputs, quiet, shape_of, weight_path

from . import cases as C

# Every probe runs under probing.quiet: Keras warns when a layer without supports_masking gets `mask=` (the
# attention layers take the source mask as an argument, by design), when a composite layer without build() is
# built by a functional model (the prescribed decoders), and when a weight gets no gradient (a faulty score).


def _tensor(x):
    import keras

    return keras.ops.convert_to_tensor(x)




# ---- encoder / decoder ----------------------------------------------------------------------------------

@quiet
def encoder(p, seed):
    import keras

    case = C.encoder_case(seed)
    cls = construct(p, "construct", lambda: p.need("Encoder"))
    if cls is None:
        return

    def make():
        enc = cls(C.ENC_V, C.ENC_E, C.ENC_U)
        enc(case["tokens"])  # builds the sub-layers, then the grader's weights go in
        enc.embedding.set_weights([case["embedding"]])
        enc.rnn.set_weights(case["fw"] + case["bw"])
        return enc

    with p.step("plain"):
        put_outputs(p, "plain", make()(case["tokens"]))
    with p.step("padded"):
        enc = make()
        put_outputs(p, "padded", enc(case["padded"]))
        for b, n in enumerate(C.ENC_LENGTHS):  # each sentence alone, without padding
            put_outputs(p, f"alone/{b}", enc(case["padded"][b:b + 1, :n]))
    with p.step("source_mask"):
        p.put("source_mask", p.need("source_mask")(_tensor(case["padded"])))

    def functional():
        inputs = keras.Input((None,), dtype="int32")
        outputs = cls(C.ENC_V, C.ENC_E, C.ENC_U)(inputs)
        return outputs, keras.Model(inputs, outputs)

    symbolic(p, "symbolic", functional, concrete=case["tokens"])
    with p.step("config"):
        config_clone(p, "config", make(), case["tokens"])
    with p.step("train"):
        enc = cls(C.ENC_V, C.ENC_E, C.ENC_U)
        inputs = keras.Input((C.ENC_S,), dtype="int32")
        model = keras.Model(inputs, as_list(enc(inputs))[0])
        weights = {"embedding": enc.embedding.embeddings, **{weight_path(w): w for w in enc.rnn.trainable_weights}}
        fit_step_named(p, "train", model, weights, case["tokens"], case["target"], seed)


@quiet
def decoder(p, seed):
    case = C.decoder_case(seed)
    cls = construct(p, "construct", lambda: p.need("Decoder"))
    if cls is None:
        return

    def make():
        dec = cls(C.DEC_V, C.DEC_E, C.DEC_U)
        dec(case["tokens"], [_tensor(s) for s in case["state"]])
        dec.embedding.set_weights([case["embedding"]])
        dec.rnn.set_weights(case["lstm"])
        dec.out.set_weights(case["out"])
        return dec

    with p.step("plain"):
        put_outputs(p, "plain", make()(case["tokens"], [_tensor(s) for s in case["state"]]))
    with p.step("other"):
        put_outputs(p, "other", make()(case["tokens"], [_tensor(s) for s in case["other"]]))
    with p.step("with_state"):
        put_outputs(p, "with_state", make()(case["tokens"], [_tensor(s) for s in case["state"]], return_state=True))
    with p.step("config"):
        config_clone(p, "config", make(), case["tokens"], [_tensor(s) for s in case["state"]])


# ---- attention layers ------------------------------------------------------------------------------------

def _grader_scores(base, M):
    """The student's BaseAttention with the grader's score(): s^T M h."""
    from keras import ops

    class GraderScores(base):
        def score(self, query, values):
            m = ops.convert_to_tensor(M, dtype=query.dtype)
            return ops.matmul(ops.matmul(query, m), ops.transpose(values, (0, 2, 1)))

    return GraderScores


@quiet
def masked_attention(p, seed):
    import keras

    case = C.masked_attention_case(seed)
    base = construct(p, "construct", lambda: p.need("BaseAttention"))
    layer_cls = construct(p, "construct", lambda: _grader_scores(base, case["M"])) if base is not None else None
    if layer_cls is None:
        return
    q, v, mask = case["query"], case["values"], case["mask"]
    with p.step("unmasked"):
        put_outputs(p, "unmasked", layer_cls()(_tensor(q), _tensor(v)))
    with p.step("masked"):
        put_outputs(p, "masked", layer_cls()(_tensor(q), _tensor(v), mask=_tensor(mask)))

    def functional():
        qi, vi = keras.Input((None, C.MA_DQ)), keras.Input((None, C.MA_DV))
        mi = keras.Input((None,), dtype="bool")
        outputs = layer_cls()(qi, vi, mask=mi)
        return outputs, keras.Model([qi, vi, mi], outputs)

    symbolic(p, "symbolic", functional, concrete=[q, v, mask])


def _attention_model(layer, d_q, d_v, with_mask=True):
    """keras.Model([query, values(, mask)]) -> context: a small functional model around an attention layer.

    Without a mask (the fit steps) a grader Dense follows, so the step runs even when the layer's own
    weights get no gradient (a score that ignores W): 'trainable' then names the weight that did not move."""
    import keras

    qi, vi = keras.Input((None, d_q)), keras.Input((None, d_v))
    if with_mask:
        mi = keras.Input((None,), dtype="bool")
        return keras.Model([qi, vi, mi], as_list(layer(qi, vi, mask=mi))[0])
    return keras.Model([qi, vi], keras.layers.Dense(d_v)(as_list(layer(qi, vi))[0]))


def _assign(layer, weights: dict):
    for name, value in weights.items():
        getattr(layer, name).assign(value)


@quiet
def bahdanau_attention(p, seed):
    case = C.bahdanau_case(seed)
    cls = construct(p, "construct", lambda: p.need("BahdanauAttention"))
    layer = construct(p, "construct", lambda: cls(C.BA_UNITS)) if cls is not None else None
    if layer is None:
        return
    q, v = case["query"], case["values"]
    with p.step("build"):
        layer(_tensor(q), _tensor(v))
        for name in ("W1", "W2", "v"):
            if getattr(layer, name, None) is None:
                raise AttributeError(f"after build() the layer has no attribute `{name}`")
            p.put(f"shape/{name}", shape_of(getattr(layer, name)))
    if p.failed("build"):
        return
    for name, (W1, W2, vv) in case["weights"].items():
        with p.step(f"score/{name}"):
            _assign(layer, {"W1": W1, "W2": W2, "v": vv})
            p.put(f"score/{name}", layer.score(_tensor(q), _tensor(v)))
    with p.step("config"):
        p.put("config/units", layer.get_config().get("units"))
        p.put("config/clone_units", getattr(cls.from_config(layer.get_config()), "units", None))
        keras_roundtrip(p, "roundtrip", _attention_model(cls(C.BA_UNITS), C.BA_DQ, C.BA_DV),
                        [q, v, case["mask"]], {cls.__name__: cls})
    with p.step("train"):
        train_layer = cls(C.BA_UNITS)
        model = _attention_model(train_layer, C.BA_DQ, C.BA_DV, with_mask=False)
        fit_step_named(p, "train", model, {n: getattr(train_layer, n) for n in ("W1", "W2", "v")}, [q, v], case["target"], seed)


LUONG_WEIGHTS = {"general": ("W",), "concat": ("W", "v"), "location": ("W",), "dot": (), "scaled_dot": ()}


@quiet
def luong_attention(p, seed):
    cls = construct(p, "construct", lambda: p.need("LuongAttention"))
    if cls is None:
        return
    make = lambda score: cls(score, units=C.LU_UNITS, max_len=C.LU_MAX_LEN)  # noqa: E731
    for score, score_cases in C.luong_cases(seed).items():
        for case in score_cases:
            key = f"{score}/{case['name']}"
            q, v = _tensor(case["query"]), _tensor(case["values"])
            with p.step(f"build/{key}"):
                layer = make(score)
                try:  # the call builds the weights; a call that fails after build() still lets score() be judged
                    layer(q, v)
                except Exception:
                    if not layer.built:
                        raise
                p.put(f"build/{key}/n_weights", len(layer.trainable_weights))
                for name in LUONG_WEIGHTS[score]:
                    if getattr(layer, name, None) is None:
                        raise AttributeError(f"after build() LuongAttention({score!r}) has no attribute `{name}`")
                    p.put(f"build/{key}/{name}", shape_of(getattr(layer, name)))
            if p.failed(f"build/{key}"):
                continue
            with p.step(f"score/{key}"):
                _assign(layer, case["weights"])
                p.put(f"score/{key}", layer.score(q, v))
            if score == "location":
                with p.step(f"call/{key}"):
                    p.put(f"call/{key}", [shape_of(o) for o in as_list(layer(q, v, mask=_tensor(C.luong_mask())))])
    with p.step("config"):
        found = []
        for score in C.SCORES:
            config = make(score).get_config()
            again = cls.from_config(config).get_config()
            found += [str(config.get(k)) for k in ("score", "units", "max_len")]
            found += [str(again.get(k)) for k in ("score", "units", "max_len")]
        p.put("config/values", found)
    case = C.luong_cases(seed)["concat"][0]
    with p.step("roundtrip"):
        keras_roundtrip(p, "roundtrip", _attention_model(make("concat"), C.LU_D, C.LU_D),
                        [case["query"], case["values"], C.luong_mask()], {cls.__name__: cls})
    for score in ("general", "concat", "location"):
        train = C.luong_train_case(seed, score)
        with p.step(f"train/{score}"):
            layer = make(score)
            model = _attention_model(layer, C.LU_D, C.LU_D, with_mask=False)
            fit_step_named(p, f"train/{score}", model, {n: getattr(layer, n) for n in LUONG_WEIGHTS[score]},
                 [train["query"], train["values"]], train["target"], seed)


# ---- attention decoder ----------------------------------------------------------------------------------

def _grader_dot_attention():
    """The grader's dot attention with masking (ops only, no refused built-in), serializable."""
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="seqlab_grader")
    class GraderDotAttention(keras.layers.Layer):
        def call(self, query, values, mask=None):
            scores = ops.matmul(query, ops.transpose(values, (0, 2, 1)))
            if mask is not None:
                keep = ops.expand_dims(ops.cast(mask, "bool"), 1)
                scores = ops.where(keep, scores, ops.cast(-1e9, scores.dtype))
            weights = ops.softmax(scores, axis=-1)
            return ops.matmul(weights, values), weights

    return GraderDotAttention


@quiet
def attention_decoder(p, seed):
    import keras

    case = C.attention_decoder_case(seed)
    cls = construct(p, "construct", lambda: p.need("AttentionDecoder"))
    if cls is None:
        return
    attention = _grader_dot_attention()
    tokens, enc = case["tokens"], _tensor(case["enc"])
    state = lambda: [_tensor(s) for s in case["state"]]  # noqa: E731

    def make(weights):
        dec = cls(C.AD_V, C.AD_E, C.AD_U, attention())
        dec(tokens, enc, state(), _tensor(case["full_mask"]))
        dec.embedding.set_weights([weights["embedding"]])
        dec.rnn.set_weights(weights["lstm"])
        dec.W_c.set_weights([weights["W_c"]])
        dec.out.set_weights(weights["out"])
        return dec

    with p.step("plain"):
        put_outputs(p, "plain", make(case["weights"])(tokens, enc, state(), _tensor(case["full_mask"])))
    with p.step("with_state"):
        put_outputs(p, "with_state", make(case["weights"])(tokens, enc, state(), _tensor(case["full_mask"]),
                                                           return_state=True))
    with p.step("order"):
        put_outputs(p, "order", make(case["order_weights"])(tokens, enc, state(), _tensor(case["full_mask"])))
    with p.step("padded"):
        put_outputs(p, "padded", make(case["weights"])(tokens, enc, state(), _tensor(case["padded_mask"])))
    with p.step("config"):
        config_clone(p, "config", make(case["weights"]), tokens, enc, state(), _tensor(case["padded_mask"]))
    with p.step("train"):
        dec = cls(C.AD_V, C.AD_E, C.AD_U, attention())
        ti = keras.Input((C.AD_T,), dtype="int32")
        ei = keras.Input((C.AD_S, C.AD_D_ENC))
        hi, ci = keras.Input((C.AD_U,)), keras.Input((C.AD_U,))
        mi = keras.Input((C.AD_S,), dtype="bool")
        model = keras.Model([ti, ei, hi, ci, mi], as_list(dec(ti, ei, [hi, ci], mi))[0])
        weights = {"embedding": dec.embedding.embeddings, "W_c": dec.W_c.kernel, "out kernel": dec.out.kernel,
                   **{weight_path(w): w for w in dec.rnn.trainable_weights}}
        fit_step_named(p, "train", model, weights, [tokens, case["enc"], *case["state"], case["padded_mask"]], case["target"], seed)


# ---- decoding -------------------------------------------------------------------------------------------

def _state(state, rows=None):
    """A fresh copy of a case's state (the student's code may write into it), optionally some rows."""
    return [np.array(s if rows is None else np.asarray(s)[rows], copy=True) for s in state]


@quiet
def greedy_decoding(p, seed):
    fn = construct(p, "construct", lambda: p.need("greedy_decode"))
    if fn is None:
        return
    for name, case in C.greedy_cases(seed).items():
        step = C.make_step(case)
        with p.step(name):
            out = fn(step, _state(case["state"]), case["max_len"], start_id=C.START_ID, end_id=C.END_ID)
            p.put(f"{name}/out", out)
        p.put(f"{name}/calls", len(step.calls))
        p.put(f"{name}/rows", int(sum(step.calls)))
        for b in range(len(case["state"][0])):
            with p.step(f"{name}/one/{b}"):
                one = fn(C.make_step(case), _state(case["state"], slice(b, b + 1)), case["max_len"],
                         start_id=C.START_ID, end_id=C.END_ID)
                p.put(f"{name}/one/{b}", one)


MAX_HYPS = 16  # hypotheses recorded per sentence


def _put_beam(p, key, result):
    """Per sentence b: `key/b/tokens` (n, L) padded with -1, `key/b/scores` (n,)."""
    result = list(result)
    p.put(f"{key}/n", len(result))
    for b, hyps in enumerate(result[:8]):
        hyps = list(hyps)[:MAX_HYPS]
        tokens = [[int(t) for t in h[0]][:64] for h in hyps]
        scores = [float(h[1]) for h in hyps]
        arr = np.full((len(tokens), max([1] + [len(t) for t in tokens])), -1.0)
        for i, t in enumerate(tokens):
            arr[i, :len(t)] = t
        p.put(f"{key}/{b}/tokens", arr)
        p.put(f"{key}/{b}/scores", np.asarray(scores, np.float64))


def _beam(p, fn, key, case, width, alpha, n_best, rows=None):
    with p.step(key):
        result = fn(C.make_step(case), _state(case["state"], rows), width, case["max_len"], alpha=alpha,
                    n_best=n_best, start_id=C.START_ID, end_id=C.END_ID)
        _put_beam(p, key, result)


@quiet
def beam_search(p, seed):
    fn = construct(p, "construct", lambda: p.need("beam_search"))
    if fn is None:
        return
    case = C.beam_case(seed)
    for run, (width, alpha, n_best) in C.BEAM_RUNS.items():
        _beam(p, fn, run, case, width, alpha, n_best)
    width, alpha, n_best = C.BEAM_RUNS[C.BATCH_RUN]
    for b in range(C.BS_B):
        _beam(p, fn, f"one/{b}", case, width, alpha, n_best, rows=slice(b, b + 1))
    for runs, case in ((C.EX_RUNS, C.exhaustive_case(seed)), (C.LN_RUNS, C.length_case(seed))):
        for run, (width, alpha, n_best) in runs.items():
            _beam(p, fn, run, case, width, alpha, n_best)


@quiet
def beam_error_analysis(p, seed):
    cases = C.error_analysis_cases(seed)
    step = lambda: C.RNNStep(*cases["rnn"])  # noqa: E731
    with p.step("log_prob"):
        lp = p.need("sequence_log_prob")
        case = cases["log_prob"]
        p.put("log_prob", np.asarray(lp(step(), _state(case["state"]), [list(s) for s in case["sequences"]],
                                        start_id=C.START_ID), np.float64))
    for run, case in cases["runs"].items():
        with p.step(f"{run}/own"):
            lp = p.need("sequence_log_prob")
            for which in ("references", "outputs"):
                p.put(f"{run}/own/{which}", np.asarray(lp(step(), _state(case["state"]), [list(s) for s in case[which]],
                                                          start_id=C.START_ID), np.float64))
        with p.step(run):
            fn = p.need("beam_error_analysis")
            result = fn(step(), _state(case["state"]), [list(s) for s in case["references"]],
                        [list(s) for s in case["outputs"]], alpha=case["alpha"], start_id=C.START_ID)
            p.put(f"{run}/verdicts", [str(v) for v in list(result["verdicts"])[:64]])
            p.put(f"{run}/search", float(result["search"]))
            p.put(f"{run}/model", float(result["model"]))


# ---- attention training -----------------------------------------------------------------------------------

NEEDS = ("Encoder", "AttentionDecoder", "LuongAttention", "source_mask")


@quiet
def attention_training(p, seed):
    import keras

    from .training import compose, corpus_arrays, train

    with p.step("model"):
        layers = [p.need(n) for n in NEEDS]
        data = corpus_arrays()
        keras.utils.set_random_seed(seed % (2**31))
        model = compose(*layers, data["src_vocab"], data["tgt_vocab"])
        x, t_in, _ = data["eval"]
        p.put("model/out", shape_of(model([x[:3], t_in[:3]])))
    if p.failed("model"):
        return
    with p.step("train"):
        keras.utils.set_random_seed(seed % (2**31))
        model = compose(*layers, data["src_vocab"], data["tgt_vocab"])
        p.put("train/pred", train(model, data))
