"""WordPiece tokenizers (tensorflow-text) for the English and Korean sides of a corpus.

* Vocabularies are learned from the training split with
  ``tensorflow_text.tools.wordpiece_vocab.bert_vocab_from_dataset`` and saved next to the data
  (``vocab_en.txt``, ``vocab_ko.txt``) with ``vocab_meta.json`` recording the sha256 of the data they
  were learned from; :func:`build_vocabs` rebuilds them only when that sha256 (or a parameter) changes.
* Reserved ids: ``[PAD]=0, [UNK]=1, [START]=2, [END]=3``.
* English is lower-cased. Korean is not (the BERT lower-casing step NFD-decomposes Hangul into jamo).
* Korean particles split from nouns: after learning, a Korean whole-word entry ``NOUN+PARTICLE`` is
  dropped when ``NOUN`` is itself a standalone word of the corpus, the particle form agrees with the
  noun's final consonant, and ``##PARTICLE`` is in the vocabulary. So ``고양이가`` becomes
  ``고양이 ##가`` and the model sees the particle as its own token.
* Decoding (ids -> text) is pure Python (:class:`Vocab`), so it also works without TensorFlow.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

PAD, UNK, START, END = "[PAD]", "[UNK]", "[START]", "[END]"
RESERVED = [PAD, UNK, START, END]
PAD_ID, UNK_ID, START_ID, END_ID = 0, 1, 2, 3
VOCAB_VERSION = 1
DEFAULT_VOCAB_SIZE = {"en": 4000, "ko": 4000}
LOWER_CASE = {"en": True, "ko": False}

# particles: (form, needs batchim?) None = either; True = only after a final consonant;
# False = only after a vowel (or ㄹ for 로)
_PARTICLES = [("은", True), ("는", False), ("이", True), ("가", False), ("을", True), ("를", False),
              ("과", True), ("와", False), ("으로", True), ("로", False), ("에서", None), ("에", None),
              ("들", None), ("의", None), ("도", None)]
_PUNCT = re.compile(r"\s*([.,!?;:])")


def _final(word: str) -> int:
    c = ord(word[-1]) - 0xAC00
    return c % 28 if 0 <= c < 11172 else 0


def _particle_agrees(stem: str, form: str, needs: bool | None) -> bool:
    if needs is None:
        return True
    f = _final(stem)
    if form == "로":
        return f == 0 or f == 8  # vowel or ㄹ
    if form == "으로":
        return f not in (0, 8)
    return (f != 0) == needs


def noun_like_words(sentences) -> set[str]:
    """Words that occur on their own, plus stems seen with two or more different particles."""
    words: dict[str, int] = {}
    for s in sentences:
        for w in re.findall(r"\w+", s):
            words[w] = words.get(w, 0) + 1
    seen: dict[str, set] = {}
    for w in words:
        for form, needs in _PARTICLES:
            stem = w[: -len(form)]
            if w.endswith(form) and stem and _particle_agrees(stem, form, needs):
                seen.setdefault(stem, set()).add(form)
    return set(words) | {s for s, forms in seen.items() if len(forms) >= 2}


def split_particles(vocab: list[str], standalone: set[str]) -> list[str]:
    """Drop Korean ``STEM+PARTICLE`` whole-word entries when STEM is noun-like (``standalone``, see
    :func:`noun_like_words`) and the particle agrees with its final consonant; keeps order."""
    have = set(vocab)
    extra = [f"##{p}" for p, _ in _PARTICLES if f"##{p}" not in have]

    def stem_of(tok: str) -> str | None:
        if tok.startswith("##") or tok in RESERVED:
            return None
        for form, needs in _PARTICLES:
            stem = tok[: -len(form)]
            if tok.endswith(form) and stem in standalone and _particle_agrees(stem, form, needs):
                return stem
        return None

    out, added = [], []
    seen = set()
    queue = list(vocab)
    while queue:
        tok = queue.pop(0)
        if tok in seen:
            continue
        seen.add(tok)
        stem = stem_of(tok)
        if stem is None:
            (out if tok in have else added).append(tok)
        elif stem not in seen and stem not in have:
            queue.append(stem)  # the noun itself becomes a token
    return out + sorted(added) + extra


# ------------------------------------------------------------------------------------------
# Vocabularies
# ------------------------------------------------------------------------------------------
class Vocab:
    """A WordPiece vocabulary (list of tokens) with pure-Python decoding."""

    def __init__(self, tokens: list[str]):
        self.tokens = list(tokens)
        self.index = {t: i for i, t in enumerate(self.tokens)}
        if self.tokens[:4] != RESERVED:
            raise ValueError(f"vocabulary must start with {RESERVED}, got {self.tokens[:4]}")

    @classmethod
    def load(cls, path) -> "Vocab":
        return cls(Path(path).read_text(encoding="utf-8").split("\n")[:-1])

    def __len__(self) -> int:
        return len(self.tokens)

    def id_to_token(self, ids) -> list[str]:
        return [self.tokens[int(i)] for i in ids]

    def decode(self, ids, keep_unk: bool = True) -> str:
        """ids -> text: drops [PAD]/[START], stops at [END], merges ``##`` pieces, and removes the
        space the tokenizer put before punctuation."""
        words: list[str] = []
        for i in ids:
            i = int(i)
            if i == END_ID:
                break
            if i in (PAD_ID, START_ID):
                continue
            if i == UNK_ID and not keep_unk:
                continue
            t = self.tokens[i] if 0 <= i < len(self.tokens) else UNK
            if t.startswith("##") and words:
                words[-1] += t[2:]
            else:
                words.append(t)
        return _PUNCT.sub(r"\1", " ".join(words))


def normalize(text: str, lower: bool) -> str:
    """The text a round trip gives back: whitespace collapsed, no space before punctuation,
    lower-cased when the tokenizer lower-cases."""
    text = " ".join(text.split())
    text = re.sub(r"([.,!?;:])", r" \1 ", text)
    text = _PUNCT.sub(r"\1", " ".join(text.split()))
    return text.lower() if lower else text


def _sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def learn_vocab(sentences: list[str], vocab_size: int, lower_case: bool, korean_particles: bool = False) -> list[str]:
    """Learn a WordPiece vocabulary with tensorflow-text's ``bert_vocab_from_dataset``."""
    import seqlab  # noqa: F401  (silences TensorFlow start-up logs when available)
    import tensorflow as tf
    from tensorflow_text.tools.wordpiece_vocab import bert_vocab_from_dataset as bv

    ds = tf.data.Dataset.from_tensor_slices(list(sentences)).batch(1000)
    vocab = bv.bert_vocab_from_dataset(ds, vocab_size=vocab_size, reserved_tokens=RESERVED,
                                       bert_tokenizer_params=dict(lower_case=lower_case), learn_params={})
    if korean_particles:
        vocab = split_particles(vocab, noun_like_words(sentences))
    return list(vocab)


