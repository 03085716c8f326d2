"""benchmarks/story_alignment.py, the calibration behind 02's story (Part 10), runs as documented on a tiny
configuration: one line per model and seed, accuracies per length bucket, and the attention statistics
(within their ranges) for attention models only."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "story_alignment.py"


def test_command_line_prints_one_line_per_run():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--models", "bahdanau,plain", "--seeds", "0", "--pairs", "64",
         "--epochs", "1", "--threads", "1"],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [l for l in proc.stdout.splitlines() if " seed 0 " in l]
    assert [l.split()[0] for l in lines] == ["bahdanau", "plain"], proc.stdout
    for line in lines:
        assert "64 pairs of >= 7 words" in line
        accuracies = [float(a) for a in re.findall(r"\d+-\d+: ([0-9.]+)", line)]
        assert len(accuracies) == 5 and all(0.0 <= a <= 1.0 for a in accuracies), line
    stats = re.search(r"ends ([0-9.]+) entropy ([0-9.]+) distinct ([0-9.]+)", lines[0])
    assert stats, lines[0]
    ends, entropy, distinct = map(float, stats.groups())
    assert 0.0 <= ends <= 1.0 and entropy >= 0.0 and 0.0 < distinct <= 1.0
    assert "ends" not in lines[1]
