"""The non-neural baseline (seqlab.baseline) on a tiny generated corpus: it must beat trivial outputs,
its reordering and phrases must help, its dictionary must agree with the grammar's lexicon, and it
must be deterministic and cheap to import."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from seqlab.baseline import Baseline, evaluate, main, tokenize_en, tokenize_ko
from seqlab.data import bleu, default_corpus, generate_corpus, grammar

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny_en_ko")
    generate_corpus(d, seed=7, size=600, max_words=10)
    return d


@pytest.fixture(scope="module")
def corpus(corpus_dir):
    return default_corpus(corpus_dir=corpus_dir)


@pytest.fixture(scope="module")
def model(corpus):
    return Baseline().fit(corpus["train"])


def _score(hyps, pairs):
    return bleu(hyps, [ko for _, ko in pairs])


def test_tokenizers():
    assert tokenize_en("The cat, and I ate?") == ["the", "cat", ",", "and", "i", "ate", "?"]
    assert tokenize_ko("고양이가 잔다.") == ["고양이가", "잔다", "."]


def test_beats_trivial_outputs(model, corpus):
    train = corpus["train"]
    ours = evaluate(model, train)
    copy = _score([en for en, _ in train], train)          # copying the English source
    empty = _score(["." for _ in train], train)              # only the final punctuation
    assert ours["n"] == len(train)
    assert ours["bleu"] > max(copy, empty) + 20, (ours, copy, empty)
    assert 0 < ours["chrf"] <= 100
    # held-out in-distribution data: lower than on train, still well above trivial
    valid = corpus["valid"]
    assert evaluate(model, valid)["bleu"] > _score([en for en, _ in valid], valid) + 5


def test_learned_reordering_and_phrases_help(model, corpus):
    train = corpus["train"]
    full = evaluate(model, train)["bleu"]
    monotone = Baseline().fit(train)
    monotone.position = {}                 # no learned positions: English word order
    assert full > evaluate(monotone, train)["bleu"] + 10
    no_phrases = Baseline(phrases=False).fit(train)
    assert no_phrases.phrases == {}
    assert full > evaluate(no_phrases, train)["bleu"] + 2


def test_dictionary_agrees_with_lexicon(model, corpus):
    lex = grammar().lexicon()
    counts = Counter(w for en, _ in corpus["train"] for w in tokenize_en(en))
    # the five most frequent nouns (singular form) -> a Korean word that starts with the noun
    nouns = sorted(((counts[sg], sg, ko) for sg, _pl, ko, _cls, _ctr in lex["nouns"] if counts[sg] >= 5),
                   reverse=True)[:5]
    assert len(nouns) == 5
    for _, sg, ko in nouns:
        assert any(k.startswith(ko) for k in model.dictionary[sg]), (sg, ko, model.dictionary[sg])
    # frequent number words -> their native Korean number
    numbers = [(en, ko) for en, ko in lex["numbers"] if counts[en] >= 5]
    assert numbers
    for en, ko in numbers:
        assert ko in model.dictionary[en], (en, ko, model.dictionary[en])
    # pronouns as subjects -> a form of the Korean pronoun
    for p in ("he", "she", "they"):
        forms = [f for f in lex["pronouns"][p] if f]
        assert any(k.startswith(tuple(forms)) for k in model.dictionary[p]), (p, model.dictionary[p])
    # Korean has no articles: "the" and "a" translate to nothing
    assert model.dictionary["the"] == () and model.dictionary["a"] == ()


def _last_word_agrees(model, pairs) -> float:
    """Share of outputs whose last word (before the final punctuation) is the reference's."""
    hyps = model.translate([en for en, _ in pairs])
    return sum(h.rstrip(".?!").split()[-1:] == ko.rstrip(".?!").split()[-1:]
               for h, (_, ko) in zip(hyps, pairs)) / len(pairs)


def test_verb_ending_goes_last(model, corpus):
    """Korean is verb-final: the learned positions put the verb / ending last, where English word
    order (no learned positions) almost never does."""
    train = corpus["train"]
    monotone = Baseline().fit(train)
    monotone.position = {}
    ours, theirs = _last_word_agrees(model, train), _last_word_agrees(monotone, train)
    assert ours > 0.3 and ours > 3 * theirs, (ours, theirs)


def test_punctuation_carried_over_and_unknown_words(model, corpus):
    english = [en for en, _ in corpus["valid"]]
    for en, ko in zip(english, model.translate(english)):
        assert ko[-1:] == en[-1:], (en, ko)
    assert model.translate(["Zorblax?", "zorblax"]) == ["?", ""]
    with pytest.raises(TypeError):
        model.translate("The cat sleeps.")
    with pytest.raises(RuntimeError):
        Baseline().translate(["The cat sleeps."])


def test_deterministic_and_sample(corpus):
    a, b = Baseline().fit(corpus["train"]), Baseline().fit(corpus["train"])
    assert a.dictionary == b.dictionary and a.phrases == b.phrases and a.position == b.position
    english = [en for en, _ in corpus["test"]]
    assert a.translate(english) == b.translate(english)
    small = Baseline(max_pairs=100).fit(corpus["train"])
    assert small.n_fit_pairs == 100
    assert len(small.dictionary) < len(a.dictionary)


def test_cli_table(corpus_dir, corpus, capsys):
    assert main(["--corpus", str(corpus_dir), "--splits", "train", "valid", "--sample", "300"]) == 0
    out = capsys.readouterr().out
    assert "Fitted on 300 training pairs" in out
    rows = {}
    for line in out.splitlines():
        m = re.match(r"\| (\w+) \| ([\d,]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$", line)
        if m:
            rows[m[1]] = m.groups()[1:]
    assert set(rows) == {"train", "valid"}
    assert int(rows["valid"][0].replace(",", "")) == len(corpus["valid"])
    assert float(rows["train"][1]) > float(rows["valid"][1]) > 0


def test_cli_default_splits_and_missing_split(tmp_path, corpus_dir, capsys):
    # a corpus with only the three original splits: the default scores exactly those
    for s in ("train", "valid", "test"):
        (tmp_path / f"{s}.tsv").write_bytes((corpus_dir / f"{s}.tsv").read_bytes())
    assert main(["--corpus", str(tmp_path), "--sample", "200"]) == 0
    out = capsys.readouterr().out
    assert [line.split("|")[1].strip() for line in out.splitlines() if re.match(r"\| \w+ \| \d", line)] \
        == ["train", "valid", "test"]
    with pytest.raises(SystemExit) as e:
        main(["--corpus", str(tmp_path), "--splits", "test_long"])
    assert e.value.code == 2
    assert "test_long" in capsys.readouterr().err


def test_import_is_cheap_and_quiet():
    code = ("import sys, seqlab.baseline; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'nltk') if m in sys.modules))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
    assert r.stderr == ""