def build_vocabs(corpus_dir=None, *, force: bool = False, vocab_size: dict | None = None,
                 out_dir=None) -> dict[str, Path]:
    """Learn ``vocab_en.txt`` / ``vocab_ko.txt`` from ``train.tsv`` of ``corpus_dir`` (default: the
    shipped corpus) unless ``vocab_meta.json`` shows they were learned from identical data with the
    same parameters. Returns ``{"en": path, "ko": path}``."""
    from seqlab.data import DEFAULT_CORPUS_DIR, load_pairs

    d = Path(corpus_dir) if corpus_dir else DEFAULT_CORPUS_DIR
    out = Path(out_dir) if out_dir else d
    sizes = dict(DEFAULT_VOCAB_SIZE, **(vocab_size or {}))
    train = d / "train.tsv"
    params = {"version": VOCAB_VERSION, "vocab_size": sizes, "lower_case": LOWER_CASE,
              "reserved": RESERVED}
    meta_path = out / "vocab_meta.json"
    paths = {lang: out / f"vocab_{lang}.txt" for lang in ("en", "ko")}
    sha = _sha256(train)
    if not force and meta_path.is_file() and all(p.is_file() for p in paths.values()):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if (meta.get("data_sha256") == sha and meta.get("params") == params
                and all(meta.get("vocab_sha256", {}).get(k) == _sha256(p) for k, p in paths.items())):
            return paths
    pairs = load_pairs(train)
    out.mkdir(parents=True, exist_ok=True)
    sizes_out = {}
    for lang, col in (("en", 0), ("ko", 1)):
        vocab = learn_vocab([p[col] for p in pairs], sizes[lang], LOWER_CASE[lang], korean_particles=lang == "ko")
        paths[lang].write_text("".join(t + "\n" for t in vocab), encoding="utf-8")
        sizes_out[lang] = len(vocab)
    meta = {"data": str(train.name), "data_sha256": sha, "params": params, "sizes": sizes_out,
            "vocab_sha256": {k: _sha256(p) for k, p in paths.items()}}
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return paths


