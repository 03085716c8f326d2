"""seqlab.data.load_pairs: the Tatoeba / ManyThings tab-separated format and its errors."""
from __future__ import annotations

import warnings

import pytest

from seqlab.data import DataFormatError, DataWarning, LoadStats, default_corpus, load_pairs


def write(tmp_path, content: bytes, name="pairs.txt"):
    p = tmp_path / name
    p.write_bytes(content)
    return p


def test_reads_two_and_three_columns(tmp_path):
    p = write(tmp_path, "Hi.\t안녕.\tCC-BY 2.0 (France) Attribution: tatoeba.org\nRun!\t뛰어!\n".encode())
    pairs, stats = load_pairs(p, return_stats=True)
    assert pairs == [("Hi.", "안녕."), ("Run!", "뛰어!")]
    assert isinstance(stats, LoadStats)
    assert (stats.lines, stats.pairs, stats.empty_lines, stats.with_attribution) == (2, 2, 0, 1)


def test_crlf_bom_and_no_final_newline(tmp_path):
    p = write(tmp_path, "\ufeffHi.\t안녕.\r\nBye.\t잘 가.".encode())
    assert load_pairs(p) == [("Hi.", "안녕."), ("Bye.", "잘 가.")]


def test_missing_file(tmp_path):
    with pytest.raises(DataFormatError, match="nope.txt: file not found"):
        load_pairs(tmp_path / "nope.txt")
    with pytest.raises(DataFormatError, match="directory"):
        load_pairs(tmp_path)


@pytest.mark.parametrize("line", ["just one column", "a\tb\tc\td"])
def test_wrong_number_of_columns(tmp_path, line):
    p = write(tmp_path, f"Hi.\t안녕.\n{line}\n".encode())
    with pytest.raises(DataFormatError, match=r"pairs.txt:2: expected 2 or 3 tab-separated columns"):
        load_pairs(p)


def test_non_utf8(tmp_path):
    p = write(tmp_path, "Hi.\t안녕.\nOK\tfine\n".encode() + "Cat.\t고양이.\n".encode("euc-kr"))
    with pytest.raises(DataFormatError, match=r"pairs.txt:3: not valid UTF-8"):
        load_pairs(p)
    assert isinstance(DataFormatError("x"), ValueError)


def test_empty_fields(tmp_path):
    with pytest.raises(DataFormatError, match=r":2: empty English"):
        load_pairs(write(tmp_path, "Hi.\t안녕.\n \t비어 있음\n".encode()))
    with pytest.raises(DataFormatError, match=r":1: empty Korean"):
        load_pairs(write(tmp_path, "Hi.\t\tattribution\n".encode(), "b.txt"))


def test_empty_lines_are_counted_and_warned(tmp_path):
    p = write(tmp_path, "Hi.\t안녕.\n\n   \nBye.\t잘 가.\n\n".encode())
    with pytest.warns(DataWarning, match="skipped 3 empty line"):
        pairs, stats = load_pairs(p, return_stats=True)
    assert pairs == [("Hi.", "안녕."), ("Bye.", "잘 가.")]
    assert stats.empty_lines == 3 and stats.lines == 5 and stats.pairs == 2


def test_no_warning_without_empty_lines(tmp_path):
    p = write(tmp_path, "Hi.\t안녕.\n".encode())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_pairs(p)


def test_default_corpus_api():
    train = default_corpus("train")
    assert len(train) > 1000 and all(isinstance(e, str) and isinstance(k, str) for e, k in train[:100])
    with pytest.raises(ValueError):
        default_corpus("dev")


# ------------------------------------------------------------------------------------------
# Real user files (tests/fixtures/loader/: the bytes exactly as a user would have them)
# ------------------------------------------------------------------------------------------
import unicodedata  # noqa: E402
from pathlib import Path  # noqa: E402

from seqlab.data import DEFAULT_CORPUS_DIR, corpus_dir, split_pairs, verify_corpus  # noqa: E402

FIX = Path(__file__).resolve().parent / "fixtures" / "loader"


def test_empty_file_is_an_error():
    with pytest.raises(DataFormatError, match=r"empty.tsv: no sentence pairs \(the file is empty\)"):
        load_pairs(FIX / "empty.tsv")


def test_blank_only_file_is_an_error():
    with pytest.raises(DataFormatError, match=r"blank_only.tsv: no sentence pairs \(only blank lines\)"):
        load_pairs(FIX / "blank_only.tsv")


