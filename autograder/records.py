"""Typed probe records: what a probe may return, declared per item and checked before judging.

A probe (student side) returns a record: `data` (key -> value) and `errors` (step -> message). Each
item declares its record as {key pattern: kind}; patterns may use `*` (fnmatch). The probe refuses to
put an undeclared key (a grader bug, caught by the kit's tests). The parent validates what comes back
from the student's process before a judge sees it: a value of the wrong kind, an oversized array or
an undeclared key is dropped and recorded as the submission's error for that key, never a crash.

The transport is an `.npz` (arrays, no pickles) plus a JSON file (plain values and errors).
"""
from __future__ import annotations

import fnmatch
import json
import os
import math
import zipfile

import numpy as np

ARRAY = "array"  # a finite-or-not numeric ndarray (float64 in the judge)
SHAPE = "shape"  # list of int | None
SHAPES = "shapes"  # list of shapes
INT, INTS = "int", "ints"
FLOAT = "float"
BOOL, BOOLS = "bool", "bools"
STR, STRS = "str", "strs"
KINDS = (ARRAY, SHAPE, SHAPES, INT, INTS, FLOAT, BOOL, BOOLS, STR, STRS)

MAX_ARRAY_ELEMENTS = 2_000_000  # 16 MB of float64 per array
MAX_ITEMS = 256  # longest list of plain values (a 2-layer Transformer has 88 weight names)
MAX_STR = 2000


class RecordError(ValueError):
    """A record (or the files carrying it) is malformed."""


def kind_of(schema: dict[str, str], key: str) -> str | None:
    if key in schema:
        return schema[key]
    for pattern, kind in schema.items():
        if "*" in pattern and fnmatch.fnmatchcase(key, pattern):
            return kind
    return None


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _shape_ok(v) -> bool:
    return isinstance(v, list) and len(v) <= 8 and all(d is None or (_is_int(d) and d >= 0) for d in v)


_PLAIN = {
    INT: _is_int,
    FLOAT: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(float(v)),
    BOOL: lambda v: isinstance(v, bool),
    STR: lambda v: isinstance(v, str) and len(v) <= MAX_STR,
    SHAPE: _shape_ok,
}


def check_value(kind: str, value) -> str | None:
    """None if `value` is a valid `kind`, else why not."""
    if kind == ARRAY:
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
            return "expected a numeric array"
        if value.size > MAX_ARRAY_ELEMENTS:
            return f"array too large ({value.size} elements)"
        return None
    if kind in (INTS, BOOLS, STRS, SHAPES):
        element = {INTS: INT, BOOLS: BOOL, STRS: STR, SHAPES: SHAPE}[kind]
        if not isinstance(value, list) or len(value) > MAX_ITEMS:
            return f"expected a list of {element}"
        return None if all(_PLAIN[element](v) for v in value) else f"expected a list of {element}"
    return None if _PLAIN[kind](value) else f"expected {kind}"


def plain(value):
    """JSON-friendly form of tuples and NumPy scalars (shapes come as tuples)."""
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def validate(record: dict, schema: dict[str, str]) -> dict:
    """Keep the well-formed, declared values of a record; everything else becomes an error entry."""
    data, errors = {}, {}
    raw_errors = record.get("errors", {})
    if isinstance(raw_errors, dict):
        errors = {str(k)[:200]: str(v)[:MAX_STR] for k, v in list(raw_errors.items())[:500]}
    for key, value in record.get("data", {}).items():
        kind = kind_of(schema, key)
        problem = "not a declared output" if kind is None else check_value(kind, value)
        if problem:
            errors.setdefault(key, f"the check's output `{key}` is malformed ({problem})")
        else:
            data[key] = value
    return {"data": data, "errors": errors}


# ---- transport: record <-> files ------------------------------------------------------------------

def dump(record: dict, npz_path, json_path) -> None:
    arrays = {k: v for k, v in record["data"].items() if isinstance(v, np.ndarray)}
    values = {k: v for k, v in record["data"].items() if not isinstance(v, np.ndarray)}
    names = sorted(arrays)
    np.savez(npz_path, **{f"a{i}": arrays[k] for i, k in enumerate(names)})
    with open(json_path, "w", encoding="utf-8") as fh:
        json.dump({"plain": values, "errors": record["errors"], "arrays": names}, fh)


JSON_BYTES = 16 << 20  # a probe's plain values and messages
MAX_ARRAYS = 4096


def _check_npz(npz_path, n: int, max_bytes: int) -> None:
    """Refuse, before inflating anything, an archive whose members (by the zip directory and by each .npy header)
    add up past `max_bytes`, or that holds members `dump` never writes: the worker's files are hostile data."""
    import numpy.lib.format as npy

    expected = {f"a{i}.npy" for i in range(n)}
    total = 0
    with zipfile.ZipFile(npz_path) as zf:
        infos = zf.infolist()
        if sum(info.file_size for info in infos) > max_bytes:
            raise RecordError("probe output too large")
        if {i.filename for i in infos} != expected:
            raise RecordError("the probe output's arrays do not match its metadata")
        for info in infos:
            with zf.open(info) as fh:
                version = npy.read_magic(fh)
                if version not in ((1, 0), (2, 0)):
                    raise RecordError(f"unexpected .npy format {version}")
                read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
                shape, _, dtype = read(fh)
            if dtype.hasobject:
                raise RecordError("object arrays are not allowed in the probe output")
            count = 1
            for d in shape:
                count *= int(d)
            total += count * dtype.itemsize
            if total > max_bytes:
                raise RecordError("probe output too large")


def load(npz_path, json_path, max_bytes: int = 256 << 20) -> dict:
    """Read a record written by `dump`; RecordError on anything malformed or oversized."""
    try:
        if os.path.getsize(json_path) > JSON_BYTES:
            raise RecordError("probe metadata too large")
        with open(json_path, encoding="utf-8") as fh:
            meta = json.loads(fh.read())
        if not (isinstance(meta, dict) and isinstance(meta.get("plain"), dict)
                and isinstance(meta.get("errors"), dict) and isinstance(meta.get("arrays"), list)):
            raise RecordError("malformed probe metadata")
        data = dict(meta["plain"])
        if len(meta["arrays"]) > MAX_ARRAYS:
            raise RecordError("too many arrays in the probe output")
        _check_npz(npz_path, len(meta["arrays"]), max_bytes)
        with np.load(npz_path, allow_pickle=False) as npz:
            for i, key in enumerate(meta["arrays"]):
                data[str(key)] = np.asarray(npz[f"a{i}"])
    except RecordError:
        raise
    except Exception as exc:  # broken JSON, a truncated zip, pickled objects, missing members
        raise RecordError(f"{type(exc).__name__}: {str(exc)[:200]}") from None
    return {"data": data, "errors": meta["errors"]}
