"""The sandbox's parts, without TensorFlow: what is staged, what the sandbox sees, the status pipe, hostile files.

The end-to-end proof (a whole corpus of attacks graded under bubblewrap) is tests/test_hostile.py.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import zipfile

import numpy as np
import numpy.lib.format as npy
import pytest

from autograder import records, runner, sandbox
from autograder.worker import grader_only
from tests.helpers import ROOT


def test_the_staged_code_holds_the_probes_and_none_of_the_grader_only_modules():
    code, digest = sandbox.staged_code()
    files = {str(p.relative_to(code)) for p in code.rglob("*") if p.is_file()}
    assert "autograder/worker.py" in files and "autograder/assignments/01_rnn_lstm/probes.py" in files
    assert "seqlab/__init__.py" in files and "data/en_ko/train.tsv" in files
    for gone in ("autograder/runner.py", "autograder/cli.py", "autograder/reports.py", "autograder/sandbox.py",
                 "autograder/checks/credit.py", "autograder/assignments/01_rnn_lstm/judges.py",
                 "autograder/assignments/04_translation/judges_hidden.py"):
        assert gone not in files, gone
    assert not any(f.startswith(("autograder/oracles", "solutions", "tests")) for f in files)
    for f in files:  # everything importable there is allowed to a submission
        module = f[:-3].replace("/", ".").removesuffix(".__init__") if f.endswith(".py") else None
        assert module is None or not grader_only(module), f
    assert all(not os.access(code / f, os.W_OK) or os.getuid() == 0 for f in files)
    assert len(digest) == 64 and sandbox.staged_code() == (code, digest)  # made once per process


def test_bwrap_is_refused_with_a_reason_when_it_is_missing(monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(sandbox.SandboxError, match="apt-get install bubblewrap"):
        sandbox.get("bwrap")
    assert sandbox.get("auto").kind == "process"  # auto falls back, and the CLI warns
    with pytest.raises(sandbox.SandboxError, match="unknown sandbox"):
        sandbox.get("docker-ish")


PROBE = r"""
import json, os, socket, sys
seen = {"uid": os.getuid(), "root": sorted(os.listdir("/")), "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}
seen["repo"] = os.path.exists(sys.argv[1])
seen["host_file"] = os.path.exists(sys.argv[2])
for path in ("/grader/autograder/worker.py", "/usr/bin/python3", "/job/mine"):
    try:
        open(path, "a").close()
        seen[path] = "writable"
    except OSError as exc:
        seen[path] = type(exc).__name__
try:
    socket.create_connection(("1.1.1.1", 53), timeout=3)
    seen["net"] = "reached"
except OSError as exc:
    seen["net"] = type(exc).__name__
import autograder.worker, seqlab
seen["code"] = autograder.worker.__file__
print(json.dumps(seen))
"""


def test_inside_bwrap_a_process_sees_only_its_job_and_the_staged_code(tmp_path):
    box = sandbox.get("bwrap")  # CI installs bubblewrap (.ci/run): a missing sandbox fails here, never skips
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "probe.py").write_text(PROBE, encoding="utf-8")
    marker = tmp_path / "host-only"
    marker.write_text("x")
    launch = box.launch(tmp_path / "job", {"PYTHONHASHSEED": "0"}, 64, 2)
    worker_at = launch.argv.index("-m")
    argv = launch.argv[:worker_at] + ["/job/probe.py", str(ROOT / "solutions"), str(marker)]
    out = subprocess.run(argv, cwd=launch.cwd, env=launch.env, capture_output=True, text=True, timeout=60,
                         preexec_fn=box.preexec(4096, 16))
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["uid"] == sandbox.SANDBOX_UID
    assert seen["repo"] is False and seen["host_file"] is False  # the repository and the host's /tmp
    assert seen["pids"] and max(seen["pids"]) < 10  # its own PID namespace: the grader's processes are not there
    assert seen["/grader/autograder/worker.py"] in ("OSError", "PermissionError")  # read-only, whatever the uid
    assert seen["/usr/bin/python3"] in ("OSError", "PermissionError")
    assert seen["/job/mine"] == "writable" and (tmp_path / "job" / "mine").exists()
    assert seen["net"] == "OSError"
    assert seen["code"] == "/grader/autograder/worker.py"


def test_binds_come_after_the_private_tmp_so_a_virtualenv_under_tmp_stays_visible(tmp_path):
    """A checkout under /tmp (CI clones there) has its virtualenv there: a --tmpfs /tmp after its bind hid it."""
    box = sandbox.BwrapSandbox("bwrap")
    argv = box.launch(tmp_path, {}, 64, 3).argv
    tmpfs = argv.index("--tmpfs")
    binds = [k for k, a in enumerate(argv) if a in ("--bind", "--ro-bind", "--dev-bind")]
    assert argv[tmpfs + 1] == "/tmp" and all(k > tmpfs for k in binds)
    assert argv.index("--proc") < min(binds) and argv.index("--dev") < min(binds)


def test_the_status_pipe_ignores_steps_back_junk_and_floods():
    r, w = os.pipe()
    os.set_blocking(r, False)
    os.write(w, b'{"phase": "cell", "where": "a"}\n{not json}\n' + b"x" * 10_000 + b'\n[1, 2]\n{"phase": "item", "wh')
    pending, steps = runner._steps(r, b"")
    assert steps == [("cell", "a")] and pending == b'{"phase": "item", "wh'
    os.write(w, b'ere": "i"}\n')
    pending, steps = runner._steps(r, pending)
    assert steps == [("item", "i")] and pending == b""
    os.close(w)
    os.close(r)


def _npz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_a_forged_npz_is_refused_before_it_is_inflated(tmp_path):
    meta = tmp_path / "p.json"
    meta.write_text(json.dumps({"plain": {}, "errors": {}, "arrays": ["out"]}))
    header = io.BytesIO()
    npy.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (2**28,)})
    bomb = tmp_path / "p.npz"
    bomb.write_bytes(_npz({"a0.npy": header.getvalue() + bytes(1 << 16)}))  # declares 2 GiB, holds 64 KB
    with pytest.raises(records.RecordError, match="too large"):
        records.load(bomb, meta)
    other = tmp_path / "o.npz"
    other.write_bytes(_npz({"a0.npy": b"", "extra.npy": b""}))
    with pytest.raises(records.RecordError, match="do not match"):
        records.load(other, meta)
    big_meta = tmp_path / "big.json"
    big_meta.write_bytes(b" " * (records.JSON_BYTES + 1))
    with pytest.raises(records.RecordError, match="too large"):
        records.load(bomb, big_meta)
    good = tmp_path / "g"
    records.dump({"data": {"out": np.ones(3)}, "errors": {}}, str(good) + ".npz", str(good) + ".json")
    assert records.load(str(good) + ".npz", str(good) + ".json")["data"]["out"].tolist() == [1, 1, 1]


def test_a_hard_budget_bounds_a_submission(tmp_path):
    """Limits.budget: the setup timeout plus each item's own limit on each of its backends, unless given."""
    from autograder import registry

    items = registry.items("01_rnn_lstm")
    limits = runner.Limits(setup_timeout_s=100, item_timeout_scale=0.5)
    assert limits.budget(items) == pytest.approx(100 + 0.5 * sum(i.timeout_s * len(i.all_backends) for i in items))
    assert runner.Limits(budget_s=7).budget(items) == 7
