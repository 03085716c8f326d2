"""Grading beyond one machine: each submission a Ray task (`python -m autograder grade --executor ray --address A`).

A task gets the notebook's bytes (the nodes need not share a disk with the driver), grades it with the standalone
runner on its node (the node's sandbox: bubblewrap where it works there), and returns the result as plain JSON; the
driver writes every report, as with local threads, so resuming, the gradebook and the class report are the same.
A class with a GPU item (04's translation training) asks Ray for one GPU per task when the cluster has GPUs.
Verdict reuse (autograder.reuse) is local-only: under Ray every item is probed.

`address`: "local" starts a Ray instance on this machine with `jobs` CPUs for the run; anything else is the address
of a running cluster (`ray start --head` prints it), e.g. "10.0.0.5:6379" or "auto".
Ray is an optional extra: `pip install -e .[ray]` (the kit's requirements.lock pins it for the tests).
"""
from __future__ import annotations

import dataclasses
import socket
import tempfile
from concurrent.futures import Future
from pathlib import Path

from autograder.results import SubmissionResult


class RayUnavailable(RuntimeError):
    """Ray is not installed, or the cluster cannot be reached."""


def _grade_task(name: str, content: bytes | None, problem: str | None, assignment: str, student: str, seed: int,
                limits: dict, only) -> dict:
    """Runs on a Ray worker: the notebook's bytes into a private folder, graded there, the result as JSON."""
    from autograder.runner import Limits, grade_notebook

    with tempfile.TemporaryDirectory(prefix="seqlab-ray-") as tmp:
        path = Path(tmp) / name
        if content is not None:
            path.write_bytes(content)
        else:  # the driver could not read it: graded as a missing file, with the driver's reason in a note
            path = Path(tmp) / "missing" / name
        result = grade_notebook(path, assignment, student=student, seed=seed, limits=Limits(**limits), only=only)
        if problem:
            result.notes.insert(0, problem)
        return result.to_json()


def _reachable(address: str, timeout: float = 10.0) -> None:
    """Refuse at once an address nothing listens on (Ray itself retries for minutes)."""
    if address in ("local", "auto") or address.startswith("ray://"):
        return
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            pass
    except (OSError, ValueError) as exc:
        raise RayUnavailable(f"cannot start or reach the Ray cluster at {address!r}: {exc}") from None


class RayPool:
    """A concurrent.futures-style pool whose `submit` grades one submission as a Ray task."""

    def __init__(self, address: str, jobs: int, needs_gpu: bool = False):
        try:
            import ray
        except ImportError:
            raise RayUnavailable("Ray is not installed: pip install -e '.[ray]' (or grade without --executor ray)") from None
        self.ray = ray
        self.started = False
        kwargs = dict(include_dashboard=False, log_to_driver=False, configure_logging=False,
                      runtime_env={"env_vars": {"RAY_DEDUP_LOGS": "0"}})
        _reachable(address)
        try:
            if address == "local":
                ray.init(num_cpus=max(1, jobs), object_store_memory=256 << 20, **kwargs)
            else:
                ray.init(address=address, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any failure to reach the cluster is the instructor's to fix
            raise RayUnavailable(f"cannot start or reach the Ray cluster at {address!r}: {type(exc).__name__}: {exc}") from None
        self.started = True
        gpus = ray.cluster_resources().get("GPU", 0)
        self.task = ray.remote(_grade_task).options(num_cpus=1, num_gpus=1 if needs_gpu and gpus > 0 else 0,
                                                    max_retries=1)
        self.gpu = needs_gpu and gpus > 0

    def submit(self, student: str, path: Path, assignment: str, seed: int, limits, only) -> Future:
        try:
            content, problem = Path(path).read_bytes(), None
        except OSError as exc:
            content, problem = None, f"cannot read {Path(path).name}: {exc.strerror or exc}"
        ref = self.task.remote(Path(path).name, content, problem, assignment, student, seed,
                               dataclasses.asdict(limits), only)
        outer: Future = Future()

        def done(inner):
            try:
                data = inner.result()
                result = SubmissionResult.from_json(data)
                result.path = str(path)
                outer.set_result(result)
            except BaseException as exc:  # noqa: BLE001 - the caller turns it into "not graded"
                outer.set_exception(exc)

        ref.future().add_done_callback(done)
        return outer

    def shutdown(self) -> None:
        if self.started:
            self.ray.shutdown()
            self.started = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()


def node_count() -> int:
    import ray

    return sum(1 for n in ray.nodes() if n.get("Alive"))


__all__ = ["RayPool", "RayUnavailable", "node_count"]
