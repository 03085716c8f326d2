"""The standalone runner: one fresh, limited process per submission; the parent judges.

For each submission the runner executes the setup and solution cells and the probes in a worker
process (`autograder.worker`), inside a sandbox (`autograder.sandbox`: bubblewrap where it works), with
the runner's own clocks (per cell, per item, and a hard budget per submission; the worker only announces
its steps on a pipe), an address-space limit, a resident memory and process-count watchdog and a cap on
what it may write. Everything the worker leaves on disk is read as hostile data. Whatever happens there (an exception, sys.exit,
os._exit, an infinite loop, a memory bomb, a flood of output) becomes a score with a reason, and
the items already probed keep their points: after a timeout or crash inside one item's check, a
fresh worker grades the items after it. The cells run are `notebook.grading_program`'s: the master's
setup cells, the answer cells and the code cells the student added, each with its own time budget.

Submissions may be graded in threads (`cli.grade_class`). A thread holds `notebook.GRADING_LOCK`
for all its Python work (reading and parsing the notebook, building the program, loading probe
data, judging) and releases it only while it waits for its worker process: CPython 3.11 cannot build
ASTs in two threads at once (see GRADING_LOCK). A judge that raises all the same is retried once;
if it raises again the item is NOT GRADED (`ItemResult.internal_error`), never scored 0.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from autograder import notebook, probing, sandbox, warm
from autograder.notebook import GRADING_LOCK
from autograder.item import DEFAULT_BACKEND
from autograder.registry import DEFAULT_SEED, Item, item_seed, items as registry_items
from autograder.results import ItemResult, SubmissionResult
from autograder.reuse import TRACE_FILE, Reference, Reuse, cell_facts

JUDGE_ATTEMPTS = 2  # a judge that raises is retried once before its item is reported as not graded


@dataclass
class Limits:
    setup_timeout_s: float = 120.0  # start-up (imports), and each cell of the submission
    item_timeout_scale: float = 1.0  # multiplies each item's own timeout_s
    memory_mb: int = 3072  # resident memory watchdog for the worker
    address_space_mb: int = 12288  # hard RLIMIT_AS (TensorFlow maps ~3 GB of address space at start)
    output_mb: int = 20  # largest file the worker may write (its captured stdout/stderr included)
    threads: int = 1  # intra-op threads per worker (parallel workers share the cores)
    sandbox: str = "auto"  # autograder.sandbox: bwrap where it works, else process
    budget_s: float | None = None  # hard wall-clock budget of one submission, all workers together (None: budget())
    processes: int = 64  # processes a worker may run at once (the watchdog's count)
    tmp_mb: int = 1024  # the sandbox's private /tmp
    done_grace_s: float = 5.0  # a worker that says it is done gets this long to exit, then it is killed
    warm: bool = True  # fork each job from a warm worker that has imported Keras once (autograder.warm)

    def budget(self, items: list[Item]) -> float:
        """The submission's hard budget: the start-up and all cells together get one setup timeout, and every item
        its own timeout on every backend it runs on. A submission that sleeps just under every per-step limit
        cannot hold the class for longer than this."""
        if self.budget_s is not None:
            return self.budget_s
        return self.setup_timeout_s + sum(i.timeout_s * len(i.all_backends) for i in items) * self.item_timeout_scale


STATUS_BYTES = 4096  # a status line is a few dozen bytes; anything bigger is not the worker's protocol
CELLS_BYTES = 1 << 20  # cells.json: one short message per cell


def _read_json(path: Path, limit: int = STATUS_BYTES) -> dict:
    """A small JSON object the worker wrote, or {} (missing, oversized, malformed: the worker is hostile data)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(limit + 1)
        value = json.loads(raw.decode("utf-8")) if len(raw) <= limit else {}
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _kill(proc: subprocess.Popen, seen: dict[int, float] | None = None) -> None:
    """Kill the worker, its process group and every process seen in its tree (a child that started a new session
    included); under bwrap the PID namespace dies with its first process."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    warm.kill_pids(seen or {})
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def _tree(proc: subprocess.Popen, seen: dict[int, float]) -> tuple[float, int]:
    """(resident MB, processes) of the worker's tree; remembers every process seen, to kill it at the end."""
    try:
        root = psutil.Process(proc.pid)
        procs = [root] + root.children(recursive=True)
    except psutil.Error:
        return 0.0, 0
    rss = 0
    for p in procs:
        try:
            seen.setdefault(p.pid, p.create_time())
            rss += p.memory_info().rss
        except psutil.Error:
            pass
    return rss / 2**20, len(procs)


