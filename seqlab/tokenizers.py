"""WordPiece tokenizers (tensorflow-text) for the English and Korean sides of a corpus.

* Vocabularies are learned from the training split with tensorflow-text's WordPiece learner (the
  algorithm behind ``tensorflow_text.tools.wordpiece_vocab.bert_vocab_from_dataset``) and saved next
  to the data (``vocab_en.txt``, ``vocab_ko.txt``) with ``vocab_meta.json`` recording the sha256 of
  the data they were learned from; :func:`build_vocabs` rebuilds them only when that sha256 (or a
  parameter) changes.
* Size: the frequency threshold is searched so that the vocabulary reaches the requested size
  whenever the data has enough distinct word pieces (``learn_params``, :data:`DEFAULT_LEARN_PARAMS`);
  otherwise a :class:`VocabSizeWarning` names the achieved and requested sizes.
* Reserved ids: ``[PAD]=0, [UNK]=1, [START]=2, [END]=3``. The English vocabulary also holds the
  formality tags ``<polite>`` and ``<plain>`` (:mod:`seqlab.formality`), appended after learning;
  :meth:`SubwordTokenizer.tokenize` turns a leading ``"<polite> "`` / ``"<plain> "`` into that single
  id right after [START].
* English is lower-cased (which also NFD-normalises and strips accents). Korean is not lower-cased
  (BERT's lower-casing NFD-decomposes Hangul into jamo); it is NFC-normalised, so Korean typed as
  decomposed jamo (macOS) gives the same ids as composed text.
* Korean particles split from nouns: after learning, a Korean whole-word entry ``NOUN+PARTICLE`` is
  dropped when ``NOUN`` is itself a standalone word of the corpus, the particle form agrees with the
  noun's final consonant, and ``##PARTICLE`` is in the vocabulary. So ``고양이가`` becomes
  ``고양이 ##가`` and the model sees the particle as its own token.
* Decoding (ids -> text) is pure Python (:class:`Vocab`), so it also works without TensorFlow. It
  re-attaches punctuation the tokenizer split off: ``i'm``, ``don't``, ``students' books``,
  ``well-known``, ``5,000``, ``9:30``; :func:`normalize` gives the text a round trip returns.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import warnings
from pathlib import Path

from seqlab.formality import TAG_TOKENS, TAGS, split_tag

PAD, UNK, START, END = "[PAD]", "[UNK]", "[START]", "[END]"
RESERVED = [PAD, UNK, START, END]
PAD_ID, UNK_ID, START_ID, END_ID = 0, 1, 2, 3
VOCAB_VERSION = 2
# for a corpus without vocab_meta.json; the shipped corpus records its own sizes (600 / 2000: its
# English has 669 distinct pieces at most, and a smaller Korean vocabulary keeps the output layer
# small while particles and endings stay separate pieces)
DEFAULT_VOCAB_SIZE = {"en": 4000, "ko": 4000}
LOWER_CASE = {"en": True, "ko": False}
# normalization_form of tensorflow_text.BertTokenizer when it does not lower-case (lower-casing
# already NFD-normalises and strips accents, and BertTokenizer then accepts no other form)
NORMALIZATION_FORM = {"en": None, "ko": "NFC"}
VOCAB_TAGS = {"en": list(TAG_TOKENS), "ko": []}
# Keyword arguments of tensorflow_text's wordpiece learner (wordpiece_tokenizer_learner_lib.learn).
# lower_thresh=1 (tensorflow-text: 10) lets pieces seen once enter the vocabulary when the requested
# size needs them; slack_ratio=0 (tensorflow-text: 0.05) asks for the exact size: the vocabulary of
# the largest threshold that still reaches the size is used, its rarest pieces dropped down to it.
DEFAULT_LEARN_PARAMS = {"lower_thresh": 1, "upper_thresh": 10_000_000, "num_iterations": 4,
                        "max_input_tokens": 5_000_000, "max_token_length": 50, "max_unique_chars": 1000,
                        "slack_ratio": 0.0}


class VocabSizeWarning(UserWarning):
    """The learned vocabulary is not the requested size (the data has too few distinct pieces, or
    its alphabet alone needs more)."""


# particles: (form, needs batchim?) None = either; True = only after a final consonant;
# False = only after a vowel (or ㄹ for 로)
_PARTICLES = [("은", True), ("는", False), ("이", True), ("가", False), ("을", True), ("를", False),
              ("과", True), ("와", False), ("으로", True), ("로", False), ("에서", None), ("에", None),
              ("들", None), ("의", None), ("도", None)]


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
# Text: what BERT's basic tokenizer does, in Python, and the inverse spacing rules
# ------------------------------------------------------------------------------------------
_SPACES = re.compile(r"[\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")  # \p{Z} but " "
_CJK = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
        (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))
_CLOSE = set(".,!?;:)]}%…”»")       # no space before
_OPEN = set("([{$#¿¡“«")            # no space after
_JOIN_WORDS = set("-/_@")           # between two words: no space on either side (well-known, and/or)
_APOS = set("'’")
_CONTRACTION_TAILS = {"s", "t", "m", "d", "ll", "re", "ve"}  # i'm, don't, tom's, we'll, you're, i've


def _is_punct(ch: str) -> bool:
    cp = ord(ch)
    return (33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126
            or unicodedata.category(ch).startswith("P"))


def _is_split_char(ch: str) -> bool:
    cp = ord(ch)
    return _is_punct(ch) or any(a <= cp <= b for a, b in _CJK)


def _is_word(tok: str | None) -> bool:
    return bool(tok) and not (len(tok) == 1 and _is_punct(tok))


def _basic_split(text: str, lower: bool) -> list[str]:
    """The words tensorflow-text's BERT basic tokenizer makes of ``text`` (lower-casing as
    ``lower_case=True`` does, NFC otherwise)."""
    text = _SPACES.sub(" ", text)
    if lower:
        text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
        text = "".join(c for c in unicodedata.normalize("NFD", text)
                       if unicodedata.category(c) not in ("Mn", "Cf"))
    else:
        text = unicodedata.normalize("NFC", text)
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf") else c for c in text)
    words: list[str] = []
    for chunk in text.split():
        cur = ""
        for c in chunk:
            if _is_split_char(c):
                if cur:
                    words.append(cur)
                    cur = ""
                words.append(c)
            else:
                cur += c
        if cur:
            words.append(cur)
    return words


def _join(words: list[str]) -> str:
    """Words -> text: spaces between words, none before closing or after opening punctuation;
    apostrophes of contractions and possessives, hyphens and slashes inside words, and the
    separators of numbers (``5,000``, ``3.5``, ``9:30``) are attached on both sides."""
    out: list[str] = []
    glue_next = False
    squote = dquote = False
    n = len(words)
    for i, w in enumerate(words):
        prev = words[i - 1] if i else None
        nxt = words[i + 1] if i + 1 < n else None
        space = bool(out) and not glue_next
        glue_next = False
        if len(w) == 1 and _is_punct(w):
            both = False
            if w in _JOIN_WORDS:
                both = _is_word(prev) and _is_word(nxt)
            elif w in ".,:" and prev and nxt and prev[-1].isdigit():
                both = bool(re.match({".": r"\d", ",": r"\d{3}(?!\d)", ":": r"\d{2}(?!\d)"}[w], nxt))
            elif w in _APOS and _is_word(prev) and _is_word(nxt):
                both = nxt.lower() in _CONTRACTION_TAILS or prev.lower() == "o"  # o'clock, o'brien
            if both:
                space, glue_next = False, True
            elif w in _APOS:
                if squote or (_is_word(prev) and prev[-1] in "sS"):  # closing quote; students' books
                    space, squote = False, False
                else:                                                  # opening quote
                    glue_next, squote = True, True
            elif w == '"':
                if dquote:
                    space, dquote = False, False
                else:
                    glue_next, dquote = True, True
            elif w in _CLOSE:
                space = False
            elif w in _OPEN:
                glue_next = True
        out.append((" " if space else "") + w)
    return "".join(out)


def normalize(text: str, lower: bool, tags: bool = True) -> str:
    """The text a round trip (tokenize, then :meth:`Vocab.decode`) gives back: NFC (or lower-cased
    as the English tokenizer does), whitespace collapsed, punctuation spaced by the decoding rules.
    ``tags=True`` keeps a leading formality tag (``<polite> ...``) as one word, as the English
    tokenizer does."""
    tag, body = split_tag(_SPACES.sub(" ", text)) if tags else (None, text)
    return _join(([TAGS[tag]] if tag else []) + _basic_split(body, lower))


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

    @property
    def tag_ids(self) -> dict[str, int]:
        """``{"polite": id, "plain": id}`` for the formality tags this vocabulary holds."""
        return {reg: self.index[tag] for reg, tag in TAGS.items() if tag in self.index}

    def id_to_token(self, ids) -> list[str]:
        return [self.tokens[int(i)] for i in ids]

    def decode(self, ids, keep_unk: bool = True) -> str:
        """ids -> text: drops [PAD]/[START], stops at [END], merges ``##`` pieces, and re-attaches
        the punctuation the tokenizer split off (see :func:`normalize`). A formality tag id is
        written as its tag (``<polite> ...``)."""
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
        return _join(words)


def _sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def resolve_learn_params(learn_params: dict | None = None) -> dict:
    """:data:`DEFAULT_LEARN_PARAMS` updated with ``learn_params`` (unknown keys raise ValueError)."""
    params = dict(DEFAULT_LEARN_PARAMS)
    unknown = set(learn_params or {}) - set(params)
    if unknown:
        raise ValueError(f"unknown learn_params {sorted(unknown)}; known: {sorted(params)}")
    params.update(learn_params or {})
    return params


def _is_char_token(tok: str) -> bool:
    return len(tok) == 1 or (tok.startswith("##") and len(tok) == 3)


def _trim(vocab: list[str], ranked: list[str], target: int, keep: set) -> list[str]:
    """Drop the rarest learned pieces (last in ``ranked``, the learner's count order) until
    ``vocab`` has ``target`` tokens; reserved tokens, tags, single characters (``x``, ``##x``) and
    tokens in ``keep`` stay."""
    excess = len(vocab) - target
    if excess <= 0:
        return vocab
    pos = {t: i for i, t in enumerate(ranked)}
    cands = sorted((t for t in vocab if t in pos and t not in keep and not _is_char_token(t)),
                   key=pos.__getitem__)
    drop = set(cands[max(0, len(cands) - excess):])
    return [t for t in vocab if t not in drop]


def _count_words(sentences, lower_case: bool, normalization_form) -> dict:
    import seqlab  # noqa: F401  (silences TensorFlow start-up logs when available)
    import tensorflow as tf
    from tensorflow_text.python.ops.bert_tokenizer import BasicTokenizer
    from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as learner

    basic = BasicTokenizer(lower_case=lower_case, normalization_form=None if lower_case else normalization_form)
    ds = tf.data.Dataset.from_tensor_slices(list(sentences) or [""]).batch(1000).map(basic.tokenize)
    counts = learner.count_words(ds)
    counts.pop("", None)
    return counts


def learn_vocab(sentences: list[str], vocab_size: int, lower_case: bool, korean_particles: bool = False, *,
                learn_params: dict | None = None, tags=(), normalization_form: str | None = "NFC",
                name: str = "vocabulary") -> list[str]:
    """Learn a WordPiece vocabulary of ``vocab_size`` tokens (reserved tokens and ``tags`` included)
    with tensorflow-text's wordpiece learner, on words split as ``BertTokenizer`` splits them.

    ``learn_params`` (see :data:`DEFAULT_LEARN_PARAMS`) are the learner's keyword arguments. The
    frequency threshold is searched between ``lower_thresh`` and ``upper_thresh``: the vocabulary
    of the largest threshold that still gives at least ``vocab_size`` tokens is used, with its
    rarest pieces dropped down to the size (or, with ``slack_ratio > 0``, the first threshold whose
    vocabulary lies within ``vocab_size * (1 - slack_ratio)`` and ``vocab_size``). When even
    ``lower_thresh`` gives fewer tokens, that vocabulary is returned and a :class:`VocabSizeWarning`
    names the achieved and requested sizes. A leading formality tag in ``sentences`` is ignored;
    ``tags`` are appended after learning. Korean particles are split with ``korean_particles``."""
    vocab, problem = _learn_vocab(sentences, vocab_size, lower_case, korean_particles, learn_params=learn_params,
                                  tags=tags, normalization_form=normalization_form, name=name)
    if problem:
        warnings.warn(problem, VocabSizeWarning, stacklevel=2)
    return vocab


def _learn_vocab(sentences, vocab_size, lower_case, korean_particles, *, learn_params, tags, normalization_form,
                 name) -> tuple[list[str], str | None]:
    from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as learner

    p = resolve_learn_params(learn_params)
    tags = [t for t in tags if t not in RESERVED]
    texts = [_SPACES.sub(" ", split_tag(s)[1]) for s in sentences]
    if not lower_case and normalization_form:
        texts = [unicodedata.normalize(normalization_form, s) for s in texts]
    counts = _count_words(texts, lower_case, normalization_form)

    keep = set(RESERVED) | set(tags)
    if korean_particles:
        standalone = noun_like_words(texts)
        keep |= {f"##{form}" for form, _ in _PARTICLES}

    def post(raw: list[str]) -> list[str]:
        v = split_particles(raw, standalone) if korean_particles else list(raw)
        return [t for t in v if t not in tags] + tags

    params = learner.Params(upper_thresh=p["upper_thresh"], lower_thresh=p["lower_thresh"],
                            num_iterations=p["num_iterations"], max_input_tokens=p["max_input_tokens"],
                            max_token_length=p["max_token_length"], max_unique_chars=p["max_unique_chars"],
                            vocab_size=vocab_size, slack_ratio=p["slack_ratio"], include_joiner_token=True,
                            joiner="##", reserved_tokens=RESERVED)
    words = learner.get_input_words(list(counts.items()), RESERVED, p["max_token_length"])
    allowed = learner.get_allowed_chars(words, p["max_unique_chars"])
    words = learner.filter_input_words(words, allowed, -1 if p["max_input_tokens"] is None else p["max_input_tokens"])
    if not words:
        return post(list(RESERVED)), f"{name}: no words to learn from"

    cache: dict[int, tuple[list[str], list[str]]] = {}

    def at(t: int) -> tuple[list[str], list[str]]:
        if t not in cache:
            raw = learner.learn_with_thresh(words, t, params)
            cache[t] = (raw, post(raw))
        return cache[t]

    floor = vocab_size * (1.0 - max(0.0, float(p["slack_ratio"])))
    max_count = max(c for _, c in words)
    lo = max(1, int(p["lower_thresh"] or 1))
    hi = max(lo, min(int(p["upper_thresh"] or max_count), max_count))
    raw, vocab = at(lo)
    if len(vocab) > vocab_size:
        # invariant: the vocabulary at `lo` has more than vocab_size tokens, at `hi` fewer
        if len(at(hi)[1]) >= vocab_size:
            lo = hi
        while hi - lo > 1:
            mid = (lo + hi) // 2
            size = len(at(mid)[1])
            if floor <= size <= vocab_size:
                lo = mid
                break
            if size > vocab_size:
                lo = mid
            else:
                hi = mid
        raw, vocab = at(lo)
        vocab = _trim(vocab, raw, vocab_size, keep)
    if floor <= len(vocab) <= vocab_size:
        return vocab, None
    why = ("the data has no more distinct word pieces" if len(vocab) < vocab_size else
           "single characters and reserved tokens alone need more; lower max_unique_chars")
    return vocab, (f"{name}: {len(vocab)} tokens learned, {vocab_size} requested ({why} at "
                   f"lower_thresh={p['lower_thresh']})")


def build_vocabs(corpus_dir=None, *, force: bool = False, vocab_size: dict | None = None,
                 out_dir=None, learn_params: dict | None = None) -> dict[str, Path]:
    """Learn ``vocab_en.txt`` / ``vocab_ko.txt`` from ``train.tsv`` of ``corpus_dir`` (default: the
    shipped corpus) unless ``vocab_meta.json`` shows they were learned from identical data with the
    same parameters. ``vocab_size`` (``{"en": n, "ko": m}``, either key optional) defaults to the
    sizes recorded in the folder's ``vocab_meta.json`` (the shipped corpus: 600 English, 2000
    Korean), else :data:`DEFAULT_VOCAB_SIZE`. ``learn_params`` (:func:`learn_vocab`) apply to both
    languages, or give ``{"en": {...}, "ko": {...}}``. Returns ``{"en": path, "ko": path}``."""
    from seqlab.data import corpus_dir as resolve_corpus_dir, load_pairs

    d = resolve_corpus_dir(corpus_dir)
    out = Path(out_dir) if out_dir else d
    meta_path = out / "vocab_meta.json"
    sizes = dict(DEFAULT_VOCAB_SIZE)
    if meta_path.is_file():  # a corpus keeps the sizes its vocabularies were learned with
        sizes.update(json.loads(meta_path.read_text(encoding="utf-8")).get("params", {}).get("vocab_size", {}))
    sizes.update(vocab_size or {})
    lp = learn_params or {}
    per_lang = bool(lp) and set(lp) <= {"en", "ko"}
    resolved = {lang: resolve_learn_params(lp.get(lang) if per_lang else lp) for lang in ("en", "ko")}
    train = d / "train.tsv"
    params = {"version": VOCAB_VERSION, "vocab_size": sizes, "lower_case": LOWER_CASE,
              "normalization_form": NORMALIZATION_FORM, "reserved": RESERVED, "tags": VOCAB_TAGS,
              "learn_params": resolved}
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
        vocab, problem = _learn_vocab([p[col] for p in pairs], sizes[lang], LOWER_CASE[lang], lang == "ko",
                                      learn_params=resolved[lang], tags=VOCAB_TAGS[lang],
                                      normalization_form=NORMALIZATION_FORM[lang], name=f"{train} ({lang})")
        if problem:
            warnings.warn(problem, VocabSizeWarning, stacklevel=2)
        paths[lang].write_text("".join(t + "\n" for t in vocab), encoding="utf-8")
        sizes_out[lang] = len(vocab)
    meta = {"data": str(train.name), "data_sha256": sha, "params": params, "sizes": sizes_out,
            "short": {k: v for k, v in sizes_out.items() if v < sizes[k]},
            "vocab_sha256": {k: _sha256(p) for k, p in paths.items()}}
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return paths


# ------------------------------------------------------------------------------------------
# Tokenizer
# ------------------------------------------------------------------------------------------
class SubwordTokenizer:
    """``tensorflow_text.BertTokenizer`` over a saved vocabulary, plus [START]/[END], formality tags
    and decoding. ``normalization_form`` (default NFC) applies when ``lower_case`` is False."""

    def __init__(self, vocab_path, lower_case: bool, normalization_form: str | None = "NFC"):
        import seqlab  # noqa: F401
        import tensorflow as tf
        import tensorflow_text as text

        self.vocab_path = str(vocab_path)
        self.lower_case = lower_case
        self.normalization_form = None if lower_case else normalization_form
        self.vocab = Vocab.load(vocab_path)
        self.tag_ids = self.vocab.tag_ids
        self._tf = tf
        self._tok = text.BertTokenizer(self.vocab_path, lower_case=lower_case, token_out_type=tf.int64,
                                       unknown_token=UNK, normalization_form=self.normalization_form)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def tokenize(self, strings, add_start_end: bool = True):
        """strings (list or tf string tensor, shape (batch,)) -> ``tf.RaggedTensor`` (batch, None) int64.

        A string starting with a formality tag (``"<polite> ..."``, ``"<plain> ..."``) gets that
        tag's single id first (right after [START]) when the vocabulary holds the tags. Pure tf ops,
        so it runs inside ``tf.data`` ``map``."""
        tf = self._tf
        s = tf.strings.regex_replace(tf.convert_to_tensor(strings, tf.string), r"\p{Z}", " ")
        tag = None
        if self.tag_ids:
            tag = tf.fill(tf.shape(s), tf.constant(-1, tf.int64))
            for reg, tid in self.tag_ids.items():
                hit = tf.strings.regex_full_match(s, r"(?s)\s*" + re.escape(TAGS[reg]) + r"(?:\s.*)?")
                tag = tf.where(hit, tf.constant(tid, tf.int64), tag)
            alts = "|".join(re.escape(TAGS[reg]) for reg in self.tag_ids)
            s = tf.strings.regex_replace(s, r"^\s*(?:" + alts + r")(?:\s+|$)", "", replace_global=False)
        ids = self._tok.tokenize(s).merge_dims(-2, -1)
        if tag is not None:
            tags = tf.RaggedTensor.from_tensor(tf.expand_dims(tag, 1), lengths=tf.cast(tag >= 0, tf.int64))
            ids = tf.concat([tags, ids], axis=1)
        if add_start_end:
            n = ids.bounding_shape()[0]
            starts = tf.fill([n, 1], tf.constant(START_ID, tf.int64))
            ends = tf.fill([n, 1], tf.constant(END_ID, tf.int64))
            ids = tf.concat([starts, ids, ends], axis=1)
        return ids

    def encode(self, strings, add_start_end: bool = True) -> list:
        """Like :meth:`tokenize` but returns a list of NumPy int arrays."""
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

    def normalize(self, text: str) -> str:
        """What a round trip of ``text`` through this tokenizer gives back (:func:`normalize`)."""
        return normalize(text, lower=self.lower_case, tags=bool(self.tag_ids))


def load_tokenizers(corpus_dir=None, *, build: bool = True, **build_kwargs):
    """``(english_tokenizer, korean_tokenizer)`` for a corpus directory (default: the shipped one);
    learns the vocabularies first when missing or stale (``build=True``)."""
    from seqlab.data import corpus_dir as resolve_corpus_dir

    d = resolve_corpus_dir(corpus_dir)
    if build:
        paths = build_vocabs(d, **build_kwargs)
    else:
        out = Path(build_kwargs.get("out_dir") or d)
        paths = {lang: out / f"vocab_{lang}.txt" for lang in ("en", "ko")}
    return tuple(SubwordTokenizer(paths[lang], LOWER_CASE[lang], NORMALIZATION_FORM[lang])
                 for lang in ("en", "ko"))
