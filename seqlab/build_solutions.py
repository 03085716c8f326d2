"""Executed copies of the master notebooks for self-learners: `make solutions`.

    python -m seqlab.build_solutions --out build/solutions [ASSIGNMENT ...]

Each notebook runs top to bottom in a real Jupyter kernel (outputs, plots and translations kept) and is
written to OUT/<id>/<id>.ipynb. The hidden test cells run too and show the reference's full marks.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def execute(source: Path, dest: Path, timeout: int = 900) -> float:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(str(source), as_version=4)
    env_bin = os.path.dirname(sys.executable)
    os.environ["PATH"] = env_bin + os.pathsep + os.environ.get("PATH", "")
    os.environ.pop("NBGRADER_EXECUTION", None)
    os.environ.pop("SEQLAB_GRADING", None)
    t0 = time.time()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(source.parent)}})
    client.execute()
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(dest))
    return time.time() - t0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*", help="ids (default: every notebook in solutions/)")
    parser.add_argument("--out", default=str(ROOT / "build" / "solutions"))
    args = parser.parse_args(argv)
    ids = args.assignments or sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
    for aid in ids:
        source = ROOT / "solutions" / aid / f"{aid}.ipynb"
        dest = Path(args.out) / aid / f"{aid}.ipynb"
        seconds = execute(source, dest)
        print(f"{aid}: executed in {seconds:.0f} s -> {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
