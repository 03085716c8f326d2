"""The grader's form: declared items, typed probe records, credit rules in one place, the check
library, and which grader modules a worker (the student's process) loads."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from autograder import records, registry
from autograder.checks.credit import CreditError, Judge
from autograder.checks.sequence import causality, judge_causality, judge_padding_invariance, padding_invariance
from autograder.probing import GraderBug, Probe
from autograder.runner import Limits, grade_notebook
from tests.helpers import ROOT, SOLUTION_NB, mutate, read_nb, write_nb


# ---- items and registry ------------------------------------------------------------------------

def test_assignments_come_from_the_master_notebooks():
    masters = sorted(p.parent.name for p in (ROOT / "solutions").glob("*/*.ipynb") if p.stem == p.parent.name)
    assert registry.assignments() == masters
    for assignment in masters:
        assert (ROOT / "autograder" / "assignments" / assignment / "items.py").is_file()
        assert (ROOT / "tests" / "mutants" / f"{assignment}.py").is_file()


def test_every_item_declares_its_points_and_record():
    for item in registry.items():
        assert item.points == round(sum(p for _, p in item.checks), 4) > 0
        assert len({name for name, _ in item.checks}) == len(item.checks), item.id
        assert item.record and set(item.record.values()) <= set(records.KINDS), item.id
        assert item.device in ("cpu", "gpu") and item.timeout_s > 0 and item.memory_mb > 0


def test_listing_items_loads_no_keras_and_no_probes_or_judges():
    code = ("import sys; from autograder import registry; registry.items(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow') "
            "or m.endswith(('.probes', '.judges')) or m.startswith('autograder.oracles')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def test_python_m_autograder_items_is_quiet():
    proc = subprocess.run([sys.executable, "-m", "autograder", "items"], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert "01_rnn_lstm/lstm_cell" in proc.stdout and "total" in proc.stdout


# ---- typed records -----------------------------------------------------------------------------

SCHEMA = {"out": records.ARRAY, "case/*/n": records.INT, "case/*": records.ARRAY, "shapes": records.SHAPES}


def test_probe_refuses_undeclared_keys_and_keeps_malformed_values_as_the_students_error():
    probe = Probe({}, SCHEMA)
    with pytest.raises(GraderBug):
        with probe.step("s"):
            probe.put("undeclared", 1)
    probe.put("case/a/n", 3)
    probe.put("case/a/n", "three")  # kind mismatch: recorded as the submission's error, no crash
    probe.put("shapes", [(2, None), (4,)])
    assert probe.data["case/a/n"] == 3 and "case/a/n" in probe.errors
    assert probe.data["shapes"] == [[2, None], [4]]


def test_validate_drops_undeclared_and_malformed_values():
    record = {"data": {"out": np.ones(3), "case/x/n": 2.5, "case/x": np.array(["a"]), "shapes": [[1, -2]],
                       "sneaky": 1}, "errors": {"step": "boom"}}
    clean = records.validate(record, SCHEMA)
    assert set(clean["data"]) == {"out"}
    assert {"case/x/n", "case/x", "shapes", "sneaky", "step"} <= set(clean["errors"])
    assert "malformed" in clean["errors"]["sneaky"]


def test_load_refuses_pickles_corrupt_json_and_archives_that_inflate(tmp_path):
    npz, meta = tmp_path / "p.npz", tmp_path / "p.json"
    records.dump({"data": {"out": np.arange(4.0), "n": 2}, "errors": {}}, npz, meta)
    assert records.load(npz, meta)["data"]["n"] == 2
    np.savez(npz, a0=np.array([{"x": 1}], dtype=object))
    with pytest.raises(records.RecordError):
        records.load(npz, meta)
    meta.write_text("{not json", encoding="utf-8")
    with pytest.raises(records.RecordError):
        records.load(npz, meta)
    records.dump({"data": {"out": np.zeros(10)}, "errors": {}}, npz, meta)
    with zipfile.ZipFile(npz, "a") as zf:
        zf.writestr("pad.npy", b"\0" * (2 << 20))  # compresses well, counts when inflated
    with pytest.raises(records.RecordError, match="too large"):
        records.load(npz, meta, max_bytes=1 << 20)


def test_a_malformed_record_is_scored_with_a_reason_not_a_crash():
    item = registry.get("01_rnn_lstm/rnn_cell")
    checks = item.judge({"data": {"state_size": "four", "case/full/out": "nan", "bogus": 1}, "errors": {}}, 0)
    assert [c.name for c in checks] == [name for name, _ in item.checks]
    assert sum(c.earned for c in checks) == 0 and all(c.message for c in checks)


# ---- credit rules ------------------------------------------------------------------------------

def test_an_item_on_two_backends_is_judged_from_both_records():
    """Item.backends: one probe record per backend, merged with prefixes; a backend whose process gave nothing is
    an error entry the judge sees; a built-in refused on either backend is refused."""
    item = registry.get("03_transformer/jax_backend")
    assert item.backends == ("jax",) and item.slow
    assert set(item.schema) == {f"{b}/{k}" for b in ("tensorflow", "jax") for k in item.probe_schema}
    tf = {"data": {"backend": "tensorflow", "schedule": np.ones(3)}, "errors": {"masks": "ValueError: x"}}
    merged = item.merge_backends({"tensorflow": tf, "jax": "timed out after 150 s"})
    assert merged["data"] == {"tensorflow/backend": "tensorflow", "tensorflow/schedule": tf["data"]["schedule"]}
    assert merged["errors"] == {"tensorflow/masks": "ValueError: x", "jax/probe": "timed out after 150 s"}
    checks = item.judge(merged, 1)
    assert sum(c.earned for c in checks) == 0 and all("timed out after 150 s" in c.message for c in checks)
    used = {"data": {"scratch/used": ["keras.layers.MultiHeadAttention"]}, "errors": {}}
    checks = item.judge(item.merge_backends({"tensorflow": {"data": {}, "errors": {}}, "jax": used}), 1)
    assert sum(c.earned for c in checks) == 0 and "MultiHeadAttention" in checks[0].message


def test_credit_shares_fractions_and_declaration():
    judge = Judge({"a": 1.0, "b": 0.5}, {"data": {}, "errors": {}})
    judge.add("a", True, share=0.5)
    judge.add("a", False, "half wrong", share=0.5)
    judge.add("b", False, "slow", fraction=0.5)
    checks = {c.name: c for c in judge.finish()}
    assert checks["a"].earned == 0.5 and checks["a"].message == "half wrong"
    assert checks["b"].earned == 0.25
    with pytest.raises(CreditError):
        judge.add("c", True)
    incomplete = Judge({"a": 1.0, "b": 0.5}, {"data": {}, "errors": {}})
    incomplete.add("a", True)
    with pytest.raises(CreditError):
        incomplete.finish()
    incomplete.fail_rest("not checked")
    assert [c.earned for c in incomplete.finish()] == [1.0, 0.0]


# ---- sequence properties from the check library ------------------------------------------------

def _cumsum(x, mask=None):
    return np.cumsum(x if mask is None else np.where(mask[..., None], x, 0), axis=1)


def _reverse_cumsum(x, mask=None):
    return _cumsum(x[:, ::-1], None if mask is None else mask[:, ::-1])[:, ::-1]


@pytest.mark.parametrize("run,causal", [(_cumsum, True), (_reverse_cumsum, False)])
def test_causality_check(run, causal):
    probe = Probe({}, {"c/*": records.ARRAY})
    x = np.random.default_rng(0).normal(size=(2, 6, 3))
    causality(probe, "c", run, x, t=2, seed=1)
    judge = Judge({"causal": 1.0}, records.validate(probe.result(), {"c/*": records.ARRAY}))
    assert judge_causality(judge, "causal", "c", t=2) is causal


@pytest.mark.parametrize("masked,invariant", [(True, True), (False, False)])
def test_padding_invariance_check(masked, invariant):
    probe = Probe({}, {"p/*": records.ARRAY})
    x = np.random.default_rng(0).normal(size=(2, 5, 3)) + 1.0
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], bool)
    run = (lambda a, m: _reverse_cumsum(a, m)) if masked else (lambda a, m: _reverse_cumsum(a + 1.0))
    padding_invariance(probe, "p", run, x, mask, extra=3)
    judge = Judge({"pad": 1.0}, records.validate(probe.result(), {"p/*": records.ARRAY}))
    assert judge_padding_invariance(judge, "pad", "p", mask) is invariant


# ---- the worker loads probes, never judges or oracles -------------------------------------------

def test_worker_loads_probes_only(tmp_path):
    """Even where the worker could import them (the process sandbox: under bwrap the grader-only modules are not
    staged at all, tests/test_sandbox.py), it never does."""
    dump = tmp_path / "modules.json"
    spy = (f"        import json, sys\n        json.dump(sorted(sys.modules), open({str(dump)!r}, 'w'))\n")
    nb = mutate(read_nb(SOLUTION_NB), "rnn_cell_code", "    def call(self, inputs, states):\n",
                "    def call(self, inputs, states):\n" + spy)
    result = grade_notebook(write_nb(nb, tmp_path / "spy.ipynb"), "01_rnn_lstm", only=["rnn_cell"],
                            limits=Limits(sandbox="process"))  # the spy writes outside its job folder
    assert result.items[0].score == 3.0, result.items[0].feedback()
    loaded = [m for m in json.loads(dump.read_text()) if m.startswith("autograder")]
    assert "autograder.assignments.01_rnn_lstm.probes" in loaded
    forbidden = [m for m in loaded if m.rsplit(".", 1)[-1].startswith("judges") or m.startswith(("autograder.oracles", "autograder.runner",
                 "autograder.reports", "autograder.gradebook", "autograder.cli", "autograder.checks.credit"))]
    assert forbidden == [], forbidden


# ---- the notebook says what each item refuses and allows ---------------------------------------

@pytest.mark.parametrize("item", registry.items(), ids=lambda i: i.id)
def test_notebook_text_names_refused_and_allowed_built_ins(item):
    """The markdown of the item's part (after the previous graded cell, up to its answer) names them."""
    from autograder.notebook import master_path

    nb, text, part = read_nb(master_path(item.assignment)), {}, []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "markdown":
            part.append(cell.source)
        if meta.get("grade"):
            text[meta["grade_id"]], part = "\n".join(part), []
    for name in item.refuses + tuple(a for a in item.allows if a.startswith("keras.")):
        short = re.escape(name.rsplit(".", 1)[-1])
        assert re.search(rf"`(keras\.layers\.)?{short}`", text[item.grade_id]), f"{item.id}: the text does not name {name}"
    if item.refuses:
        assert "Not allowed in this part" in text[item.grade_id]