def test_header_only_file_is_an_error(tmp_path):
    with pytest.raises(DataFormatError, match=r"no sentence pairs \(only a header line\)"):
        load_pairs(write(tmp_path, b"english\tkorean\n"))


def test_header_is_detected_and_skipped():
    pairs, stats = load_pairs(FIX / "header.tsv", return_stats=True)
    assert pairs == [("Hi.", "안녕."), ("Run!", "뛰어!")]
    assert stats.header_skipped is True and stats.lines == 3 and stats.pairs == 2
    # header=False: the header is read as a pair
    pairs, stats = load_pairs(FIX / "header.tsv", header=False, return_stats=True)
    assert pairs[0] == ("english", "korean") and stats.header_skipped is False


@pytest.mark.parametrize("first", ["Hi.\t안녕.", "English\t영어", "source\t소스", "Tom\tTom",
                                   "en\tko.", "korean\tkorean"])
def test_header_detection_never_eats_a_real_first_pair(tmp_path, first):
    p = write(tmp_path, f"{first}\nRun!\t뛰어!\n".encode())
    pairs, stats = load_pairs(p, return_stats=True)
    assert stats.header_skipped is False
    assert pairs[0] == tuple(first.split("\t")) and len(pairs) == 2


@pytest.mark.parametrize("head", ["en\tko", "SRC\tTGT", "English\tKorean\tAttribution", " eng \t kor "])
def test_header_names_are_recognised(tmp_path, head):
    pairs, stats = load_pairs(write(tmp_path, f"\n{head}\nHi.\t안녕.\n".encode()), return_stats=True, warn_empty=False)
    assert pairs == [("Hi.", "안녕.")] and stats.header_skipped and stats.empty_lines == 1


def test_header_true_skips_the_first_non_blank_line(tmp_path):
    p = write(tmp_path, "\nHi.\t안녕.\nRun!\t뛰어!\n".encode())
    assert load_pairs(p, header=True, warn_empty=False) == [("Run!", "뛰어!")]


def test_cp949_file_names_the_encoding_to_use():
    with pytest.raises(DataFormatError) as e:
        load_pairs(FIX / "cp949.tsv")
    msg = str(e.value)
    assert "cp949.tsv:2: not valid UTF-8" in msg
    assert "cp949 (EUC-KR)" in msg and 'encoding="cp949"' in msg
    assert "\n" not in msg
    pairs, stats = load_pairs(FIX / "cp949.tsv", encoding="cp949", return_stats=True)
    assert pairs == [("Hi.", "안녕."), ("Cat.", "고양이."), ("Thank you.", "고맙습니다.")]
    assert stats.header_skipped and stats.encoding == "cp949"
    assert load_pairs(FIX / "cp949.tsv", encoding="euc-kr") == pairs


def test_other_bad_bytes_do_not_claim_cp949(tmp_path):
    with pytest.raises(DataFormatError) as e:
        load_pairs(write(tmp_path, b"Hi.\t\xff\xff\xff\n"))
    assert "pairs.txt:1: not valid UTF-8" in str(e.value) and "looks like cp949" not in str(e.value)
    with pytest.raises(DataFormatError, match='UTF-16 byte-order mark.*encoding="utf-16"'):
        load_pairs(write(tmp_path, "Hi.\t안녕.\n".encode("utf-16"), "u16.txt"))
    assert load_pairs(tmp_path / "u16.txt", encoding="utf-16") == [("Hi.", "안녕.")]
    with pytest.raises(DataFormatError, match="unknown encoding 'klingon'"):
        load_pairs(tmp_path / "u16.txt", encoding="klingon")


def test_nfd_korean_is_normalised_to_nfc():
    raw = (FIX / "nfd.tsv").read_text(encoding="utf-8")
    assert "안녕" not in raw  # the fixture really is decomposed
    pairs, stats = load_pairs(FIX / "nfd.tsv", return_stats=True)
    assert pairs == [("Hi.", "안녕."), ("I'm a student.", "저는 학생이에요."), ("OK.", "좋아요.")]
    assert all(unicodedata.is_normalized("NFC", ko) for _, ko in pairs)
    assert stats.normalized == 2
    kept, stats = load_pairs(FIX / "nfd.tsv", normalize=None, return_stats=True)
    assert kept[0][1] == unicodedata.normalize("NFD", "안녕.") != "안녕." and stats.normalized == 0
    with pytest.raises(ValueError, match="normalize must be one of"):
        load_pairs(FIX / "nfd.tsv", normalize="nfc")


