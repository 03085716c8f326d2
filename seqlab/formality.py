"""Formality side constraint for English -> Korean (Sennrich, Haddow & Birch 2016, "Controlling
politeness in neural machine translation via side constraints").

At training time every English source sentence gets a tag naming the register of its Korean
translation (``<polite> I'm tired.`` / ``<plain> I'm tired.``); at test time the user writes the tag
and the model produces that register. The register is read from the Korean sentence-final ending:

* polite (존댓말): ``-요`` (``-어요``, ``-예요``, ``-세요``, ``-네요``, ``-까요``...), ``-죠``,
  ``-(스)ㅂ니다``, ``-(스)ㅂ니까``, ``-ㅂ시다``, ``-시오``; a bare ``네`` / ``예`` (yes);
* plain (반말 and the written plain style): ``-다``, ``-니``, ``-냐``, ``-지``, ``-야``, ``-자``,
  ``-래``, ``-게``, ``-까``, ``-네``, ``-군``, ``-구나``, ``-걸``, ``-데``, ``-라``, ``-마``,
  ``-고``, ``-대``, ``-거든``, and the 해체 ``-아/-어`` forms (a final syllable without final
  consonant on ㅏ ㅐ ㅓ ㅕ ㅘ ㅙ ㅝ: ``해``, ``가``, ``봐``, ``줘``, ``추워``...); ``안녕``, ``응``;
* ``None`` when the sentence does not end in a recognisable ending (a bare noun such as
  ``메리 크리스마스!``, a number, no Hangul).

Only the last sentence of a multi-sentence string counts. Honorific ``-시-`` alone is not the polite
register (``잘하셔`` is plain). A sentence ending in a noun whose last syllable looks like a 해체
ending (``건배!``) is read as plain.

This module imports no TensorFlow.
"""
from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

POLITE, PLAIN = "polite", "plain"
REGISTERS = (POLITE, PLAIN)
TAGS = {POLITE: "<polite>", PLAIN: "<plain>"}
TAG_TOKENS = tuple(TAGS.values())

_TAG_RE = re.compile(r"^\s*<(polite|plain)>(?:\s+|$)")
_HANGUL_RUN = re.compile(r"[\uac00-\ud7a3]+")

_POLITE_ENDINGS = ("요", "죠", "시오", "소서")
_PLAIN_ENDINGS = ("다", "니", "냐", "지", "야", "자", "래", "게", "까", "네", "군", "구나", "걸",
                  "데", "라", "마", "고", "대", "거든", "나")
_WHOLE = {"네": POLITE, "예": POLITE, "안녕": PLAIN, "응": PLAIN, "어": PLAIN, "아니": PLAIN}
# 해체 (-아/-어) endings: a final syllable with no final consonant on one of these vowels
_HAE_VOWELS = {0, 1, 4, 6, 9, 10, 14}  # ㅏ ㅐ ㅓ ㅕ ㅘ ㅙ ㅝ


def _decompose(syllable: str) -> tuple[int, int, int] | None:
    c = ord(syllable) - 0xAC00
    if not 0 <= c < 11172:
        return None
    return c // 588, (c % 588) // 28, c % 28


def _formal_stem(word: str, ending: str) -> bool:
    """True when ``word`` ends in ``ending`` after ``습`` or a syllable with final ㅂ (``입니다``,
    ``합니까``, ``갑시다``): the -(스)ㅂ니다 / -(스)ㅂ니까 / -ㅂ시다 forms."""
    if not word.endswith(ending) or len(word) <= len(ending):
        return False
    before = word[-len(ending) - 1]
    parts = _decompose(before)
    return before == "습" or (parts is not None and parts[2] == 17)  # 17 = final ㅂ


def register_of(korean: str) -> str | None:
    """``"polite"``, ``"plain"`` or ``None`` for a Korean sentence, from its final ending."""
    text = unicodedata.normalize("NFC", korean or "")
    runs = _HANGUL_RUN.findall(text)
    if not runs:
        return None
    word = runs[-1]  # the last Hangul word (trailing punctuation, numbers, emoticons skipped)
    if word in _WHOLE:
        return _WHOLE[word]
    if word.endswith(_POLITE_ENDINGS):
        return POLITE
    if _formal_stem(word, "니다") or _formal_stem(word, "니까") or _formal_stem(word, "시다"):
        return POLITE
    if word.endswith(_PLAIN_ENDINGS):
        return PLAIN
    parts = _decompose(word[-1])
    if parts is not None and parts[2] == 0 and parts[1] in _HAE_VOWELS:
        return PLAIN
    return None


def split_tag(text: str) -> tuple[str | None, str]:
    """``("polite", "The cat sleeps.")`` for ``"<polite> The cat sleeps."``; ``(None, text)`` when
    ``text`` does not start with a tag."""
    m = _TAG_RE.match(text)
    if not m:
        return None, text
    return m.group(1), text[m.end():]


def strip_tag(text: str) -> str:
    """``text`` without its leading formality tag (unchanged when it has none)."""
    return split_tag(text)[1]


def tag_source(english: str, register: str | None) -> str:
    """``"<polite> The cat sleeps."``: the English source with the tag of ``register`` in front (an
    existing tag is replaced). ``register=None`` gives the untagged sentence."""
    body = strip_tag(english)
    if register is None:
        return body
    if register not in TAGS:
        raise ValueError(f"register must be one of {REGISTERS} or None, got {register!r}")
    return f"{TAGS[register]} {body}"


class TaggedPairs(NamedTuple):
    pairs: list
    untagged: int


def tag_pairs(pairs) -> TaggedPairs:
    """Training pairs whose English carries the tag of its Korean's register (as in Sennrich et al.;
    at test time the user picks the tag). Returns ``(pairs, untagged)``: the pairs (extra columns
    kept) and how many were left without a tag because :func:`register_of` could not tell."""
    out, untagged = [], 0
    for p in pairs:
        reg = register_of(p[1])
        if reg is None:
            untagged += 1
        out.append((tag_source(p[0], reg), p[1], *p[2:]))
    return TaggedPairs(out, untagged)