# ---- in the kernel (nbgrader path), a grader fault is never a silent 0 --------------------------

def test_in_kernel_a_failing_judge_is_retried_then_not_graded(monkeypatch):
    import autograder
    from autograder.item import Item

    calls, real = [], Item.judge

    def flaky(self, record, seed):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("AST constructor recursion depth mismatch")
        return real(self, record, seed)

    monkeypatch.setattr(Item, "judge", flaky)
    result = autograder.grade_namespace_item("01_rnn_lstm/rnn_cell", {})  # an empty notebook: 0, honestly
    assert len(calls) == 2 and result.internal_error is None and result.score == 0
    assert "`RNNCell` is not defined" in result.feedback()

    def broken(self, record, seed):
        raise RuntimeError("judge bug")

    monkeypatch.setattr(Item, "judge", broken)
    assert "judge bug" in autograder.grade_namespace_item("01_rnn_lstm/rnn_cell", {}).internal_error
    with pytest.raises(autograder.GraderError, match="NOT GRADED"):
        autograder.grade_in_kernel("01_rnn_lstm/rnn_cell", {})


def test_the_sample_class_is_up_to_date(tmp_path):
    from examples.build_class import OUT, build

    fresh = {p.relative_to(tmp_path / "class"): p.read_bytes() for p in build(tmp_path / "class")}
    shipped = {p.relative_to(OUT): p.read_bytes() for p in OUT.rglob("*.ipynb")}
    assert fresh == shipped, "examples/submitted is out of date: run `python -m examples.build_class`"
