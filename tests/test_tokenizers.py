"""WordPiece tokenizers (tensorflow-text) learned from the corpus."""
from __future__ import annotations

import hashlib
import json

import pytest

from seqlab import data as sd

tokenizers = pytest.importorskip("seqlab.tokenizers")  # needs tensorflow-text


@pytest.fixture(scope="module")
def toks():
    # the shipped vocabularies are up to date, so this only loads them (it learns them if stale)
    return tokenizers.load_tokenizers()


@pytest.fixture(scope="module")
def corpus():
    return sd.default_corpus()


def test_vocab_files_are_keyed_by_the_data(toks):
    d = sd.DEFAULT_CORPUS_DIR
    meta = json.loads((d / "vocab_meta.json").read_text(encoding="utf-8"))
    assert meta["data_sha256"] == hashlib.sha256((d / "train.tsv").read_bytes()).hexdigest()
    for lang in ("en", "ko"):
        lines = (d / f"vocab_{lang}.txt").read_text(encoding="utf-8").split("\n")[:-1]
        assert lines[:4] == ["[PAD]", "[UNK]", "[START]", "[END]"]
        assert len(lines) == len(set(lines)) == meta["sizes"][lang]
    en, ko = toks
    assert 300 < en.vocab_size < 5000 and 300 < ko.vocab_size < 5000


def test_reserved_ids(toks):
    en, ko = toks
    for t in toks:
        assert t.vocab.tokens[0] == "[PAD]" and t.vocab.index["[START]"] == tokenizers.START_ID
        assert t.vocab.index["[END]"] == tokenizers.END_ID and t.vocab.index["[UNK]"] == tokenizers.UNK_ID
    ids = en.tokenize(["Hello cat."]).to_list()[0]
    assert ids[0] == tokenizers.START_ID and ids[-1] == tokenizers.END_ID and 0 not in ids


def test_korean_particles_are_split(toks):
    _, ko = toks
    assert ko.tokens("고양이가") == ["고양이", "##가"]
    assert ko.tokens("연필로 편지를 써요.")[:4] == ["연필", "##로", "편지", "##를"]
    pieces = ko.tokens("고양이는 공원에서 사과를 먹는다.")
    assert "##는" in pieces and "##를" in pieces and "공원" in pieces


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_round_trip_on_corpus_sentences(toks, corpus, lang):
    tok = toks[0] if lang == "en" else toks[1]
    col = 0 if lang == "en" else 1
    sents = [p[col] for p in corpus["valid"][:800]]
    back = tok.detokenize(tok.tokenize(sents))
    for s, b in zip(sents, back):
        assert b == tokenizers.normalize(s, lower=(lang == "en")), (s, b)
        if lang == "ko":
            assert b == s  # the corpus is already normalized: exact round trip
    assert all(tokenizers.UNK_ID not in row for row in tok.tokenize(sents).to_list())


def test_unknown_words_become_unk(toks):
    en, ko = toks
    assert en.tokens("the 猫 sleeps") == ["the", "[UNK]", "sleeps"]
    assert ko.tokens("뷁 고양이") == ["[UNK]", "고양이"]
    assert en.detokenize(en.tokenize(["the 猫 sleeps."])) == ["the [UNK] sleeps."]


def test_vocab_rebuilt_only_when_data_changes(tmp_path):
    d = tmp_path / "c"
    sd.generate_corpus(d, seed=11, size=400, max_words=8)
    paths = tokenizers.build_vocabs(d)
    first = {k: p.stat().st_mtime_ns for k, p in paths.items()}
    meta1 = json.loads((d / "vocab_meta.json").read_text())
    again = tokenizers.build_vocabs(d)
    assert {k: p.stat().st_mtime_ns for k, p in again.items()} == first   # untouched
    sd.generate_corpus(d, seed=12, size=400, max_words=8)                     # new data
    tokenizers.build_vocabs(d)
    meta2 = json.loads((d / "vocab_meta.json").read_text())
    assert meta2["data_sha256"] != meta1["data_sha256"]
    assert meta2["data_sha256"] == hashlib.sha256((d / "train.tsv").read_bytes()).hexdigest()


def test_bleu():
    refs = ["고양이는 잔다.", "나는 밥을 먹는다."]
    assert sd.bleu(refs, refs) == pytest.approx(100.0)
    assert sd.bleu(["개는 달린다.", "너는 물을 마신다."], refs) < 20
    with pytest.raises(ValueError):
        sd.bleu(["a"], ["a", "b"])
