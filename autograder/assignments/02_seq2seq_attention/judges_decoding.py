"""Judges of the decoding items: greedy decoding, beam search, beam-search error analysis.

Beam search: the search (which hypotheses are found) and the scoring (log-probs, length normalization)
are judged apart. The judge first recognises how the student scores the returned tokens (log-probs or
probabilities; divided by len ** alpha, by nothing, or by (len + 1) ** alpha) from the student's own
tokens and scores; the search sub-checks then compare with the oracle's hypotheses ranked that way, so a
scoring fault is charged once, in 'scores' or 'length normalization'.
"""
from __future__ import annotations

import numpy as np

from autograder.checks.compare import close
from autograder.checks.construct import constructed
from autograder.oracles import decoding as dec

from . import cases as C
from . import hints

# ---- greedy -----------------------------------------------------------------------------------------------


def _own_steps(row, max_len):
    """How many tokens the student's row holds up to and including its first [END] (max_len if none)."""
    ends = np.flatnonzero(row == C.END_ID)
    return int(ends[0]) + 1 if len(ends) else max_len


def greedy_decoding(j, seed):
    if not constructed(j, "construct", "`greedy_decode`"):
        return
    cases = C.greedy_cases(seed)
    for name, case in cases.items():
        B, max_len = len(case["state"][0]), case["max_len"]
        expected, steps = dec.greedy(C.make_step(case), case["state"], max_len)
        err, got = j.error_for(name), j.array(name + "/out")
        if err or got is None or got.ndim != 2 or len(got) != B:
            reason = (f"your greedy_decode raised an error: {err}" if err else
                      f"{hints.GREEDY_SHAPE}; got shape {None if got is None else got.shape}")
            for sub in ("argmax", "stops at END"):
                j.fail(sub, reason, share=1 / len(cases))
        else:
            ok = all(got.shape[1] >= steps[b] and np.array_equal(got[b, :steps[b]], expected[b, :steps[b]]) for b in range(B))
            j.add("argmax", ok, hints.GREEDY_ARGMAX, share=1 / len(cases))
            own = [_own_steps(got[b], got.shape[1]) for b in range(B)]  # relative to the student's own [END]s
            problems = []
            if got.shape != (B, max_len):
                problems.append(f"{hints.GREEDY_SHAPE}; got {got.shape}")
            elif not all(np.all(got[b, own[b]:] == C.PAD_ID) for b in range(B)):
                problems.append(hints.GREEDY_PAD)
            rows = j.value(name + "/rows")
            if rows is None or rows > B * max(own):
                problems.append(hints.GREEDY_CALLS)
            j.add("stops at END", not problems, "; ".join(problems), share=1 / len(cases))
        ok = not err and got is not None and got.ndim == 2
        for b in range(B):  # up to each row's own [END]: what follows it is judged by 'stops at END'
            one = j.array(f"{name}/one/{b}")
            n = _own_steps(got[b], got.shape[1]) if ok else 0
            ok = ok and not j.error_for(f"{name}/one/{b}") and one is not None and one.ndim == 2 and \
                one.shape[1] >= n and np.array_equal(one[0, :n], got[b, :n])
        j.add("batching", ok, hints.GREEDY_BATCH if not err else f"your greedy_decode raised an error: {err}",
              share=1 / len(cases))


# ---- beam search --------------------------------------------------------------------------------------------

SCORINGS = (  # (values, length divisor) in the order tried: the prescribed one first
    ("log", "len"), ("log", "none"), ("prob", "len"), ("prob", "none"), ("log", "len+1"), ("prob", "len+1"),
)


def scoring(mode):
    values, divisor = mode

    def scorer(log_prob, length, alpha):
        value = log_prob if values == "log" else np.exp(log_prob)
        return value / {"len": length, "none": 1, "len+1": length + 1}[divisor] ** alpha

    return scorer


