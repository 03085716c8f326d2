"""Command line: `python -m autograder grade --assignment 01_rnn_lstm --out DIR PATH...`.

PATH is a notebook, a folder of notebooks (one per student, named after the student), or an nbgrader
`submitted/` tree (submitted/<student>/<assignment>/*.ipynb).

Exit status: 0 when every item of every submission was graded (whatever the scores), 2 when no
notebook was found, 1 when the gradebook could not be written, 3 when the grader itself failed on
some items: they are reported as "not graded" (never 0), stderr names them, and they are not written
to the gradebook.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from autograder import registry, reports
from autograder.results import ItemResult, SubmissionResult


def discover(paths: list[str], assignment: str) -> list[tuple[str, Path]]:
    """(student, notebook) pairs from notebooks, folders of notebooks and nbgrader submitted/ trees."""
    found: list[tuple[str, Path]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found.append((path.stem, path))
        elif path.is_dir():
            tree = path / "submitted" if (path / "submitted").is_dir() else path
            nbgrader_style = sorted(tree.glob(f"*/{assignment}/*.ipynb"))
            if nbgrader_style:
                for nb in nbgrader_style:
                    if ".ipynb_checkpoints" not in nb.parts:
                        found.append((nb.parent.parent.name, nb))
            else:
                for nb in sorted(tree.glob("*.ipynb")):
                    found.append((nb.stem, nb))
        else:
            found.append((path.stem, path))  # graded as unreadable, with a reason
    seen, unique = set(), []
    for student, nb in found:
        name, n = student, 2
        while name in seen:
            name, n = f"{student}-{n}", n + 1
        seen.add(name)
        unique.append((name, nb))
    return unique


REUSE_FROM = 3  # submissions from which verdicts of the solution's and the starter's identical cells are reused


def references(assignment: str) -> list[tuple[str, Path]]:
    """The trusted notebooks whose traced verdicts a class run reuses: the master solution, the starter."""
    from autograder.notebook import ROOT, master_path

    found = [("solution", master_path(assignment)), ("starter", ROOT / "assignments" / assignment / f"{assignment}.ipynb")]
    return [(name, path) for name, path in found if path.is_file()]


def grader_digest(assignment: str) -> str:
    """sha256 of what decides a grade besides the notebook: the grader's code (judges and oracles included) and the
    assignment's master and starter notebooks."""
    from autograder.notebook import ROOT

    h = hashlib.sha256()
    files = sorted((ROOT / "autograder").rglob("*.py")) + [p for _, p in references(assignment)]
    for path in files:
        if "__pycache__" not in path.parts:
            h.update(str(path.relative_to(ROOT)).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def submission_key(path: Path, assignment: str, seed: int, only, limits, digest: str) -> str:
    """What a grade depends on: the notebook's bytes, the assignment, seed, items and limits, and the grader."""
    try:
        content = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        content = f"unreadable: {exc.strerror}"
    settings = {"assignment": assignment, "seed": seed, "only": sorted(only or []), "content": content,
                "limits": dataclasses.asdict(limits), "grader": digest}
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def grade_class(submissions, assignment, out_dir, seed, jobs, limits, progress=True, only=None,
                reuse=None, regrade: bool = False, stats: dict | None = None, executor: str = "local",
                address: str = "local") -> list[SubmissionResult]:
    """Grade every submission, `jobs` at a time, writing each student's reports as soon as they are graded.

    Resumable: a student whose reports an earlier run wrote for the same notebook, settings and grader (and who was
    graded completely) is read back, not graded again, unless `regrade`. With `reuse` (None: from REUSE_FROM
    submissions on) the solution and the starter are graded first, traced, and an item whose closure of cells is
    byte-identical to theirs takes their verdict (autograder.reuse). `stats`, when given, gets "resumed" (how many
    were read back) and "grader_changed" (True when the grader's code or the master notebooks changed during the
    run: its grades cannot be trusted). `executor="ray"` grades each submission as a Ray task on the cluster at
    `address` (autograder.distributed; no verdict reuse there)."""
    from autograder.reuse import Reuse
    from autograder.runner import grade_notebook

    t0 = time.time()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    digest = grader_digest(assignment)
    keys = {student: submission_key(path, assignment, seed, only, limits, digest) for student, path in submissions}
    done = {}
    if not regrade:
        for student, _ in submissions:
            earlier = reports.read_done(out_dir, student, keys[student])
            if earlier is not None:
                done[student] = earlier
    results: list[SubmissionResult] = list(done.values())
    submissions = [(s, p) for s, p in submissions if s not in done]
    items = [i for i in registry.items(assignment) if not only or i.id in only or i.grade_id in only]
    console, bar, task = _progress(len(submissions), progress)
    local = executor == "local"  # verdict reuse is local-only
    store = Reuse() if local and submissions and (len(submissions) >= REUSE_FROM if reuse is None else reuse) else None
    if store is not None:
        def reference(job):
            try:
                grade_notebook(job[1], assignment, student=job[0], seed=seed, limits=limits, only=only, reuse=store,
                               reference=job[0])
            except Exception:  # noqa: BLE001 - a failed reference only means nothing is reused from it
                pass

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            list(pool.map(reference, references(assignment)))

    def not_graded(student, path, exc):
        reason = f"internal grader error: {type(exc).__name__}: {str(exc).strip()[:300]}"
        return SubmissionResult(student, assignment, str(path),
                                [ItemResult(i.id, i.points, internal_error=reason) for i in items])

    def one(student, path):
        try:
            return grade_notebook(path, assignment, student=student, seed=seed, limits=limits, only=only, reuse=store)
        except Exception as exc:  # never let one submission stop the class; the grader's fault is no 0
            return not_graded(student, path, exc)

    if executor == "ray":
        from autograder.distributed import RayPool

        pool = RayPool(address, jobs, needs_gpu=any(i.device == "gpu" for i in items))
        submit = lambda s, p: pool.submit(s, p, assignment, seed, limits, only)  # noqa: E731
    else:
        pool = ThreadPoolExecutor(max_workers=max(1, jobs))
        submit = lambda s, p: pool.submit(one, s, p)  # noqa: E731
    with pool:
        futures = {submit(s, p): (s, p) for s, p in submissions}
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001 - a task lost on the cluster: the grader's fault, never a 0
                result = not_graded(*futures[future], exc)
            results.append(result)
            reports.write_student(out_dir, result, key=keys[futures[future][0]])
            if bar is not None:
                bar.update(task, advance=1, description=f"graded {result.student}")
    if bar is not None:
        bar.stop()
    results.sort(key=lambda r: r.student)
    changed = grader_digest(assignment) != digest
    if stats is not None:
        stats.update(resumed=len(done), grader_changed=changed)
    reports.write_grades_csv(out_dir, results)
    from autograder.classreport import write_class_report
    from autograder.runner import sandbox_for

    kind = sandbox_for(limits).kind if local else f"{limits.sandbox} (on the Ray nodes)"
    write_class_report(out_dir, results, items, sandbox_kind=kind, seconds=time.time() - t0,
                       seed=seed, resumed=len(done))
    if progress:
        _print_table(console, results, items)
    return results


def _print_failures(results) -> None:
    """One line per reason a submission lost points other than by a wrong answer (timeouts, crashes, ...)."""
    from autograder.classreport import failure_reasons

    found = failure_reasons(results)
    if found:
        print("failures by reason:")
        for reason, students in sorted(found.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            shown = ", ".join(students[:8]) + (f" and {len(students) - 8} more" if len(students) > 8 else "")
            print(f"  {reason}: {len(students)} ({shown})")


def _progress(total, enabled):
    if not enabled:
        return None, None, None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=False, width=None if sys.stdout.isatty() else 120)
    bar = Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console)
    bar.start()
    task = bar.add_task("grading", total=total)
    return console, bar, task


