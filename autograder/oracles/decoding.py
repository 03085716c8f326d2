"""Decoding in NumPy: greedy, beam search, exhaustive search, sequence log-probabilities, error analysis.

The next-token protocol of the notebooks: step_fn(tokens (N,) int, state: list of arrays each (N, ...))
-> (logits (N, V), new_state). Semantics of beam search (the notebook's docstring): per sentence, start
from one hypothesis ([START], log-prob 0); at each step expand every live hypothesis by every token and
keep the `width` best candidates by log-prob (ties: the earlier live hypothesis, then the smaller token);
candidates ending in [END] are set aside as finished, the others stay live. A sentence stops when no
hypothesis is live or `width` hypotheses have finished; after `max_len` steps the live ones count as
finished. score = log-prob / len(tokens) ** alpha (tokens without [START], with [END]).

Written independently of the reference: beam search runs all sentences at once over B * width slots
(one step_fn call per step), greedy and sequence log-probs one sentence at a time, and exhaustive search
by enumerating every possible output.
"""
from __future__ import annotations

import itertools

import numpy as np

PAD_ID, START_ID, END_ID = 0, 2, 3


def log_softmax(logits):
    x = np.asarray(logits, np.float64)
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _row(state, i):
    return [np.asarray(s)[i:i + 1] for s in state]


# ---- greedy --------------------------------------------------------------------------------------

def greedy(step_fn, state, max_len, start_id=START_ID, end_id=END_ID, pad_id=PAD_ID):
    """(tokens (B, max_len) with PAD after [END], steps (B,): how many steps each sentence needed).

    A batched greedy decoder that stops once every row has finished calls step_fn max(steps) times."""
    batch = len(state[0])
    out = np.full((batch, max_len), pad_id, np.int64)
    steps = np.zeros(batch, np.int64)
    for b in range(batch):
        st, token = _row(state, b), start_id
        for t in range(max_len):
            logits, st = step_fn(np.array([token], np.int64), st)
            token = int(np.argmax(np.asarray(logits)[0]))
            out[b, t], steps[b] = token, t + 1
            if token == end_id:
                break
    return out, steps


# ---- beam search ----------------------------------------------------------------------------------

def beam_hypotheses(step_fn, state, width, max_len, start_id=START_ID, end_id=END_ID):
    """Per sentence, its finished hypotheses [(tokens, log_prob)] in the order they were set aside."""
    state = [np.asarray(s) for s in state]
    batch, k = len(state[0]), width
    logp = np.full((batch, k), -np.inf)
    logp[:, 0] = 0.0  # one live hypothesis per sentence: [START]
    tokens = [[[] for _ in range(k)] for _ in range(batch)]
    rows = [np.repeat(s, k, axis=0) for s in state]  # slot (b, j) is row b * k + j
    last = np.full(batch * k, start_id, np.int64)
    finished = [[] for _ in range(batch)]
    running = np.ones(batch, bool)
    for _ in range(max_len):
        if not running.any():
            break
        logits, new_rows = step_fn(last, rows)
        lp = log_softmax(logits)
        vocab = lp.shape[-1]
        total = (logp[:, :, None] + lp.reshape(batch, k, vocab)).reshape(batch, k * vocab)
        ranked = np.argsort(-total, axis=1, kind="stable")  # ties: earlier slot, then smaller token
        new_logp = np.full((batch, k), -np.inf)
        new_tokens = [[[] for _ in range(k)] for _ in range(batch)]
        gather = np.repeat(np.arange(batch) * k, k)  # dead slots copy their sentence's first row
        for b in np.flatnonzero(running):
            n_live = 0
            for flat in ranked[b, :k]:
                if not np.isfinite(total[b, flat]):
                    break  # fewer than `width` candidates (few live hypotheses, small vocabulary)
                slot, token = divmod(int(flat), vocab)
                hyp = tokens[b][slot] + [token]
                if token == end_id:
                    finished[b].append((hyp, float(total[b, flat])))
                else:
                    new_logp[b, n_live], new_tokens[b][n_live] = total[b, flat], hyp
                    gather[b * k + n_live] = b * k + slot
                    n_live += 1
            if n_live == 0 or len(finished[b]) >= width:
                running[b] = False
                new_logp[b] = -np.inf  # the sentence is over: its live hypotheses are dropped
        logp, tokens = new_logp, new_tokens
        rows = [np.asarray(s)[gather] for s in new_rows]
        last = np.array([t[-1] if t else start_id for sentence in tokens for t in sentence], np.int64)
    for b in np.flatnonzero(running):  # max_len steps taken: the live ones count as finished
        finished[b] += [(tokens[b][j], float(logp[b, j])) for j in range(k) if np.isfinite(logp[b, j])]
    return finished


