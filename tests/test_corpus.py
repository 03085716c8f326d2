"""The shipped English->Korean corpus and its generator (data/en_ko_grammar.py).

The particle, ending and word-order checks below are written independently of the generator:
they look at the finished sentences, not at the generator's helper functions.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from seqlab import data as sd

CORPUS = sd.DEFAULT_CORPUS_DIR
PUNCT = ".?!,"


@pytest.fixture(scope="module")
def corpus():
    return sd.default_corpus()


@pytest.fixture(scope="module")
def all_pairs(corpus):
    return [p for s in sd.SPLITS for p in corpus[s]]


@pytest.fixture(scope="module")
def manifest():
    return json.loads((CORPUS / "MANIFEST.json").read_text(encoding="utf-8"))


# -- files, manifest, reproducibility ----------------------------------------------------------
def test_manifest_matches_files(manifest):
    assert manifest["generator"] == "seqlab-grammar"
    for name, info in manifest["files"].items():
        raw = (CORPUS / name).read_bytes()
        assert hashlib.sha256(raw).hexdigest() == info["sha256"], name
        assert raw.count(b"\n") == info["pairs"]
    assert sd.verify_corpus()["counts"] == manifest["counts"]
    total = sum(f.stat().st_size for f in CORPUS.iterdir() if f.is_file())
    assert total < 6_000_000


def test_counts_and_split_sizes(corpus, manifest):
    assert {k: len(v) for k, v in corpus.items()} == manifest["counts"]
    assert len(corpus["train"]) >= 20000 and len(corpus["valid"]) >= 1000 and len(corpus["test"]) >= 1000
    assert len(corpus["test_long"]) >= 500 and len(corpus["test_novel"]) >= 500


def test_regenerating_reproduces_shipped_files(tmp_path, manifest):
    c = manifest["counts"]
    g = sd.grammar()
    assert g.VERSION == manifest["version"]
    m = sd.generate_corpus(tmp_path, seed=manifest["seed"], size=c["train"], valid=c["valid"], test=c["test"],
                           max_words=manifest["max_words"], min_words=manifest["min_words"],
                           test_long=c["test_long"], test_novel=c["test_novel"])
    for name in manifest["files"]:
        assert (tmp_path / name).read_bytes() == (CORPUS / name).read_bytes(), name
    assert m == manifest


def test_small_generation_is_deterministic(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    sd.generate_corpus(a, seed=7, size=300, max_words=10)
    sd.generate_corpus(b, seed=7, size=300, max_words=10)
    sd.generate_corpus(c, seed=8, size=300, max_words=10)
    for name in ("train.tsv", "valid.tsv", "test.tsv", "test_long.tsv", "test_novel.tsv", "MANIFEST.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert (a / "train.tsv").read_bytes() != (c / "train.tsv").read_bytes()
    assert len(sd.load_pairs(a / "train.tsv")) == 300 and len(sd.load_pairs(a / "valid.tsv")) == 20


def test_cli_generate(tmp_path):
    assert sd.main(["generate", "--seed", "3", "--size", "150", "--max-words", "8", "--out", str(tmp_path)]) == 0
    pairs = sd.load_pairs(tmp_path / "train.tsv")
    assert len(pairs) == 150 and all(len(en.split()) <= 8 for en, _ in pairs)
    att = (tmp_path / "train.tsv").read_text(encoding="utf-8").splitlines()[0].split("\t")[2]
    assert att == "seqlab-grammar v2 seed 3"
    long = sd.load_pairs(tmp_path / "test_long.tsv")
    assert long and all(8 < len(en.split()) <= 24 for en, _ in long)


def test_length_knob(tmp_path):
    short = sd.grammar().generate(seed=1, n_train=500, n_valid=10, n_test=10, max_words=5)
    lens = [len(en.split()) for s in short.values() for en, _ in s]
    assert max(lens) <= 5
    long = sd.grammar().generate(seed=1, n_train=300, n_valid=10, n_test=10, max_words=40, min_words=20)
    assert min(len(en.split()) for s in long.values() for en, _ in s) >= 20


def test_long_sentences_exist(corpus):
    lens = [len(en.split()) for en, _ in corpus["train"]]
    assert sum(n >= 25 for n in lens) >= 100
    assert sum(n <= 6 for n in lens) >= 3000


def test_no_duplicates_and_no_english_in_two_splits(corpus, all_pairs):
    assert len(set(all_pairs)) == len(all_pairs)
    seen = {}
    for split, pairs in corpus.items():
        for en, _ in pairs:
            assert en not in seen, f"{en!r} in {seen.get(en)} and {split}"
            seen[en] = split


def test_attribution_column():
    line = (CORPUS / "train.tsv").read_text(encoding="utf-8").split("\n", 1)[0]
    assert line.split("\t")[2] == "seqlab-grammar v2 seed 2026"


# -- an independent particle checker ----------------------------------------------------------
def _coda(word: str) -> int:
    """Index of the final consonant of the last Hangul syllable (0: none, 8: ㄹ)."""
    c = ord(word[-1]) - 0xAC00
    assert 0 <= c < 11172, word
    return c % 28


def _expected(stem: str, form: str) -> str:
    coda = _coda(stem)
    pairs = {"은": ("은", "는"), "는": ("은", "는"), "이": ("이", "가"), "가": ("이", "가"),
             "을": ("을", "를"), "를": ("을", "를"), "과": ("과", "와"), "와": ("과", "와")}
    if form in ("으로", "로"):
        return "로" if coda in (0, 8) else "으로"
    closed, open_ = pairs[form]
    return closed if coda else open_


@pytest.fixture(scope="module")
def nouns():
    lex = sd.grammar().lexicon()
    words = {n[2] for n in lex["nouns"]} | {p[1] for p in lex["places"]} | set(lex["counters"])
    words |= {"나", "저", "너", "당신", "그", "그녀", "우리", "저희", "그들", "지하철", "붓", "젓가락"}
    words |= {w + "들" for w in words}
    return words


FORMS = ("으로", "로", "은", "는", "이", "가", "을", "를", "과", "와")


def particle_errors(ko: str, nouns: set[str]) -> tuple[list[str], int]:
    errors, checked = [], 0
    for tok in ko.split():
        tok = tok.strip(PUNCT)
        if tok in ("나가", "저가", "너가"):
            errors.append(f"{tok}: pronoun subject form must be 내가/제가/네가")
        for form in FORMS:
            stem = tok[: -len(form)]
            if tok.endswith(form) and stem in nouns:
                checked += 1
                want = _expected(stem, form)
                if want != form:
                    errors.append(f"{tok}: {stem}+{form}, expected {stem}+{want}")
                break
    return errors, checked


def test_particle_checker_catches_mistakes(nouns):
    assert particle_errors("고양이는 사과을 먹는다.", nouns)[0]
    assert particle_errors("연필으로 써요.", nouns)[0]
    assert particle_errors("펜로 써요.", nouns)[0]
    assert particle_errors("선생님가 잔다.", nouns)[0]
    assert particle_errors("책과 개과 잔다.", nouns)[0]
    assert particle_errors("나가 잔다.", nouns)[0]
    errs, n = particle_errors("선생님은 연필로 편지를 쓰고 친구와 사과를 먹는다.", nouns)
    assert errs == [] and n == 5


def test_particles_agree_with_batchim_on_every_pair(all_pairs, nouns):
    bad, checked, forms = [], 0, {}
    for en, ko in all_pairs:
        errs, n = particle_errors(ko, nouns)
        checked += n
        bad += [f"{ko} ({e})" for e in errs]
        for tok in ko.split():
            for form in FORMS:
                if tok.strip(PUNCT).endswith(form) and tok.strip(PUNCT)[: -len(form)] in nouns:
                    forms[form] = forms.get(form, 0) + 1
                    break
    assert not bad, bad[:10]
    assert checked > 60000
    assert all(forms.get(f, 0) > 100 for f in FORMS), forms
    # 로 after ㄹ specifically (연필로, 칼로, 고양이들로 ...)
    assert any(("연필로" in ko or "칼로" in ko) for _, ko in all_pairs)


# -- verb endings, tense, register ------------------------------------------------------------
def test_sentence_endings_per_register_and_mood(all_pairs):
    for en, ko in all_pairs:
        question = en.endswith("?")
        assert ko.endswith("?") == question, (en, ko)
        assert ko[-2] in "다요니", (en, ko)
        if question:
            assert ko.endswith(("요?", "니?")), ko
        else:
            assert ko.endswith(("요.", "다.")), ko


def _lexicon_verb_forms():
    lex = sd.grammar().lexicon()
    nouns = {w for n in lex["nouns"] for w in n[:2]}
    base = {v[0] for v in lex["verbs"]}
    s3 = {v[1] for v in lex["verbs"]}
    past = {v[2] for v in lex["verbs"]}
    # only unambiguous cues: a 3rd-person form that is not also a noun, a past form that is not a base
    return s3 - nouns, past - (base | s3 | nouns)


def _ssang_syllables(word: str) -> list[str]:
    """Syllables with ㅆ as final consonant, other than 있 (있다 is present tense)."""
    return [ch for ch in word if 0 <= ord(ch) - 0xAC00 < 11172 and (ord(ch) - 0xAC00) % 28 == 20 and ch != "있"]


def test_tense_marking(all_pairs):
    present_forms, past_only = _lexicon_verb_forms()
    counts = {"past": 0, "future": 0, "present": 0}
    for en, ko in all_pairs:
        words = en.rstrip(PUNCT).replace(",", "").lower().split()
        if {"that", "who", "because", "and", "but"} & set(words):
            continue  # relative clauses may differ in tense; checked on simple sentences
        last = ko.rstrip(PUNCT).split()[-1]
        if "will" in words:
            assert ko.rstrip(PUNCT).endswith(("것이다", "거예요", "거니")), (en, ko)
            assert not _ssang_syllables(last), (en, ko)
            counts["future"] += 1
        elif {"did", "was", "were"} & set(words) or past_only & set(words):
            assert _ssang_syllables(last), (en, ko)
            counts["past"] += 1
        elif {"do", "does", "is", "am", "are"} & set(words) or present_forms & set(words):
            assert not _ssang_syllables(last) and "것이다" not in ko and "거예요" not in ko, (en, ko)
            counts["present"] += 1
    assert min(counts.values()) > 3000, counts


def test_negation_and_register_share(all_pairs):
    neg = [(en, ko) for en, ko in all_pairs if " not " in en]
    assert len(neg) > 2000
    for en, ko in neg:
        assert ("지 않" in ko) or ("아니" in ko) or ("아닐" in ko), (en, ko)
    polite = sum(ko.endswith(("요.", "요?")) for _, ko in all_pairs)
    assert 0.35 < polite / len(all_pairs) < 0.65


# -- word order ---------------------------------------------------------------------------------
def test_sov_word_order(all_pairs):
    """Simple transitive sentences: English verb before object, Korean object (을/를) before the verb."""
    lex = sd.grammar().lexicon()
    ko_of = {n[0]: n[2] for n in lex["nouns"]} | {n[1]: n[2] for n in lex["nouns"] if n[1] != "-"}
    verb_forms = {f for v in lex["verbs"] for f in v[:3]}
    checked = 0
    for en, ko in all_pairs:
        words = en.rstrip(PUNCT).split()
        if len(words) > 6 or en.endswith("?") or {"that", "who", "and", "not", "will"} & set(words):
            continue
        vi = next((i for i, w in enumerate(words) if w in verb_forms and i > 0), None)
        if vi is None or vi + 2 >= len(words) or words[vi + 1] not in ("the", "a", "an"):
            continue
        obj = words[vi + 2]
        if obj not in ko_of:
            continue
        kw = ko.rstrip(PUNCT).split()
        obj_pos = [i for i, w in enumerate(kw) if w.startswith(ko_of[obj]) and w.endswith(("을", "를"))]
        if not obj_pos:
            continue
        assert obj_pos[0] < len(kw) - 1, (en, ko)          # object before the final verb
        if words[0] != "You":  # a polite "you" subject is left out (보통 자전거를 밀어요.)
            assert any(w.endswith(("은", "는", "이", "가")) for w in kw[:obj_pos[0]]), (en, ko)  # subject first
        checked += 1
    assert checked > 500


# -- golden examples (hand-checked) ----------------------------------------------------------
GOLDEN = [
    ("The teachers will be engineers.", "선생님들은 기술자가 되실 것이다."),
    ("They will be singers.", "그들은 가수가 될 거예요."),
    ("Will you be a painter?", "너는 화가가 될 거니?"),
    ("She was not a soldier.", "그녀는 군인이 아니었어요."),
    ("Does she open her box today?", "그녀는 오늘 자기 상자를 열어요?"),
    ("Did you fix the bag at the cafe?", "카페에서 가방을 고쳤어요?"),
    ("We went to Busan because we were not sad.", "저희는 슬프지 않아서 부산에 갔어요."),
    ("The grandfather sits.", "할아버지는 앉으세요."),
    ("Will the queen sleep in the library?", "여왕은 도서관에서 주무실 거니?"),
    ("There is a king at the church.", "교회에 왕이 계세요."),
    ("There will be a duck by the river.", "강가에 오리가 있을 것이다."),
    ("The engineers dance by the river.", "기술자들은 강가에서 춤춘다."),
    ("I sit with the neighbor.", "저는 이웃과 함께 앉아요."),
    ("The queen lives in Busan.", "여왕은 부산에 사신다."),
    ("Is the king too busy?", "왕은 너무 바쁘세요?"),
    ("Did the mothers cry?", "어머니들은 우셨어요?"),
    ("He closed his bags.", "그는 자기 가방들을 닫았어요."),
    ("The young lawyer will live in Busan.", "젊은 변호사는 부산에 살 거예요."),
    ("Noodles are spicy.", "국수는 맵다."),
    ("He will go to Tokyo by train.", "그는 도쿄에 기차로 갈 거예요."),
]


def test_golden_pairs_are_in_the_corpus(all_pairs):
    have = set(all_pairs)
    missing = [g for g in GOLDEN if g not in have]
    assert not missing, missing


# verb/adjective stem -> (plain present, polite present, plain past, polite future, attributive)
CONJUGATIONS = {
    ("먹", "v", ""): ("먹는다", "먹어요", "먹었다", "먹을 거예요", "먹는"),
    ("가", "v", ""): ("간다", "가요", "갔다", "갈 거예요", "가는"),
    ("보", "v", ""): ("본다", "봐요", "봤다", "볼 거예요", "보는"),
    ("배우", "v", ""): ("배운다", "배워요", "배웠다", "배울 거예요", "배우는"),
    ("마시", "v", ""): ("마신다", "마셔요", "마셨다", "마실 거예요", "마시는"),
    ("공부하", "v", ""): ("공부한다", "공부해요", "공부했다", "공부할 거예요", "공부하는"),
    ("쓰", "v", ""): ("쓴다", "써요", "썼다", "쓸 거예요", "쓰는"),
    ("만들", "v", ""): ("만든다", "만들어요", "만들었다", "만들 거예요", "만드는"),
    ("듣", "v", "d"): ("듣는다", "들어요", "들었다", "들을 거예요", "듣는"),
    ("보내", "v", ""): ("보낸다", "보내요", "보냈다", "보낼 거예요", "보내는"),
    ("크", "a", ""): ("크다", "커요", "컸다", "클 거예요", "큰"),
    ("바쁘", "a", ""): ("바쁘다", "바빠요", "바빴다", "바쁠 거예요", "바쁜"),
    ("춥", "a", "b"): ("춥다", "추워요", "추웠다", "추울 거예요", "추운"),
    ("길", "a", ""): ("길다", "길어요", "길었다", "길 거예요", "긴"),
    ("좋", "a", ""): ("좋다", "좋아요", "좋았다", "좋을 거예요", "좋은"),
    ("맛있", "x", ""): ("맛있다", "맛있어요", "맛있었다", "맛있을 거예요", "맛있는"),
}


@pytest.mark.parametrize("key", list(CONJUGATIONS), ids=[k[0] for k in CONJUGATIONS])
def test_conjugation_table(key):
    g = sd.grammar()
    p = g.Pred(*key)
    got = (p.finite("present", False, False), p.finite("present", True, False), p.finite("past", False, False),
           p.finite("future", True, False), p.attr_present())
    assert got == CONJUGATIONS[key]


def test_copula_and_negation_examples():
    g = sd.grammar()
    assert g.copula("의사", "present", False, False, False) == "의사다"
    assert g.copula("선생님", "present", True, False, False) == "선생님이에요"
    assert g.copula("의사", "present", True, False, False) == "의사예요"
    assert g.copula("의사", "past", False, False, False) == "의사였다"
    assert g.copula("학생", "past", True, False, False) == "학생이었어요"
    assert g.copula("학생", "present", False, False, True) == "학생이 아니다"
    assert g.predicate(g.Pred("먹"), "past", True, False, True) == "먹지 않았어요"
    assert g.predicate(g.Pred("크", "a"), "present", False, False, True) == "크지 않다"
    assert g.predicate(g.Pred("먹"), "present", False, False, True) == "먹지 않는다"
    assert g.predicate(g.Pred("피곤하", "a"), "present", False, False, False, conj="because") == "피곤해서"
    assert g.predicate(g.Pred("먹"), "past", False, False, False, conj="but") == "먹었지만"
    assert g.predicate(g.Pred("놀"), "present", False, True, False) == "노니"
