"""Warm workers: a sandboxed process that has imported Keras and every probe once, and forks a child per job.

A fresh worker spends ~4-5 s importing TensorFlow and Keras before the first cell runs; a warm one forks in a few
milliseconds. Each warm worker (a *zygote*, `autograder.worker.zygote`) lives in a sandbox of its own (under
bwrap: its own PID, mount, IPC and network namespaces, its own private /tmp) and runs one job at a time, so a job
never shares its sandbox with another student's job. Between two jobs:

- the runner kills every process of the job it saw, and the zygote kills whatever is left in its PID namespace
  (everything but the sandbox's init and itself) and empties /tmp and /dev/shm; a zygote that cannot say it is
  clean is discarded;
- the job's folder is moved out of the zygote's slot (the folder mounted at /job) and everything else the job
  wrote there is deleted, before the next job's folder is made (under a random name);
- the child starts from the zygote's memory, never from the previous job's: Python state, Keras's counters and
  the random generators are those of a fresh process that has imported the same modules.

The zygote is not dumpable (a job, which runs as the same uid, cannot ptrace it or read its memory or fds), it
imports nothing from the job folders, and it forks only while it is single-threaded (with `Limits.threads` = 1
TensorFlow and OpenBLAS start no thread at import; otherwise the zygote refuses and the runner uses fresh
workers). A job that kills its zygote ends its own grading (a crash, as a fresh worker's would); the next job gets
a new zygote. Whatever goes wrong in starting a zygote (a refusal, a timeout) makes the runner fall back to fresh
workers for that configuration: slower, never a different grade.
"""
from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

from autograder.worker import force_remove as remove

EXIT_WAIT_S = 10.0  # after the runner kills a job: how long the zygote has to report it gone and clean
MAX_IDLE = 2  # idle warm workers kept (each holds ~0.7 GB: Python, TensorFlow, Keras); the oldest goes first
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seqlab-warm")


class ZygoteError(RuntimeError):
    """A zygote could not start (it refused to fork, timed out or died while importing)."""


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _created(procs: list[psutil.Process]) -> dict[int, float]:
    found = {}
    for p in procs:
        try:
            found[p.pid] = p.create_time()
        except psutil.Error:
            pass
    return found


def kill_pids(pids: dict[int, float]) -> None:
    """Kill each process still running with its recorded create time (a recycled pid is left alone)."""
    for pid, created in pids.items():
        try:
            p = psutil.Process(pid)
            if p.create_time() == created:
                p.kill()
        except psutil.Error:
            pass