def _print_table(console, results, items):
    from rich.table import Table

    table = Table(title=f"{results[0].assignment if results else ''}: points per item")
    table.add_column("student")
    for item in items:
        table.add_column(f"{item.grade_id}\n/{item.points:g}", justify="right")
    table.add_column("total", justify="right")
    table.add_column("s", justify="right")
    for r in results:
        by = r.by_item()
        cells = []
        for item in items:
            res = by.get(item.id)
            state = res.state if res is not None else None
            if state in (None, "not graded", "error"):
                cells.append({None: "", "not graded": "[magenta]n/g[/magenta]", "error": "[red]err[/red]"}[state])
            else:
                colour = {"full": "green", "part": "yellow", "zero": "red"}[state]
                cells.append(f"[{colour}]{res.score:g}[/{colour}]")
        total = f"{r.score:g}/{r.max_score:g}" + ("" if r.complete else "+n/g")
        table.add_row(r.student, *cells, total, f"{r.seconds:.0f}")
    console.print(table)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade notebooks with the standalone sandboxed runner")
    g.add_argument("paths", nargs="+", metavar="PATH")
    g.add_argument("--assignment", required=True, choices=registry.assignments())
    g.add_argument("--out", required=True, help="report folder (results.json and feedback.md per student, grades.csv)")
    g.add_argument("--seed", type=int, default=registry.DEFAULT_SEED, help="seed of the grader's inputs and weights")
    g.add_argument("--jobs", type=int, default=2, help="submissions graded in parallel (default 2)")
    g.add_argument("--setup-timeout", type=float, default=120.0, help="seconds to run a submission's cells")
    g.add_argument("--timeout-scale", type=float, default=1.0, help="multiplies every item's own time limit")
    g.add_argument("--memory-mb", type=int, default=3072, help="memory limit per submission (MB)")
    g.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                   help="hard time budget per submission, all its checks together (default: the setup timeout plus "
                        "every graded item's own time limit)")
    g.add_argument("--sandbox", choices=("auto", "bwrap", "process"), default="auto",
                   help="where student code runs: bwrap (bubblewrap: new namespaces, only its job folder writable, "
                        "the grader's files invisible), process (a plain child process: for trusted notebooks only), "
                        "auto (bwrap when it works here, default)")
    g.add_argument("--warm", action=argparse.BooleanOptionalAction, default=True,
                   help="fork each submission's worker from a warm one that has imported Keras once, in a sandbox of "
                        "its own (default); --no-warm starts a fresh worker per submission (the same grades, slower)")
    g.add_argument("--only", action="append", metavar="GRADE_ID",
                   help="grade only this item (repeat, or separate with commas)")
    g.add_argument("--gradebook", metavar="DB_URL",
                   help="also write the scores into an nbgrader gradebook, e.g. sqlite:///course/gradebook.db")
    g.add_argument("--course-id", help="nbgrader course_id of that gradebook (default: nbgrader's default)")
    g.add_argument("--quiet", action="store_true", help="no progress bar, table or failure summary (the class report "
                                                        "has them)")
    g.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="local: --jobs threads on this machine (default); ray: each submission a Ray task on a cluster "
                        "(pip install -e '.[ray]'), sandboxed on its node")
    g.add_argument("--address", default="local",
                   help="with --executor ray: the cluster's address (as `ray start --head` prints it), or 'local' to "
                        "start Ray on this machine with --jobs CPUs (default)")
    g.add_argument("--regrade", action="store_true",
                   help="grade every submission again (default: a student an earlier run graded completely, with the "
                        "same notebook, settings and grader, is read back from --out)")
    g.add_argument("--reuse", action=argparse.BooleanOptionalAction, default=None,
                   help="reuse the verdicts of the solution's and the starter's identical cells (default: from "
                        f"{REUSE_FROM} submissions on)")
    ls = sub.add_parser("items", help="list the graded items and their points")
    ls.add_argument("--assignment", choices=registry.assignments())
    return parser



