"""How different is each evaluation split from the training split? (English side of the corpus.)

    python benchmarks/novelty.py [--corpus-dir DIR] [--json PATH]

Standard library + NumPy only (``seqlab.data`` loads the corpus without TensorFlow). The default
corpus is the one ``seqlab.data.default_corpus()`` resolves (``$SEQLAB_CORPUS``, else the shipped
English->Korean corpus). For each of ``valid``, ``test``, ``test_long`` and ``test_novel`` (those
present) it prints:

- ``n``, ``mean len``: number of sentences and mean English length in words.
- ``exact %``: sentences identical to a training sentence.
- ``near-dup %``: sentences that differ from some training sentence by exactly one word
  substitution: same number of words, exactly one position differs. An insertion or deletion is not
  a substitution, nor are two substitutions. The two columns are not exclusive (a sentence that is
  in train and also one word away from another training sentence counts in both).
- ``unseen-word % sent`` / ``% tok``: sentences with at least one word never seen in train, and
  word tokens never seen in train.
- ``unseen skel % short`` / ``% all``: sentences whose skeleton (below) is not the skeleton of any
  training sentence, among sentences of at most 10 words (``short``) and among all.

Normalisation (for every measure): lowercase, strip the punctuation at the end of the sentence
(``.``, ``?``, ``!``, ...), split on whitespace. Punctuation attached to a word inside the sentence
stays part of that word (``school,`` and ``school`` are different words).

Skeleton rule (derived from the training data, not from the corpus generator):

- function words: the 50 most frequent words of the normalised training split (ties broken
  alphabetically) stay as themselves;
- every other word becomes ``X`` plus a coarse suffix tag from its ending: the first of ``-ing``,
  ``-ed``, ``-ly``, ``-s`` that the word ends with (checked in that order), else no tag; punctuation
  at the end of the word (e.g. a clause comma) is removed before the check and appended to the tag,
  so ``quietly,`` -> ``X-ly,``, ``teacher`` -> ``X``, ``doctors`` -> ``X-s``.

A skeleton is the tuple of these symbols. The script also prints one summary line: the share of
short ``test_novel`` sentences whose skeleton is unseen, against the same share for ``test``.

The one-substitution search indexes every training sentence under each of its "position i
wildcarded" keys, so each evaluation sentence costs one dictionary look-up per word.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EVAL_SPLITS = ("valid", "test", "test_long", "test_novel")
N_FUNCTION_WORDS = 50
SHORT_MAX_WORDS = 10
SUFFIXES = ("ing", "ed", "ly", "s")  # checked in this order; the first match wins
WILDCARD = "\x00"
SEP = "\x01"
_MANY = object()  # index value: two or more different words fill this wildcard slot

RULE = (f"skeleton: the {N_FUNCTION_WORDS} most frequent training words stay as themselves; every other word "
        f"-> 'X' + the first suffix tag of {', '.join('-' + s for s in SUFFIXES)} it ends with (else none), "
        f"trailing punctuation of the word appended to the tag; short = at most {SHORT_MAX_WORDS} words. "
        f"Text: lowercased, final punctuation stripped, split on whitespace.")


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def normalize(sentence: str) -> tuple[str, ...]:
    """Lowercase, strip the punctuation at the end of the sentence, split on whitespace."""
    s = sentence.strip().lower()
    end = len(s)
    while end and (_is_punct(s[end - 1]) or s[end - 1].isspace()):
        end -= 1
    return tuple(s[:end].split())


def _key(words, i: int) -> str:
    return SEP.join(words[:i] + (WILDCARD,) + words[i + 1:])


class SubstitutionIndex:
    """Training sentences indexed under each "position i wildcarded" key.

    ``key -> the word at the wildcard`` when every indexed sentence with that key has the same word
    there, else a marker for "two or more different words"."""

    def __init__(self, sentences):
        self._slots: dict[str, object] = {}
        self._exact: set[tuple[str, ...]] = set()
        for words in sentences:
            if words in self._exact:
                continue
            self._exact.add(words)
            for i, w in enumerate(words):
                k = _key(words, i)
                old = self._slots.get(k)
                if old is None:
                    self._slots[k] = w
                elif old is not _MANY and old != w:
                    self._slots[k] = _MANY

    def contains(self, words: tuple[str, ...]) -> bool:
        return words in self._exact

    def one_substitution(self, words: tuple[str, ...]) -> bool:
        """True when some indexed sentence has the same length and differs in exactly one position."""
        for i, w in enumerate(words):
            v = self._slots.get(_key(words, i))
            if v is not None and (v is _MANY or v != w):
                return True
        return False


def function_words(train_sentences, n: int = N_FUNCTION_WORDS) -> frozenset:
    """The ``n`` most frequent words of the (normalised) training sentences, ties alphabetical."""
    counts = Counter(w for words in train_sentences for w in words)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return frozenset(w for w, _ in ranked[:n])


def word_class(word: str, function: frozenset) -> str:
    """A function word stays itself; any other word is ``X`` + suffix tag + its trailing punctuation."""
    if word in function:
        return word
    end = len(word)
    while end and _is_punct(word[end - 1]):
        end -= 1
    stem, trail = word[:end], word[end:]
    tag = next((f"-{s}" for s in SUFFIXES if stem.endswith(s)), "")
    return "X" + tag + trail


def skeleton(words: tuple[str, ...], function: frozenset) -> tuple[str, ...]:
    return tuple(word_class(w, function) for w in words)


def _pct(num, den) -> float | None:
    return None if den == 0 else 100.0 * num / den


def split_stats(sentences, index: SubstitutionIndex, vocab: set, train_skeletons: set,
                function: frozenset) -> dict:
    """The numbers of one evaluation split (``sentences`` already normalised)."""
    n = len(sentences)
    lengths = np.array([len(s) for s in sentences], dtype=np.int64)
    exact = np.array([index.contains(s) for s in sentences], dtype=bool)
    near = np.array([index.one_substitution(s) for s in sentences], dtype=bool)
    unseen_tok = np.array([sum(w not in vocab for w in s) for s in sentences], dtype=np.int64)
    skel_unseen = np.array([skeleton(s, function) not in train_skeletons for s in sentences], dtype=bool)
    short = lengths <= SHORT_MAX_WORDS
    return {
        "n": n,
        "mean_len": float(lengths.mean()) if n else None,
        "exact_pct": _pct(int(exact.sum()), n),
        "near_dup_pct": _pct(int(near.sum()), n),
        "unseen_word_sent_pct": _pct(int((unseen_tok > 0).sum()), n),
        "unseen_word_tok_pct": _pct(int(unseen_tok.sum()), int(lengths.sum())),
        "n_short": int(short.sum()),
        "unseen_skeleton_short_pct": _pct(int((skel_unseen & short).sum()), int(short.sum())),
        "unseen_skeleton_all_pct": _pct(int(skel_unseen.sum()), n),
    }


def novelty(corpus: dict) -> dict:
    """``corpus``: split name -> list of (english, korean) (``train`` required). Returns the numbers
    of every split of :data:`EVAL_SPLITS` present, plus the test_novel-vs-test summary."""
    if "train" not in corpus:
        raise ValueError("the corpus has no train split")
    train = [normalize(en) for en, _ in corpus["train"]]
    function = function_words(train)
    index = SubstitutionIndex(train)
    vocab = {w for s in train for w in s}
    train_skeletons = {skeleton(s, function) for s in train}
    splits = {name: split_stats([normalize(en) for en, _ in corpus[name]], index, vocab, train_skeletons, function)
              for name in EVAL_SPLITS if name in corpus}
    summary = None
    if "test" in splits and "test_novel" in splits:
        summary = {"test_novel_short_unseen_skeleton_pct": splits["test_novel"]["unseen_skeleton_short_pct"],
                   "test_short_unseen_skeleton_pct": splits["test"]["unseen_skeleton_short_pct"]}
    return {"train": {"n": len(train), "vocab": len(vocab), "skeletons": len(train_skeletons),
                      "function_words": len(function)},
            "splits": splits, "summary": summary}


COLUMNS = (("n", "n", "{:d}"), ("mean len", "mean_len", "{:.1f}"), ("exact %", "exact_pct", "{:.1f}"),
           ("near-dup %", "near_dup_pct", "{:.1f}"), ("unseen-word % sent", "unseen_word_sent_pct", "{:.1f}"),
           ("% tok", "unseen_word_tok_pct", "{:.2f}"), ("n short", "n_short", "{:d}"),
           ("unseen skel % short", "unseen_skeleton_short_pct", "{:.1f}"),
           ("% all", "unseen_skeleton_all_pct", "{:.1f}"))


def _fmt(fmt: str, v) -> str:
    return "-" if v is None else fmt.format(v)


def format_table(result: dict) -> str:
    rows = [["split"] + [c[0] for c in COLUMNS]]
    for name, st in result["splits"].items():
        rows.append([name] + [_fmt(fmt, st[key]) for _, key, fmt in COLUMNS])
    widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
    lines = []
    for k, r in enumerate(rows):
        lines.append("  ".join(c.ljust(widths[0]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(r)))
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_summary(result: dict) -> str | None:
    s = result["summary"]
    if s is None:
        return None
    return (f"short (<= {SHORT_MAX_WORDS} words) sentences with a skeleton unseen in train: "
            f"test_novel {_fmt('{:.1f}', s['test_novel_short_unseen_skeleton_pct'])}% vs "
            f"test {_fmt('{:.1f}', s['test_short_unseen_skeleton_pct'])}%")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="benchmarks/novelty.py", description=__doc__.split("\n")[0])
    p.add_argument("--corpus-dir", default=None,
                   help="corpus folder (default: $SEQLAB_CORPUS, else the shipped corpus)")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the numbers as JSON to PATH")
    args = p.parse_args(argv)

    from seqlab.data import corpus_dir, default_corpus

    t0 = time.perf_counter()
    folder = corpus_dir(args.corpus_dir)
    corpus = default_corpus(corpus_dir=folder)
    result = novelty(corpus)
    seconds = time.perf_counter() - t0

    tr = result["train"]
    print(f"corpus: {folder}")
    print(f"train: {tr['n']} sentences, {tr['vocab']} distinct words, {tr['skeletons']} distinct skeletons")
    print(RULE)
    print()
    print(format_table(result))
    summary = format_summary(result)
    if summary:
        print()
        print(summary)
    print(f"\ntime: {seconds:.1f} s")
    if args.json:
        out = dict(result, corpus_dir=str(folder), rule=RULE, seconds=seconds)
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
