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


# ------------------------------------------------------------------------------------------
# Real text: the natural-language fixture (everyday English-Korean sentences)
# ------------------------------------------------------------------------------------------
import unicodedata  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

NATURAL = Path(__file__).parent / "fixtures" / "natural_en_ko.tsv"


@pytest.fixture(scope="module")
def natural():
    return sd.load_pairs(NATURAL)


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    """Tokenizers whose vocabularies were learned on the fixture itself (default sizes: more than
    the fixture has, so every piece it has is in)."""
    d = tmp_path_factory.mktemp("natural")
    (d / "train.tsv").write_bytes(NATURAL.read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tokenizers.VocabSizeWarning)
        return tokenizers.load_tokenizers(d)


def _learn(sents, size, lang, **kw):
    return tokenizers.learn_vocab(sents, size, tokenizers.LOWER_CASE[lang], korean_particles=lang == "ko",
                                  tags=tokenizers.VOCAB_TAGS[lang], **kw)


@pytest.mark.parametrize("lang,size", [("en", 450), ("ko", 1400)])
def test_requested_vocab_size_is_reached_on_real_text(natural, lang, size):
    col = 0 if lang == "en" else 1
    sents = [p[col] for p in natural]
    with warnings.catch_warnings():
        warnings.simplefilter("error", tokenizers.VocabSizeWarning)  # reachable: no warning
        vocab = _learn(sents, size, lang)
    assert size * 0.98 <= len(vocab) <= size
    assert len(set(vocab)) == len(vocab) and vocab[:4] == tokenizers.RESERVED
    # tensorflow-text's own defaults (lower_thresh=10, 5% slack) stop far below the size
    with pytest.warns(tokenizers.VocabSizeWarning, match=rf"\d+ tokens learned, {size} requested"):
        small = _learn(sents, size, lang, learn_params={"lower_thresh": 10, "slack_ratio": 0.05})
    assert len(small) < 0.8 * size
    if lang == "ko":
        assert "##가" in vocab and "##를" in vocab  # particles still split
    else:
        assert vocab[-2:] == ["<polite>", "<plain>"]


def test_unreachable_vocab_size_warns_with_both_sizes(natural):
    with pytest.warns(tokenizers.VocabSizeWarning) as rec:
        vocab = _learn([p[0] for p in natural], 50000, "en")
    msg = str(rec[0].message)
    assert f"{len(vocab)} tokens learned, 50000 requested" in msg
    assert 300 < len(vocab) < 50000