class Run:
    """One beam_search call of the probe: the student's hypotheses, and the oracle's view of them."""

    def __init__(self, j, key, case, width, alpha, n_best):
        self.key, self.case, self.width, self.alpha, self.n_best = key, case, width, alpha, n_best
        self.err = j.error_for(key)
        self.batch = len(case["state"][0])
        self.hyps = None if self.err else _read(j, key, self.batch)
        self.mode = self._identify() if self.hyps else None

    def _identify(self):
        """The scoring that explains every returned score from the student's own tokens, or None."""
        entries = []
        for b, hyps in enumerate(self.hyps):
            row = [np.asarray(s)[b:b + 1] for s in self.case["state"]]
            lps = dec.sequence_log_prob(C.make_step(self.case), [np.repeat(s, len(hyps), 0) for s in row],
                                        [t for t, _ in hyps]) if hyps else []
            entries += [(s, lp, len(t)) for (t, s), lp in zip(hyps, lps)]
        if not entries or any(len(t) == 0 for hyps in self.hyps for t, _ in hyps):
            return None
        for mode in SCORINGS:
            scorer = scoring(mode)
            if all(np.isfinite(s) and close(s, scorer(lp, n, self.alpha), rtol=1e-4, atol=1e-6) for s, lp, n in entries):
                return mode
        return None

    def tokens(self):
        return [[t for t, _ in hyps] for hyps in self.hyps]

    def expected(self, hypotheses, mode=None):
        """The oracle's tokens, ranked with the student's scoring (the prescribed one when unknown)."""
        scorer = scoring(mode or self.mode or SCORINGS[0])
        return [[t for t, _ in dec.rank(h, self.alpha, self.n_best, scorer)] for h in hypotheses]

    def problem(self):
        """Why this run cannot be judged (an error or a malformed result), or None."""
        if self.err:
            return hints.BEAM_RAISED.format(err=self.err)
        if self.hyps is None:
            return hints.BEAM_FORMAT
        return None


def _read(j, key, batch):
    if j.value(f"{key}/n") != batch:
        return None
    found = []
    for b in range(batch):
        tokens, scores = j.array(f"{key}/{b}/tokens"), j.array(f"{key}/{b}/scores")
        if tokens is None or scores is None or tokens.ndim != 2 or len(tokens) != len(scores):
            return None
        found.append([([int(t) for t in row if t >= 0], float(s)) for row, s in zip(tokens, scores)])
    return found


def _runs(j, seed):
    beam, ex, ln = C.beam_case(seed), C.exhaustive_case(seed), C.length_case(seed)
    runs = {k: Run(j, k, beam, *v) for k, v in C.BEAM_RUNS.items()}
    runs.update({k: Run(j, k, ex, *v) for k, v in C.EX_RUNS.items()})
    runs.update({k: Run(j, k, ln, *v) for k, v in C.LN_RUNS.items()})
    width, alpha, n_best = C.BEAM_RUNS[C.BATCH_RUN]
    for b in range(C.BS_B):
        one = dict(beam, state=[np.asarray(s)[b:b + 1] for s in beam["state"]])
        runs[f"one/{b}"] = Run(j, f"one/{b}", one, width, alpha, n_best)
    return runs


def beam_search(j, seed):
    if not constructed(j, "construct", "`beam_search`"):
        return
    runs = _runs(j, seed)
    _width_one(j, runs["w1"])
    for key in ("w2", "w3"):
        _matches(j, runs[key], share=0.5)
    for key in ("ex0", "ex1"):
        _exhaustive(j, runs[key], share=0.5)
    _length_normalization(j, runs)
    for key in ("w2", "w3", "len0", "len1"):
        _scores(j, runs[key], share=0.25)
    _batching(j, runs)


def _width_one(j, run):
    problem = run.problem()
    if problem:
        return j.fail("width 1 is greedy", problem)
    greedy, steps = dec.greedy(C.make_step(run.case), run.case["state"], run.case["max_len"])
    ok = all(len(h) >= 1 and h[0][0] == greedy[b, :steps[b]].tolist() for b, h in enumerate(run.hyps))
    return j.add("width 1 is greedy", ok, hints.BEAM_GREEDY)


def _kept_expanding(run):
    return any(C.END_ID in t[:-1] for hyps in run.hyps for t, _ in hyps)


def _matches(j, run, share):
    problem = run.problem()
    if problem:
        return j.fail("matches the oracle", problem, share)
    found = dec.beam_hypotheses(C.make_step(run.case), run.case["state"], run.width, run.case["max_len"])
    ok = run.tokens() == run.expected(found)
    return j.add("matches the oracle", ok, hints.BEAM_KEPT_EXPANDING if _kept_expanding(run) else hints.BEAM_DIFFERS, share)


def _exhaustive(j, run, share):
    problem = run.problem()
    if problem:
        return j.fail("exhaustive", problem, share)
    every = dec.exhaustive(C.make_step(run.case), run.case["state"], C.EX_V, run.case["max_len"])
    ok = run.tokens() == run.expected(every)
    return j.add("exhaustive", ok, hints.BEAM_KEPT_EXPANDING if _kept_expanding(run) else hints.BEAM_EXHAUSTIVE, share)


LENGTH_MESSAGES = {"none": hints.BEAM_ALPHA_IGNORED, "len+1": hints.BEAM_START_COUNTED}