def _worker_env(limits: Limits, backend: str = DEFAULT_BACKEND) -> dict:
    keep = ("PATH", "LANG", "LC_ALL", "TZ", "CUDA_VISIBLE_DEVICES", "XLA_FLAGS", "TF_CPP_MIN_LOG_LEVEL")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update({
        "SEQLAB_GRADING": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": str(limits.threads),
        "TF_NUM_INTRAOP_THREADS": str(limits.threads),
        "TF_NUM_INTEROP_THREADS": str(limits.threads),
        "PYTHONUNBUFFERED": "1",
        "KERAS_BACKEND": backend,
        "JAX_PLATFORMS": "cpu",  # another backend's check is about the code, not the device
    })
    return env


def _run_worker(job_dir: Path, cells, batch: list[Item], first_index: int, seed: int, limits: Limits,
                backend: str = DEFAULT_BACKEND, trace: bool = False, deadline: float = float("inf")):
    """Run one worker over `batch`. Returns (outcome, phase, where, detail) once it ends or is stopped.

    Every clock is the runner's own: the worker's status pipe only says which step it has reached, and a step
    counts only when it is ahead of the last one seen (cells in order, then items in order, then done), so a worker
    cannot restart a timer by rewriting the file. `deadline` (time.monotonic()) is the submission's hard budget."""
    names = {c.grade_id: c.label for c in cells if c.label}  # the cells the student added
    job = {"cells": [{"grade_id": c.grade_id, "source": c.source} for c in cells],
           "items": [i.id for i in batch], "seed": seed, "first_index": first_index, "trace": trace}
    box = sandbox_for(limits)
    env = _worker_env(limits, backend)
    zygote = warm.POOL.acquire(box, env, limits) if limits.warm else None  # before the clocks start
    if zygote is not None:
        outcome, lost = _watch(lambda fd: _Warm(zygote, job_dir, job, fd), cells, batch, names, limits, deadline)
        if not lost:
            return outcome
        # the job killed its warm worker (kill(-1), its parent...): graded again in a fresh worker, where the same
        # code meets what it would have met without warm workers
    return _watch(lambda fd: _Fresh(box, job_dir, job, env, limits, fd), cells, batch, names, limits, deadline)[0]


