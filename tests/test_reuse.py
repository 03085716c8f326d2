"""Verdict reuse (autograder.reuse): what a traced run records, which cells an item's key covers, and, graded for
real, that a reused verdict equals the one probing the submission gives, for mutants inside and outside an item's
closure, a name shadowed from another cell, and a cell with side effects."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from autograder.reuse import Reuse, TracingNamespace, _program, cell_facts, closure_key
from autograder.runner import Limits, grade_notebook
from tests.helpers import computed_once, mutate, read_nb, solution_nb, write_nb


# ---- the traced namespace ----------------------------------------------------------------------------------

def _run(ns, source):
    ns.begin("cell")
    exec(compile(source, "<cell>", "exec"), ns)
    return ns.end()


def test_reads_through_function_globals_and_cell_top_level():
    ns = TracingNamespace(__name__="__main__")
    _run(ns, "import math\nBASE = 2\n")
    cell = _run(ns, "SCALE = BASE\ndef f(x):\n    return math.sqrt(x) * SCALE + len([])\n")
    assert set(cell["reads"]) >= {"BASE"} and not cell["everything"]
    ns.begin("probe")
    assert ns["f"](4.0) == 4.0
    probe = ns.end()
    assert {"f", "math", "SCALE", "len"} <= set(probe["reads"])  # a builtin looked up is a read too
    assert "BASE" not in probe["reads"] and not probe["everything"] and not probe["leaked"]


def test_parts_the_check_injects_are_not_reads_and_restoring_them_is_no_leak():
    ns = TracingNamespace(__name__="__main__")
    _run(ns, "def helper():\n    return 1\ndef answer():\n    return helper() + 1\n")
    ns.begin("probe")
    saved = ns.get("helper")
    ns.update(helper=lambda: 41)  # the grader's own part, as 03's probes inject it
    assert ns["answer"]() == 42
    ns["helper"] = saved  # restored
    probe = ns.end()
    assert "answer" in probe["reads"] and not probe["leaked"]
    assert probe["reads"].count("helper") == 1  # the one read is the check's own `get`, before injecting


def test_iteration_and_leaks_make_a_verdict_not_reusable():
    ns = TracingNamespace(__name__="__main__")
    _run(ns, "A = 1\n")
    ns.begin("probe")
    sorted(ns)  # a check that scans the whole namespace depends on every cell
    assert ns.end()["everything"]
    ns.begin("probe")
    exec("def g():\n    global A\n    A = 2\ng()\n", ns)  # STORE_GLOBAL bypasses __setitem__: still seen
    assert ns.end()["leaked"]


# ---- the static reading and the keys ------------------------------------------------------------------------

@pytest.mark.parametrize("source,pure", [
    ("import numpy as np\nX = 3\nY = -1e9 * 2\nZ = np.float32\n", True),
    ("@keras.saving.register_keras_serializable(package='p')\nclass A(keras.layers.Layer):\n"
     "    size = 3\n    def call(self, x):\n        return print(x)\n", True),
    ("def f(x=None, *, y=(1, 2)):\n    global Q\n    Q = 1\n", True),  # runs only when called
    ("keras.ops.softmax = lambda x: x\n", False),
    ("X = make()\n", False),
    ("@keras.saving.register_keras_serializable(package='p', name='Other')\nclass A:\n    pass\n", False),
    ("@functools.lru_cache(maxsize=2)\ndef f():\n    pass\n", False),
    ("class A:\n    @property\n    def x(self):\n        return 1\n    @x.setter\n    def x(self, v):\n        pass\n"
     "    @staticmethod\n    def s():\n        pass\n", True),
    ("@trace\ndef f():\n    pass\n", False),  # a bare decorator is a call: it may be the student's own code
    ("class A:\n    @helpers.log\n    def f(self):\n        pass\n", False),
    ("from numpy import *\n", False),
    ("X = [1, 2]\nX[0] = 3\n", False),
    ("class A(make_base()):\n    pass\n", False),
    ("def f(x=compute()):\n    pass\n", False),
    ("def f(x: make()):\n    pass\n", False),  # annotations run with the def
    ("def f() -> np.ndarray:\n    pass\n", True),
    ("__builtins__ = {}\n", False),
    ("def f(:\n", False),
    ("%timeit 1 + 1\n", False),
])
def test_a_cell_is_pure_only_when_its_top_level_just_binds_names(source, pure):
    assert cell_facts(source).pure is pure


def test_binds_and_loads_of_the_top_level():
    facts = cell_facts("import keras.ops\nfrom x import y as z\nA = B\nclass C(D):\n    E = F\n"
                       "    def m(self):\n        return G\ndef h(k=H):\n    return I\n")
    assert facts.binds == {"keras", "z", "A", "C", "h"}
    assert facts.loads == {"B", "D", "F", "H"}  # function bodies run only when called: traced, not read here


def _cells(*sources, kinds=None):
    kinds = kinds or ["solution"] * len(sources)
    return [SimpleNamespace(source=s, kind=k) for s, k in zip(sources, kinds)]


def _key(reads, cells, reference_cells):
    traced = {cell_facts(c.source).digest: frozenset() for c in reference_cells}
    return closure_key(frozenset(reads), traced, *_program(cells))


def test_a_key_covers_exactly_the_cells_that_bind_what_is_read():
    ref = _cells("def a():\n    return 1\n", "B = a\n", "def c():\n    return 3\n")
    base = _key({"B"}, ref, ref)
    assert base is not None
    assert _key({"B"}, _cells(ref[0].source, ref[1].source, "def c():\n    return 4\n"), ref) == base
    assert _key({"B"}, _cells("def a():\n    return 2\n", ref[1].source, ref[2].source), ref) is None  # unknown cell
    other = _cells(ref[0].source, ref[1].source, "B = 5\n")  # shadowed in a later cell
    assert _key({"B"}, other, ref + other) != base
    impure = _cells(ref[0].source, ref[1].source, "print('hi')\n")  # a side effect anywhere
    assert _key({"B"}, impure, ref + impure) != base
    added = _cells(*[c.source for c in ref], "def d():\n    pass\n", kinds=["solution"] * 3 + ["added"])
    assert _key({"B"}, added, ref + added) != base


# ---- graded for real: reused verdicts equal probed ones -----------------------------------------------------

ASSIGNMENT = "03_transformer"
ITEMS = ["attention", "mha", "loss", "schedule"]  # attention's cell is read by mha's check: a real closure
ATT, LOSS, SCHED = "attention_code", "loss_code", "schedule_code"
VARIANTS = {
    "loss bug (leaf)": (LOSS, "return ops.sum(loss * keep) / ops.maximum(ops.sum(keep), 1.0)",
                        "return ops.mean(loss)"),
    "attention bug (read by mha too)": (ATT, "/ ops.sqrt(", "* ops.sqrt("),
    "attention shadowed from the loss cell": (LOSS, None, None),
    "side effect in the schedule cell": (SCHED, None, None),
}


def _variant(nb, name):
    cell, find, replace = VARIANTS[name]
    if name == "attention shadowed from the loss cell":
        source = _source(nb, LOSS) + "\n\nscaled_dot_product_attention = None\n"
        return mutate(nb, cell, None, source)
    if name == "side effect in the schedule cell":
        return mutate(nb, cell, None, _source(nb, SCHED) + "\n\nkeras.config.set_epsilon(1e-3)\n")
    return mutate(nb, cell, find, replace)


def _source(nb, grade_id):
    from tests.helpers import cell_by_grade_id

    return cell_by_grade_id(nb, grade_id).source


def _grade_both(folder):
    solution = read_nb(solution_nb(ASSIGNMENT))
    only = [f"{ASSIGNMENT}/{i}" for i in ITEMS]
    kw = dict(seed=20261123, limits=Limits(setup_timeout_s=60), only=only)
    reuse = Reuse()
    grade_notebook(solution_nb(ASSIGNMENT), ASSIGNMENT, student="solution", reuse=reuse, reference="solution", **kw)
    out = {}
    for name in VARIANTS:
        path = write_nb(_variant(solution, name), folder / f"{len(out)}.ipynb")
        out[name] = (grade_notebook(path, ASSIGNMENT, reuse=reuse, **kw), grade_notebook(path, ASSIGNMENT, **kw))
    return out


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    return computed_once(tmp_path_factory, "reuse-03", _grade_both)


def _plain(result):
    return {i.item_id: (i.score, i.error, [(c.name, c.earned, c.message) for c in i.checks]) for i in result.items}


@pytest.mark.parametrize("variant,probed", [
    ("loss bug (leaf)", {"loss"}),
    ("attention bug (read by mha too)", {"attention", "mha"}),
    ("attention shadowed from the loss cell", {"attention", "mha", "loss"}),
    ("side effect in the schedule cell", set(ITEMS)),
])
def test_reused_verdicts_equal_probed_ones(both, variant, probed):
    reused, fresh = both[variant]
    assert _plain(reused) == _plain(fresh)
    assert {i.split("/", 1)[1] for i in reused.reused} == set(ITEMS) - probed
    assert not fresh.reused