def test_cr_only_line_ends():
    pairs, stats = load_pairs(FIX / "cr_only.tsv", return_stats=True)
    assert pairs == [("Hi.", "안녕."), ("Run!", "뛰어!"), ("Who?", "누구?")]
    assert stats.lines == 3 and stats.empty_lines == 0


def test_line_numbers_count_cr_only_line_ends(tmp_path):
    with pytest.raises(DataFormatError, match=r"pairs.txt:3: expected 2 or 3"):
        load_pairs(write(tmp_path, "Hi.\t안녕.\r\nRun!\t뛰어!\rbroken\n".encode()))


def test_duplicates_are_counted_warned_and_optionally_dropped():
    with pytest.warns(DataWarning, match=r"2 duplicate pair\(s\)"):
        pairs, stats = load_pairs(FIX / "duplicates.tsv", return_stats=True)
    assert len(pairs) == 5 and stats.duplicates == 2 and stats.duplicates_dropped == 0
    with pytest.warns(DataWarning, match=r"dropped 2 duplicate pair\(s\)"):
        pairs, stats = load_pairs(FIX / "duplicates.tsv", drop_duplicates=True, return_stats=True)
    assert pairs == [("Hi.", "안녕."), ("Run!", "뛰어!"), ("Hi.", "안녕하세요.")]
    assert (stats.duplicates, stats.duplicates_dropped, stats.pairs, stats.lines) == (2, 2, 3, 5)


def test_mixed_file():
    """BOM, header, CRLF, CR and LF line ends, a blank line, NFD, an attribution, a duplicate after
    normalisation and no final line end, all in one file."""
    with pytest.warns(DataWarning) as rec:
        pairs, stats = load_pairs(FIX / "mixed.tsv", return_stats=True)
    assert pairs == [("Hi.", "안녕."), ("Run!", "뛰어!"), ("Hi.", "안녕."), ("Who?", "누구?")]
    assert (stats.lines, stats.empty_lines, stats.pairs, stats.header_skipped) == (6, 1, 4, True)
    assert (stats.normalized, stats.duplicates, stats.with_attribution) == (1, 1, 1)
    messages = sorted(str(w.message) for w in rec)
    assert len(messages) == 2
    assert "1 duplicate pair(s)" in messages[0] and "skipped 1 empty line(s)" in messages[1]


def test_max_words(tmp_path):
    p = write(tmp_path, "Hi.\t안녕.\nI am a student.\t나는 학생이다.\nGo now.\t지금 가 빨리 어서.\n".encode())
    with pytest.warns(DataWarning, match=r"dropped 2 pair\(s\) longer than max_words=3"):
        pairs, stats = load_pairs(p, max_words=3, return_stats=True)
    assert pairs == [("Hi.", "안녕.")] and stats.too_long == 2 and stats.pairs == 1
    assert load_pairs(p, max_words=4) == [("Hi.", "안녕."), ("I am a student.", "나는 학생이다."),
                                          ("Go now.", "지금 가 빨리 어서.")]
    with pytest.raises(ValueError, match="max_words"):
        load_pairs(p, max_words=0)


# ------------------------------------------------------------------------------------------
# split_pairs
# ------------------------------------------------------------------------------------------
def _pairs(n_sources=200, per_source=(1, 2, 3)):
    out = []
    for i in range(n_sources):
        for j in range(per_source[i % len(per_source)]):
            out.append((f"sentence {i}.", f"문장 {i} 번역 {j}."))
    return out


def test_split_pairs_is_deterministic_and_complete():
    pairs = _pairs()
    a = split_pairs(pairs, valid=0.1, test=0.1, seed=3)
    assert a == split_pairs(list(pairs), valid=0.1, test=0.1, seed=3)
    assert a != split_pairs(pairs, valid=0.1, test=0.1, seed=4)
    assert set(a) == {"train", "valid", "test"}
    assert sorted(a["train"] + a["valid"] + a["test"]) == sorted(pairs)
    n = len(pairs)  # 399
    for name in ("valid", "test"):
        assert 0.1 * n <= len(a[name]) < 0.1 * n + 3  # reached to within one group (at most 3 pairs)
    # each split keeps the input order
    assert a["test"] == [p for p in pairs if p in set(a["test"])]


def test_split_pairs_groups_by_english_sentence():
    pairs = _pairs()
    s = split_pairs(pairs, valid=0.15, test=0.15, seed=0)
    src = {k: {en for en, _ in v} for k, v in s.items()}
    assert not src["train"] & src["test"] and not src["train"] & src["valid"] and not src["valid"] & src["test"]
    # every pair of a source sentence is in the split that holds that sentence
    for k, v in s.items():
        assert len(v) == sum(1 for en, _ in pairs if en in src[k])


