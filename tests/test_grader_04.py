"""The items of 04_translation graded directly (Item.probe in this process, Item.judge on its record) on the
reference Transformer (tests/fixtures/03_reference_answers.py, the layers the 04 notebook re-declares) and on
broken variants of it (benchmarks/transformer_training.py). The master notebook does not exist yet, so the registry
does not list 04; once it does, the generic tests (solution, starter, mutants, nbgrader) grade these items too.

Each variant must lose exactly the sub-checks its bug breaks, with feedback that names the fault.
"""
from __future__ import annotations

import importlib
import sys

import pytest

from tests.helpers import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import transformer_training as variants  # noqa: E402

ITEMS = {i.grade_id: i for i in importlib.import_module("autograder.assignments.04_translation.items").ITEMS}
SEED = 20261129


def grade(grade_id: str, ns: dict) -> dict:
    item = ITEMS[grade_id]
    return {c.name: c for c in item.judge(item.probe(ns, SEED), SEED)}


def earned(result: dict) -> dict:
    return {name: round(c.earned, 4) for name, c in result.items()}


def full(grade_id: str) -> dict:
    return dict(ITEMS[grade_id].checks)


def leaking_and_unsaveable() -> dict:
    """Two independent bugs: a look-ahead mask off by one (position t sees t + 1), and a Transformer whose
    get_config leaves out num_layers (from_config cannot rebuild it: the saved .keras file does not load)."""
    ns = variants.variant_namespace("causal_leak")
    base = ns["Transformer"]

    class Transformer(base):
        def get_config(self):
            config = super().get_config()
            config.pop("num_layers")
            return config

    Transformer.__name__ = Transformer.__qualname__ = "TransformerWithoutNumLayers"
    import keras

    ns["Transformer"] = keras.saving.register_keras_serializable(package="seqlab_test")(Transformer)
    return ns


@pytest.fixture(scope="module")
def reference_transplant():
    return grade("transplant", variants.reference_namespace())


def test_reference_gets_full_marks_on_the_transplant(reference_transplant):
    assert earned(reference_transplant) == full("transplant"), {n: c.message for n, c in reference_transplant.items()}


def test_reference_gets_full_marks_on_the_training_run():
    result = grade("translation_training", variants.reference_namespace())
    assert earned(result) == full("translation_training"), {n: c.message for n, c in result.items()}


def test_two_bugs_lose_their_two_sub_checks_and_nothing_else():
    result = grade("transplant", leaking_and_unsaveable())
    lost = {name for name, c in result.items() if c.earned < c.points}
    assert lost == {"causal", "export"}, {n: c.message for n, c in result.items()}
    assert "looks ahead" in result["causal"].message
    assert "get_config" in result["export"].message or "num_layers" in result["export"].message


def test_a_decoder_that_looks_ahead_does_not_learn_to_translate(monkeypatch):
    """One epoch instead of three (calibrated: 0.00 BLEU after three; after one it already copies)."""
    training = importlib.import_module("autograder.assignments.04_translation.training")
    monkeypatch.setitem(training.PROFILES, "cpu", dict(training.PROFILES["cpu"], epochs=1))
    result = grade("translation_training", variants.variant_namespace("causal_leak"))
    assert result["model"].earned == result["model"].points
    assert result["learns"].earned == 0, result["learns"].message
    assert "looks ahead" in result["learns"].message and "BLEU" in result["learns"].message