def _length_normalization(j, runs):
    """The divisor of the student's scores is len ** alpha (alpha != 0 runs); when the scores are not
    recognised at all ('scores' says so), the crafted case's winners are compared instead."""
    name = "length normalization"
    for key, share in (("len1", 0.5), ("w2", 0.25), ("w3", 0.25)):
        run = runs[key]
        problem = run.problem()
        if problem:
            j.fail(name, problem, share)
        elif run.mode is not None:
            j.add(name, run.mode[1] == "len", LENGTH_MESSAGES.get(run.mode[1], ""), share)
        elif key == "len1":
            found = dec.beam_hypotheses(C.make_step(run.case), run.case["state"], run.width, run.case["max_len"])
            ok = [h[:1] for h in run.tokens()] == [e[:1] for e in run.expected(found, SCORINGS[0])]
            j.add(name, ok, hints.BEAM_LENGTH_WINNER, share)
        else:
            j.add(name, True, share=share)  # judged on the crafted case only


def _scores(j, run, share):
    problem = run.problem()
    if problem:
        return j.fail("scores", problem, share)
    if any(len(h) != run.n_best for h in run.hyps):
        return j.fail("scores", f"{hints.BEAM_COUNT} (n_best={run.n_best}; got {[len(h) for h in run.hyps]})", share)
    if any(any(a[1] < b[1] for a, b in zip(h, h[1:])) for h in run.hyps):
        return j.fail("scores", hints.BEAM_NOT_SORTED, share)
    if run.mode is None:
        return j.fail("scores", hints.BEAM_SCORES_UNKNOWN, share)
    return j.add("scores", run.mode[0] == "log", hints.BEAM_PROBS, share)


def _batching(j, runs):
    batch = runs[C.BATCH_RUN]
    problem = batch.problem()
    if problem:
        return j.fail("batching", problem)
    ok = True
    for b in range(C.BS_B):
        one = runs[f"one/{b}"]
        ok = ok and one.problem() is None and len(one.hyps[0]) == len(batch.hyps[b]) and all(
            t1 == t2 and close(s1, s2) for (t1, s1), (t2, s2) in zip(one.hyps[0], batch.hyps[b]))
    return j.add("batching", ok, hints.BEAM_BATCH)


# ---- error analysis ---------------------------------------------------------------------------------------------

SWAP = {"search": "model", "model": "search", "correct": "correct"}


def beam_error_analysis(j, seed):
    cases = C.error_analysis_cases(seed)
    step = lambda: C.RNNStep(*cases["rnn"])  # noqa: E731
    lp_case = cases["log_prob"]
    expected = dec.sequence_log_prob(step(), lp_case["state"], lp_case["sequences"])
    err, got = j.error_for("log_prob"), j.array("log_prob")
    j.add("log prob", not err and close(got, expected), f"your sequence_log_prob raised an error: {err}" if err else
          hints.LOG_PROB)
    n_runs = len(cases["runs"])
    for run, case in cases["runs"].items():
        err = j.error_for(run)
        if err:
            for sub in ("verdicts", "fractions"):
                j.fail(sub, f"your beam_error_analysis raised an error: {err}" +
                       (f". {hints.FRACTIONS_NONE}" if run == "none" and sub == "fractions" else ""), share=1 / n_runs)
            continue
        got = j.value(f"{run}/verdicts")
        refs, outs, alpha = case["references"], case["outputs"], case["alpha"]
        lr = dec.sequence_log_prob(step(), case["state"], refs)
        lo = dec.sequence_log_prob(step(), case["state"], outs)
        want = dec.verdicts(refs, outs, lr, lo, alpha)
        own_r, own_o = j.array(f"{run}/own/references"), j.array(f"{run}/own/outputs")
        own = (dec.verdicts(refs, outs, own_r, own_o, alpha)  # relative to the student's own log-probs
               if own_r is not None and own_o is not None and len(own_r) == len(refs) == len(own_o) else None)
        ok = got == want or (own is not None and got == own)
        message = (hints.VERDICTS_REVERSED if got == [SWAP[v] for v in want] or (own and got == [SWAP[v] for v in own])
                   else hints.VERDICTS_ALPHA if alpha and got == dec.verdicts(refs, outs, lr, lo, 0.0) else hints.VERDICTS)
        j.add("verdicts", ok, message, share=1 / n_runs)
        # fractions relative to the student's own verdicts ('verdicts' judges those)
        basis = got if isinstance(got, list) and len(got) == len(refs) and set(got) <= set(SWAP) else want
        search, model = dec.fractions(basis)
        s, m = j.value(f"{run}/search"), j.value(f"{run}/model")
        ok = s is not None and m is not None and close(s, search) and close(m, model)
        n_all = len(basis)
        over_all = s is not None and close(s, basis.count("search") / n_all) and close(m, basis.count("model") / n_all)
        j.add("fractions", ok, hints.FRACTIONS_NONE if run == "none" else hints.FRACTIONS_ALL if over_all else
              hints.FRACTIONS, share=1 / n_runs)
