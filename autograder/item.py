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

    @property
    def id(self) -> str:
        return f"{self.assignment}/{self.grade_id}"

    @property
    def points(self) -> float:
        return round(sum(p for _, p in self.checks), 4)

    @property
    def schema(self) -> dict[str, str]:
        return {**self.record, SCRATCH_KEY: records.STRS}

    def _function(self, module: str, name: str):
        return getattr(importlib.import_module(f"autograder.assignments.{self.assignment}.{module}"), name)

    def probe(self, namespace: dict, seed: int) -> dict:
        """Run in the student's process: the item's probe, watched for refused built-ins."""
        from autograder.probing import Probe

        probe = Probe(namespace, self.schema)
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
        used = judge.value(SCRATCH_KEY) or []
        if used:
            from autograder import scratch

            judge.fail_rest(scratch.describe(used, self.title, allowed=self.allows))
        else:
            self._function("judges", self.judge_fn)(judge, seed, **self.params)
        return judge.finish()
