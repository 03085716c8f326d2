"""Smoke test of benchmarks/translation_speed.py: both models build at equal size and both train (few steps)."""
from __future__ import annotations

import re
import subprocess
import sys

from tests.helpers import ROOT


def test_speed_benchmark_runs_and_reports_a_ratio():
    done = subprocess.run([sys.executable, "benchmarks/translation_speed.py", "--profile", "cpu", "--steps", "10",
                           "--warmup", "1"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert re.search(r"[\d,]+ weights each, 10 timed steps each", out), out
    assert re.search(r"from scratch +[\d.]+ ms/step", out) and re.search(r"built-in MHA +[\d.]+ ms/step", out), out
    assert float(re.search(r"ratio \(from scratch / built-in\): ([\d.]+)", out).group(1)) > 0
