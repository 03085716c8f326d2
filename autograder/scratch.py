"""From scratch means from scratch: detect refused Keras built-ins at run time, in the probe process.

`with watch(refused) as w: ...` then `w.used`. Classes get (once per process) `__new__` and `call` wrappers
(`__new__`, not `__init__`: it catches subclasses that skip super().__init__; Keras reads `__init__`'s
argspec). An instance counts when its class is not Keras's own (the student subclassed it); never under a
parent's name when it is a Keras subclass (`LSTM` is an `RNN`); an exact instance unless Keras made it
inside another built-in (the `LSTMCell` that `LSTM` builds): between the nearest non-library frame (student
or grader) and the wrapper, a library frame runs a method of another genuine Keras layer. That provenance is
taken at creation (`prepare` the names before the student's code runs), else from the stack at call time.
Functions are matched by code object with sys/threading.setprofile while a watch refusing a function is
active, so aliases bound earlier count, and so does the backend function a `keras.ops` function delegates
to; calls from inside a genuine Keras layer (`MultiHeadAttention`) do not. Watches nest; the stack is
process-wide so threads the student starts count. A use is recorded only in the innermost active watch,
if it refuses it. One watch at a time per process; the grader builds its oracles outside the watch.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import os
import sys
import sysconfig
import threading
import weakref
from typing import Iterable

import keras

_STACK: list["Watch"] = []  # active watches, innermost last; process-wide
_LOCK = threading.RLock()
_RESOLVED: dict[str, object] = {}  # dotted name -> the class patched / the function registered
_CODES: dict[int, tuple] = {}  # id(code) -> (dotted name, code, the function objects)
_PROFILING = [0, None, None]  # function-watch depth, saved sys and threading profile functions
_INTERNAL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # exact instance -> made by Keras
_GENUINE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # class -> defined by Keras itself
_KERAS_DIR = os.path.dirname(os.path.abspath(keras.__file__)) + os.sep
_LIB_DIRS = tuple({d for k, p in sysconfig.get_paths().items() if k in ("stdlib", "platstdlib", "purelib", "platlib")
                   for d in (p + os.sep, os.path.realpath(p) + os.sep)} | {_KERAS_DIR, "<frozen "})
_LIB: dict[str, bool] = {__file__: True}  # filename -> library code (not the student's or the grader's)


class Watch:
    """What one `watch` saw: `.used` is the sorted list of refused names used while it was innermost."""

    def __init__(self, refused: Iterable[str]):
        self.refused, self._used = frozenset(refused), set()

    @property
    def used(self) -> list[str]:
        return sorted(self._used)


def _record(name: str) -> None:
    if (w := _STACK[-1] if _STACK else None) is not None and name in w.refused:
        w._used.add(name)


def _library(filename: str) -> bool:
    return _LIB[filename] if filename in _LIB else _LIB.setdefault(filename, filename.startswith(_LIB_DIRS))


def _genuine(cls: type) -> bool:
    """True for a class Keras itself defines (not a student class that borrows a Keras __module__)."""
    known = _GENUINE.get(cls)
    if known is None:
        module = found = sys.modules.get(cls.__module__)
        for part in cls.__qualname__.split("."):
            found = getattr(found, part, None)
        filename = os.path.abspath(getattr(module, "__file__", None) or "/")
        known = _GENUINE[cls] = found is cls and filename.startswith(_KERAS_DIR)
    return known


def _internal(frame, obj, lent=()) -> bool:
    """True when the nearest non-library caller reaches `frame` only through another genuine Keras layer
    (one that was not handed a refused function `lent`, as `keras.layers.Lambda(fn)` is)."""
    while frame is not None and _library(frame.f_code.co_filename):
        owner = frame.f_locals.get("self")
        if owner is not obj and isinstance(owner, keras.layers.Layer) and _genuine(type(owner)) and \
                not any(v is f for v in vars(owner).values() for f in lent):
            return True
        frame = frame.f_back
    return False


def _counts(cls: type, obj, frame) -> bool:
    kind = type(obj)
    if not _genuine(kind):
        return True  # the student's subclass
    if kind is not cls:
        return False  # Keras's own subclass, counted under its own name
    internal = _INTERNAL.get(obj)
    return not (_internal(frame, obj) if internal is None else internal)


def _patch_class(name: str, cls: type) -> None:
    if cls.__dict__.get("__scratch_name__") == name:
        return
    original_new, original_call = cls.__new__, cls.call

    def __new__(klass, *args, **kwargs):
        obj = original_new(klass) if original_new is object.__new__ else original_new(klass, *args, **kwargs)
        if klass is cls:
            with contextlib.suppress(TypeError):  # unhashable: provenance from the stack at call time
                _INTERNAL[obj] = _internal(sys._getframe(1), obj)
        if _STACK and _counts(cls, obj, sys._getframe(1)):
            _record(name)
        return obj

    @functools.wraps(original_call)
    def call(self, *args, **kwargs):
        if _STACK and _counts(cls, self, sys._getframe(1)):
            _record(name)
        return original_call(self, *args, **kwargs)

    del call.__wrapped__  # no one-attribute way around the wrapper; Keras reads the signature instead
    call.__signature__ = inspect.signature(original_call)
    cls.__new__, cls.call, cls.__scratch_name__ = staticmethod(__new__), call, name


def _register_function(name: str, fn) -> None:
    found, module = [fn, inspect.unwrap(fn)], getattr(fn, "__module__", "") or ""
    if module.startswith("keras.src.ops."):  # a thin public wrapper: also the backend function it calls
        backend = getattr(importlib.import_module("keras.src.backend"), module.rsplit(".", 1)[1], None)
        found.append(inspect.unwrap(getattr(backend, fn.__name__, None) or fn))
    for f in found[1:]:
        _CODES[id(f.__code__)] = (name, f.__code__, tuple(found))  # keeps the code objects alive


def _resolve(name: str):
    return getattr(importlib.import_module(name.rpartition(".")[0]), name.rpartition(".")[2])


def prepare(refused: Iterable[str]) -> bool:
    """Patch the refused classes, register the functions (idempotent); True when one is a function."""
    refused = list(refused)
    with _LOCK:
        for name in refused:
            if name not in _RESOLVED:
                target = _RESOLVED[name] = _resolve(name)
                (_patch_class if isinstance(target, type) else _register_function)(name, target)
    return any(not isinstance(_RESOLVED[n], type) for n in refused)


def _profile(frame, event, arg):
    if event == "call" and id(frame.f_code) in _CODES:
        name, _, lent = _CODES[id(frame.f_code)]
        if not _internal(frame.f_back, None, lent):
            _record(name)
    elif not _PROFILING[0]:
        sys.setprofile(None)  # a thread the student started in the watch outlived it


def _profiling(on: bool) -> None:
    with _LOCK:
        _PROFILING[0] += 1 if on else -1
        if on and _PROFILING[0] == 1:
            _PROFILING[1:] = [sys.getprofile(), threading.getprofile()]
            sys.setprofile(_profile)
            threading.setprofile(_profile)
        elif not on and _PROFILING[0] == 0:
            sys.setprofile(_PROFILING[1])
            threading.setprofile(_PROFILING[2])


@contextlib.contextmanager
def watch(refused: Iterable[str]):
    """Record the refused built-ins used in the context: yields a `Watch` (see the module docstring)."""
    w = Watch(refused)
    functions = prepare(w.refused)
    with _LOCK:
        _STACK.append(w)
    if functions:
        _profiling(True)
    try:
        yield w
    finally:
        if functions:
            _profiling(False)
        with _LOCK:
            _STACK.remove(w)


def used_so_far() -> list[str]:
    """The refused names the innermost watch has seen so far ([] outside a watch): a probe can stop early, since an
    item that used a refused built-in scores 0 whatever it computes."""
    with _LOCK:
        return _STACK[-1].used if _STACK else []


@contextlib.contextmanager
def functions_unwatched():
    """Suspend the function watch (the profile hook) in this thread for the duration; the class wrappers stay.

    For long runs of code that already ran once under the watch: the grader's training loop over a model whose
    `call` it ran before in both modes (training and inference). The profile hook costs on every Python call:
    measured on JAX, 2.8 ms more Python per training step (7.6 against 4.8 ms for a tiny model) and about a
    quarter more time to trace each new shape."""
    with _LOCK:
        saved = sys.getprofile()
        if saved is _profile:
            sys.setprofile(None)
    try:
        yield
    finally:
        with _LOCK:
            if saved is _profile and _PROFILING[0]:
                sys.setprofile(_profile)


def hierarchy(cls: type, refused: Iterable[str]) -> list[str]:
    """The refused class names in `cls.__mro__` (a student class defined by subclassing a built-in)."""
    targets = {name: _RESOLVED.get(name) or _resolve(name) for name in refused}
    return sorted(name for name, target in targets.items() if isinstance(target, type) and target in cls.__mro__)


def describe(used: Iterable[str], item_title: str, allowed: Iterable[str] = ()) -> str:
    """A student-facing reason for refusing an item that uses refused built-ins."""
    used, allowed = sorted(used), sorted(allowed)
    parts = [f"{n} (subclassed, wrapped, composed or called)" if n.rsplit(".", 1)[-1][:1].isupper()
             else f"{n} (called, directly or through an alias)" for n in used]
    text = (f"{item_title} must be written from scratch with keras.ops: your code uses {', '.join(parts)}, "
            f"which {'is' if len(used) == 1 else 'are'} not allowed here.")
    return text + (f" Built-ins you may use in {item_title}: {', '.join(allowed)}." if allowed else "")
