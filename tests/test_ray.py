"""`--executor ray`: each submission a Ray task, on a real local Ray cluster of 2 CPUs, with the same results.

The cluster is started as an instructor starts one (`ray start --head`), and the command line connects to its
address. The sample class of 01 is graded twice, with local threads and with Ray, on the same items.
"""
from __future__ import annotations

import csv
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.slow
RAY = Path(sys.executable).parent / "ray"
ONLY = "rnn_cell,gru_cell"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TOKEN = secrets.token_hex(32)  # this test's cluster has its own token (not ~/.ray/auth_token, which others may share)


def _env(tmp: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": str(tmp),
            "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": TOKEN}


CLASS = ("ada", "ben", "chloe", "dae")  # of the sample class (examples/submitted): the solution, the starter, two bugs


def _grade(out: Path, env: dict, *extra: str) -> subprocess.CompletedProcess:
    folder = out.parent / "class"
    folder.mkdir(parents=True, exist_ok=True)
    for s in CLASS:
        shutil.copy(ROOT / "examples" / "submitted" / s / "01_rnn_lstm" / "01_rnn_lstm.ipynb", folder / f"{s}.ipynb")
    cmd = [sys.executable, "-m", "autograder", "grade", "--assignment", "01_rnn_lstm", "--out", str(out), "--only",
           ONLY, "--jobs", "2", "--quiet", "--no-reuse", *extra, str(folder)]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def _table(out: Path) -> list[dict]:
    with (out / "grades.csv").open(encoding="utf-8") as fh:
        return [{k: v for k, v in row.items()} for row in csv.DictReader(fh)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = Path("/tmp") / f"ray-{os.getpid()}"  # Ray's socket paths must stay short
    tmp.mkdir(exist_ok=True)
    env = _env(tmp)
    port = _free_port()
    start = subprocess.run([str(RAY), "start", "--head", "--num-cpus", "2", "--num-gpus", "0", "--port", str(port),
                            "--include-dashboard", "false", "--disable-usage-stats", "--temp-dir", str(tmp)],
                           env=env, capture_output=True, text=True, timeout=180)
    assert start.returncode == 0, start.stdout + start.stderr
    try:
        yield f"127.0.0.1:{port}", env
    finally:
        subprocess.run([str(RAY), "stop", "--force"], env=env, capture_output=True, timeout=120)


def test_a_class_graded_on_a_ray_cluster_gets_the_same_results(cluster, tmp_path):
    address, env = cluster
    t0 = time.time()
    ray_run = _grade(tmp_path / "ray", env, "--executor", "ray", "--address", address)
    ray_seconds = time.time() - t0
    assert ray_run.returncode == 0, ray_run.stdout + ray_run.stderr
    t0 = time.time()
    local = _grade(tmp_path / "local", env)
    local_seconds = time.time() - t0
    assert local.returncode == 0, local.stderr
    print(f"{len(CLASS)} notebooks of the sample class of 01 ({ONLY}): ray {ray_seconds:.0f} s, local threads {local_seconds:.0f} s")
    by_ray, by_local = _table(tmp_path / "ray"), _table(tmp_path / "local")
    assert [r["student"] for r in by_ray] == sorted(CLASS) and by_ray == by_local
    assert {r["total"] for r in by_ray} != {"7"}  # the sample class has wrong answers too: a real comparison
    for row in by_ray:
        ray_json = json.loads((tmp_path / "ray" / row["student"] / "results.json").read_text(encoding="utf-8"))
        local_json = json.loads((tmp_path / "local" / row["student"] / "results.json").read_text(encoding="utf-8"))
        assert [(t["name"], t.get("score"), t["output"]) for t in ray_json["tests"]] == \
               [(t["name"], t.get("score"), t["output"]) for t in local_json["tests"]]
    page = (tmp_path / "ray" / "class_report.html").read_text(encoding="utf-8")
    assert "on the Ray nodes" in page


def test_an_unreachable_cluster_is_a_clear_error(tmp_path):
    proc = _grade(tmp_path / "out", _env(tmp_path), "--executor", "ray", "--address", f"127.0.0.1:{_free_port()}")
    assert proc.returncode == 2 and "cannot start or reach the Ray cluster" in proc.stderr, proc.stderr[-2000:]
    assert not (tmp_path / "out" / "grades.csv").exists()
