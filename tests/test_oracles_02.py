"""The NumPy oracles of 02_seq2seq_attention against Keras built-ins and against each other.

Attention: Bahdanau vs keras.layers.AdditiveAttention (use_scale, scale = v, on projected inputs), dot and
scaled dot vs keras.layers.Attention, masked softmax vs keras.layers.Attention with a value mask, the
attention decoder vs the same model built from Keras layers. Decoding: beam search vs exhaustive search
and vs greedy, batching, a hand-worked beam, and the grader's cases have the properties their checks need.
"""
from __future__ import annotations

import importlib

import keras
import numpy as np
import pytest

from autograder.oracles import attention as att
from autograder.oracles import decoding as dec

C = importlib.import_module("autograder.assignments.02_seq2seq_attention.cases")

B, T, S = 2, 3, 5
MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x), np.float64)


def _rand(rng, *shape, scale=1.0):
    return rng.normal(0, scale, shape).astype(np.float32)


@pytest.mark.parametrize("masked", [False, True])
def test_bahdanau_equals_keras_additive_attention(masked):
    rng = np.random.default_rng(1)
    d_q, d_v, units = 3, 4, 6
    q, v = _rand(rng, B, T, d_q), _rand(rng, B, S, d_v)
    W1, W2, vv = _rand(rng, d_q, units), _rand(rng, d_v, units), _rand(rng, units)
    layer = keras.layers.AdditiveAttention(use_scale=True)
    inputs = [q @ W1, v, v @ W2]  # query, value, key: the scores come from the projected query and key
    kwargs = {"mask": [None, MASK]} if masked else {}
    layer(inputs, return_attention_scores=True, **kwargs)
    layer.scale.assign(vv)
    context, weights = layer(inputs, return_attention_scores=True, **kwargs)
    want_context, want_weights = att.attend(att.bahdanau_score(q, v, W1, W2, vv), v, MASK if masked else None)
    np.testing.assert_allclose(_np(weights), want_weights, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(_np(context), want_context, rtol=1e-4, atol=1e-5)
    if masked:
        assert np.all(want_weights[0, :, 3:] == 0.0)
    # Luong's concat score is the same formula with W split into its query and key rows
    W = np.concatenate([W1, W2])
    np.testing.assert_allclose(att.concat_score(q, v, W, vv), att.bahdanau_score(q, v, W1, W2, vv), atol=1e-12)


@pytest.mark.parametrize("scaled", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_dot_and_scaled_dot_equal_keras_attention(scaled, masked):
    rng = np.random.default_rng(2)
    d = 4
    q, v = _rand(rng, B, T, d), _rand(rng, B, S, d)
    layer = keras.layers.Attention(score_mode="dot", use_scale=scaled)
    kwargs = {"mask": [None, MASK]} if masked else {}
    layer([q, v], return_attention_scores=True, **kwargs)
    if scaled:
        layer.scale.assign(1.0 / np.sqrt(d))
    context, weights = layer([q, v], return_attention_scores=True, **kwargs)
    scores = att.scaled_dot_score(q, v) if scaled else att.dot_score(q, v)
    want_context, want_weights = att.attend(scores, v, MASK if masked else None)
    np.testing.assert_allclose(_np(weights), want_weights, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(_np(context), want_context, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(att.masked_softmax(scores, MASK if masked else None).sum(-1), 1.0)


def test_general_and_location_scores_follow_their_formulas():
    rng = np.random.default_rng(3)
    q, v, W = _rand(rng, B, T, 3), _rand(rng, B, S, 4), _rand(rng, 3, 4)
    got = att.general_score(q, v, W)
    assert np.allclose(got[1, 2, 4], q[1, 2] @ W @ v[1, 4])
    W_loc = _rand(rng, 3, 7)
    loc = att.location_score(q, W_loc, S)
    assert loc.shape == (B, T, S) and np.allclose(loc[0, 1, 3], q[0, 1] @ W_loc[:, 3])
    assert np.allclose(att.luong_score("location", q, v, {"W": W_loc}), loc)
    # a masked softmax over another axis is what a student's wrong axis gives: masked columns are uniform
    assert np.allclose(att.masked_softmax(got, MASK, axis=1)[0, :, 4], 1.0 / T)


def test_attention_decoder_equals_the_keras_composition():
    case = C.attention_decoder_case(5)
    w = case["weights"]
    tokens, enc, (h0, c0), mask = case["tokens"], case["enc"], case["state"], case["padded_mask"]
    emb = keras.layers.Embedding(C.AD_V, C.AD_E, mask_zero=True)
    rnn = keras.layers.LSTM(C.AD_U, return_sequences=True, return_state=True)
    attention = keras.layers.Attention(score_mode="dot")
    W_c = keras.layers.Dense(C.AD_U, activation="tanh", use_bias=False)
    out = keras.layers.Dense(C.AD_V)
    for _ in range(2):  # build, copy the weights, run again
        s, h, c = rnn(emb(tokens), initial_state=[h0, c0])
        context, weights = attention([s, enc], mask=[None, mask], return_attention_scores=True)
        logits = out(W_c(keras.ops.concatenate([context, s], axis=-1)))
        if not emb.get_weights() or np.allclose(emb.get_weights()[0], w["embedding"]):
            break
        emb.set_weights([w["embedding"]])
        rnn.set_weights(w["lstm"])
        W_c.set_weights([w["W_c"]])
        out.set_weights(w["out"])
    want = att.attention_decoder(tokens, enc, (h0, c0), mask, w)
    for got, ref in zip((logits, weights, h, c), want):
        np.testing.assert_allclose(_np(got), ref, rtol=1e-4, atol=1e-5)
    assert np.all(want[1][1, :, 2:] == 0.0)
    swapped = att.attention_decoder(tokens, enc, (h0, c0), mask, w, order="sc")[0]
    assert not np.allclose(swapped, want[0])


# ---- decoding ------------------------------------------------------------------------------------------------

def _rnn_case(seed, vocab=4, hidden=4, batch=3, max_len=4):
    rng = np.random.default_rng(seed)
    rnn = (rng.normal(0, 0.8, (hidden, hidden)), rng.normal(0, 1, (vocab, hidden)), rng.normal(0, 1.3, (hidden, vocab)), 0.0)
    return dict(rnn=rnn, state=[rng.normal(0, 1, (batch, hidden))], max_len=max_len)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("alpha", [0.0, 0.7, 1.0])
def test_beam_wider_than_every_output_equals_exhaustive_search(seed, alpha):
    case = _rnn_case(seed)
    step = C.make_step(case)
    every = dec.exhaustive(step, case["state"], 4, case["max_len"])
    beam = dec.beam_search(step, case["state"], 4 ** case["max_len"], case["max_len"], alpha=alpha, n_best=5)
    for b in range(3):
        want = dec.rank(every[b], alpha, 5)
        assert [t for t, _ in beam[b]] == [t for t, _ in want]
        np.testing.assert_allclose([s for _, s in beam[b]], [s for _, s in want])


def test_exhaustive_outputs_cover_all_the_probability():
    case = _rnn_case(4)
    every = dec.exhaustive(C.make_step(case), case["state"], 4, case["max_len"])
    for outputs in every:  # every way a search can end, once each: their probabilities sum to 1
        assert np.isclose(sum(np.exp(lp) for _, lp in outputs), 1.0)
    assert len(every[0]) == len(dec.all_outputs(4, 4)) == 1 + 3 + 9 + 27 + 81


@pytest.mark.parametrize("seed", [0, 5])
def test_beam_width_one_is_greedy_and_batching_changes_nothing(seed):
    case = C.beam_case(seed)
    step = C.make_step(case)
    greedy, steps = dec.greedy(step, case["state"], case["max_len"])
    beam = dec.beam_search(step, case["state"], 1, case["max_len"])
    assert [h[0][0] for h in beam] == [greedy[b, :steps[b]].tolist() for b in range(len(greedy))]
    for b in range(len(greedy)):  # the greedy row is PAD after its [END]
        assert np.all(greedy[b, steps[b]:] == 0) and (steps[b] == case["max_len"] or greedy[b, steps[b] - 1] == C.END_ID)
    batched = dec.beam_search(step, case["state"], 3, case["max_len"], alpha=0.7, n_best=3)
    alone = [dec.beam_search(step, [s[b:b + 1] for s in case["state"]], 3, case["max_len"], alpha=0.7, n_best=3)[0]
             for b in range(len(greedy))]
    assert batched == alone


def test_beam_by_hand_on_the_crafted_length_case():
    """width 2: [END] finishes at step 1; [x] then [x, x] / [x, y] live; [x, x, END] is the second to
    finish, and the search stops there (width hypotheses finished): exactly two finished hypotheses."""
    case = C.length_case(0)
    table = case["table"]
    x = 1 if table[0, C.START_ID, 1] > table[0, C.START_ID, 4] else 4  # the likelier first word
    found = dec.beam_hypotheses(C.make_step(case), case["state"], 2, case["max_len"])[0]
    assert [t for t, _ in found] == [[C.END_ID], [x, x, C.END_ID]]
    lp = dec.log_softmax(table)
    assert np.isclose(found[1][1], lp[0, C.START_ID, x] + lp[1, x, x] + lp[2, x, C.END_ID])
    assert dec.rank(found, 0.0)[0][0] == [C.END_ID] and dec.rank(found, 1.0)[0][0] == [x, x, C.END_ID]


def test_beam_stops_when_width_hypotheses_finished_and_max_len_keeps_the_live_ones():
    # [END] is never likely: nothing finishes; after max_len the 2 live ones count (pruned over both beams:
    # [4, 1] beats [1, 4] at step 2, then [1, 1, 4] beats [4, 1, 1] at step 3)
    rows = [[0.01, 0.6, 0.01, 0.02, 0.36], [0.01, 0.7, 0.01, 0.02, 0.26], [0.01, 0.55, 0.01, 0.02, 0.41]]
    table = np.log(np.repeat(np.array(rows)[:, None, :], 5, axis=1))
    case = dict(table=table, state=[np.zeros((1, 1))], max_len=3)
    found = dec.beam_hypotheses(C.make_step(case), case["state"], 2, 3)[0]
    assert [t for t, _ in found] == [[1, 1, 1], [1, 1, 4]]
    # [END] always the most likely: the width-2 beam stops after step 2 with [END] and [1, END]
    table = np.log(np.tile(np.array([0.01, 0.3, 0.01, 0.67, 0.01]), (3, 5, 1)))
    found = dec.beam_hypotheses(C.make_step(dict(table=table)), [np.zeros((1, 1))], 2, 3)[0]
    assert [t for t, _ in found] == [[C.END_ID], [1, C.END_ID]]


@pytest.mark.parametrize("seed", range(8))
def test_grader_cases_have_the_properties_their_checks_need(seed):
    greedy = C.greedy_cases(seed)
    out, steps = dec.greedy(C.make_step(greedy["ends"]), greedy["ends"]["state"], C.GR_MAX)
    assert steps.max() < C.GR_MAX and len(set(steps.tolist())) >= 2  # early stop observable, rows end apart
    out, steps = dec.greedy(C.make_step(greedy["long"]), greedy["long"]["state"], C.GR_MAX)
    assert C.END_ID not in out[steps == C.GR_MAX][0] and steps.min() < C.GR_MAX  # one row never ends
    ln = C.length_case(seed)
    found = dec.beam_hypotheses(C.make_step(ln), ln["state"], C.LN_WIDTH, ln["max_len"])[0]
    assert len(found) == 2 and dec.rank(found, 0.0)[0][0] != dec.rank(found, 1.0)[0][0]
    beam = C.beam_case(seed)  # n_best = 2 hypotheses exist for every sentence, some longer than one token
    hyps = dec.beam_hypotheses(C.make_step(beam), beam["state"], 2, beam["max_len"])
    assert any(len(t) > 1 for h in hyps for t, _ in h)
    ea = C.error_analysis_cases(seed)
    mixed = ea["runs"]["mixed0"]
    verdicts = dec.error_analysis(C.RNNStep(*ea["rnn"]), mixed["state"], mixed["references"], mixed["outputs"])["verdicts"]
    assert verdicts[0] == "correct" and {"search", "model"} <= set(verdicts) and verdicts.count("correct") == 1
    assert all(len(h) >= 2 for h in hyps)


def test_error_analysis_follows_its_definition():
    case = _rnn_case(7, vocab=5, batch=3)
    step = C.make_step(case)
    refs, outs = [[1, 3], [4, 4, 3], [1, 3]], [[1, 4, 3], [4, 3], [1, 3]]
    lp_r, lp_o = dec.sequence_log_prob(step, case["state"], refs), dec.sequence_log_prob(step, case["state"], outs)
    found = dec.error_analysis(step, case["state"], refs, outs, alpha=1.0)
    want = ["search" if lp_r[i] / len(refs[i]) > lp_o[i] / len(outs[i]) else "model" for i in range(2)] + ["correct"]
    assert found["verdicts"] == want
    assert np.isclose(found["search"] + found["model"], 1.0)
    assert dec.fractions(["correct", "correct"]) == (0.0, 0.0)
    # sequence log-probs: teacher forcing, one token at a time
    first = dec.log_softmax(step(np.array([C.START_ID]), [case["state"][0][:1]])[0])[0, 1]
    assert np.isclose(dec.sequence_log_prob(step, [case["state"][0][:1]], [[1]])[0], first)
