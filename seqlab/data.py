"""Sentence-pair data: the shipped English->Korean corpus, a loader for the Tatoeba / ManyThings
tab-separated format (and real user files), a seeded train/valid/test split, a command that turns a
user's file into a corpus folder, an optional downloader, and BLEU.

Importing this module is cheap: it needs neither TensorFlow nor Keras (they are imported inside the
functions that need them).

File format (one pair per line)::

    english<TAB>korean[<TAB>attribution]

:func:`load_pairs` reads UTF-8 by default (``encoding=`` for others; a cp949 / EUC-KR file gets an
error that says so), with or without a byte-order mark and with ``\n``, ``\r\n`` or ``\r`` line
ends; skips a header line such as ``english<TAB>korean`` (auto-detected, or ``header=True/False``);
NFC-normalises both fields; and can drop duplicates and pairs over ``max_words``. Whatever it skips
or changes is counted in :class:`LoadStats` (``return_stats=True``), and skipped lines and
duplicates are reported with a :class:`DataWarning`. A malformed line, or a file without pairs,
raises :class:`DataFormatError` naming the file and the 1-based line number.

:func:`split_pairs` splits pairs into train / valid / test (seeded; pairs with the same English
sentence stay in one split). :func:`corpus_dir` resolves the corpus folder for every
``corpus_dir=None`` in the kit: the argument, else ``$SEQLAB_CORPUS``, else the shipped corpus.

Command line::

    python -m seqlab.data prepare kor.txt --out my_corpus   # splits, MANIFEST, vocabularies, caches
    SEQLAB_CORPUS=my_corpus python train.py                 # ... then every default is that corpus
    python -m seqlab.data generate|verify|stats             # the shipped corpus
"""
from __future__ import annotations

import codecs
import dataclasses
import hashlib
import importlib.util
import json
import os
import random
import re
import sys
import unicodedata
import warnings
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFAULT_CORPUS_DIR = DATA_DIR / "en_ko"
SPLITS = ("train", "valid", "test", "test_long", "test_novel")
# test: in-distribution; test_long: longer than any training sentence; test_novel: sentence
# structures never seen in training (see docs/DATA.md)

__all__ = [
    "DATA_DIR", "DEFAULT_CORPUS_DIR", "SPLITS", "HEADER_NAMES", "DataFormatError", "DataWarning", "LoadStats",
    "load_pairs", "split_pairs", "corpus_dir", "prepare_corpus", "download_pairs", "default_corpus", "grammar",
    "generate_corpus", "verify_corpus", "file_sha256", "bleu",
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
    header_skipped: bool = False  # the first non-blank line was a header (english<TAB>korean ...)
    normalized: int = 0     # pairs whose text the Unicode normalisation changed (NFD Korean -> NFC)
    duplicates: int = 0     # pairs identical to an earlier (english, korean) pair
    duplicates_dropped: int = 0  # of those, removed (drop_duplicates=True)
    too_long: int = 0       # pairs dropped by max_words
    encoding: str = "utf-8"


# ------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LINE_BREAK_BYTES = re.compile(rb"\r\n|\r|\n")
# column names a header line uses (compared case-insensitively, after stripping spaces)
HEADER_NAMES = frozenset({"english", "korean", "en", "ko", "eng", "kor", "source", "target", "src", "tgt",
                          "input", "output", "sentence", "translation", "text"})
_HEADER_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_ -]*")
_NORMAL_FORMS = ("NFC", "NFKC", "NFD", "NFKD")


def _looks_like_header(line: str) -> bool:
    """True for ``english<TAB>korean``, ``en<TAB>ko``, ``source<TAB>target[<TAB>license]`` and the
    like: the first two fields are different known column names (ASCII, no sentence punctuation)."""
    cols = [c.strip() for c in line.split("\t")]
    if len(cols) not in (2, 3):
        return False
    names = [c.lower() for c in cols[:2]]
    if not all(_HEADER_WORD.fullmatch(c) for c in cols[:2]) or names[0] == names[1]:
        return False
    if len(cols) == 3 and cols[2] and not _HEADER_WORD.fullmatch(cols[2]):
        return False
    return all(n in HEADER_NAMES for n in names)


