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
