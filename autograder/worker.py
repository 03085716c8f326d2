"""The student's process: run the setup and solution cells, then the probes. Started by the runner.

    python -m autograder.worker JOB_DIR STATUS_FD

JOB_DIR/job.json names the cells, the items and the seed. Results go to JOB_DIR/out/<n>.npz|json, one
pair per item as soon as it is probed. Each step (a cell, an item, done) is announced as one JSON line on the pipe
STATUS_FD, so a timeout or crash can be pinned to a cell or an item; the runner keeps the clocks and believes a
step only when it is ahead of the last one (a submission can write to the pipe, never take back what was said). The worker never imports the judges or the oracles, and
blocks student code from importing them.
"""
from __future__ import annotations

import json
import linecache
import os
import sys


# grader-only modules: never staged into a sandbox (autograder.sandbox), and refused to a submission's imports
GRADER_ONLY = ("autograder.oracles", "autograder.checks.credit", "autograder.runner", "autograder.reports",
               "autograder.gradebook", "autograder.cli", "autograder.sandbox", "autograder.classreport", "autograder.warm",
               "autograder.distributed", "autograder.nbgrader_hooks", "autograder.checks.heldout")


def grader_only(module: str) -> bool:
    """True for a module only the grading process may import (the judges, oracles, runner, reports...)."""
    judges = module.startswith("autograder.assignments.") and module.rsplit(".", 1)[-1].startswith("judges")
    return judges or any(module == g or module.startswith(g + ".") for g in GRADER_ONLY)


class _BlockGraderImports:
    """A meta-path finder that refuses the grader-only modules to code run after it is installed (under the bwrap
    sandbox they are not even on disk: this keeps the process sandbox honest too)."""

    refuses = staticmethod(grader_only)

    def find_spec(self, name, path=None, target=None):
        if grader_only(name):
            raise ImportError(f"{name} is not available to submissions")
        return None


def _write_json(path: str, payload: dict) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(payload, fh)
    os.replace(tmp, path)


class _IPythonStub:
    """Stands in for get_ipython() so cells with %magics or !commands do not crash; they do nothing."""

    def run_line_magic(self, *args, **kwargs):
        return None

    def run_cell_magic(self, *args, **kwargs):
        return None

    def system(self, *args, **kwargs):
        return None

    def getoutput(self, *args, **kwargs):
        return []


def transform(source: str) -> str:
    """A cell's source as IPython would run it (%magics and !commands become calls)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:
        return source


def main(job_dir: str, status_fd: str) -> int:
    with open(os.path.join(job_dir, "job.json"), encoding="utf-8") as fh:
        job = json.load(fh)
    status_fd = int(status_fd)

    def step(phase: str, where: str = "") -> None:
        try:
            os.write(status_fd, (json.dumps({"phase": phase, "where": where}) + "\n").encode())
        except OSError:  # the submission closed the pipe: the runner's clocks run on
            pass
    out_dir = os.path.join(job_dir, "out")
    os.makedirs(out_dir, exist_ok=True)

    # the student's prints go to a capped log file, never to the grader's terminal
    log_fd = os.open(os.path.join(job_dir, "student.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.environ["SEQLAB_GRADING"] = "1"

    import seqlab  # noqa: F401  (quiet TF)
    import keras  # noqa: F401

    from autograder import probing
    from autograder.registry import get, item_seed

    items = [get(i) for i in job["items"]]
    from autograder import scratch

    scratch.prepare({name for item in items for name in item.refuses})  # tags built-ins made by the cells too
    sys.meta_path.insert(0, _BlockGraderImports())
    for name in list(sys.modules):
        if grader_only(name):
            del sys.modules[name]

    namespace = {"__name__": "__main__", "get_ipython": _IPythonStub}
    trace = None
    if job.get("trace"):  # a reference run of a trusted notebook (autograder.reuse): record what is read
        from autograder.reuse import TracingNamespace

        namespace, trace = TracingNamespace(namespace), {"cells": {}, "items": {}}
    cell_errors = {}
    for cell in job["cells"]:
        step("cell", cell["grade_id"])
        if trace is not None:
            namespace.begin("cell")
        try:
            source = transform(cell["source"])
            filename = f"<cell {cell['grade_id']}>"
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            code = compile(source, filename, "exec")
            exec(code, namespace)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt included: keep going
            cell_errors[cell["grade_id"]] = probing.describe_exception(exc)
        if trace is not None:
            trace["cells"][cell["grade_id"]] = namespace.end()
    _write_json(os.path.join(job_dir, "cells.json"), {"errors": cell_errors})

    for index, item in enumerate(items):
        step("item", item.id)
        if trace is not None:
            namespace.begin("probe")
        try:
            result = item.probe(namespace, item_seed(job["seed"], item.id))
        except BaseException as exc:
            result = {"data": {}, "errors": {"probe": probing.describe_exception(exc)}}
        if trace is not None:
            trace["items"][str(job["first_index"] + index)] = namespace.end()
            _write_json(os.path.join(job_dir, "trace.json"), trace)
        stem = os.path.join(out_dir, str(job["first_index"] + index))
        probing.dump(result, stem + ".npz", stem + ".json.tmp")
        os.replace(stem + ".json.tmp", stem + ".json")
    step("done")
    sys.stdout.flush()
    return 0


# ---- the warm worker (autograder.warm) -----------------------------------------------------------

def _preload() -> None:
    """What every job imports, loaded once in the zygote: Keras and its backend, the probes of every assignment."""
    import importlib
    import pkgutil

    import numpy  # noqa: F401
    import seqlab  # noqa: F401  (quiet TF)
    import keras  # noqa: F401

    from autograder import assignments, probing, scratch  # noqa: F401
    from autograder import registry  # noqa: F401
    from autograder.reuse import TracingNamespace  # noqa: F401

    transform("x = 1")  # IPython's input transformer
    for info in pkgutil.iter_modules(assignments.__path__):
        for module in ("items", "probes"):
            try:
                importlib.import_module(f"autograder.assignments.{info.name}.{module}")
            except ImportError:
                pass


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 0


def _not_dumpable() -> None:
    """PR_SET_DUMPABLE 0: a job (same uid) cannot ptrace the zygote or open its /proc/<pid>/mem or fds."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE
    except (OSError, AttributeError):
        pass


