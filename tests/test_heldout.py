"""The held-out questions of 02's and 03's training runs (`autograder.checks.heldout`): the committed question files
are current, hold no answer, and never reach a sandbox with their answers; and a submission that copies answers from
everything its process can read (the shipped corpus, the question file) no longer passes, where against the old
teacher-forced validation split it scored every token."""
from __future__ import annotations

import collections
import importlib

import numpy as np
import pytest

from autograder import sandbox, worker
from autograder.checks import heldout
from autograder.checks.train import load_heldout, token_accuracy

SPECS = {s.path.parent.name: s for s in heldout.specs()}


def test_the_training_runs_of_02_and_03_declare_their_questions():
    assert sorted(SPECS) == ["02_seq2seq_attention", "03_transformer"]
    assert len({s.seed for s in SPECS.values()}) == 2  # two different sets of sentences


@pytest.mark.parametrize("name", ["02_seq2seq_attention", "03_transformer"])
def test_the_committed_questions_are_current_and_hold_no_answer(name):
    spec = SPECS[name]
    gold = heldout.gold(spec)  # raises on a stale file
    assert gold.shape == (spec.n,) and np.all(gold > 0)
    with np.load(spec.path) as z:
        assert sorted(z.files) == ["key", "length", "prefix", "src"]
        length, prefix = z["length"], z["prefix"]
    # each prefix is [START] and the tokens before the question's position: nothing at or after it is in the file
    assert np.all(prefix[:, 0] == 2) and np.all(length >= 1)
    assert all(not np.any(prefix[i, n:]) for i, n in enumerate(length))
    q = heldout.questions(spec)
    assert all(len(p) == n for p, n in zip(q["prefix"], length))
    # the questions ask about every position of a target, its [END] included
    assert 3 in set(gold.tolist()) and len(set(length.tolist())) >= 6


def test_the_sentences_are_unseen_and_deterministic():
    from seqlab import data as sd

    shipped = {en for pairs in sd.default_corpus(corpus_dir=sd.DEFAULT_CORPUS_DIR).values() for en, *_ in pairs}
    for spec in SPECS.values():
        pairs = heldout.unseen_pairs(spec.n, 1, spec.max_words, spec.seed)
        assert heldout.unseen_pairs.__wrapped__(spec.n, 1, spec.max_words, spec.seed) == pairs
        assert len({en for en, _ in pairs}) == spec.n
        assert not shipped & {en for en, _ in pairs}
        assert all(len(en.split()) <= spec.max_words for en, _ in pairs)


def test_a_stale_or_edited_question_file_is_refused(tmp_path):
    spec = SPECS["03_transformer"]
    moved = heldout.Spec(spec.seed, spec.n, spec.max_words, tmp_path / "heldout.npz")
    heldout.write(moved)
    assert np.array_equal(heldout.gold(moved), heldout.gold(spec))
    with np.load(moved.path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["prefix"][5, 0] = 7
    np.savez_compressed(moved.path, **arrays)
    with pytest.raises(RuntimeError, match="stale"):
        heldout.gold(moved)


def test_the_answers_never_reach_a_sandbox():
    assert worker.grader_only("autograder.checks.heldout")
    for judges in ("autograder.assignments.02_seq2seq_attention.judges_training",
                   "autograder.assignments.03_transformer.judges"):
        assert worker.grader_only(judges)
    staged, _ = sandbox.staged_code()
    assert not (staged / "autograder" / "checks" / "heldout.py").exists()
    assert (staged / "autograder" / "checks" / "train.py").exists()
    for spec in SPECS.values():  # the questions are staged (the probe reads them); the seed is not
        rel = spec.path.relative_to(sandbox.ROOT)
        assert (staged / rel).exists()
        assert str(spec.seed) not in "".join(p.read_text(encoding="utf-8", errors="replace")
                                             for p in staged.rglob("*.py"))


def _copying_answers(src_rows, prefixes, lengths):
    """A forger with everything the student's process can read: the answer of a shipped pair with the same English
    source when there is one (what the validation split gave away), else the most frequent token that follows the
    prefix's last token in the shipped targets."""
    from seqlab import data as sd
    from seqlab.tokenizers import load_tokenizers

    en, ko = load_tokenizers(sd.DEFAULT_CORPUS_DIR, build=False)
    pairs = [p for split in sd.default_corpus(corpus_dir=sd.DEFAULT_CORPUS_DIR).values() for p in split]
    book = {tuple(s): np.asarray(t) for s, t in zip(en.encode([p[0] for p in pairs]), ko.encode([p[1] for p in pairs]))}
    follows: dict = collections.defaultdict(collections.Counter)
    for t in book.values():
        for a, b in zip(t[:-1], t[1:]):
            follows[int(a)][int(b)] += 1
    answers, copied = [], 0
    for s, p, n in zip(src_rows, prefixes, lengths):
        hit = book.get(tuple(int(v) for v in s if v))
        if hit is not None and len(hit) > n:
            answers.append(int(hit[n]))
            copied += 1
        else:
            answers.append(follows[int(p[n - 1])].most_common(1)[0][0])
    return np.asarray(answers), copied


def test_copying_from_what_the_process_holds_no_longer_passes():
    training = importlib.import_module("autograder.assignments.03_transformer.training")
    questions = load_heldout(training.HELDOUT_PATH, training.TRAIN_EVAL_PAD)
    answers, copied = _copying_answers(questions["src"], questions["prefix"], questions["length"])
    accuracy = token_accuracy(answers, heldout.gold(SPECS["03_transformer"]))
    assert copied == 0  # no held-out source is in the corpus the process can read
    assert accuracy < training.TRAIN_PARTIAL_ACC, accuracy
    # the same forger on the validation split, as the item used to be scored (every target token, teacher forced)
    data = training.corpus_arrays()
    x, t_in, t_out = data["eval"]
    rows = [(x[i], t_in[i], n) for i in range(len(x)) for n in range(1, int((t_out[i] != 0).sum()) + 1)]
    old, old_copied = _copying_answers(*zip(*rows))
    old_gold = np.asarray([t_out[i][n - 1] for i in range(len(x)) for n in range(1, int((t_out[i] != 0).sum()) + 1)])
    assert old_copied == len(rows) and token_accuracy(old, old_gold) == 1.0


def test_a_submission_that_replaces_the_runs_answers_gets_what_they_are_worth(monkeypatch):
    """The 03 training item end to end (probe, record, judge) for a student's process that replaces the training
    run by the best copy it can make (what a cell patching `training.train` would do): the item's `learns` fails
    with the accuracy of those answers; the reference's own answers would pass (the mutant catalogue trains it)."""
    from tests.test_grader_03 import REFERENCE, grade, namespace

    training = importlib.import_module("autograder.assignments.03_transformer.training")
    questions = load_heldout(training.HELDOUT_PATH, training.TRAIN_EVAL_PAD)
    forged, _ = _copying_answers(questions["src"], questions["prefix"], questions["length"])
    monkeypatch.setattr(training, "train", lambda model, data: forged)
    result = grade("transformer_training", namespace(REFERENCE), 20261123)
    checks = {c.name: c for c in result.checks}
    assert checks["model"].passed and not checks["learns"].passed, result.feedback()
    assert "0.42" in checks["learns"].message and result.score < result.max_points
