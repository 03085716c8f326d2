"""`python -m seqlab.data prepare`: a corpus folder from the user's own file, run as a user would."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seqlab.data import DataFormatError, load_pairs, verify_corpus

ROOT = Path(__file__).resolve().parent.parent
NATURAL = ROOT / "tests" / "fixtures" / "natural_en_ko.tsv"
LOADER = ROOT / "tests" / "fixtures" / "loader"


def run_cli(*args, env=None, timeout=300):
    e = {k: v for k, v in os.environ.items() if k != "SEQLAB_CORPUS"}
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "seqlab.data", *map(str, args)], capture_output=True,
                          text=True, env=e, timeout=timeout, cwd=ROOT)


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    out = tmp_path_factory.mktemp("prep") / "my_corpus"
    r = run_cli("prepare", NATURAL, "--out", out, "--seed", "1", "--vocab-size-en", "300",
                "--vocab-size-ko", "600", "--batch-size", "32")
    assert r.returncode == 0, r.stderr[-3000:]
    return out, r


def test_files_and_manifest(prepared):
    out, _ = prepared
    for name in ("train.tsv", "valid.tsv", "test.tsv", "MANIFEST.json", "vocab_en.txt", "vocab_ko.txt",
                 "vocab_meta.json"):
        assert (out / name).is_file(), name
    m = json.loads((out / "MANIFEST.json").read_text(encoding="utf-8"))
    assert m["generator"] == "seqlab.data prepare" and m["seed"] == 1
    assert m["source"] == str(NATURAL) and m["source_sha256"] == sha(NATURAL)
    assert m["counts"] == {"train": 368, "valid": 46, "test": 46}
    assert m["load_stats"]["pairs"] == 460 and m["load_stats"]["duplicates"] == 0
    assert m["params"]["vocab_size"] == {"en": 300, "ko": 600} and m["params"]["batch_size"] == 32
    assert set(m["files"]) == {"train.tsv", "valid.tsv", "test.tsv"}
    assert verify_corpus(out)["counts"] == m["counts"]


def test_splits_are_the_source_pairs_with_disjoint_english(prepared):
    out, _ = prepared
    parts = {s: load_pairs(out / f"{s}.tsv") for s in ("train", "valid", "test")}
    assert {k: len(v) for k, v in parts.items()} == {"train": 368, "valid": 46, "test": 46}
    assert sorted(sum(parts.values(), [])) == sorted(load_pairs(NATURAL))
    en = {k: {e for e, _ in v} for k, v in parts.items()}
    assert not en["train"] & en["test"] and not en["train"] & en["valid"] and not en["valid"] & en["test"]
    assert (out / "train.tsv").read_bytes().count(b"\t") == 368  # english<TAB>korean, no attribution


def test_verify_detects_a_changed_file(prepared, tmp_path):
    out, _ = prepared
    for name in ("train.tsv", "valid.tsv", "test.tsv", "MANIFEST.json"):
        (tmp_path / name).write_bytes((out / name).read_bytes())
    with open(tmp_path / "test.tsv", "ab") as f:
        f.write("Extra.\t추가.\n".encode())
    with pytest.raises(DataFormatError, match="test.tsv: sha256"):
        verify_corpus(tmp_path)


def test_progress_lines_and_usage_hint(prepared):
    out, r = prepared
    lines = r.stdout.splitlines()
    steps = [ln for ln in lines if ln.startswith("[")]
    assert [s[:5] for s in steps] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    assert steps[0] == f"[1/4] reading {NATURAL} ... 460 pairs (0 duplicates, 0 empty lines)"
    assert "train 368, valid 46, test 46" in steps[1]
    assert steps[2].startswith("[3/4] vocabularies ... en 300, ko ")
    # 600 Korean tokens cannot be reached (single characters alone need more): a note, not a warning
    assert any(ln.strip().startswith("note:") and "600 requested" in ln for ln in lines)
    assert "VocabSizeWarning" not in r.stderr and "Traceback" not in r.stderr
    assert any(ln.strip().startswith("train:") and "batches of 368 pairs" in ln for ln in lines)
    assert f"SEQLAB_CORPUS={out}" in r.stdout and f"corpus_dir='{out}'" in r.stdout


def test_tokenizers_and_caches_work_from_the_folder(prepared):
    from seqlab.pipeline import cached_batches
    from seqlab.tokenizers import load_tokenizers

    out, _ = prepared
    before = {f: sha(out / f) for f in ("vocab_en.txt", "vocab_ko.txt")}
    en, ko = load_tokenizers(out)  # the sizes prepare used are kept
    assert {f: sha(out / f) for f in before} == before  # not learned again
    assert en.vocab_size == 300
    ids = en.encode(["I love you."])[0]
    assert ids[0] == 2 and ids[-1] == 3 and len(ids) >= 5 and 1 not in ids[1:-1]
    assert en.detokenize([ids])[0] == "i love you."
    caches = sorted((out / "cache").glob("*.npz"))
    assert [c.name.split("-")[0] for c in caches] == ["test", "train", "valid"]
    b = cached_batches("train", corpus_dir=out, batch_size=32)
    assert sorted((out / "cache").glob("*.npz")) == caches  # the cache prepare wrote is used
    assert b.num_pairs == 368 and len(b) >= 368 // 32
    rows = 0
    for (src, tgt_in), tgt_out in b:
        assert src.shape[0] == tgt_in.shape[0] == tgt_out.shape[0] <= 32 and tgt_in.shape == tgt_out.shape
        rows += src.shape[0]
    assert rows == 368


def test_seqlab_corpus_makes_it_the_default(prepared):
    out, _ = prepared
    code = ("from seqlab.data import default_corpus, verify_corpus; t = default_corpus('train'); "
            "print(len(t), t[0][0], sorted(default_corpus()), verify_corpus()['counts']['test'])")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, SEQLAB_CORPUS=str(out)))
    assert r.returncode == 0, r.stderr
    first = load_pairs(out / "train.tsv")[0][0]
    assert r.stdout.strip() == f"368 {first} ['test', 'train', 'valid'] 46"


def _assert_one_line_error(r, *parts):
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    err = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("error: "), r.stderr
    for part in parts:
        assert part in err[0], err[0]


def test_cli_empty_file(tmp_path):
    r = run_cli("prepare", LOADER / "empty.tsv", "--out", tmp_path / "c")
    _assert_one_line_error(r, "empty.tsv: no sentence pairs (the file is empty)")
    assert not (tmp_path / "c").exists()


def test_cli_cp949_file_names_the_option(tmp_path):
    r = run_cli("prepare", LOADER / "cp949.tsv", "--out", tmp_path / "c")
    _assert_one_line_error(r, "cp949.tsv:2: not valid UTF-8", "--encoding cp949")


def test_cli_refuses_a_folder_that_is_not_a_prepared_corpus(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    r = run_cli("prepare", NATURAL, "--out", tmp_path)
    _assert_one_line_error(r, "is not empty and not a corpus made by")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_cli_bad_split_size(tmp_path):
    r = run_cli("prepare", NATURAL, "--out", tmp_path / "c", "--valid", "1.5")
    _assert_one_line_error(r, "--valid=1.5: a fraction must be in [0, 1)")
