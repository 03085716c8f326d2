"""Where a worker runs: a bubblewrap sandbox (the default when `bwrap` works), or a plain limited process.

The **bwrap** sandbox (bubblewrap, the sandbox Flatpak uses) starts each worker in new user, PID, mount, IPC,
UTS, cgroup and network namespaces, as uid/gid 65534 inside, with no capabilities:

- writable: its own job folder (mounted at /job) and a private /tmp of at most `Limits.tmp_mb`;
- read-only: the system's /usr, the Python installation and the virtualenv, and a **staged copy** of the code a
  probe needs (`seqlab`, `data`, and `autograder` without the judges, oracles, runner, reports, gradebook and cli);
- invisible: the repository (the master notebooks among it), the judges and oracles, other students' jobs, the
  report folder, the grader's processes, the network;
- limits: address space, file size and core dumps (rlimits, inherited), resident memory and the number of
  processes (the runner's watchdog), and time (the runner's own clocks);
- when it ends, or the runner kills it, or the runner dies (`--die-with-parent`), the PID namespace goes with it:
  nothing the submission started outlives its grading.

The **process** sandbox is the runner of old: a new session with the same rlimits, as the grading user, with the
grader's view of the disk. It cannot stop a deliberate attack (reading the master notebook, writing next to another
job); the class report says so when it was used.

When the grader runs as root, the sandbox's uid 65534 maps back to root outside the user namespace (bubblewrap maps
the inside uid to the invoking user); it holds no capability there and sees only the mounts above. An instructor who
grades as an ordinary user gets that user's uid outside. Install bubblewrap with `apt-get install bubblewrap`
(Debian/Ubuntu) or `dnf install bubblewrap` (Fedora); the kernel must allow unprivileged user namespaces.
"""
from __future__ import annotations

import atexit
import functools
import hashlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder.worker import force_remove, grader_only

KINDS = ("auto", "bwrap", "process")
SANDBOX_UID = 65534
JOB_MOUNT = "/job"
CODE_MOUNT = "/grader"

ROOT = Path(__file__).resolve().parent.parent
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf", "fonts", "mime.types",
        "host.conf", "ssl/openssl.cnf")


class SandboxError(RuntimeError):
    """The requested sandbox cannot run here (bubblewrap missing, user namespaces disabled)."""


# ---- the staged code --------------------------------------------------------------------------

def _module_of(rel: Path) -> str | None:
    if rel.suffix != ".py":
        return None
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _ignored(rel: Path) -> bool:
    if any(p == "__pycache__" or p.startswith(".") for p in rel.parts):
        return True
    module = _module_of(rel)
    if module is not None and grader_only(module):
        return True
    return rel.parts[:2] == ("autograder", "oracles")


@functools.cache
def staged_code() -> tuple[Path, str]:
    """(folder, digest): a read-only copy of what a probe may import or read, made once per grading process.

    The digest covers every staged file, so a run can prove that the code its workers ran never changed."""
    dest = Path(tempfile.mkdtemp(prefix="seqlab-grader-code-"))
    atexit.register(force_remove, dest)
    digest = hashlib.sha256()
    for top in ("seqlab", "autograder", "data"):
        for src in sorted((ROOT / top).rglob("*")):
            rel = src.relative_to(ROOT)
            if not src.is_file() or _ignored(rel) or (top == "data" and "cache" in rel.parts):
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
            digest.update(str(rel).encode() + b"\0" + hashlib.sha256(target.read_bytes()).digest())
    for path in sorted(dest.rglob("*"), reverse=True):  # read-only for everyone, readable by the sandbox's uid
        path.chmod(0o555 if path.is_dir() else 0o444)
    dest.chmod(0o555)
    return dest, digest.hexdigest()


# ---- the sandboxes ----------------------------------------------------------------------------

@dataclass
class Launch:
    argv: list[str]
    env: dict[str, str]
    cwd: str
    job_arg: str  # the job folder as the worker sees it


def _rlimits(address_space_mb: int, file_mb: int):
    def apply():
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (address_space_mb << 20, address_space_mb << 20))
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_mb << 20, file_mb << 20))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the cap fails instead of killing
    return apply