def test_build_vocabs_records_learn_params_and_sizes(tmp_path, natural):
    d = tmp_path / "c"
    d.mkdir()
    (d / "train.tsv").write_bytes(NATURAL.read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("error", tokenizers.VocabSizeWarning)
        tokenizers.build_vocabs(d, vocab_size={"en": 500, "ko": 1300})
    meta = json.loads((d / "vocab_meta.json").read_text(encoding="utf-8"))
    assert meta["params"]["learn_params"]["en"] == tokenizers.DEFAULT_LEARN_PARAMS
    assert meta["sizes"] == {"en": 500, "ko": 1300} and meta["short"] == {}
    with pytest.warns(tokenizers.VocabSizeWarning, match="requested"):
        tokenizers.build_vocabs(d, vocab_size={"en": 500, "ko": 1300}, learn_params={"ko": {"lower_thresh": 5}})
    meta = json.loads((d / "vocab_meta.json").read_text(encoding="utf-8"))
    assert meta["params"]["learn_params"]["ko"]["lower_thresh"] == 5 and meta["sizes"]["en"] == 500
    assert meta["short"] == {"ko": meta["sizes"]["ko"]} and meta["sizes"]["ko"] < 1300
    with pytest.raises(ValueError, match="unknown learn_params"):
        tokenizers.build_vocabs(d, learn_params={"lower_threshold": 1})


def _unk_rate(tok, sents):
    ids = tok.tokenize(sents, add_start_end=False).flat_values.numpy()
    return float((ids == tokenizers.UNK_ID).mean())


def test_unk_rate_shipped_vs_learned_on_real_text(toks, learned, natural):
    for lang, col in (("en", 0), ("ko", 1)):
        sents = [p[col] for p in natural]
        shipped, own = _unk_rate(toks[col], sents), _unk_rate(learned[col], sents)
        print(f"[UNK] rate on {NATURAL.name} ({lang}): shipped vocab ({toks[col].vocab_size}) {shipped:.3f}, "
              f"learned on the file ({learned[col].vocab_size}) {own:.3f}")
        assert own < shipped
        assert own == 0.0  # every character of the file is in a vocabulary learned from it


def test_unk_rate_on_unseen_sentences_of_a_user_file(toks, natural, tmp_path):
    """What a user sees on new sentences: vocabularies learned on 80% of the file, [UNK] counted on
    the other 20% (split by English sentence), against the shipped vocabularies."""
    parts = sd.split_pairs(natural, valid=0, test=0.2, seed=0)
    (tmp_path / "train.tsv").write_text("".join(f"{e}\t{k}\n" for e, k in parts["train"]), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tokenizers.VocabSizeWarning)
        own = tokenizers.load_tokenizers(tmp_path)
    for lang, col in (("en", 0), ("ko", 1)):
        sents = [p[col] for p in parts["test"]]
        a, b = _unk_rate(toks[col], sents), _unk_rate(own[col], sents)
        print(f"[UNK] rate on {len(sents)} held-out sentences of {NATURAL.name} ({lang}): shipped vocab "
              f"{a:.3f}, learned on the other {len(parts['train'])} pairs ({own[col].vocab_size}) {b:.3f}")
        assert b < a


def test_nfd_input_gives_the_same_ids_as_nfc(toks, learned, natural):
    ko_nfc = [p[1] for p in natural]
    ko_nfd = [unicodedata.normalize("NFD", s) for s in ko_nfc]
    assert ko_nfd != ko_nfc  # decomposed jamo really differ
    for ko in (toks[1], learned[1]):
        assert ko.tokenize(ko_nfd).to_list() == ko.tokenize(ko_nfc).to_list()
    assert _unk_rate(learned[1], ko_nfd) == 0.0
    assert learned[1].detokenize(learned[1].tokenize(ko_nfd)) == ko_nfc
    en = toks[0]
    cafe = ["The café is open.", "Crème brûlée, please."]
    assert en.tokenize([unicodedata.normalize("NFD", s) for s in cafe]).to_list() == en.tokenize(cafe).to_list()


def test_natural_round_trip(learned, natural):
    en, ko = learned
    src = [p[0] for p in natural]
    for s, b in zip(src, en.detokenize(en.tokenize(src))):
        assert b == tokenizers.normalize(s, lower=True) == en.normalize(s), (s, b)
    tgt = [p[1] for p in natural]
    assert ko.detokenize(ko.tokenize(tgt)) == tgt  # NFC fixture: exact


@pytest.mark.parametrize("text,back", [
    ("I'm tired.", "i'm tired."),
    ("Don't worry, it's fine.", "don't worry, it's fine."),
    ("You'll see. We're late, they've gone and I'd go.", "you'll see. we're late, they've gone and i'd go."),
    ("Tom's car and the students' books.", "tom's car and the students' books."),
    ("It's a well-known, world-famous place.", "it's a well-known, world-famous place."),
    ("It's 5,000 won at 9:30, about 3.5 km.", "it's 5,000 won at 9:30, about 3.5 km."),
    ("It's three o'clock.", "it's three o'clock."),
    ('How do you say "thank you"?', 'how do you say "thank you"?'),
    ("Call 010-1234-5678 after 6.", "call 010-1234-5678 after 6."),
    ("I  don ' t   know !", "i don't know!"),
])
def test_english_contractions_and_hyphens_round_trip(learned, text, back):
    en = learned[0]
    assert tokenizers.normalize(text, lower=True) == back
    assert en.detokenize(en.tokenize([text])) == [back]


def test_vocab_decode_is_pure_python_and_joins_apostrophes():
    v = tokenizers.Vocab(tokenizers.RESERVED + ["i", "'", "m", "don", "t", "students", "books", ".", "well",
                                                "-", "known", "<polite>", "<plain>", "##s"])
    ids = lambda *toks: [v.index[t] for t in toks]  # noqa: E731
    assert v.decode(ids("i", "'", "m", "well", "-", "known", ".")) == "i'm well-known."
    assert v.decode(ids("don", "'", "t", ".")) == "don't."
    assert v.decode(ids("students", "'", "books", ".")) == "students' books."
    assert v.decode([2] + ids("<polite>", "i", "'", "m", ".") + [3, 0, 0]) == "<polite> i'm."
    assert v.tag_ids == {"polite": v.index["<polite>"], "plain": v.index["<plain>"]}
    assert tokenizers.normalize("Call me (after 6) at $20 or 50% off!", lower=False) == "Call me (after 6) at $20 or 50% off!"
    assert tokenizers.normalize("Rock 'n' roll and 'quoted' words.", lower=True) == "rock 'n' roll and 'quoted' words."


# ------------------------------------------------------------------------------------------
# Formality tags
# ------------------------------------------------------------------------------------------
def test_tag_tokens_in_the_english_vocabulary_only(toks):
    en, ko = toks
    assert en.vocab.tokens[:4] == tokenizers.RESERVED and ko.vocab.tokens[:4] == tokenizers.RESERVED
    assert en.vocab.tokens[-2:] == ["<polite>", "<plain>"] and en.vocab.tokens.count("<polite>") == 1
    assert set(en.tag_ids) == {"polite", "plain"} and ko.tag_ids == {}
    assert "<polite>" not in ko.vocab.index


def _tagged_inputs():
    return ["<polite> The cat sleeps.", "<plain> The cat sleeps.", "The cat sleeps.", "  <plain>   I'm here.",
            "<polite>", "I said <polite> twice."]


def _check_tag_ids(en, rows):
    pol, pla = en.tag_ids["polite"], en.tag_ids["plain"]
    bare = en._tok.tokenize(["The cat sleeps.", "I'm here.", "I said <polite> twice."]).merge_dims(-2, -1).to_list()
    S, E = tokenizers.START_ID, tokenizers.END_ID
    assert rows[0] == [S, pol] + bare[0] + [E]
    assert rows[1] == [S, pla] + bare[0] + [E]
    assert rows[2] == [S] + bare[0] + [E]          # untagged: as before
    assert rows[3] == [S, pla] + bare[1] + [E]
    assert rows[4] == [S, pol, E]
    assert rows[5] == [S] + bare[2] + [E]          # a tag not at the start is ordinary text
    assert pol not in rows[5] and pla not in rows[5]


def test_tag_ids_eager(toks):
    en, _ = toks
    rows = en.tokenize(_tagged_inputs()).to_list()
    _check_tag_ids(en, rows)
    assert en.tokens("<polite> The cat sleeps.")[:2] == ["<polite>", "the"]
    assert en.detokenize(en.tokenize(["<polite> The cat sleeps."])) == ["<polite> the cat sleeps."]
    assert en.normalize("<polite> The cat sleeps.") == "<polite> the cat sleeps."


def test_tag_ids_inside_tf_data_map(toks):
    import tensorflow as tf

    en, _ = toks
    ds = tf.data.Dataset.from_tensor_slices(_tagged_inputs()).batch(6).map(
        lambda s: en.tokenize(s).to_tensor())  # graph mode
    padded = next(iter(ds)).numpy()
    rows = [[int(x) for x in r if x != tokenizers.PAD_ID] for r in padded]
    _check_tag_ids(en, rows)


def test_tagged_pairs_through_make_dataset(toks, corpus):
    from seqlab import formality, pipeline

    en, ko = toks
    pairs, untagged = formality.tag_pairs(corpus["valid"][:64])
    assert untagged == 0
    ds = pipeline.make_dataset(pairs, en, ko, batch_size=16, with_index=True)
    seen = 0
    for idx, ((s, ti), to) in ds.as_numpy_iterator():
        for row, i in enumerate(idx):
            reg = formality.register_of(pairs[i][1])
            assert s[row, 0] == tokenizers.START_ID and s[row, 1] == en.tag_ids[reg]
            seen += 1
    assert seen == 64