def force_remove(path) -> bool:
    """Delete a file or folder whose folders may have been made unreadable or read-only (each made 0o700 first,
    never through a symlink). True when it is gone. Used by the zygote between jobs and by the grader on job and
    staged-code folders."""
    import shutil

    path = os.fspath(path)
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            os.chmod(path, 0o700)
            for parent, subdirs, _ in os.walk(path):  # top-down: each folder is made readable before it is entered
                for name in subdirs:
                    sub = os.path.join(parent, name)
                    if not os.path.islink(sub):
                        try:
                            os.chmod(sub, 0o700)
                        except OSError:
                            pass
            shutil.rmtree(path, ignore_errors=True)  # as much as can go, even when one entry cannot
        elif os.path.lexists(path):
            os.unlink(path)
    except OSError:
        pass
    return not os.path.lexists(path)


SCRATCH = ("/tmp", "/dev/shm")  # what a job may write besides its folder: emptied between jobs


def _snapshot() -> dict[str, int]:
    """{path: mode} of what the sandbox itself put under SCRATCH before any job ran (the folders bwrap made for
    binds under /tmp: a virtualenv under /tmp, say), not descending into mount points."""
    found = {}
    for root in SCRATCH:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                try:
                    found[path] = os.lstat(path).st_mode & 0o7777
                except OSError:
                    pass
            dirnames[:] = [d for d in dirnames if not os.path.ismount(os.path.join(dirpath, d))]
    return found


def _clear(baseline: dict[str, int]) -> bool:
    """Delete what a job wrote under SCRATCH (everything not in `baseline`), restore the modes of what is, and never
    enter a mount point. True when nothing was left."""
    clean = True
    for root in SCRATCH:
        try:
            os.chmod(root, 0o1777)
        except OSError:
            pass
        for dirpath, dirnames, filenames in os.walk(root):
            keep = []
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                if path in baseline:
                    if name in dirnames and not os.path.ismount(path):
                        keep.append(name)
                    continue
                if not force_remove(path):
                    clean = False
            for name in keep:
                try:
                    os.chmod(os.path.join(dirpath, name), 0o700)  # readable again to walk it
                except OSError:
                    pass
            dirnames[:] = keep
    for path, mode in baseline.items():
        try:
            if not os.path.islink(path) and not os.path.ismount(path):
                os.chmod(path, mode)
        except OSError:
            pass
    return clean