class ProcessSandbox:
    """The worker as a plain child process of the grading user (no isolation of the disk or processes)."""

    kind = "process"
    isolated = False

    def launch(self, job_dir: Path, env: dict[str, str], tmp_mb: int, status_fd: int, zygote: bool = False) -> Launch:
        """The worker's command line; with `zygote`, a warm worker whose control socket is `status_fd`."""
        code, _ = staged_code()
        env = {**env, "PYTHONPATH": str(code)}
        args = ["--zygote", str(status_fd)] if zygote else [str(job_dir), str(status_fd)]
        return Launch([sys.executable, "-m", "autograder.worker", *args], env, str(job_dir), str(job_dir))

    def preexec(self, address_space_mb: int, file_mb: int):
        return _rlimits(address_space_mb, file_mb)


def _python_roots() -> list[str]:
    """The folders the worker's interpreter needs: the virtualenv and the Python it was made from."""
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    real_exe = os.path.realpath(sys.executable)
    if not any(real_exe.startswith(r + os.sep) for r in roots):
        roots.add(os.path.dirname(os.path.dirname(real_exe)))
    return sorted(r for r in roots if not r.startswith("/usr/") and r != "/usr")


class BwrapSandbox:
    kind = "bwrap"
    isolated = True

    def __init__(self, bwrap: str):
        self.bwrap = bwrap

    def launch(self, job_dir: Path, env: dict[str, str], tmp_mb: int, status_fd: int, zygote: bool = False) -> Launch:
        """The worker's command line; with `zygote`, a warm worker (its own sandbox, for one job at a time) whose
        control socket is `status_fd` and whose jobs are folders under `job_dir`."""
        code, _ = staged_code()
        # the private /tmp, /proc and /dev first: a later bind (a virtualenv under /tmp, say) lands inside them
        # instead of being hidden by them
        argv = [self.bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
                "--size", str(tmp_mb << 20), "--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev",
                "--ro-bind", "/usr", "/usr"]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            path = Path("/") / name
            if path.is_symlink():
                argv += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                argv += ["--ro-bind", str(path), str(path)]
        for name in _ETC:
            path = Path("/etc") / name
            if path.exists():
                argv += ["--ro-bind", str(path), str(path)]
        for root in _python_roots():
            argv += ["--ro-bind", root, root]
        # a GPU item needs the NVIDIA devices (none on a CPU machine)
        for dev in sorted(Path("/dev").glob("nvidia*")):
            argv += ["--dev-bind", str(dev), str(dev)]
        argv += ["--ro-bind", str(code), CODE_MOUNT, "--bind", str(job_dir), JOB_MOUNT, "--chdir", JOB_MOUNT,
                 "--clearenv"]
        inside = {**env, "PYTHONPATH": CODE_MOUNT, "HOME": "/tmp", "TMPDIR": "/tmp", "MPLCONFIGDIR": "/tmp/mpl",
                  "PATH": "/usr/bin:/bin"}
        for key, value in sorted(inside.items()):
            argv += ["--setenv", key, value]
        args = ["--zygote", str(status_fd), "--isolated"] if zygote else [JOB_MOUNT, str(status_fd)]
        argv += [sys.executable, "-m", "autograder.worker", *args]
        return Launch(argv, {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, str(job_dir), JOB_MOUNT)

    def preexec(self, address_space_mb: int, file_mb: int):
        return _rlimits(address_space_mb, file_mb)


@functools.cache
def _bwrap_works(bwrap: str) -> str | None:
    """None when `bwrap` can start a sandbox here, else why not."""
    try:
        proc = subprocess.run([bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc",
                               "--dev", "/dev", "--uid", str(SANDBOX_UID), "true"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{bwrap} could not start: {exc}"
    if proc.returncode != 0:
        return f"{bwrap} could not start a sandbox: {(proc.stderr or '').strip()[:300]}"
    return None


def get(kind: str = "auto"):
    """The sandbox of that kind; 'auto' is bwrap when it works here, else process. SandboxError when a requested
    bwrap cannot run."""
    if kind not in KINDS:
        raise SandboxError(f"unknown sandbox {kind!r}; choose one of {', '.join(KINDS)}")
    if kind == "process":
        return ProcessSandbox()
    bwrap = shutil.which("bwrap")
    problem = "bubblewrap (bwrap) is not installed" if bwrap is None else _bwrap_works(bwrap)
    if problem is None:
        return BwrapSandbox(bwrap)
    if kind == "bwrap":
        raise SandboxError(f"{problem}; install it (apt-get install bubblewrap) or grade with --sandbox process")
    return ProcessSandbox()


PROCESS_WARNING = ("graded with --sandbox process: submissions ran as the grading user with the grader's view of the "
                   "disk and processes, so a deliberate attack (reading the master notebook, writing into another "
                   "job) was not stopped; grade untrusted classes with bubblewrap (--sandbox bwrap)")