class Zygote:
    """One warm worker in its own sandbox (see the module docstring)."""

    def __init__(self, box, env: dict, limits):
        self.slot = Path(tempfile.mkdtemp(prefix="seqlab-slot-"))
        self.slot.chmod(0o700)
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        launch = box.launch(self.slot, env, limits.tmp_mb, theirs.fileno(), zygote=True)
        self.inside = launch.job_arg  # the slot as the zygote sees it
        self.sock = mine
        self.broken = self.lost = False
        self.exit: dict | None = None
        try:
            # started from the pool's own thread: bwrap --die-with-parent follows the thread that started it, and a
            # grading thread ends with its class run while the warm worker is meant to serve the next one
            self.proc = _SPAWNER.submit(subprocess.Popen, launch.argv, cwd=launch.cwd, env=launch.env,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        pass_fds=(theirs.fileno(),),
                                        preexec_fn=box.preexec(limits.address_space_mb, limits.output_mb)).result()
        except OSError as exc:
            self._remove_slot()
            raise ZygoteError(f"could not start: {exc}") from exc
        finally:
            theirs.close()
        first = self._receive(limits.setup_timeout_s)
        if not first or not first.get("ready"):
            self.close()
            why = (first or {}).get("refused") or "no answer"
            raise ZygoteError(f"the warm worker did not start: {why}")
        # the sandbox's own processes (bwrap's init, the zygote): never a job's, never killed between jobs
        self.base = {self.proc.pid: 0.0, **_created(_children(self.proc.pid))}

    # ---- the control channel ----
    def _receive(self, timeout: float) -> dict | None:
        """The zygote's next message, or None (timeout, or the zygote is gone)."""
        until = time.monotonic() + timeout
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(min(left, 0.5))
            try:
                raw = self.sock.recv(4096)
            except socket.timeout:
                if self.proc.poll() is not None:
                    return None
                continue
            except OSError:
                return None
            if not raw:
                return None
            try:
                value = json.loads(raw)
            except ValueError:
                return None
            return value if isinstance(value, dict) else None

    def alive(self) -> bool:
        return not self.broken and self.proc.poll() is None

    # ---- a job ----
    def start(self, job: dict, status_fd: int) -> Path:
        """Make a fresh job folder in the slot, write job.json and hand the job to the zygote. Returns the folder
        (on the grader's side)."""
        name = secrets.token_hex(12)
        work = self.slot / name
        work.mkdir(mode=0o700)
        (work / "out").mkdir()
        (work / "job.json").write_text(json.dumps(job), encoding="utf-8")
        self.exit, self.lost = None, False
        try:
            socket.send_fds(self.sock, [json.dumps({"job": f"{self.inside}/{name}"}).encode()], [status_fd])
        except OSError:
            self.broken = True
        return work

    def poll(self) -> int | None:
        """The job's exit status once it has ended (a negative signal number, as Popen's), else None."""
        if self.exit is None:
            self.sock.setblocking(False)
            try:
                raw = self.sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                raw = None
            except OSError:
                raw = b""
            if raw:
                try:
                    value = json.loads(raw)
                    self.exit = {"exit": int(value["exit"]), "clean": value.get("clean") is True}
                except (ValueError, KeyError, TypeError):
                    raw = b""
            if raw == b"" or (raw is None and self.proc.poll() is not None):
                self.broken = self.lost = True  # the zygote died before it could say how the job ended
                self.exit = {"exit": -signal.SIGKILL, "clean": False}
        return None if self.exit is None else self.exit["exit"]

    def tree(self, seen: dict[int, float]) -> tuple[float, int]:
        """(resident MB, processes) of the job: every process in the sandbox but its own."""
        rss, count = 0, 0
        for p in _children(self.proc.pid):
            try:
                created = p.create_time()
                if self.base.get(p.pid) == created:
                    continue
                seen.setdefault(p.pid, created)
                rss += p.memory_info().rss
                count += 1
            except psutil.Error:
                pass
        return rss / 2**20, count

    def end_job(self, seen: dict[int, float], work: Path, target: Path) -> None:
        """Kill what is left of the job, wait for the zygote to say it is clean, move the job folder to `target`
        and empty the slot. A zygote that does not answer, or is not clean, is discarded."""
        for _ in range(3):
            self.tree(seen)
            leftover = {pid: t for pid, t in seen.items() if self.base.get(pid) != t}
            kill_pids(leftover)
            if self.poll() is not None:
                break
            until = time.monotonic() + EXIT_WAIT_S / 3
            while self.poll() is None and time.monotonic() < until:
                time.sleep(0.01)
        if self.exit is None or not self.exit["clean"]:
            self.broken = True
        if self.broken:
            self.close(keep_slot=True)  # the whole sandbox goes: nothing in it can touch the job folder any more
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(work, target)
        except OSError:
            if work.exists():
                shutil.move(str(work), str(target))
        if self.broken:
            self._remove_slot()
        else:
            for path in self.slot.iterdir():  # whatever else the job wrote into /job
                remove(path)

    def close(self, keep_slot: bool = False) -> None:
        self.broken = True
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, AttributeError):
            pass
        if hasattr(self, "proc"):
            kill_pids(_created(_children(self.proc.pid)))
            try:
                self.proc.kill()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.sock.close()
        if not keep_slot:
            self._remove_slot()

    def _remove_slot(self) -> None:
        remove(self.slot)


class Pool:
    """Idle zygotes per configuration (sandbox, environment, limits), shared by the grading threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.idle: dict[tuple, list[Zygote]] = {}
        self.refused: dict[tuple, str] = {}
        self.all: list[Zygote] = []

    def acquire(self, box, env: dict, limits) -> Zygote | None:
        """An idle, live zygote for this configuration, a new one, or None (fresh workers for it from now on)."""
        key = (box.kind, tuple(sorted(env.items())), limits.address_space_mb, limits.output_mb, limits.tmp_mb)
        with self.lock:
            if key in self.refused:
                return None
            while self.idle.get(key):
                z = self.idle[key].pop()
                if z.alive():
                    return z
                z.close()
        try:
            z = Zygote(box, env, limits)
        except ZygoteError as exc:
            with self.lock:
                self.refused[key] = str(exc)
            return None
        z.key = key
        with self.lock:
            self.all = [a for a in self.all if not a.broken] + [z]
        return z

    def release(self, z: Zygote) -> None:
        evicted = []
        with self.lock:
            if z.alive():
                self.idle.setdefault(z.key, []).append(z)
                z.idle_since = time.monotonic()
                idle = sorted((y for ys in self.idle.values() for y in ys), key=lambda y: y.idle_since)
                for old in idle[:max(0, len(idle) - MAX_IDLE)]:
                    self.idle[old.key].remove(old)
                    evicted.append(old)
            else:
                evicted.append(z)
        for old in evicted:
            old.close()

    def shutdown(self) -> None:
        with self.lock:
            zygotes, self.all, self.idle = self.all, [], {}
        for z in zygotes:
            z.close()


POOL = Pool()
atexit.register(POOL.shutdown)
