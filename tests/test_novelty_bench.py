"""benchmarks/novelty.py on tiny hand-written corpora: normalisation, one-substitution search,
unseen words, the skeleton rule and the command line (JSON for every split)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load():
    spec = importlib.util.spec_from_file_location("novelty_bench", ROOT / "benchmarks" / "novelty.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


nov = _load()
N = nov.normalize

TRAIN = ["The cat sat on the mat.", "A dog runs quickly.", "She walked home, and he stayed."]


@pytest.fixture
def index():
    return nov.SubstitutionIndex([N(s) for s in TRAIN])


def test_normalize_lowercases_strips_final_punctuation_keeps_inner():
    assert N("The cat sat on the mat.") == ("the", "cat", "sat", "on", "the", "mat")
    assert N("  Did she go?! ") == ("did", "she", "go")
    assert N("She walked home, and he stayed.") == ("she", "walked", "home,", "and", "he", "stayed")


@pytest.mark.parametrize("sentence, expected", [
    ("The dog sat on the mat.", True),          # one substitution, first content word
    ("The cat sat on the rug?", True),          # one substitution, last word (final punctuation ignored)
    ("the cat, sat on the mat", True),          # "cat," vs "cat": punctuation is part of the word
    ("He walked home, and he stayed.", True),
    ("The cat sat on the mat.", False),         # identical is not a substitution
    ("the cat sat on the mat", False),          # identical after normalisation
    ("The dog sat on a mat.", False),           # two substitutions
    ("The cat sat on the big mat.", False),     # insertion
    ("The cat sat on mat.", False),             # deletion
    ("The mat sat on the cat.", False),         # swap = two substitutions
    ("A dog runs.", False),
    ("", False),
])
def test_one_substitution(index, sentence, expected):
    assert index.one_substitution(N(sentence)) is expected


def test_exact_match_after_normalisation(index):
    assert index.contains(N("THE CAT SAT ON THE MAT!"))
    assert not index.contains(N("The cat sat on the mat, ok."))


def test_exact_sentence_is_also_near_dup_when_another_train_sentence_is_one_away():
    idx = nov.SubstitutionIndex([N("a b c"), N("a x c"), N("a b c")])
    assert idx.contains(N("a b c")) and idx.one_substitution(N("a b c"))
    assert idx.one_substitution(N("a y c"))          # two different words fill that slot
    assert not nov.SubstitutionIndex([N("a b c")]).one_substitution(N("a b c"))


def test_function_words_are_most_frequent_with_alphabetical_ties():
    train = [N("b a a c"), N("c d b")]                # a:2 b:2 c:2 d:1
    assert nov.function_words(train, 2) == frozenset({"a", "b"})
    assert nov.function_words(train, 3) == frozenset({"a", "b", "c"})


@pytest.mark.parametrize("word, expected", [
    ("the", "the"), ("and,", "and,"),                 # function words stay (punctuation included)
    ("teacher", "X"), ("doctors", "X-s"), ("walking", "X-ing"), ("walked", "X-ed"),
    ("quietly", "X-ly"), ("quietly,", "X-ly,"), ("home,", "X,"), ("things", "X-s"),
])
def test_word_class(word, expected):
    assert nov.word_class(word, frozenset({"the", "and,"})) == expected


def test_skeleton_is_tuple_of_word_classes():
    fw = frozenset({"the", "on"})
    assert nov.skeleton(N("The doctors sat on the mat."), fw) == ("the", "X-s", "X", "on", "the", "X")
    assert nov.skeleton(N("The teacher sat on the rug."), fw) == nov.skeleton(N("The cat sat on the mat."), fw)


def test_split_stats_counts():
    train = [N(s) for s in TRAIN]
    fw = nov.function_words(train, 3)               # "the" (2), then "a", "and" (1, alphabetical)
    assert fw == frozenset({"the", "a", "and"})
    skeletons = {nov.skeleton(s, fw) for s in train}
    vocab = {w for s in train for w in s}
    sentences = [N("The dog sat on the mat."),     # seen words, near-dup, seen skeleton
                 N("The zebra sat on the mat."),   # 1 unseen word, near-dup, seen skeleton
                 N("A zebra eats grass slowly."),  # 4 unseen of 5 words; short; skeleton unseen
                 N("a b c d e f g h i j k l")]     # 12 words, not short; 11 unseen ("a" is seen)
    st = nov.split_stats(sentences, nov.SubstitutionIndex(train), vocab, skeletons, fw)
    assert st["n"] == 4
    assert st["mean_len"] == pytest.approx((6 + 6 + 5 + 12) / 4)
    assert st["exact_pct"] == 0.0
    assert st["near_dup_pct"] == pytest.approx(50.0)
    assert st["unseen_word_sent_pct"] == pytest.approx(75.0)
    assert st["unseen_word_tok_pct"] == pytest.approx(100.0 * (1 + 4 + 11) / 29)
    assert st["n_short"] == 3
    assert st["unseen_skeleton_short_pct"] == pytest.approx(100.0 / 3)
    assert st["unseen_skeleton_all_pct"] == pytest.approx(50.0)


def _write(path: Path, sentences):
    path.write_text("".join(f"{s}\t번역 {k}\n" for k, s in enumerate(sentences)), encoding="utf-8")


def test_cli_prints_table_and_writes_json_for_every_split(tmp_path, capsys):
    d = tmp_path / "corpus"
    d.mkdir()
    _write(d / "train.tsv", TRAIN)
    _write(d / "valid.tsv", ["The cat sat on the mat.", "A dog runs slowly."])
    _write(d / "test.tsv", ["The dog sat on the mat.", "A cat runs quickly.", "The zebra sat."])
    _write(d / "test_long.tsv", ["The cat sat on the mat and the dog sat on the rug and she walked home quietly."])
    _write(d / "test_novel.tsv", ["She walked the cat."])
    out = tmp_path / "novelty.json"
    assert nov.main(["--corpus-dir", str(d), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "near-dup %" in printed and "unseen skel % short" in printed and "time:" in printed
    assert nov.RULE in printed and "test_novel" in printed
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data["splits"]) == {"valid", "test", "test_long", "test_novel"}
    assert data["train"]["n"] == 3
    assert data["splits"]["valid"]["exact_pct"] == pytest.approx(50.0)
    assert data["splits"]["valid"]["near_dup_pct"] == pytest.approx(50.0)   # "slowly" for "quickly"
    assert data["splits"]["test"]["n"] == 3
    assert data["splits"]["test"]["near_dup_pct"] == pytest.approx(200 / 3)
    assert data["splits"]["test"]["unseen_word_sent_pct"] == pytest.approx(100 / 3)
    assert data["splits"]["test_long"]["n_short"] == 0
    assert data["splits"]["test_long"]["unseen_skeleton_short_pct"] is None
    assert data["summary"]["test_novel_short_unseen_skeleton_pct"] == \
        data["splits"]["test_novel"]["unseen_skeleton_short_pct"]
    assert isinstance(data["seconds"], float) and data["rule"] == nov.RULE


def test_novelty_requires_train():
    with pytest.raises(ValueError, match="train"):
        nov.novelty({"test": [("a", "b")]})


def test_short_means_at_most_ten_words():
    train = [N("a b")]
    fw = frozenset({"a"})
    ten, eleven = N("a " * 10), N("a " * 11)
    st = nov.split_stats([ten, eleven], nov.SubstitutionIndex(train), {"a", "b"}, {nov.skeleton(train[0], fw)}, fw)
    assert st["n_short"] == 1
    assert st["unseen_skeleton_short_pct"] == pytest.approx(100.0)
    assert st["unseen_word_tok_pct"] == 0.0
