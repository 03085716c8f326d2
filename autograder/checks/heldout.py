"""Grader-only held-out sentences: pairs no student has seen, and the next-token questions a training run is
scored on (the judge half of `train.heldout_predictions`).

A training item that scored the student's process on the shipped validation split could be forged: the process
holds that split, and teacher forcing hands it every target token. Here the student's process gets, for each
held-out sentence, only its source and ONE target prefix (`[START]` and the tokens before a position the grader
drew); the token that follows never leaves this module, so the only way to name it is a model that translates.

The sentences come from the kit's grammar (`data/en_ko_grammar.py`) with a seed that lives in a grader-only
module (this one is never staged into a sandbox and a submission's import of it is refused), in the shipped
corpus's sentence mix, without any English sentence of a shipped split or a sentence structure held out for
`test_novel`. The committed question file (`heldout.npz` next to an assignment's training module: sources,
prefixes, no answers) carries a key of everything it is made from; a stale file is refused.

`python -m autograder.checks.heldout` (`make heldout`) rewrites the question files of every assignment whose
judges declare `HELDOUT`.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import json
import random
import sys
from pathlib import Path

import numpy as np

MIX = (0.55, 0.30, 0.15)  # simple / relative-clause / two-clause sentences, as the shipped corpus


@dataclasses.dataclass(frozen=True)
class Spec:
    """One assignment's held-out questions: n sentences of <= max_words English words from the grammar at seed
    (grader-only), one prefix per sentence drawn with the same seed; the question file at `path`."""
    seed: int
    n: int
    max_words: int
    path: Path


@functools.cache
def unseen_pairs(n: int, min_words: int, max_words: int, seed: int) -> tuple:
    """n (english, korean) pairs of min_words..max_words English words that no shipped split holds, untagged.
    Deterministic: the same tuple on every machine."""
    from seqlab import data as sd

    folder = sd.DEFAULT_CORPUS_DIR
    manifest = json.loads((folder / "MANIFEST.json").read_text(encoding="utf-8"))
    shipped = {en for pairs in sd.default_corpus(corpus_dir=folder).values() for en, *_ in pairs}
    g = sd.grammar()
    rng = random.Random(seed)
    found: dict[str, str] = {}
    attempts = 0
    while len(found) < n:
        attempts += 1
        if attempts > 200 * n + 10_000:
            raise RuntimeError(f"could not generate {n} unseen pairs of {min_words}-{max_words} words")
        r = rng.random()
        complexity = 0 if r < MIX[0] else (1 if r < MIX[0] + MIX[1] else 2)
        en, ko, shape = g.generate_pair(rng, complexity)
        words = len(en.split())
        if (min_words <= words <= max_words and en not in shipped and en not in found
                and not g.held_out(shape, manifest["seed"], manifest["novel_share"])):
            found[en] = ko
    return tuple(found.items())


def _key(spec: Spec, pairs) -> str:
    from seqlab import data as sd

    h = hashlib.sha256()
    for name in ("vocab_en.txt", "vocab_ko.txt"):
        h.update((sd.DEFAULT_CORPUS_DIR / name).read_bytes())
    h.update(json.dumps([spec.seed, spec.n, spec.max_words, pairs], ensure_ascii=False).encode())
    return h.hexdigest()


@functools.cache
def questions(spec: Spec) -> dict:
    """dict(src=[ids], prefix=[ids], gold=(n,) int32, key): per sentence its source ids, the target prefix
    ([START] and the tokens before the drawn position) and the token at that position (a target's [END] too)."""
    from seqlab import data as sd
    from seqlab.tokenizers import load_tokenizers

    pairs = unseen_pairs(spec.n, 1, spec.max_words, spec.seed)
    en, ko = load_tokenizers(sd.DEFAULT_CORPUS_DIR, build=False)
    rng = np.random.default_rng(spec.seed)
    src = [np.asarray(s, np.int32) for s in en.encode([p[0] for p in pairs])]
    prefix, gold = [], []
    for t in ko.encode([p[1] for p in pairs]):
        t = np.asarray(t, np.int32)
        length = int(rng.integers(1, len(t)))  # predict t[length] from t[:length]; t[0] is [START]
        prefix.append(t[:length])
        gold.append(t[length])
    return dict(src=src, prefix=prefix, gold=np.asarray(gold, np.int32), key=_key(spec, pairs))


def _padded(rows) -> np.ndarray:
    out = np.zeros((len(rows), max(map(len, rows))), np.int32)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out


def write(spec: Spec) -> None:
    """Write the question file: sources and prefixes (right-padded with [PAD]), prefix lengths, the key."""
    q = questions(spec)
    spec.path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(spec.path, src=_padded(q["src"]), prefix=_padded(q["prefix"]),
                        length=np.asarray([len(p) for p in q["prefix"]], np.int32), key=np.array(q["key"]))


def gold(spec: Spec) -> np.ndarray:
    """The answers of the committed question file, (n,) int32; a file that does not match this module's
    sentences (stale, or edited) is refused: a fault of the kit, not of a submission."""
    from .train import load_heldout

    q = questions(spec)
    committed = load_heldout(spec.path, 0)
    same = (committed["key"] == q["key"] and len(committed["length"]) == spec.n
            and all(committed["length"][i] == len(p) and np.array_equal(committed["prefix"][i, :len(p)], p)
                    for i, p in enumerate(q["prefix"])))
    if not same:
        raise RuntimeError(f"{spec.path} is stale (the corpus, the vocabularies or the held-out sentences changed): "
                           "run `make heldout`")
    return q["gold"]


def specs() -> list[Spec]:
    """The HELDOUT spec of every assignment whose judges declare one."""
    from autograder import registry

    out = []
    for assignment in registry.assignments():
        judges = importlib.import_module(f"autograder.assignments.{assignment}.judges")
        if isinstance(getattr(judges, "HELDOUT", None), Spec):
            out.append(judges.HELDOUT)
    return out


def main(argv=None) -> int:
    from autograder.checks import heldout  # not __main__'s copy: the judges' specs are of that module's Spec

    for spec in heldout.specs():
        heldout.write(spec)
        print(f"wrote {spec.path} ({spec.n} held-out sentences of <= {spec.max_words} words)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
