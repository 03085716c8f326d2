"""Verdict reuse: an item's verdict is a function of the cells its check reads, so a submission whose cells in
that closure are byte-identical to a *reference* run's gets the reference's verdict without being probed again.

References are runs of trusted notebooks (the master solution, the generated starter) graded in *trace* mode:
the worker's namespace is a `TracingNamespace`, which records every name the check looks up (the probe's own
lookups and every global lookup of the student's functions it calls), and every name each cell reads while it
runs. A student's worker is never traced: what it writes is not trusted (issue 11), and no verdict or read set
comes from it.

The closure of an item in a submission is computed in the grading process from the submission's source alone:
- every name the reference's check read is resolved to the cell of the submission that binds it last (a static
  reading of each cell's top level: assignments, `def`, `class`, imports), and that cell's source is part of the
  key; the names that cell read while it ran (as traced in the reference, plus the names its top level loads)
  are resolved in turn, to the cell that bound them *before* it;
- a cell that does more at its top level than bind names (a call, an attribute or subscript assignment, a
  decorator other than `staticmethod`, `classmethod`, `property` (and its `.setter`) or Keras's registration,
  `global`, `import *`, anything unparsable) may change any state: its source is part of every
  key, so changing it re-probes every item;
- cells the student added are in every key too.

A reference run whose check iterated the whole namespace, or whose earlier check left the namespace changed,
gives no reusable verdict for that item. What *another* item's check makes the student's code do at run time (a
function that patches a module when called) is not charged to a reused item: it gets what its own cells earn. Reuse is in memory, for one grading session (one class run, one test
session): the grader's code and the seed are the same for every key it compares.
"""
from __future__ import annotations

import ast
import copy
import hashlib
import threading
from dataclasses import dataclass, field

TRACE_FILE = "trace.json"
_MISSING = object()


class TracingNamespace(dict):
    """A module namespace that records reads (see the module docstring). `begin(phase)` starts a phase ("cell"
    or "probe"); `end()` returns {"reads": [...], "everything": bool, "leaked": bool}."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._reads: set[str] = set()
        self._everything = False
        self._probing = False
        self._base: dict = {}
        self._changed: set[str] = set()  # names whose current state the check set (its injected parts)

    def begin(self, phase: str) -> None:
        self._reads, self._everything, self._changed = set(), False, set()
        self._probing = phase == "probe"
        if self._probing:
            self._base = self._snapshot()

    def end(self) -> dict:
        leaked = False
        if self._probing:
            now = self._snapshot()
            leaked = now.keys() != self._base.keys() or any(now[k] is not self._base[k] for k in now)
        self._probing = False
        return {"reads": sorted(self._reads), "everything": self._everything, "leaked": leaked}

    def _snapshot(self) -> dict:
        return dict(dict.items(self))  # a plain dict (dict.copy of a subclass would call our keys())

    # reads
    def _read(self, key) -> None:
        if isinstance(key, str) and key not in self._changed:
            self._reads.add(key)

    def __getitem__(self, key):
        self._read(key)
        return dict.__getitem__(self, key)

    def get(self, key, default=None):
        self._read(key)
        return dict.get(self, key, default)

    def __contains__(self, key):
        self._read(key)
        return dict.__contains__(self, key)

    def _all(self):
        self._everything = True

    def __iter__(self):
        self._all()
        return dict.__iter__(self)

    def keys(self):
        self._all()
        return dict.keys(self)

    def items(self):
        self._all()
        return dict.items(self)

    def values(self):
        self._all()
        return dict.values(self)

    def copy(self):
        self._all()
        return dict.copy(self)

    def __len__(self):
        self._all()
        return dict.__len__(self)

    # writes: during a check, a name set to anything but its value after the cells is the check's own
    def _wrote(self, key, value) -> None:
        if self._probing:
            if value is not _MISSING and self._base.get(key, _MISSING) is value:
                self._changed.discard(key)
            elif value is _MISSING and key not in self._base:
                self._changed.discard(key)
            else:
                self._changed.add(key)

    def __setitem__(self, key, value):
        self._wrote(key, value)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key):
        self._wrote(key, _MISSING)
        dict.__delitem__(self, key)

    def pop(self, key, *default):
        self._wrote(key, _MISSING)
        return dict.pop(self, key, *default)

    def setdefault(self, key, default=None):
        if not dict.__contains__(self, key):
            self._wrote(key, default)
        return dict.setdefault(self, key, default)

    def update(self, *args, **kwargs):
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def popitem(self):
        self._all()
        return dict.popitem(self)

    def clear(self):
        self._all()
        dict.clear(self)


# ---- the static reading of a cell (grading process) ---------------------------------------------------------

@dataclass(frozen=True)
class CellFacts:
    digest: str
    binds: frozenset  # names its top level binds
    loads: frozenset  # names its top level reads (outside function bodies)
    pure: bool  # its top level only binds names (see the module docstring)


_SIMPLE_VALUE = (ast.Constant, ast.Name, ast.Attribute, ast.Tuple, ast.List, ast.Set, ast.Dict, ast.Starred)


def _simple(node) -> bool:
    """An expression whose evaluation runs no code of its own (names, attributes, literals, lambdas)."""
    if node is None:
        return True
    if isinstance(node, ast.Lambda):  # the body runs only when called
        return all(_simple(d) for d in node.args.defaults + node.args.kw_defaults if d is not None)
    if isinstance(node, (ast.UnaryOp, ast.BinOp)):  # arithmetic on literals only (no operator of a student's class)
        return _literal_arithmetic(node)
    if not isinstance(node, _SIMPLE_VALUE):
        return False
    return all(_simple(n) for n in ast.iter_child_nodes(node) if isinstance(n, ast.expr))


def _literal_arithmetic(node) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp):
        return _literal_arithmetic(node.operand)
    if isinstance(node, ast.BinOp):
        return _literal_arithmetic(node.left) and _literal_arithmetic(node.right)
    return False


_BUILTIN_DECORATORS = {"staticmethod", "classmethod", "property"}
_PROPERTY_PARTS = {"setter", "getter", "deleter"}


def _decorator_ok(node) -> bool:
    """`@staticmethod`, `@classmethod`, `@property`, `@<name>.setter|getter|deleter`, or Keras's registration under
    the class's own name (`@keras.saving.register_keras_serializable(package="...")`): it binds "<package>><name>" in
    Keras's registry, tied to the name the cell binds. Any other decorator is a call of code that may be the
    student's, when the cell runs."""
    if isinstance(node, ast.Name):
        return node.id in _BUILTIN_DECORATORS
    if isinstance(node, ast.Attribute):
        return node.attr in _PROPERTY_PARTS and isinstance(node.value, ast.Name)
    if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
        called = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
        return (called == "register_keras_serializable" and all(isinstance(a, ast.Constant) for a in node.args)
                and all(k.arg == "package" and isinstance(k.value, ast.Constant) for k in node.keywords)
                and len(node.args) <= 1)
    return False