def score(log_prob, length, alpha):
    return log_prob / length ** alpha


def rank(hypotheses, alpha=0.0, n_best=None, scorer=None):
    """[(tokens, score)] best first (stable for equal scores); `scorer(log_prob, length, alpha)`."""
    scorer = scorer or score
    scored = [(list(t), float(scorer(lp, len(t), alpha))) for t, lp in hypotheses]
    order = sorted(range(len(scored)), key=lambda i: -scored[i][1])
    return [scored[i] for i in order[:n_best]]


def beam_search(step_fn, state, width, max_len, alpha=0.0, n_best=1, start_id=START_ID, end_id=END_ID):
    """Per sentence, the n_best (tokens, score) pairs, best first."""
    return [rank(h, alpha, n_best) for h in beam_hypotheses(step_fn, state, width, max_len, start_id, end_id)]


# ---- exhaustive search, sequence log-probabilities ----------------------------------------------------

def sequence_log_prob(step_fn, state, sequences, start_id=START_ID):
    """log P(y | x) of each sequence (without [START]) under the model, one sentence at a time: (B,)."""
    out = np.zeros(len(sequences))
    for b, seq in enumerate(sequences):
        st, previous = _row(state, b), start_id
        for token in seq:
            logits, st = step_fn(np.array([previous], np.int64), st)
            out[b] += log_softmax(logits)[0, int(token)]
            previous = int(token)
    return out


def all_outputs(vocab_size, max_len, end_id=END_ID):
    """Every output a search can return: [END] only as the last token; END-free ones have max_len tokens."""
    found = []
    for length in range(1, max_len + 1):
        for seq in itertools.product(range(vocab_size), repeat=length):
            if end_id in seq[:-1] or (seq[-1] != end_id and length < max_len):
                continue
            found.append(list(seq))
    return found


def exhaustive(step_fn, state, vocab_size, max_len, start_id=START_ID, end_id=END_ID):
    """Per sentence, every possible output with its log-prob [(tokens, log_prob)], by enumeration."""
    outputs = all_outputs(vocab_size, max_len, end_id)
    result = []
    for b in range(len(state[0])):
        row = _row(state, b)
        lps = sequence_log_prob(step_fn, [np.repeat(s, len(outputs), axis=0) for s in row], outputs, start_id)
        result.append(list(zip(outputs, lps.tolist())))
    return result


# ---- beam-search error analysis ---------------------------------------------------------------------

def verdicts(references, outputs, ref_log_probs, out_log_probs, alpha=0.0):
    """"correct" where y^ == y*, else "search" when score(y*) > score(y^) (the search missed a better
    sentence), else "model"."""
    found = []
    for ref, out, lr, lo in zip(references, outputs, ref_log_probs, out_log_probs):
        if list(ref) == list(out):
            found.append("correct")
        else:
            found.append("search" if score(lr, len(ref), alpha) > score(lo, len(out), alpha) else "model")
    return found


def fractions(found):
    """(search share, model share) of the errors; (0.0, 0.0) without errors."""
    errors = [v for v in found if v != "correct"]
    if not errors:
        return 0.0, 0.0
    return errors.count("search") / len(errors), errors.count("model") / len(errors)


def error_analysis(step_fn, state, references, outputs, alpha=0.0, start_id=START_ID):
    found = verdicts(references, outputs, sequence_log_prob(step_fn, state, references, start_id),
                     sequence_log_prob(step_fn, state, outputs, start_id), alpha)
    search, model = fractions(found)
    return {"verdicts": found, "search": search, "model": model}
