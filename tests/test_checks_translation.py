"""The visible checks of 04 (seqlab/checks_translation.py) pass the reference answers and stop the bugs the hidden
tests charge, with a message that names them."""
from __future__ import annotations

import pytest

import seqlab.checks_translation as checks
from tests.helpers import ROOT
from tests.test_grader_04 import EPSILON_IGNORED, LOSS_HEADER, REFERENCE_LOSS, SMOOTHING_OVER_PAD

DECODING = (ROOT / "tests" / "fixtures" / "04_decoding_answers.py").read_text(encoding="utf-8")


def _ns(source: str) -> dict:
    ns: dict = {"__name__": "__main__"}
    exec(source, ns)
    return ns


def test_reference_answers_pass(capsys):
    checks.check_smoothed_loss(_ns(LOSS_HEADER + REFERENCE_LOSS)["smoothed_masked_loss"])
    ns = _ns(DECODING)
    checks.check_decoding(ns["make_step_fn"], ns["beam_search"])
    out = capsys.readouterr().out
    assert "smoothed_masked_loss: all 6 checks passed" in out and "make_step_fn, beam_search: all 3 checks passed" in out


@pytest.mark.parametrize("source, says", [(SMOOTHING_OVER_PAD, "[PAD] positions"), (EPSILON_IGNORED, "ignored")])
def test_loss_bugs_are_named(source, says):
    with pytest.raises(AssertionError, match=says.replace("[", r"\[").replace("]", r"\]")):
        checks.check_smoothed_loss(_ns(LOSS_HEADER + source)["smoothed_masked_loss"])


@pytest.mark.parametrize("old, new, says", [
    ("prefix = np.concatenate([prefix, np.asarray(tokens, \"int32\")[:, None]], axis=1)",
     "prefix = np.asarray(tokens, \"int32\")[:, None]", "keep the prefix in the state"),
    ("lp / len(tokens) ** alpha", "lp", "beam_search with your step_fn"),
])
def test_decoding_bugs_are_named(old, new, says):
    assert old in DECODING
    ns = _ns(DECODING.replace(old, new))
    with pytest.raises(AssertionError, match=says):
        checks.check_decoding(ns["make_step_fn"], ns["beam_search"])
