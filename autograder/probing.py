"""Helpers for probes: the half of a check that runs the student's code.

A probe only *collects* plain data: arrays, numbers, strings. It never decides a score, and it
never imports the oracles, so nothing a submission does in its own process can change a verdict
other than by producing different numbers.
"""
from __future__ import annotations

import contextlib
import traceback

import numpy as np


class MissingName(Exception):
    """The submission does not define a name the item needs."""


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
    msg = text.splitlines()
    first = msg[0][:300] if msg else ""
    if isinstance(exc, NotImplementedError) and not first:
        return "NotImplementedError: this part is not implemented yet"
    return f"{type(exc).__name__}: {first}{where}"


def to_numpy(value) -> np.ndarray:
    """Convert a backend tensor (or nested list) to a float NumPy array."""
    import keras

    return np.asarray(keras.ops.convert_to_numpy(value))


class Probe:
    """Collects data and errors for one item, step by step."""

    def __init__(self, namespace: dict):
        self.ns = namespace
        self.data: dict = {}
        self.errors: dict[str, str] = {}

    def need(self, name: str):
        if name not in self.ns:
            raise MissingName(f"`{name}` is not defined: run (or restore) the cell that defines it")
        return self.ns[name]

    @contextlib.contextmanager
    def step(self, key: str):
        """Run a step; an exception is recorded under `key` and the probe goes on."""
        try:
            yield
        except MissingName as exc:
            self.errors[key] = str(exc)
        except (KeyboardInterrupt, SystemExit) as exc:
            self.errors[key] = f"{type(exc).__name__} raised while running your code"
        except Exception as exc:  # student code may raise anything
            self.errors[key] = describe_exception(exc)

    def put(self, key: str, value) -> None:
        if isinstance(value, (bool, int, float, str)) or value is None:
            self.data[key] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, (bool, int, float, str)) or v is None for v in value):
            self.data[key] = list(value)
        else:
            self.data[key] = to_numpy(value).astype(np.float64) if not isinstance(value, np.ndarray) else value

    def result(self) -> dict:
        return {"data": self.data, "errors": self.errors}


def as_list(states) -> list:
    return list(states) if isinstance(states, (list, tuple)) else [states]


def shape_of(value) -> list[int | None]:
    return [None if d is None else int(d) for d in tuple(value.shape)]


# ---- transport: probe result <-> files (npz for arrays, JSON for the rest) -------------------------

def dump(result: dict, npz_path, json_path) -> None:
    import json

    arrays = {k: v for k, v in result["data"].items() if isinstance(v, np.ndarray)}
    plain = {k: v for k, v in result["data"].items() if not isinstance(v, np.ndarray)}
    np.savez(npz_path, **{k.replace("/", "__"): v for k, v in arrays.items()})
    with open(json_path, "w", encoding="utf-8") as fh:
        json.dump({"plain": plain, "errors": result["errors"], "arrays": sorted(arrays)}, fh)


def load(npz_path, json_path) -> dict:
    """Read a probe result written by `dump`; raises ValueError on anything malformed."""
    import json

    with open(json_path, encoding="utf-8") as fh:
        meta = json.load(fh)
    if not isinstance(meta, dict) or not isinstance(meta.get("plain"), dict) or not isinstance(meta.get("errors"), dict):
        raise ValueError("malformed probe metadata")
    data = dict(meta["plain"])
    with np.load(npz_path, allow_pickle=False) as npz:
        for key in meta.get("arrays", []):
            arr = npz[key.replace("/", "__")]
            if arr.dtype == object:
                raise ValueError("object arrays are not accepted")
            data[key] = arr
    errors = {str(k): str(v)[:2000] for k, v in meta["errors"].items()}
    return {"data": data, "errors": errors}