def _decode(p: Path, raw: bytes, encoding: str) -> str:
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise DataFormatError(f"{p}: unknown encoding {encoding!r}") from None
    if codec == "utf-8":
        codec = "utf-8-sig"  # a UTF-8 byte-order mark is accepted
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as e:
        starts = [0] + [m.end() for m in _LINE_BREAK_BYTES.finditer(raw, 0, e.start)]
        no, col = len(starts), e.start - starts[-1]
        where = f"{p}:{no}: not valid {'UTF-8' if codec == 'utf-8-sig' else encoding} " \
                f"(byte {col}: {raw[e.start:e.start + 4]!r})"
    hint = ""
    if codec == "utf-8-sig":
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            hint = '; the file starts with a UTF-16 byte-order mark: load_pairs(path, encoding="utf-16")'
        else:
            try:
                text = raw.decode("cp949")
            except UnicodeDecodeError:
                text = None
            if text is not None and any("\uac00" <= ch <= "\ud7a3" for ch in text):
                hint = ('; this looks like cp949 (EUC-KR) Korean: load_pairs(path, encoding="cp949") '
                        "(command line: --encoding cp949), or save the file as UTF-8")
            else:
                hint = "; pass the file's encoding, e.g. load_pairs(path, encoding=\"cp949\"), or save it as UTF-8"
    raise DataFormatError(where + hint)


def load_pairs(path, *, header: bool | None = None, encoding: str = "utf-8", normalize: str | None = "NFC",
               drop_duplicates: bool = False, max_words: int | None = None, return_stats: bool = False,
               warn_empty: bool = True):
    """Read ``english<TAB>korean[<TAB>attribution]`` lines into a list of ``(english, korean)``.

    - ``header``: ``None`` (default) skips the first non-blank line when it is a header such as
      ``english<TAB>korean`` or ``src<TAB>tgt`` (two different column names from
      :data:`HEADER_NAMES`; a sentence pair never qualifies); ``True`` always skips the first
      non-blank line, ``False`` never does.
    - ``encoding`` (default UTF-8, with or without a byte-order mark). A UTF-8 failure on a file that
      is cp949 / EUC-KR Korean says so and names the ``encoding=`` to pass.
    - ``normalize``: Unicode form applied to both fields (default NFC, so Korean typed as decomposed
      jamo, e.g. on macOS, equals composed text); ``None`` keeps the text as it is.
    - ``max_words``: keep only pairs whose English and Korean each have at most that many
      whitespace-separated words.
    - ``drop_duplicates``: keep only the first of identical ``(english, korean)`` pairs.

    Line ends ``\\n``, ``\\r\\n`` and ``\\r`` (old Mac) are accepted, also mixed. Raises
    :class:`DataFormatError` for a missing or empty file (no pairs), bytes not in ``encoding``, a line
    with fewer than 2 or more than 3 tab-separated columns, or an empty English or Korean field; the
    message names the file and the 1-based line. Blank lines, duplicates and pairs over
    ``max_words`` are counted in :class:`LoadStats` (``return_stats=True`` returns
    ``(pairs, stats)``) and reported with a :class:`DataWarning` (blank lines only when
    ``warn_empty``).
    """
    if normalize is not None and normalize not in _NORMAL_FORMS:
        raise ValueError(f"normalize must be one of {_NORMAL_FORMS} or None, got {normalize!r}")
    if max_words is not None and (isinstance(max_words, bool) or not isinstance(max_words, int) or max_words < 1):
        raise ValueError(f"max_words must be a positive int or None, got {max_words!r}")
    p = Path(path)
    if not p.is_file():
        raise DataFormatError(f"{p}: file not found" + (" (it is a directory)" if p.is_dir() else ""))
    text = _decode(p, p.read_bytes(), encoding)
    stats = LoadStats(path=str(p), encoding=encoding)
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()  # the final line end does not start another line
    pairs: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    first = True
    for no, line in enumerate(lines, start=1):
        stats.lines += 1
        if not line.strip():
            stats.empty_lines += 1
            continue
        if first:
            first = False
            if header or (header is None and _looks_like_header(line)):
                stats.header_skipped = True
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
        if normalize:
            en2, ko2 = unicodedata.normalize(normalize, en), unicodedata.normalize(normalize, ko)
            if (en2, ko2) != (en, ko):
                stats.normalized += 1
                en, ko = en2, ko2
        if max_words is not None and (len(en.split()) > max_words or len(ko.split()) > max_words):
            stats.too_long += 1
            continue
        if (en, ko) in seen:
            stats.duplicates += 1
            if drop_duplicates:
                stats.duplicates_dropped += 1
                continue
        else:
            seen.add((en, ko))
        pairs.append((en, ko))
    stats.pairs = len(pairs)
    if not pairs and not stats.too_long:
        why = ("the file is empty" if stats.lines == 0 else
               "only a header line" if stats.header_skipped else "only blank lines")
        raise DataFormatError(f"{p}: no sentence pairs ({why})")
    if stats.empty_lines and warn_empty:
        warnings.warn(f"{p}: skipped {stats.empty_lines} empty line(s)", DataWarning, stacklevel=2)
    if stats.duplicates:
        msg = (f"dropped {stats.duplicates} duplicate pair(s) (kept the first of each)" if drop_duplicates else
               f"{stats.duplicates} duplicate pair(s) (identical english and korean); "
               "drop_duplicates=True keeps the first of each")
        warnings.warn(f"{p}: {msg}", DataWarning, stacklevel=2)
    if stats.too_long:
        warnings.warn(f"{p}: dropped {stats.too_long} pair(s) longer than max_words={max_words} words",
                      DataWarning, stacklevel=2)
    return (pairs, stats) if return_stats else pairs