def _watch(start, cells, batch: list[Item], names: dict, limits: Limits, deadline: float):
    """Start a job (`start(status write fd)`) and keep its clocks. Returns ((outcome, phase, where, detail), lost)
    with lost True when a warm worker died under the job before it could say how the job ended."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    try:
        proc = start(write_fd)
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)  # the worker (or the warm worker, through SCM_RIGHTS) holds its own copy now
    steps = [("start", "")] + [("cell", c.grade_id) for c in cells] + [("item", i.id) for i in batch] + [("done", "")]
    rank = {step: n for n, step in enumerate(steps)}
    limit_of = {("item", i.id): i.timeout_s * limits.item_timeout_scale for i in batch}
    memory_of = {i.id: i.memory_mb for i in batch}  # an item's declared budget, within the run's --memory-mb
    seen: dict[int, float] = {}
    at, since, pending = 0, time.monotonic(), b""
    try:
        while True:
            code = proc.poll()
            pending, announced = _steps(read_fd, pending)
            now = time.monotonic()
            for step in announced:
                n = rank.get(step)
                if n is not None and n > at:
                    at, since = n, now
            phase, where = steps[at]
            if code is not None:
                if getattr(proc, "lost", False):
                    return None, True
                if phase == "done" and code == 0:
                    return ("done", phase, "", ""), False
                how = f"signal {-code}" if code < 0 else f"exit code {code}"
                return ("crash", phase, where, f"the grading process ended ({how}) while running "
                                               f"{_where(phase, where, names)}"), False
            if phase == "done":
                if now - since > limits.done_grace_s:  # it said it was done but lives on: what it wrote stands
                    return ("done", phase, "", ""), False
            elif now > deadline:
                return ("budget", phase, where, (f"the submission used up its time budget while running "
                                                 f"{_where(phase, where, names)}; the checks not yet run were skipped")), False
            elif phase in ("start", "cell") and now - since > limits.setup_timeout_s:
                return ("timeout", phase, where, f"timed out after {limits.setup_timeout_s:.0f} s while running "
                                                 f"{_where(phase, where, names)} (an infinite loop?)"), False
            elif phase == "item" and now - since > limit_of[(phase, where)]:
                return ("timeout", phase, where, f"the check of {where} timed out after {limit_of[(phase, where)]:.0f} s "
                                                 "(an infinite loop, or code far too slow?)"), False
            rss, count = proc.tree(seen)
            memory = min(limits.memory_mb, memory_of.get(where, limits.memory_mb)) if phase == "item" else limits.memory_mb
            if rss > memory:
                return ("memory", phase, where, f"used more than {memory} MB of memory while running "
                                                f"{_where(phase, where, names)}"), False
            if count > limits.processes:
                return ("processes", phase, where, (f"started more than {limits.processes} processes while running "
                                                    f"{_where(phase, where, names)}")), False
            time.sleep(0.05)
    finally:
        proc.end(seen)  # always: also reaches processes the submission started, in any session
        os.close(read_fd)


class _Fresh:
    """A job in a fresh worker process (its own sandbox), started here."""

    def __init__(self, box, job_dir: Path, job: dict, env: dict, limits: Limits, write_fd: int):
        if job_dir.exists():  # what a warm attempt left
            warm.remove(job_dir)
        job_dir.mkdir(parents=True)
        job_dir.chmod(0o700)
        (job_dir / "out").mkdir()
        (job_dir / "job.json").write_text(json.dumps(job), encoding="utf-8")
        launch = box.launch(job_dir, env, limits.tmp_mb, write_fd)
        self.own = 2 if box.isolated else 0  # bwrap's two processes are not the submission's
        self.proc = subprocess.Popen(launch.argv, cwd=launch.cwd, env=launch.env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_fd,),
                                     preexec_fn=box.preexec(limits.address_space_mb, limits.output_mb))

    def poll(self) -> int | None:
        return self.proc.poll()

    def tree(self, seen: dict[int, float]) -> tuple[float, int]:
        rss, count = _tree(self.proc, seen)
        return rss, max(0, count - self.own)

    def end(self, seen: dict[int, float]) -> None:
        _kill(self.proc, seen)


class _Warm:
    """A job forked by a warm worker (autograder.warm); its folder is moved to `job_dir` when it ends."""

    def __init__(self, zygote: warm.Zygote, job_dir: Path, job: dict, write_fd: int):
        if job_dir.exists():
            warm.remove(job_dir)
        self.zygote, self.job_dir = zygote, job_dir
        try:
            self.work = zygote.start(job, write_fd)
        except OSError:
            zygote.close()
            warm.POOL.release(zygote)
            raise

    def poll(self) -> int | None:
        return self.zygote.poll()

    @property
    def lost(self) -> bool:
        return self.zygote.lost

    def tree(self, seen: dict[int, float]) -> tuple[float, int]:
        return self.zygote.tree(seen)

    def end(self, seen: dict[int, float]) -> None:
        try:
            self.zygote.end_job(seen, self.work, self.job_dir)
        finally:
            warm.POOL.release(self.zygote)


def _steps(fd: int, pending: bytes) -> tuple[bytes, list[tuple]]:
    """The steps announced on the worker's status pipe since the last call, as (phase, where); what is not a
    well-formed short line is ignored (the pipe is the submission's to write to as well)."""
    chunks = []
    for _ in range(64):  # at most 4 MB a poll: a flood cannot hold the runner
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    lines = (pending + b"".join(chunks)).split(b"\n")
    pending = lines.pop()[-STATUS_BYTES:]
    found = []
    for line in lines:
        if len(line) > STATUS_BYTES:
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append((value.get("phase"), value.get("where")))
    return pending, found


_SANDBOXES: dict[str, object] = {}


def sandbox_for(limits: Limits):
    """The sandbox of `limits.sandbox`, resolved once per process (autograder.sandbox.get)."""
    if limits.sandbox not in _SANDBOXES:
        _SANDBOXES[limits.sandbox] = sandbox.get(limits.sandbox)
    return _SANDBOXES[limits.sandbox]


def _where(phase: str, where: str, names: dict[str, str]) -> str:
    if phase == "cell":
        return names.get(where) or f"your cell '{where}'"
    if phase == "item":
        return f"the check of {where}"
    return "the start-up (imports)"


def grade_notebook(path: str | Path, assignment: str, student: str | None = None, seed: int = DEFAULT_SEED,
                   limits: Limits | None = None, only: list[str] | None = None, reuse: Reuse | None = None,
                   reference: str | None = None) -> SubmissionResult:
    """Grade one notebook file with the standalone runner.

    With `reuse`, an item whose closure of cells is byte-identical to a reference run's takes that run's verdict
    (autograder.reuse). With `reference` (a trusted notebook: the master solution, the starter) the run is
    traced and recorded in `reuse` under that name.
    """
    limits = limits or Limits()
    path = Path(path)
    student = student or path.stem
    todo = [i for i in registry_items(assignment) if not only or i.id in only or i.grade_id in only]
    t0 = time.time()
    result = SubmissionResult(student, assignment, str(path), [])
    try:
        with GRADING_LOCK:
            nb = notebook.read(path)
            cells, notes = notebook.grading_program(assignment, nb)
    except notebook.NotebookError as exc:
        result.items = [ItemResult(i.id, i.points, error=str(exc)) for i in todo]
        result.notes.append(str(exc))
        result.seconds = time.time() - t0
        return result
    result.notes.extend(notes)
    program = list(cells)
    reused = {}
    if reuse is not None and reference is None:
        with GRADING_LOCK:
            reused = reuse.lookup(assignment, seed, program, [i.id for i in todo])
    probed = [i for i in todo if i.id not in reused]
    trace = reuse is not None and reference is not None
    job_root = Path(tempfile.mkdtemp(prefix="seqlab-grade-"))
    deadline = time.monotonic() + limits.budget(probed)
    try:
        stems, errors, cells = probe_pass(job_root / DEFAULT_BACKEND, cells, probed, seed, limits, result.notes,
                                          trace=trace, deadline=deadline) if probed else ({}, {}, cells)
        other: dict[str, tuple[dict, dict]] = {}
        for backend in sorted({b for i in probed for b in i.backends}):
            subset = [k for k, i in enumerate(probed) if backend in i.backends and k not in errors]
            if subset:
                s, e, _ = probe_pass(job_root / backend, cells, [probed[k] for k in subset], seed, limits, result.notes,
                                      backend=backend, trace=trace, deadline=deadline)
                other[backend] = ({subset[k]: v for k, v in s.items()}, {subset[k]: v for k, v in e.items()})
        lost = "no result came back from the check (did your code delete or move the grader's files?)"
        items = []
        for k, item in enumerate(probed):
            if k in errors:
                items.append(ItemResult(item.id, item.points, error=errors[k]))
            elif k not in stems:
                items.append(ItemResult(item.id, item.points, error=lost))
            elif item.backends:
                found = {DEFAULT_BACKEND: stems[k]}
                for b in item.backends:
                    s, e = other.get(b, ({}, {}))
                    found[b] = s.get(k) or e.get(k) or lost
                items.append(judge(item, found, seed))
            else:
                items.append(judge(item, stems[k], seed))
        if trace:
            with GRADING_LOCK:
                reuse.add(_reference(reference, assignment, seed, program, probed, items, stems, other), program)
        by_id = {r.item_id: r for r in items}
        result.items = [reused[i.id][0] if i.id in reused else by_id[i.id] for i in todo]
        result.reused = {i: name for i, (_, name) in reused.items()}
    finally:
        shutil.rmtree(job_root, ignore_errors=True)
    result.seconds = time.time() - t0
    return result


def _reference(name: str, assignment: str, seed: int, program, probed: list[Item], items: list[ItemResult],
               stems: dict[int, Path], other: dict) -> Reference:
    """A traced run as a reference for reuse: what each cell and each check read (see autograder.reuse)."""
    files: dict[Path, dict] = {}  # one trace.json per worker run, read once

    def trace_of(stem: Path) -> dict:
        run = stem.parent.parent
        if run not in files:
            files[run] = _read_json(run / TRACE_FILE, 64 << 20)
        return files[run]

    def traced(stem: Path | None):
        if stem is None:
            return None
        k = int(stem.name)  # the item's index in its pass (the trace's key)
        entries = trace_of(stem).get("items", {})
        before = [entries[j] for j in entries if int(j) < k]
        mine = entries.get(str(k))
        if mine is None or mine["everything"] or mine["leaked"] or any(e["leaked"] for e in before):
            return None
        return frozenset(mine["reads"])

    first = next(iter(stems.values()), None)
    cells_trace = trace_of(first).get("cells", {}) if first else {}
    cell_reads = {}
    for cell in program:
        entry = cells_trace.get(cell.grade_id)
        if entry is not None:
            cell_reads[cell_facts(cell.source).digest] = None if entry["everything"] else frozenset(entry["reads"])
    item_reads, results = {}, {}
    for k, (item, res) in enumerate(zip(probed, items)):
        reads = traced(stems.get(k))
        for backend in item.backends:  # the same code on another backend: it may read other names
            found = other.get(backend, ({}, {}))[0].get(k)
            more = traced(found) if isinstance(found, Path) else None
            reads = None if reads is None or more is None else reads | more
        if res.error is None and res.internal_error is None:
            item_reads[item.id], results[item.id] = reads, res
    return Reference(name, assignment, seed, cell_reads, item_reads, results)


def probe_pass(root: Path, cells, todo: list[Item], seed: int, limits: Limits, notes: list[str],
               backend: str = DEFAULT_BACKEND, trace: bool = False,
               deadline: float | None = None) -> tuple[dict[int, Path], dict[int, str], list]:
    """Probe `todo` in workers on `backend`: a fresh worker after a timeout or crash inside an item, a hanging or
    killing cell left out, until `deadline` (time.monotonic(); None: the budget of `todo` from now). Returns
    ({index: stem of its probe files}, {index: why it has none}, the cells kept)."""
    if deadline is None:
        deadline = time.monotonic() + limits.budget(todo)
    names = {c.grade_id: c.name for c in cells}
    on = "" if backend == DEFAULT_BACKEND else f"on the {backend.upper() if backend == 'jax' else backend} backend, "
    stems: dict[int, Path] = {}
    errors: dict[int, str] = {}
    start, attempt = 0, 0
    while start < len(todo):
        if time.monotonic() > deadline:
            for k in range(start, len(todo)):
                errors[k] = on + "the submission used up its time budget before this check could run"
            break
        attempt += 1
        job_dir = root / f"run{attempt}"
        outcome, phase, where, detail = _run_worker(job_dir, cells, todo[start:], start, seed, limits, backend, trace,
                                                    deadline)
        with GRADING_LOCK:
            cell_errors = _read_json(job_dir / "cells.json", CELLS_BYTES).get("errors", {})
        if not isinstance(cell_errors, dict):
            cell_errors = {}
        for gid, msg in cell_errors.items():
            if gid not in names or not isinstance(msg, str):
                continue  # the worker's file names only the cells it was given, each with a message
            note = on + f"{names[gid]} raised {msg[:600]}"
            if note not in notes:
                notes.append(note)
        for k in range(start, len(todo)):
            if (job_dir / "out" / f"{k}.json").exists():
                stems[k] = job_dir / "out" / str(k)
        if outcome == "done":
            break
        detail = on + detail if detail else detail
        if detail and detail not in notes:
            notes.append(detail)
        if outcome == "budget":
            for k in range(start, len(todo)):
                if k not in stems:
                    errors[k] = detail
            break
        if phase == "cell" and any(c.grade_id == where for c in cells):
            # a cell that hangs or kills the process is left out; the rest of the notebook is graded
            cells = [c for c in cells if c.grade_id != where]
            notes.append(on + f"{names[where]} was skipped so that the other parts could be graded")
            continue
        stuck = next((k for k in range(start, len(todo)) if todo[k].id == where), None) if phase == "item" else None
        if stuck is None:  # failure outside any cell or item (start-up): nothing more can be graded
            for k in range(start, len(todo)):
                if k not in stems:
                    errors[k] = detail
            break
        # the item the worker was stuck in gets the reason; a fresh worker grades the items after it
        errors[stuck] = detail
        start = stuck + 1
    return stems, errors, cells


def load_probe(stem: Path) -> dict:
    return probing.load(stem.with_suffix(".npz"), stem.with_suffix(".json"))


def judge(item: Item, stem, seed: int) -> ItemResult:
    """Judge one item's probe data (`stem`.npz/.json, or {backend: stem, or why there is none} for an item
    probed on several backends), retrying once if the judge itself raises.

    A judge that raises is a grader bug (or a transient failure of the grading process), not the
    student's: after JUDGE_ATTEMPTS the item is reported as not graded, with the reason for the
    instructor. Each attempt judges freshly loaded data, so a judge that changed it cannot skew the next.
    """
    unreadable = ("the check's output could not be read ({}); did your code write into the grader's files?")
    failures = []
    for _ in range(JUDGE_ATTEMPTS):
        try:
            with GRADING_LOCK:
                try:
                    if isinstance(stem, dict):
                        data = item.merge_backends({b: load_probe(s) if isinstance(s, Path) else s for b, s in stem.items()})
                    else:
                        data = load_probe(stem)
                except Exception as exc:  # noqa: BLE001 - forged or damaged files: the worker's doing
                    return ItemResult(item.id, item.points, error=unreadable.format(type(exc).__name__))
                checks = item.judge(data, item_seed(seed, item.id))
            return ItemResult(item.id, item.points, checks=checks)
        except Exception as exc:  # noqa: BLE001 - any failure of the judge is the grader's
            failures.append(f"{type(exc).__name__}: {str(exc).strip()[:300]}")
    reasons = failures[0] if len(set(failures)) == 1 else " / then ".join(failures)
    return ItemResult(item.id, item.points,
                      internal_error=f"internal grader error, the judge raised {len(failures)} times: {reasons}")