# ------------------------------------------------------------------------------------------
# Tokenizer
# ------------------------------------------------------------------------------------------
class SubwordTokenizer:
    """``tensorflow_text.BertTokenizer`` over a saved vocabulary, plus [START]/[END] and decoding."""

    def __init__(self, vocab_path, lower_case: bool):
        import seqlab  # noqa: F401
        import tensorflow as tf
        import tensorflow_text as text

        self.vocab_path = str(vocab_path)
        self.lower_case = lower_case
        self.vocab = Vocab.load(vocab_path)
        self._tf = tf
        self._tok = text.BertTokenizer(self.vocab_path, lower_case=lower_case, token_out_type=tf.int64,
                                       unknown_token=UNK)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def tokenize(self, strings, add_start_end: bool = True):
        """strings (list or tf string tensor, shape (batch,)) -> ``tf.RaggedTensor`` (batch, None) int64."""
        tf = self._tf
        ids = self._tok.tokenize(tf.convert_to_tensor(strings, tf.string)).merge_dims(-2, -1)
        if add_start_end:
            n = ids.bounding_shape()[0]
            starts = tf.fill([n, 1], tf.constant(START_ID, tf.int64))
            ends = tf.fill([n, 1], tf.constant(END_ID, tf.int64))
            ids = tf.concat([starts, ids, ends], axis=1)
        return ids

    def encode(self, strings, add_start_end: bool = True) -> list:
        """Like :meth:`tokenize` but returns a list of NumPy int arrays."""
        import numpy as np

        r = self.tokenize(strings, add_start_end)
        values, splits = r.flat_values.numpy(), r.row_splits.numpy()
        return [values[a:b] for a, b in zip(splits[:-1], splits[1:])] if len(splits) > 1 else []

    def tokens(self, string: str) -> list[str]:
        """The WordPiece strings of one sentence (no [START]/[END])."""
        return self.vocab.id_to_token(self.tokenize([string], add_start_end=False)[0].numpy())

    def detokenize(self, ids) -> list[str]:
        """Batch of id sequences (array, tensor or list of lists) -> list of strings."""
        if hasattr(ids, "to_list"):
            ids = ids.to_list()
        elif hasattr(ids, "numpy"):
            ids = ids.numpy()
        return [self.vocab.decode(row) for row in ids]


def load_tokenizers(corpus_dir=None, *, build: bool = True, **build_kwargs):
    """``(english_tokenizer, korean_tokenizer)`` for a corpus directory (default: the shipped one);
    learns the vocabularies first when missing or stale (``build=True``)."""
    from seqlab.data import DEFAULT_CORPUS_DIR

    d = Path(corpus_dir) if corpus_dir else DEFAULT_CORPUS_DIR
    if build:
        paths = build_vocabs(d, **build_kwargs)
    else:
        out = Path(build_kwargs.get("out_dir") or d)
        paths = {lang: out / f"vocab_{lang}.txt" for lang in ("en", "ko")}
    return SubwordTokenizer(paths["en"], LOWER_CASE["en"]), SubwordTokenizer(paths["ko"], LOWER_CASE["ko"])