_SYSV = (("shm", "shmctl"), ("msg", "msgctl"), ("sem", "semctl"))  # /proc/sysvipc/<kind>, its *ctl call
_BASE_SYSV: set[tuple[str, int]] = set()  # what the sandbox held before any job (none, in practice)


def _sysv_objects() -> set[tuple[str, int]]:
    """(kind, id) of every System V IPC object in this IPC namespace (the sandbox's own: bwrap --unshare-all)."""
    found = set()
    for kind, _ in _SYSV:
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        found.update((kind, int(row.split()[1])) for row in rows if len(row.split()) > 1)
    return found


def _clear_sysv(keep: set[tuple[str, int]]) -> bool:
    """Remove the System V shared memory, message queues and semaphores a job made (they outlive their process, a
    channel to the next job in the same sandbox). True when none is left."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    calls = dict(_SYSV)
    for kind, ident in _sysv_objects() - keep:
        if kind == "sem":
            libc.semctl(ident, 0, 0)  # IPC_RMID
        else:
            getattr(libc, calls[kind])(ident, 0, None)  # IPC_RMID
    return not (_sysv_objects() - keep)


def _sweep(isolated: bool, baseline: dict[str, int]) -> bool:
    """After a job, in a sandbox of its own: kill whatever the job left running (every process but pid 1, the
    sandbox's init, and the zygote), empty the private /tmp and /dev/shm and remove the System V IPC objects the
    job made. True when the sandbox is clean."""
    if not isolated:
        return True  # the process sandbox: the runner kills the job's processes; /tmp is the machine's
    import signal
    import time

    me, clean = os.getpid(), False
    until = time.monotonic() + 5
    while time.monotonic() < until:
        others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]
        if not others:
            clean = True
            break
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)
    ipc_clean = _clear_sysv(_BASE_SYSV)
    return _clear(baseline) and ipc_clean and clean


def zygote(control_fd: str, isolated: bool) -> int:
    """A warm worker: import everything a job needs once, then fork a child per job (autograder.warm).

    The runner sends each job on the control socket (a SOCK_SEQPACKET): {"job": folder} with the job's status pipe
    as an attached fd. The child runs `main` on it; the zygote waits for it, cleans up (`_sweep`) and answers
    {"exit": status, "clean": bool}. The first message is {"ready": True} or {"refused": why}."""
    import socket

    sock = socket.socket(fileno=int(control_fd))
    start = os.getcwd()  # the slot of job folders: never a place to import from
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != start]
    os.chdir("/")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    _not_dumpable()
    try:
        _preload()
    except BaseException as exc:  # noqa: BLE001 - told to the runner, which falls back to fresh workers
        sock.send(json.dumps({"refused": f"{type(exc).__name__}: {exc}"[:500]}).encode())
        return 1
    if _threads() != 1:  # fork() copies only the calling thread: a lock held by another would hang the child
        sock.send(json.dumps({"refused": f"{_threads()} threads after the imports"}).encode())
        return 1
    baseline = _snapshot() if isolated else {}
    _BASE_SYSV.update(_sysv_objects() if isolated else ())
    sock.send(json.dumps({"ready": True}).encode())
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 65536, 1)
        except OSError:
            return 0
        if not msg:
            return 0  # the runner is gone
        try:
            job = json.loads(msg)["job"]
            status_fd = fds[0]
        except (ValueError, KeyError, IndexError, TypeError):
            for fd in fds:
                os.close(fd)
            continue
        pid = os.fork()
        if pid == 0:  # the job: nothing of the zygote's control channel stays open in it
            code = 70
            try:
                sock.close()
                os.setsid()
                os.chdir(job)
                sys.argv[1:] = [job, str(status_fd)]  # as a fresh worker's
                code = main(job, str(status_fd))
            finally:
                os._exit(code)
        os.close(status_fd)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        clean = _sweep(isolated, baseline)
        try:
            sock.send(json.dumps({"exit": code, "clean": clean}).encode())
        except OSError:
            return 0
        if not clean:
            return 1


if __name__ == "__main__":
    if sys.argv[1] == "--zygote":
        code = zygote(sys.argv[2], "--isolated" in sys.argv[3:])
    else:
        code = main(sys.argv[1], sys.argv[2])
    os._exit(code)  # skip interpreter teardown (TF threads can make it slow)