def _list_items(assignment: str | None) -> int:
    total = 0.0
    for item in registry.items(assignment):
        print(f"{item.id:45s} {item.points:5g}  {item.title}")
        total += item.points
    print(f"{'total':45s} {total:5g}")
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "items":
        return _list_items(args.assignment)
    return _grade(args)


def _grade(args) -> int:
    from autograder.runner import Limits

    if args.only:
        args.only = [g.strip() for value in args.only for g in value.split(",") if g.strip()]
    submissions = discover(args.paths, args.assignment)
    if not submissions:
        print(f"no notebooks found under {' '.join(args.paths)}", file=sys.stderr)
        return 2
    from autograder import sandbox

    try:
        box = sandbox.get(args.sandbox)
    except sandbox.SandboxError as exc:
        print(f"cannot grade: {exc}", file=sys.stderr)
        return 2
    if box.kind == "process":
        print(f"WARNING: {sandbox.PROCESS_WARNING}", file=sys.stderr)
    limits = Limits(setup_timeout_s=args.setup_timeout, item_timeout_scale=args.timeout_scale, memory_mb=args.memory_mb,
                    sandbox=box.kind, budget_s=args.budget, warm=args.warm)
    t0 = time.time()
    stats: dict = {}
    from autograder.distributed import RayUnavailable

    try:
        results = grade_class(submissions, args.assignment, args.out, args.seed, args.jobs, limits,
                              progress=not args.quiet, only=args.only, reuse=args.reuse, regrade=args.regrade,
                              stats=stats, executor=args.executor, address=args.address)
    except RayUnavailable as exc:
        print(f"cannot grade: {exc}", file=sys.stderr)
        return 2
    n = len(results)
    if stats.get("grader_changed"):
        print("the grader's code or the master notebooks changed while grading: these grades cannot be trusted; "
              "grade again with --regrade", file=sys.stderr)
    incomplete = [r for r in results if not r.complete]
    for r in incomplete:
        for item in r.not_graded:
            print(f"NOT GRADED: {r.student} {item.item_id}: {item.internal_error}", file=sys.stderr)
    if args.gradebook:
        from autograder.gradebook import GradebookError, write_gradebook

        # a not-graded item is left out: the gradebook keeps no score for it rather than a false 0
        graded = [dataclasses.replace(r, items=[i for i in r.items if i.graded]) for r in results]
        try:
            count = write_gradebook(args.gradebook, args.assignment, graded, args.course_id)
        except GradebookError as exc:
            print(f"gradebook not updated: {exc}", file=sys.stderr)
            return 1
        print(f"wrote {count} grades to {args.gradebook}")
    reused = sum(len(r.reused) for r in results)
    if reused:
        print(f"{reused} item verdict(s) reused from the solution's or the starter's identical cells")
    if stats.get("resumed"):
        print(f"{stats['resumed']} submission(s) read back from an earlier run (same notebook, settings and grader; "
              "--regrade to grade them again)")
    if not args.quiet:
        _print_failures(results)
    print(f"graded {n} submission(s) in {time.time() - t0:.0f} s; reports in {args.out}/ (grades.csv, class_report.html, "
          "<student>/results.json, <student>/feedback.md)")
    if stats.get("grader_changed"):
        return 3
    if incomplete:
        count = sum(len(r.not_graded) for r in incomplete)
        print(f"the grader failed on {count} item(s) of {len(incomplete)} submission(s) ({', '.join(r.student for r in incomplete)}): "
              "they are marked 'not graded' in the reports, not 0; grade them again once the cause is fixed", file=sys.stderr)
        return 3
    return 0