def _def_simple(node) -> bool:
    """Defaults, annotations and decorators run when the `def` does: they must run no code."""
    args = node.args
    evaluated = [d for d in args.defaults + args.kw_defaults if d is not None] + [node.returns] + [
        a.annotation for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg] if a]
    return all(_simple(d) for d in evaluated) and all(_decorator_ok(d) for d in node.decorator_list)


def _pure_body(body) -> bool:
    for stmt in body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue
        if isinstance(stmt, ast.Import):
            continue
        if isinstance(stmt, ast.ImportFrom):
            if any(a.name == "*" for a in stmt.names):
                return False
            continue
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if not _def_simple(stmt):
                return False
            continue
        if isinstance(stmt, ast.ClassDef):
            if stmt.keywords or not all(isinstance(b, (ast.Name, ast.Attribute)) for b in stmt.bases):
                return False
            if not all(_decorator_ok(d) for d in stmt.decorator_list):
                return False
            if not _pure_body(stmt.body):
                return False
            continue
        if isinstance(stmt, ast.Assign):
            if all(isinstance(t, ast.Name) for t in stmt.targets) and _simple(stmt.value):
                continue
            return False
        if isinstance(stmt, ast.AnnAssign):
            if isinstance(stmt.target, ast.Name) and _simple(stmt.value) and _simple(stmt.annotation):
                continue
            return False
        if isinstance(stmt, ast.Pass):
            continue
        return False
    return True