def test_split_pairs_without_grouping_can_separate_a_source():
    pairs = [("Hi.", f"안녕 {i}.") for i in range(50)]
    s = split_pairs(pairs, valid=5, test=5, group_by_source=False)
    assert [len(s[k]) for k in ("train", "valid", "test")] == [40, 5, 5]
    with pytest.raises(ValueError, match="1 distinct English sentences: too few"):
        split_pairs(pairs, valid=5, test=5)


def test_split_pairs_absolute_sizes_and_zero():
    pairs = [(f"s{i}", f"문{i}") for i in range(30)]
    s = split_pairs(pairs, valid=4, test=0, seed=1)
    assert (len(s["train"]), len(s["valid"]), len(s["test"])) == (26, 4, 0)


@pytest.mark.parametrize("kw, msg", [({"valid": 1.0}, "fraction must be in"), ({"test": -0.1}, "fraction"),
                                     ({"test": -3}, "negative"), ({"valid": True}, "must be a fraction"),
                                     ({"valid": "0.1"}, "must be a fraction"),
                                     ({"valid": 0.6, "test": 0.5}, "leave no training pairs"),
                                     ({"valid": 5, "test": 5}, "leave no training pairs")])
def test_split_pairs_rejects_bad_sizes(kw, msg):
    with pytest.raises(ValueError, match=msg):
        split_pairs([(f"s{i}", f"문{i}") for i in range(10)], **kw)


def test_split_pairs_too_few_pairs():
    with pytest.raises(ValueError, match="too few|no training"):
        split_pairs([("a", "가"), ("b", "나")], valid=0.1, test=0.1)
    s = split_pairs([("a", "가"), ("b", "나"), ("c", "다")], valid=0.1, test=0.1)
    assert sorted(len(v) for v in s.values()) == [1, 1, 1]


# ------------------------------------------------------------------------------------------
# corpus_dir and SEQLAB_CORPUS
# ------------------------------------------------------------------------------------------
def _mini_corpus(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "train.tsv").write_text("Hi.\t안녕.\nRun!\t뛰어!\n", encoding="utf-8")
    (d / "valid.tsv").write_text("Who?\t누구?\n", encoding="utf-8")
    return d


def test_corpus_dir_default_argument_and_env(tmp_path, monkeypatch):
    monkeypatch.delenv("SEQLAB_CORPUS", raising=False)
    assert corpus_dir() == DEFAULT_CORPUS_DIR
    monkeypatch.setenv("SEQLAB_CORPUS", "")
    assert corpus_dir() == DEFAULT_CORPUS_DIR
    mine = _mini_corpus(tmp_path / "mine")
    monkeypatch.setenv("SEQLAB_CORPUS", str(mine))
    assert corpus_dir() == mine
    assert default_corpus("train") == [("Hi.", "안녕."), ("Run!", "뛰어!")]
    assert set(default_corpus()) == {"train", "valid"}
    assert corpus_dir(DEFAULT_CORPUS_DIR) == DEFAULT_CORPUS_DIR  # an argument wins over the variable
    assert len(default_corpus("valid", corpus_dir=DEFAULT_CORPUS_DIR)) == 2000


def test_seqlab_corpus_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQLAB_CORPUS", str(tmp_path / "missing"))
    with pytest.raises(DataFormatError, match=r"SEQLAB_CORPUS=.*missing: no such directory"):
        corpus_dir()
    with pytest.raises(DataFormatError, match="no such directory"):
        default_corpus("train")
    with pytest.raises(DataFormatError, match="no such directory"):
        verify_corpus()
    (tmp_path / "nodata").mkdir()
    monkeypatch.setenv("SEQLAB_CORPUS", str(tmp_path / "nodata"))
    with pytest.raises(DataFormatError, match="has no train.tsv"):
        corpus_dir()


def test_tokenizers_and_pipeline_resolve_through_corpus_dir(tmp_path, monkeypatch):
    """build_vocabs / load_tokenizers / cached_batches resolve corpus_dir=None through corpus_dir():
    with a missing SEQLAB_CORPUS they fail with its message before doing any work."""
    from seqlab.pipeline import cached_batches
    from seqlab.tokenizers import build_vocabs, load_tokenizers

    monkeypatch.setenv("SEQLAB_CORPUS", str(tmp_path / "missing"))
    for call in (build_vocabs, load_tokenizers, cached_batches):
        with pytest.raises(DataFormatError, match="SEQLAB_CORPUS=.*no such directory"):
            call()
