"""Warm workers (autograder.warm): the same grades as fresh workers, and nothing of one job reaches the next.

Under bubblewrap (CI installs it: a missing sandbox fails here, never skips)."""
from __future__ import annotations

import dataclasses
import json
import os
import re

import psutil

from autograder import warm
from autograder.runner import grade_notebook
from tests.helpers import write_nb
from tests.hostile.cases import LIMITS, append, solution
from tests.mutants import catalogue

MARK = "4321.25"  # the `sleep` a job leaves behind
LEAVE = f"""
import ctypes, subprocess
_libc = ctypes.CDLL(None, use_errno=True)  # System V IPC objects outlive their process: a channel to the next job
assert _libc.shmget(0x5EC1AB, 4096, 0o1600) >= 0 and _libc.msgget(0x5EC1AB, 0o1600) >= 0
assert _libc.semget(0x5EC1AB, 1, 0o1600) >= 0
open("/tmp/warm-secret", "w").write("job A")
open("../planted.py", "w").write("x = 1")
subprocess.Popen(["sleep", "{MARK}"], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
"""
LOOK = f"""
import json, os
def _cmdline(pid):
    try:
        return open(f"/proc/{{pid}}/cmdline").read()
    except OSError:
        return ""
_seen = {{"secret": os.path.exists("/tmp/warm-secret"), "planted": os.path.exists("../planted.py"),
          "slot": len(os.listdir("..")), "sleep": any("{MARK}" in _cmdline(p) for p in os.listdir("/proc") if p.isdigit()),
          "ipc": sum(len(open(f"/proc/sysvipc/{{k}}").read().splitlines()) - 1 for k in ("shm", "msg", "sem"))}}
raise RuntimeError("SEEN" + json.dumps(_seen, sort_keys=True) + "END")
"""


def _live_zygotes() -> set[int]:
    return {z.proc.pid for z in warm.POOL.all if z.alive()}


def test_the_next_job_in_the_same_warm_worker_sees_nothing_the_last_one_left(tmp_path):
    limits = dataclasses.replace(LIMITS, warm=True)
    first = grade_notebook(write_nb(append(solution(), "rnn_cell_code", LEAVE), tmp_path / "a.ipynb"), "01_rnn_lstm",
                           limits=limits, only=["rnn_cell"])
    zygotes = _live_zygotes()
    second = grade_notebook(write_nb(append(solution(), "rnn_cell_code", LOOK), tmp_path / "b.ipynb"), "01_rnn_lstm",
                            limits=limits, only=["rnn_cell"])
    assert zygotes and _live_zygotes() == zygotes  # the second job was forked by the same warm worker
    assert [i.score for i in first.items] == [3.0] and [i.score for i in second.items] == [3.0]
    seen = next(json.loads(m.group(1)) for n in second.notes if (m := re.search(r"SEEN(\{.*?\})END", n)))
    assert seen == {"ipc": 0, "planted": False, "secret": False, "sleep": False, "slot": 1}
    assert not any(MARK in " ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"]))


def test_warm_and_fresh_workers_give_the_same_grades(tmp_path):
    mutant = next(m for m in catalogue("01_rnn_lstm") if m.fails == ("lstm_cell",))
    nb = write_nb(mutant.apply(solution()), tmp_path / "m.ipynb")
    only = ["rnn_cell", "lstm_cell"]
    graded = {w: grade_notebook(nb, "01_rnn_lstm", limits=dataclasses.replace(LIMITS, warm=w), only=only)
              for w in (False, True)}
    fresh, warm_ = ([(i.item_id, i.score, [(c.name, c.earned, c.message) for c in i.checks], i.error)
                     for i in graded[w].items] for w in (False, True))
    assert fresh == warm_ and graded[True].notes == graded[False].notes
    assert sum(i.score for i in graded[True].items) < 8.0  # the mutant loses points: the comparison is not vacuous


def test_grading_leaks_no_file_descriptor(tmp_path):
    """Each job's status pipe is closed on the grader's side whichever worker ran it (a leak is one fd per job:
    a class of hundreds would run out)."""
    nb = write_nb(solution(), tmp_path / "s.ipynb")
    counts = []
    for w in (True, True, False, True):
        grade_notebook(nb, "01_rnn_lstm", limits=dataclasses.replace(LIMITS, warm=w), only=["rnn_cell"])
        counts.append(len(os.listdir("/proc/self/fd")))
    assert counts[1:] == [counts[0]] * 3, counts
