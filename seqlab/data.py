"""Sentence-pair data: the shipped English->Korean corpus, a loader for the Tatoeba / ManyThings
tab-separated format, an optional downloader, and BLEU.

Importing this module is cheap: it needs neither TensorFlow nor Keras (they are imported inside the
functions that need them).

File format (one pair per line, UTF-8)::

    english<TAB>korean[<TAB>attribution]

Empty (or whitespace-only) lines are skipped and counted: the count is in the returned
:class:`LoadStats` (``load_pairs(path, return_stats=True)``) and a :class:`DataWarning` is issued
whenever it is not zero. Every other malformed line raises :class:`DataFormatError` naming the file
and the 1-based line number.
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import os
import sys
import warnings
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFAULT_CORPUS_DIR = DATA_DIR / "en_ko"
SPLITS = ("train", "valid", "test", "test_long", "test_novel")
# test: in-distribution; test_long: longer than any training sentence; test_novel: sentence
# structures never seen in training (see docs/DATA.md)

__all__ = [
    "DATA_DIR", "DEFAULT_CORPUS_DIR", "SPLITS", "DataFormatError", "DataWarning", "LoadStats",
    "load_pairs", "download_pairs", "default_corpus", "grammar", "generate_corpus", "verify_corpus",
    "file_sha256", "bleu",
]


class DataFormatError(ValueError):
    """A sentence-pair file that cannot be read; the message names the file and the line."""


class DataWarning(UserWarning):
    """Something was skipped while loading (the count is in the message)."""


@dataclasses.dataclass
class LoadStats:
    path: str
    lines: int = 0          # physical lines read
    pairs: int = 0          # pairs returned
    empty_lines: int = 0    # blank lines skipped (counted, never silent)
    with_attribution: int = 0


# ------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------
def load_pairs(path, *, return_stats: bool = False, warn_empty: bool = True):
    """Read ``english<TAB>korean[<TAB>attribution]`` lines into a list of ``(english, korean)``.

    Raises :class:`DataFormatError` for a missing file, non-UTF-8 bytes, a line with fewer than 2
    or more than 3 tab-separated columns, or an empty English or Korean field. Blank lines are
    skipped, counted in the stats and reported with a :class:`DataWarning`. A UTF-8 byte-order mark
    and Windows line ends are accepted. With ``return_stats=True`` returns ``(pairs, LoadStats)``.
    """
    p = Path(path)
    if not p.is_file():
        raise DataFormatError(f"{p}: file not found" + (" (it is a directory)" if p.is_dir() else ""))
    raw = p.read_bytes()
    stats = LoadStats(path=str(p))
    pairs: list[tuple[str, str]] = []
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the final newline does not start another line
    for no, bline in enumerate(lines, start=1):
        stats.lines += 1
        if no == 1 and bline.startswith(b"\xef\xbb\xbf"):
            bline = bline[3:]
        if bline.endswith(b"\r"):
            bline = bline[:-1]
        try:
            line = bline.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DataFormatError(f"{p}:{no}: not valid UTF-8 (byte {e.start}: {bline[e.start:e.start + 4]!r})") from None
        if not line.strip():
            stats.empty_lines += 1
            continue
        cols = line.split("\t")
        if len(cols) not in (2, 3):
            raise DataFormatError(f"{p}:{no}: expected 2 or 3 tab-separated columns "
                                  f"(english, korean[, attribution]), found {len(cols)}: {line[:80]!r}")
        en, ko = cols[0].strip(), cols[1].strip()
        if not en:
            raise DataFormatError(f"{p}:{no}: empty English (first) field")
        if not ko:
            raise DataFormatError(f"{p}:{no}: empty Korean (second) field")
        if len(cols) == 3:
            stats.with_attribution += 1
        pairs.append((en, ko))
    stats.pairs = len(pairs)
    if stats.empty_lines and warn_empty:
        warnings.warn(f"{p}: skipped {stats.empty_lines} empty line(s)", DataWarning, stacklevel=2)
    return (pairs, stats) if return_stats else pairs


def download_pairs(url: str, fname: str | None = None, *, member: str | None = None,
                   cache_dir: str | None = None, file_hash: str | None = None, **load_kwargs):
    """Download a Tatoeba / ManyThings file (``.txt`` or a ``.zip`` such as ``kor-eng.zip``) with
    ``keras.utils.get_file`` and load it with :func:`load_pairs`. Needs a network.

    ``member``: the file inside an archive to read (default: the only / first ``.txt`` that is not
    ``_about.txt``).
    """
    import keras

    fname = fname or url.rstrip("/").rsplit("/", 1)[-1]
    archive = fname.endswith((".zip", ".tar.gz", ".tgz"))
    local = Path(keras.utils.get_file(fname, url, cache_dir=cache_dir, file_hash=file_hash, extract=archive))
    if local.is_dir():
        cands = [f for f in sorted(local.rglob("*.txt")) if not f.name.startswith("_")]
        if member:
            cands = [f for f in cands if f.name == member]
        if not cands:
            raise DataFormatError(f"{local}: no sentence file{' named ' + member if member else ''} in the archive")
        local = cands[0]
    return load_pairs(local, **load_kwargs)


# ------------------------------------------------------------------------------------------
# The shipped corpus and its generator
# ------------------------------------------------------------------------------------------
_GRAMMAR = None


def grammar():
    """The corpus generator module (``data/en_ko_grammar.py``), loaded from the repository."""
    global _GRAMMAR
    if _GRAMMAR is None:
        src = DATA_DIR / "en_ko_grammar.py"
        if not src.is_file():
            raise FileNotFoundError(f"{src} is missing: seqlab's data directory ships with the repository "
                                    "(install with `pip install -e .`)")
        name = "seqlab_en_ko_grammar"
        spec = importlib.util.spec_from_file_location(name, src)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        _GRAMMAR = mod
    return _GRAMMAR


def corpus_dir(corpus_dir=None) -> Path:
    """The corpus folder to use: ``corpus_dir`` when given, else the folder named by the environment
    variable ``SEQLAB_CORPUS`` (when set and not empty), else :data:`DEFAULT_CORPUS_DIR` (the shipped
    corpus). Raises :class:`DataFormatError` when ``SEQLAB_CORPUS`` names a folder that does not
    exist or has no ``train.tsv``. Every function with a ``corpus_dir=None`` argument resolves it here."""
    if corpus_dir:
        return Path(corpus_dir)
    env = os.environ.get("SEQLAB_CORPUS", "").strip()
    if not env:
        return DEFAULT_CORPUS_DIR
    d = Path(env).expanduser()
    hint = ("unset SEQLAB_CORPUS to use the shipped corpus, or make one with "
            "`python -m seqlab.data prepare FILE --out DIR`")
    if not d.is_dir():
        raise DataFormatError(f"SEQLAB_CORPUS={env}: no such directory ({hint})")
    if not (d / "train.tsv").is_file():
        raise DataFormatError(f"SEQLAB_CORPUS={env}: the directory has no train.tsv ({hint})")
    return d


_resolve_corpus_dir = corpus_dir


def default_corpus(split: str | None = None, corpus_dir=None):
    """The shipped corpus (or the corpus in ``corpus_dir``): ``default_corpus("train")`` -> list of
    pairs; ``default_corpus()`` -> ``{"train": [...], "valid": [...], "test": [...], ...}`` with every
    split of :data:`SPLITS` whose file exists (the shipped corpus has all five). The folder is
    resolved by :func:`corpus_dir` (``SEQLAB_CORPUS``)."""
    d = _resolve_corpus_dir(corpus_dir)
    if split is None:
        return {s: load_pairs(d / f"{s}.tsv") for s in SPLITS if (d / f"{s}.tsv").is_file()}
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return load_pairs(d / f"{split}.tsv")


def generate_corpus(out_dir, seed: int = 2026, size: int = 30000, valid: int | None = None,
                    test: int | None = None, max_words: int = 32, min_words: int = 1,
                    test_long: int | None = None, test_novel: int | None = None) -> dict:
    """Write a corpus (``{train,valid,test,test_long,test_novel}.tsv`` + ``MANIFEST.json``) and return
    the manifest. ``size`` is the number of training pairs; validation and test default to
    ``size // 15`` each, ``test_long`` and ``test_novel`` to half of that."""
    held = max(1, size // 15)
    half = max(1, held // 2)
    return grammar().write_corpus(out_dir, seed, size, held if valid is None else valid,
                                  held if test is None else test, max_words, min_words,
                                  half if test_long is None else test_long,
                                  half if test_novel is None else test_novel)


def file_sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def verify_corpus(corpus_dir=None) -> dict:
    """Check every file listed in ``MANIFEST.json`` against its sha256; returns the manifest.
    Raises :class:`DataFormatError` on a mismatch."""
    d = _resolve_corpus_dir(corpus_dir)
    manifest = json.loads((d / "MANIFEST.json").read_text(encoding="utf-8"))
    for name, info in manifest["files"].items():
        got = file_sha256(d / name)
        if got != info["sha256"]:
            raise DataFormatError(f"{d / name}: sha256 {got} does not match MANIFEST.json ({info['sha256']})")
    return manifest


# ------------------------------------------------------------------------------------------
# BLEU
# ------------------------------------------------------------------------------------------
def bleu(hypotheses, references, tokenize: str = "13a") -> float:
    """Corpus BLEU (sacrebleu) of detokenized hypotheses against one reference each."""
    import sacrebleu

    hyps = list(hypotheses)
    refs = list(references)
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references")
    return float(sacrebleu.corpus_bleu(hyps, [refs], tokenize=tokenize).score)


# ------------------------------------------------------------------------------------------
# CLI: python -m seqlab.data generate|verify|stats
# ------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m seqlab.data")
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="generate an English->Korean corpus")
    g.add_argument("--seed", type=int, default=2026)
    g.add_argument("--size", type=int, default=30000, help="training pairs (valid/test default size//15)")
    g.add_argument("--valid", type=int, default=None)
    g.add_argument("--test", type=int, default=None)
    g.add_argument("--test-long", type=int, default=None, help="pairs longer than any training pair (default size//30)")
    g.add_argument("--test-novel", type=int, default=None, help="pairs of unseen sentence structures (default size//30)")
    g.add_argument("--max-words", type=int, default=32)
    g.add_argument("--min-words", type=int, default=1)
    g.add_argument("--out", default=str(DEFAULT_CORPUS_DIR))
    v = sub.add_parser("verify", help="check a corpus against its MANIFEST.json")
    v.add_argument("--dir", default=str(DEFAULT_CORPUS_DIR))
    s = sub.add_parser("stats", help="sizes and English length histogram of a corpus")
    s.add_argument("--dir", default=str(DEFAULT_CORPUS_DIR))
    a = ap.parse_args(argv)
    if a.cmd == "generate":
        m = generate_corpus(a.out, a.seed, a.size, a.valid, a.test, a.max_words, a.min_words,
                            a.test_long, a.test_novel)
        print(json.dumps(m["counts"]), "->", a.out)
    elif a.cmd == "verify":
        m = verify_corpus(a.dir)
        print("ok", json.dumps(m["counts"]))
    else:
        corpus = default_corpus(corpus_dir=a.dir)
        for split, pairs in corpus.items():
            print(split, len(pairs))
        lens = [len(en.split()) for en, _ in corpus["train"]]
        hist: dict[int, int] = {}
        for n in lens:
            b = (n - 1) // 4 * 4 + 1
            hist[b] = hist.get(b, 0) + 1
        top = max(hist.values())
        for b in sorted(hist):
            print(f"{b:3d}-{b + 3:<3d} {hist[b]:6d} {'#' * max(1, round(50 * hist[b] / top))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
