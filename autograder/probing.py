"""The student side of a check: run the student's code on grader-chosen inputs, collect plain data.

A probe only *collects* values of the kinds its item declares (see `records`). It never decides a
score and never imports oracles or judges, so a submission can change a verdict only by producing
different numbers.
"""
from __future__ import annotations

import contextlib
import functools
import traceback
import warnings

import numpy as np

from autograder import records
from autograder.records import dump, load  # noqa: F401  (the transport of probe records)


class MissingName(Exception):
    """The submission does not define a name the item needs."""


class GraderBug(Exception):
    """A probe broke its own declaration (an undeclared key): the grader's fault, never the student's."""


def describe_exception(exc: BaseException) -> str:
    """A short, student-facing description: type, message and the last line of the student's code."""
    where = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith("<cell") or "ipykernel" in frame.filename or frame.filename.startswith("/tmp/ipykernel"):
            where = f" (in your code, {frame.filename.strip('<>')} line {frame.lineno}: {(frame.line or '').strip()[:120]})"
            break
    text = str(exc).strip()
    if text.startswith("Exception encountered when calling") and "\x1b[1m" in text:
        # Keras wraps errors raised inside call(): keep the original message between the bold markers
        text = text.split("\x1b[1m", 1)[1].split("\x1b[0m", 1)[0].strip()
    msg = [line.strip() for line in text.splitlines() if line.strip()]
    first = msg[0][:300] if msg else ""
    if first.endswith(":") and len(msg) > 1:  # "... could not be loaded. Example error message ...:" + the cause
        first = f"{first} {msg[1][:300]}"
    if isinstance(exc, NotImplementedError) and not first:
        return "NotImplementedError: this part is not implemented yet"
    return f"{type(exc).__name__}: {first}{where}"


def to_numpy(value) -> np.ndarray:
    """A backend tensor (or nested list) as a float64 NumPy array."""
    import keras

    if not isinstance(value, np.ndarray):
        value = keras.ops.convert_to_numpy(value)
    return np.asarray(value, dtype=np.float64)


def quiet(probe_fn):
    """Decorator: silence every warning raised while a probe runs. Keras warns (to stderr) when a layer without
    supports_masking gets `mask=`, when a composite layer without build() is built by a functional model, and
    when a weight gets no gradient (a faulty layer); a graded cell must not write to stderr (nbgrader), and a
    probe's only output is its record."""
    @functools.wraps(probe_fn)
    def run(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return probe_fn(*args, **kwargs)

    return run


def put_outputs(probe, key: str, outs, n: int = 4) -> None:
    """Record a layer's outputs (one tensor or a tuple) as `key/n` (how many) and `key/0` ... `key/{n-1}`."""
    outs = as_list(outs)
    probe.put(f"{key}/n", len(outs))
    for i, o in enumerate(outs[:n]):
        probe.put(f"{key}/{i}", o)


def weight_path(variable) -> str:
    """A readable, unique name of a sub-layer's weight: its path without the outer layer's name."""
    path = str(getattr(variable, "path", variable.name))
    return path.split("/", 1)[1] if "/" in path else path


def as_list(states) -> list:
    return list(states) if isinstance(states, (list, tuple)) else [states]


def shape_of(value) -> list[int | None]:
    return [None if d is None else int(d) for d in tuple(value.shape)]


class Probe:
    """Collects the declared values and the errors of one item's probe, step by step."""

    def __init__(self, namespace: dict, schema: dict[str, str]):
        self.ns = namespace
        self.schema = schema
        self.data: dict = {}
        self.errors: dict[str, str] = {}

    def need(self, name: str):
        if name not in self.ns:
            raise MissingName(f"`{name}` is not defined: run (or restore) the cell that defines it")
        return self.ns[name]

    @contextlib.contextmanager
    def step(self, key: str):
        """Run a step; an exception from the student's code is recorded under `key` and the probe goes on."""
        try:
            yield
        except GraderBug:
            raise
        except MissingName as exc:
            self.errors[key] = str(exc)
        except (KeyboardInterrupt, SystemExit) as exc:
            self.errors[key] = f"{type(exc).__name__} raised while running your code"
        except Exception as exc:  # student code may raise anything
            self.errors[key] = describe_exception(exc)

    def failed(self, key: str) -> bool:
        return key in self.errors

    def put(self, key: str, value) -> None:
        kind = records.kind_of(self.schema, key)
        if kind is None:
            raise GraderBug(f"probe output {key!r} is not declared in the item's record")
        value = to_numpy(value) if kind == records.ARRAY else records.plain(value)
        problem = records.check_value(kind, value)
        if problem:  # e.g. a state_size that is not a list of ints: the submission's output, not a crash
            self.errors[key] = f"your code produced a malformed `{key}` ({problem})"
        else:
            self.data[key] = value

    def result(self) -> dict:
        return {"data": self.data, "errors": self.errors}