def _held_out_size(value, n: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a fraction in [0, 1) or a number of pairs, got {value!r}")
    if isinstance(value, float):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name}={value}: a fraction must be in [0, 1) (or give a number of pairs as an int)")
        return 0 if value == 0 else max(1, round(value * n))
    if value < 0:
        raise ValueError(f"{name}={value}: a number of pairs cannot be negative")
    return value


def split_pairs(pairs, *, valid=0.1, test=0.1, seed: int = 0, group_by_source: bool = True) -> dict:
    """Split sentence pairs into ``{"train": [...], "valid": [...], "test": [...]}``.

    ``valid`` and ``test`` are fractions of all pairs (floats in [0, 1)) or numbers of pairs (ints).
    The split is seeded and deterministic: the same pairs and seed give the same split; each split
    keeps the input order. With ``group_by_source=True`` (default) all pairs with the same English
    sentence go to the same split, so no test or validation source sentence occurs in training (the
    held-out sizes are then reached to within one group). Raises ``ValueError`` for a bad size or
    when there are too few pairs (or distinct English sentences) to fill every requested split and
    keep training data.
    """
    pairs = list(pairs)
    n = len(pairs)
    n_valid = _held_out_size(valid, n, "valid")
    n_test = _held_out_size(test, n, "test")
    if n_valid + n_test >= n:
        raise ValueError(f"{n} pairs: valid ({n_valid}) + test ({n_test}) leave no training pairs")
    groups: dict = {}
    for i, (en, _ko) in enumerate(pairs):
        groups.setdefault(en if group_by_source else i, []).append(i)
    keys = list(groups)
    needed = 1 + (n_valid > 0) + (n_test > 0)
    if len(keys) < needed:
        what = "distinct English sentences" if group_by_source else "pairs"
        raise ValueError(f"{len(keys)} {what}: too few for train, valid and test")
    random.Random(seed).shuffle(keys)
    where = {}
    k = 0
    for name, size, later in (("test", n_test, 1 + (n_valid > 0)), ("valid", n_valid, 1)):
        got = 0
        while got < size and len(keys) - k > later:
            where[keys[k]] = name
            got += len(groups[keys[k]])
            k += 1
    for key in keys[k:]:
        where[key] = "train"
    out: dict[str, list] = {"train": [], "valid": [], "test": []}
    for i, pair in enumerate(pairs):
        out[where[pair[0] if group_by_source else i]].append(pair)
    return out


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
# Preparing a corpus from the user's own file
# ------------------------------------------------------------------------------------------
PREPARED_BY = "seqlab.data prepare"