class _TopLevel(ast.NodeVisitor):
    """Names bound and loaded by a cell's top level (class bodies included, function bodies not)."""

    def __init__(self):
        self.binds, self.loads = set(), set()

    def visit_Name(self, node):
        (self.loads if isinstance(node.ctx, ast.Load) else self.binds).add(node.id)

    def visit_FunctionDef(self, node):
        self.binds.add(node.name)
        for d in node.decorator_list + node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
            self.visit(d)
        for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs:
            if a.annotation is not None:
                self.visit(a.annotation)
        if node.returns is not None:
            self.visit(node.returns)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        for d in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
            self.visit(d)

    def visit_ClassDef(self, node):
        self.binds.add(node.name)
        for n in node.bases + node.keywords + node.decorator_list:
            self.visit(n)
        inner = _TopLevel()
        for stmt in node.body:
            inner.visit(stmt)
        self.loads |= inner.loads  # a class body's own names are its attributes, not the module's

    def visit_Import(self, node):
        for a in node.names:
            self.binds.add(a.asname or a.name.split(".")[0])

    def visit_ImportFrom(self, node):
        for a in node.names:
            self.binds.add(a.asname or a.name)

    def visit_Global(self, node):
        self.binds.update(node.names)


def cell_facts(source: str) -> CellFacts:
    digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
    try:
        from autograder.worker import transform

        tree = ast.parse(transform(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return CellFacts(digest, frozenset(), frozenset(), False)
    top = _TopLevel()
    for stmt in tree.body:
        top.visit(stmt)
    pure = _pure_body(tree.body) and not any(n.startswith("__") for n in top.binds)  # e.g. __builtins__
    return CellFacts(digest, frozenset(top.binds), frozenset(top.loads), pure)


# ---- references and keys ------------------------------------------------------------------------------------

@dataclass
class Reference:
    """A traced run of a trusted notebook: its verdicts, and what each check and each cell read."""
    name: str
    assignment: str
    seed: int
    cell_reads: dict  # cell digest -> frozenset of names it read while running (None: it read everything)
    item_reads: dict  # item id -> frozenset of names its check read (None: not reusable)
    results: dict  # item id -> ItemResult
    keys: dict = field(default_factory=dict)  # item id -> key of the reference's own cells


def _program(cells) -> tuple[list[CellFacts], list[str]]:
    facts = [cell_facts(c.source) for c in cells]
    barrier = [f.digest if not f.pure or c.kind == "added" else None for f, c in zip(facts, cells)]
    return facts, [b for b in barrier if b]


def closure_key(reads, cell_reads: dict, facts: list[CellFacts], barrier: list[str]) -> str | None:
    """The key of one item's closure in a program (None: it cannot be computed from the reference)."""
    if reads is None:
        return None

    def binder(name: str, before: int) -> int | None:
        for k in range(before - 1, -1, -1):
            if name in facts[k].binds:
                return k
        return None

    entries, seen = set(), set()
    todo = [(n, len(facts), "check") for n in reads]
    while todo:
        name, before, who = todo.pop()
        k = binder(name, before)
        entries.add((who, name, facts[k].digest if k is not None else ""))
        if k is None or k in seen:
            continue
        seen.add(k)
        traced = cell_reads.get(facts[k].digest, _MISSING)
        if traced is _MISSING or traced is None:  # a cell the reference never ran, or that read everything
            return None
        todo += [(n, k, facts[k].digest) for n in traced | facts[k].loads]
    payload = repr((sorted(entries), barrier)).encode("utf-8", "surrogatepass")
    return hashlib.sha256(payload).hexdigest()


class Reuse:
    """The references of one grading session, and the lookups against them (thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.references: list[Reference] = []
        self.reused = 0  # items reused so far (for the benchmarks and the class summary)

    def add(self, reference: Reference, cells) -> None:
        facts, barrier = _program(cells)
        reference.keys = {i: closure_key(r, reference.cell_reads, facts, barrier)
                          for i, r in reference.item_reads.items()}
        with self._lock:
            self.references.append(reference)

    def lookup(self, assignment: str, seed: int, cells, item_ids) -> dict:
        """{item id: (ItemResult copy, reference name)} for the items whose closure equals a reference's."""
        with self._lock:
            refs = [r for r in self.references if r.assignment == assignment and r.seed == seed]
        if not refs:
            return {}
        facts, barrier = _program(cells)
        found = {}
        for item_id in item_ids:
            for ref in refs:
                want = ref.keys.get(item_id)
                if want is None or item_id not in ref.results:
                    continue
                if closure_key(ref.item_reads[item_id], ref.cell_reads, facts, barrier) == want:
                    found[item_id] = (copy.deepcopy(ref.results[item_id]), ref.name)
                    break
        with self._lock:
            self.reused += len(found)
        return found
