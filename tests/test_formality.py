"""Formality side constraint (Sennrich, Haddow & Birch 2016): register of Korean endings, source tags."""
from __future__ import annotations

import subprocess
import sys
import unicodedata

import pytest

from seqlab import data as sd
from seqlab import formality as F
from tests.helpers import ROOT

ENDINGS = [
    # polite
    ("고마워요.", "polite"), ("이름이 뭐예요?", "polite"), ("앉으세요.", "polite"), ("좋네요!", "polite"),
    ("갈까요?", "polite"), ("정말 감사합니다.", "polite"), ("제 차입니다.", "polite"), ("예약하셨습니까?", "polite"),
    ("어디에 갑니까?", "polite"), ("같이 갑시다.", "polite"), ("맛있죠?", "polite"), ("아직이요.", "polite"),
    ("네.", "polite"), ("여기에 쓰십시오.", "polite"), ("5,000원이에요.", "polite"), ("미안해. 정말 죄송합니다.", "polite"),
    # plain
    ("고양이가 잔다.", "plain"), ("날씨가 좋다!", "plain"), ("배고프니?", "plain"), ("뭐 하냐?", "plain"),
    ("피곤하지?", "plain"), ("나는 학생이야.", "plain"), ("집에 가자.", "plain"), ("전화할게.", "plain"),
    ("난 집에 있을래.", "plain"), ("춤출까?", "plain"), ("버스가 또 늦네.", "plain"), ("정말 귀엽구나!", "plain"),
    ("배고파.", "plain"), ("조용히 해!", "plain"), ("이거 봐.", "plain"), ("알려 줘.", "plain"), ("밖은 추워.", "plain"),
    ("잘하셔.", "plain"), ("걱정하지 마.", "plain"), ("안녕.", "plain"), ("고마워요. 잘 가.", "plain"),
    ("바쁘니까.", "plain"), ("맛있으시다.", "plain"),
    # cannot tell
    ("메리 크리스마스!", None), ("아마도.", None), ("잠깐만.", None), ("Hello.", None), ("", None),
    ("제 번호는 010-1234-5678.", None),
]


@pytest.mark.parametrize("korean,register", ENDINGS)
def test_register_of_endings(korean, register):
    assert F.register_of(korean) == register
    assert F.register_of(unicodedata.normalize("NFD", korean)) == register  # macOS-typed Korean


def test_tags_and_source_tagging():
    assert F.TAGS == {"polite": "<polite>", "plain": "<plain>"}
    assert F.tag_source("The cat sleeps.", "polite") == "<polite> The cat sleeps."
    assert F.tag_source("<polite> The cat sleeps.", "plain") == "<plain> The cat sleeps."  # replaced
    assert F.tag_source("<plain> The cat sleeps.", None) == "The cat sleeps."
    with pytest.raises(ValueError):
        F.tag_source("The cat sleeps.", "formal")
    assert F.strip_tag("<plain>  I'm here.") == "I'm here."
    assert F.strip_tag("I said <plain> here.") == "I said <plain> here."
    assert F.strip_tag("<plainly> x") == "<plainly> x"
    assert F.split_tag("<polite> Hi.") == ("polite", "Hi.") and F.split_tag("Hi.") == (None, "Hi.")


def test_tag_pairs_keeps_columns_and_counts_untagged():
    pairs = [("Thanks.", "고마워요.", "src"), ("Thanks!", "고마워!"), ("Merry Christmas!", "메리 크리스마스!")]
    tagged, untagged = F.tag_pairs(pairs)
    assert tagged == [("<polite> Thanks.", "고마워요.", "src"), ("<plain> Thanks!", "고마워!"),
                      ("Merry Christmas!", "메리 크리스마스!")]
    assert untagged == 1


def test_tag_pairs_tags_every_pair_of_the_shipped_corpus():
    pairs = sd.default_corpus("train")
    tagged, untagged = F.tag_pairs(pairs)
    assert untagged == 0 and len(tagged) == len(pairs)
    regs = [F.split_tag(e)[0] for e, _ in tagged]
    assert None not in regs
    assert 0.3 < regs.count("polite") / len(regs) < 0.7  # the grammar mixes both registers
    assert [F.strip_tag(e) for e, _ in tagged] == [e for e, _ in pairs]


def test_natural_fixture_registers():
    pairs = sd.load_pairs(ROOT / "tests" / "fixtures" / "natural_en_ko.tsv")
    tagged, untagged = F.tag_pairs(pairs)
    regs = [F.split_tag(e)[0] for e, _ in tagged]
    assert untagged == regs.count(None) <= 5
    assert regs.count("polite") > 150 and regs.count("plain") > 150


def test_import_is_cheap():
    code = "import sys, seqlab.formality; print('tensorflow' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.stdout.strip() == "False" and proc.stderr == "", proc.stdout + proc.stderr