def _write_pairs(path: Path, pairs) -> None:
    path.write_bytes("".join(f"{en}\t{ko}\n" for en, ko in pairs).encode("utf-8"))


def _n(x: int) -> str:
    return f"{x:,}"


def prepare_corpus(source, out_dir, *, valid=0.1, test=0.1, seed: int = 0, max_words: int | None = None,
                   encoding: str = "utf-8", header: bool | None = None, drop_duplicates: bool = False,
                   vocab_size: dict | None = None, batch_size: int = 64, log=print) -> dict:
    """Make a corpus folder from one sentence-pair file (what ``python -m seqlab.data prepare`` runs):
    :func:`load_pairs`, :func:`split_pairs`, ``{train,valid,test}.tsv`` + ``MANIFEST.json``,
    vocabularies (:func:`seqlab.tokenizers.build_vocabs`) and the ``.npz`` batch caches
    (:func:`seqlab.pipeline.cached_batches`). ``log`` gets one line per step. Returns the manifest.
    A split with no pairs (``valid=0``) gets no file. Refuses a non-empty ``out_dir`` that is not a
    corpus made by this function (so the shipped corpus cannot be overwritten)."""
    src, out = Path(source), Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DataFormatError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        m = out / "MANIFEST.json"
        try:
            ours = json.loads(m.read_text(encoding="utf-8")).get("generator") == PREPARED_BY
        except (OSError, ValueError, AttributeError):
            ours = False
        if not ours:
            raise DataFormatError(f"{out}: the directory is not empty and not a corpus made by "
                                  f"`python -m seqlab.data prepare`; choose a new or empty --out")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # the counts are printed below
        pairs, stats = load_pairs(src, header=header, encoding=encoding, drop_duplicates=drop_duplicates,
                                  max_words=max_words, return_stats=True)
    notes = [f"{_n(stats.duplicates)} duplicate{'s' * (stats.duplicates != 1)}"
             + (" dropped" if stats.duplicates_dropped else ""),
             f"{_n(stats.empty_lines)} empty line{'s' * (stats.empty_lines != 1)}"]
    if stats.header_skipped:
        notes.append("header line skipped")
    if stats.normalized:
        notes.append(f"{_n(stats.normalized)} normalised to NFC")
    if stats.too_long:
        notes.append(f"{_n(stats.too_long)} longer than {max_words} words dropped")
    if stats.with_attribution:
        notes.append(f"{_n(stats.with_attribution)} with attribution")
    log(f"[1/4] reading {src} ... {_n(stats.pairs)} pairs ({', '.join(notes)})")

    splits = split_pairs(pairs, valid=valid, test=test, seed=seed)
    sources = {k: {en for en, _ in v} for k, v in splits.items()}
    log(f"[2/4] split (seed {seed}, grouped by English sentence): "
        + ", ".join(f"{k} {_n(len(v))}" for k, v in splits.items())
        + f"; {_n(len(sources['train']))} distinct English sentences in train, none of them in valid or test")
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, part in splits.items():
        f = out / f"{name}.tsv"
        if part:
            _write_pairs(f, part)
            files[f.name] = {"pairs": len(part), "sha256": file_sha256(f), "bytes": f.stat().st_size}
        elif f.exists():
            f.unlink()
    params = {"valid": valid, "test": test, "max_words": max_words, "encoding": encoding, "header": header,
              "drop_duplicates": drop_duplicates, "normalize": "NFC", "group_by_source": True,
              "vocab_size": vocab_size, "batch_size": batch_size}
    manifest = {"generator": PREPARED_BY, "source": str(src.resolve()), "source_sha256": file_sha256(src),
                "seed": seed, "params": params, "load_stats": dataclasses.asdict(stats),
                "counts": {k: len(v) for k, v in splits.items()}, "files": files}
    (out / "MANIFEST.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    from seqlab import tokenizers

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", tokenizers.VocabSizeWarning)
        tokenizers.build_vocabs(out, vocab_size=vocab_size)
    sizes = json.loads((out / "vocab_meta.json").read_text(encoding="utf-8"))["sizes"]
    log(f"[3/4] vocabularies ... en {_n(sizes['en'])}, ko {_n(sizes['ko'])} tokens "
        f"(WordPiece from train.tsv: vocab_en.txt, vocab_ko.txt)")
    for w in caught:
        if issubclass(w.category, tokenizers.VocabSizeWarning):
            log(f"      note: {w.message}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)

    log(f"[4/4] caches (batch size {batch_size}) ...")
    from seqlab import pipeline

    for name, part in splits.items():  # the vocabularies keep their sizes (vocab_meta.json)
        if part:
            b = pipeline.cached_batches(name, corpus_dir=out, batch_size=batch_size)
            log(f"      {name}: {_n(len(b))} batches of {_n(b.num_pairs)} pairs")
    return manifest


# ------------------------------------------------------------------------------------------
# CLI: python -m seqlab.data generate|verify|stats|prepare
# ------------------------------------------------------------------------------------------
def _size(text: str):
    """``--valid``/``--test``: ``0.1`` is a fraction, ``200`` a number of pairs."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def _use_hint(out: Path) -> str:
    return "\n".join([
        f"done: {out}",
        "use it with:",
        f"  SEQLAB_CORPUS={out}   (environment variable: every corpus_dir=None then means this folder)",
        f"  or corpus_dir={str(out)!r}: default_corpus('train', corpus_dir=...), load_tokenizers(...), "
        "cached_batches('train', corpus_dir=...)",
    ])


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
    v.add_argument("--dir", default=None, help="default: $SEQLAB_CORPUS, else the shipped corpus")
    s = sub.add_parser("stats", help="sizes and English length histogram of a corpus")
    s.add_argument("--dir", default=None, help="default: $SEQLAB_CORPUS, else the shipped corpus")
    pr = sub.add_parser("prepare", help="make a corpus folder (splits, vocabularies, caches) from your own "
                                        "english<TAB>korean file")
    pr.add_argument("path", help="the sentence-pair file (Tatoeba / ManyThings format)")
    pr.add_argument("--out", required=True, help="the corpus folder to write (new or empty)")
    pr.add_argument("--valid", type=_size, default=0.1, help="fraction (0.1) or number of pairs (500)")
    pr.add_argument("--test", type=_size, default=0.1, help="fraction (0.1) or number of pairs (500)")
    pr.add_argument("--seed", type=int, default=0)
    pr.add_argument("--max-words", type=int, default=None, help="drop pairs with more words on either side")
    pr.add_argument("--encoding", default="utf-8", help="e.g. cp949 for EUC-KR Korean files")
    hd = pr.add_mutually_exclusive_group()
    hd.add_argument("--header", dest="header", action="store_true", default=None,
                    help="skip the first line (default: skipped only when it looks like english<TAB>korean)")
    hd.add_argument("--no-header", dest="header", action="store_false")
    pr.add_argument("--drop-duplicates", action="store_true")
    pr.add_argument("--vocab-size-en", type=int, default=None, help="default 4000")
    pr.add_argument("--vocab-size-ko", type=int, default=None, help="default 4000")
    pr.add_argument("--batch-size", type=int, default=64)
    a = ap.parse_args(argv)
    try:
        if a.cmd == "generate":
            m = generate_corpus(a.out, a.seed, a.size, a.valid, a.test, a.max_words, a.min_words,
                                a.test_long, a.test_novel)
            print(json.dumps(m["counts"]), "->", a.out)
        elif a.cmd == "verify":
            m = verify_corpus(a.dir)
            print("ok", json.dumps(m["counts"]))
        elif a.cmd == "prepare":
            vs = {k: n for k, n in (("en", a.vocab_size_en), ("ko", a.vocab_size_ko)) if n is not None} or None
            try:
                for name in ("valid", "test"):  # a bad size fails before any work
                    _held_out_size(getattr(a, name), 10**9, "--" + name)
                prepare_corpus(a.path, a.out, valid=a.valid, test=a.test, seed=a.seed, max_words=a.max_words,
                               encoding=a.encoding, header=a.header, drop_duplicates=a.drop_duplicates,
                               vocab_size=vs, batch_size=a.batch_size, log=lambda line: print(line, flush=True))
            except ValueError as e:  # DataFormatError, or split_pairs' sizes / too few pairs
                raise DataFormatError(str(e)) from None
            print(_use_hint(Path(a.out)))
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
    except DataFormatError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
