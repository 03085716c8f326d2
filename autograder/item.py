"""A graded item, declared: what it is worth, per sub-check, and which probe and judge check it.

Items are plain declarations in `autograder/assignments/<id>/items.py`. The probe and judge functions
are named, not imported, so the student's process loads `<id>.probes` only and the grading process
loads `<id>.judges`; neither imports the other.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from autograder import records

SCRATCH_KEY = "scratch/used"
DEFAULT_BACKEND = "tensorflow"  # the Keras backend the kit (and the student's notebook) runs on


@dataclass(frozen=True)
class Item:
    assignment: str
    grade_id: str
    title: str
    checks: tuple[tuple[str, float], ...]  # (sub-check, points) in report order: the only place points live
    needs: tuple[str, ...]  # names the submission must define
    probe_fn: str  # function in autograder.assignments.<id>.probes: f(probe, seed, **params)
    judge_fn: str  # function in autograder.assignments.<id>.judges: f(judge, seed, **params)
    record: dict = field(default_factory=dict, hash=False)  # declared probe record {key pattern: kind}
    params: dict = field(default_factory=dict, hash=False)
    refuses: tuple[str, ...] = ()  # built-ins that do what the student must write
    allows: tuple[str, ...] = ()  # built-ins the notebook allows inside this item (said in feedback)
    timeout_s: float = 60.0  # wall-clock budget of the probe
    memory_mb: int = 2048  # resident memory the probe may use (the runner's --memory-mb still caps it)
    device: str = "cpu"  # "cpu", or "gpu" when a GPU profile exists
    trains: bool = False  # a calibrated training run (tens of seconds); the kit's tests grade it on a subset
    # other Keras backends the probe also runs on, each in its own process: the judge gets one record per
    # backend, its keys prefixed "<backend>/" (DEFAULT_BACKEND's too), and compares them
    backends: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.assignment}/{self.grade_id}"

    @property
    def points(self) -> float:
        return round(sum(p for _, p in self.checks), 4)

    @property
    def slow(self) -> bool:
        """A training run or another backend's process: the kit's tests grade it on a subset of the mutants."""
        return self.trains or bool(self.backends)

    @property
    def all_backends(self) -> tuple[str, ...]:
        return (DEFAULT_BACKEND, *self.backends)

    @property
    def probe_schema(self) -> dict[str, str]:
        """What one probe run (on one backend) writes."""
        return {**self.record, SCRATCH_KEY: records.STRS}

    @property
    def schema(self) -> dict[str, str]:
        """What the judge reads: the probe's record, or one prefixed copy per backend (see `merge_backends`)."""
        if not self.backends:
            return self.probe_schema
        return {f"{b}/{k}": kind for b in self.all_backends for k, kind in self.probe_schema.items()}

    def merge_backends(self, by_backend: dict[str, dict]) -> dict:
        """One record from the probe records of each backend ({backend: record}); a backend with no record
        (its process failed) is an error entry `<backend>/probe`."""
        data, errors = {}, {}
        for backend in self.all_backends:
            record = by_backend.get(backend)
            if not isinstance(record, dict):
                errors[f"{backend}/probe"] = str(record or "no result came back")
                continue
            data.update({f"{backend}/{k}": v for k, v in record.get("data", {}).items()})
            errors.update({f"{backend}/{k}": v for k, v in record.get("errors", {}).items()})
        return {"data": data, "errors": errors}

    def _function(self, module: str, name: str):
        return getattr(importlib.import_module(f"autograder.assignments.{self.assignment}.{module}"), name)

    def probe(self, namespace: dict, seed: int) -> dict:
        """Run in the student's process: the item's probe, watched for refused built-ins."""
        from autograder.probing import Probe

        probe = Probe(namespace, self.probe_schema)
        used: list[str] = []
        if self.refuses:
            from autograder import scratch

            with scratch.watch(self.refuses) as watch:
                self._function("probes", self.probe_fn)(probe, seed, **self.params)
            used = sorted(set(watch.used) | {n for name in self.needs if isinstance(namespace.get(name), type)
                                             for n in scratch.hierarchy(namespace[name], self.refuses)})
        else:
            self._function("probes", self.probe_fn)(probe, seed, **self.params)
        probe.put(SCRATCH_KEY, used)
        return probe.result()

    def judge(self, record: dict, seed: int):
        """Run in the grading process: validate the record, apply the from-scratch rule, judge."""
        from autograder.checks.credit import Judge

        record = records.validate(record, self.schema)
        judge = Judge(dict(self.checks), record)
        keys = [f"{b}/{SCRATCH_KEY}" for b in self.all_backends] if self.backends else [SCRATCH_KEY]
        used = sorted({name for key in keys for name in judge.value(key) or []})
        if used:
            from autograder import scratch

            judge.fail_rest(scratch.describe(used, self.title, allowed=self.allows))
        else:
            self._function("judges", self.judge_fn)(judge, seed, **self.params)
        return judge.finish()
