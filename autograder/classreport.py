"""The class report: one static HTML page an instructor reads after grading a class, to see what to teach again.

`write_class_report` writes `<out_dir>/class_report.html`: a self-contained page (inline CSS, inline SVG charts
drawn here, no JavaScript, nothing fetched from the network) with

1. a header: the assignment, how many submissions, when, the seed, the sandbox, the wall time, how many
   results were resumed from an earlier run, and the class's mean and median total;
2. per item: a histogram of scores, the mean, the share with full marks, how many could not be checked
   (`ItemResult.error`) and how many were not graded (`ItemResult.internal_error`, never counted as a 0);
3. the most frequent failing sub-checks across the class, each with the most common message;
4. failures by reason (`failure_reasons`, which the command line can print too);
5. the time each submission took;
6. a table of the students.

Every string that comes from a submission (student names, notes, messages) is escaped with `html.escape`.
The page is written atomically: a temporary file in the same folder, then `os.replace`.
"""
from __future__ import annotations

import datetime as _dt
import html
import math
import statistics
from collections import Counter
from pathlib import Path

REPORT_NAME = "class_report.html"
TOP_FAILING = 15
MESSAGE_CHARS = 300
MAX_BUCKETS = 10

# (reason, what any of a submission's notes or item errors contains, lower-cased); "unreadable notebook" and
# "not graded (grader error)" are decided otherwise (see `failure_reasons`)
_TEXT_REASONS = (
    ("timed out", ("timed out",)),
    ("time budget", ("time budget",)),
    ("memory", ("mb of memory",)),
    ("too many processes", ("processes",)),
    ("crashed", ("grading process ended",)),
)
_UNREADABLE = ("not a valid notebook", "not utf-8", "cannot read", "has no cells")
_LATER_REASONS = (
    ("cell skipped", ("was skipped",)),
    ("missing answer cell", ("is missing",)),
    ("raised an error in a cell", (" raised ",)),
)
UNREADABLE = "unreadable notebook"
NOT_GRADED_REASON = "not graded (grader error)"
REASONS = (*(r for r, _ in _TEXT_REASONS), UNREADABLE, *(r for r, _ in _LATER_REASONS), NOT_GRADED_REASON)


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _num(x: float) -> str:
    return f"{round(x, 2):g}"


def _short(item_id: str) -> str:
    return item_id.split("/", 1)[-1]


def _truncate(text: str, limit: int = MESSAGE_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _duration(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {sec} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


# --------------------------------------------------------------------------------------------------- analysis

def failure_reasons(results) -> dict[str, list[str]]:
    """Why submissions lost points, by reason: {reason: sorted student names}, in the order of `REASONS`,
    only the reasons at least one student has. A student can have several reasons.

    A reason is found in the submission's notes and its items' errors (case-insensitive): "timed out",
    "time budget", "MB of memory", "processes", "grading process ended" (crashed), "was skipped", "is
    missing" (an answer cell), " raised " (a cell raised); "unreadable notebook" when every item could not
    be checked and a note says the notebook is not valid, not UTF-8, unreadable or has no cells; "not graded
    (grader error)" when any item has an internal error (the grader's reasons are not searched for the others).
    """
    found: dict[str, set[str]] = {r: set() for r in REASONS}
    for result in results:
        notes = [str(n).lower() for n in result.notes]
        texts = notes + [str(i.error).lower() for i in result.items if i.error is not None]
        for reason, needles in (*_TEXT_REASONS, *_LATER_REASONS):
            if any(needle in text for text in texts for needle in needles):
                found[reason].add(result.student)
        if (result.items and all(i.error is not None for i in result.items)
                and any(needle in note for note in notes for needle in _UNREADABLE)):
            found[UNREADABLE].add(result.student)
        if any(i.internal_error is not None for i in result.items):
            found[NOT_GRADED_REASON].add(result.student)
    return {reason: sorted(names) for reason, names in found.items() if names}


def failing_subchecks(results, items=()) -> list[dict]:
    """Each (item, sub-check) some students failed (earned < points), most failed first: dicts with item_id,
    check, points, count (students), partial (of them, how many earned some of its points), message (the most
    common non-empty message, truncated) and message_count (students who got that message).
    Items and sub-checks are in the order of `items` (then of the results) when counts tie."""
    order: dict[tuple[str, str], int] = {}
    for item in items:
        for name, _ in item.checks:
            order.setdefault((item.id, name), len(order))
    students: dict[tuple[str, str], set[str]] = {}
    partial: dict[tuple[str, str], set[str]] = {}
    messages: dict[tuple[str, str], Counter] = {}
    points: dict[tuple[str, str], float] = {}
    for result in results:
        for item in result.items:
            if item.error is not None or item.internal_error is not None:
                continue
            for check in item.checks:
                if check.passed:
                    continue
                key = (item.item_id, check.name)
                order.setdefault(key, len(order))
                points[key] = check.points
                if result.student in students.setdefault(key, set()):
                    continue  # one student counts once
                students[key].add(result.student)
                if check.earned > 0:
                    partial.setdefault(key, set()).add(result.student)
                text = " ".join(str(check.message or "").split())
                if text:
                    messages.setdefault(key, Counter())[text] += 1
    rows = []
    for key in sorted(students, key=lambda k: (-len(students[k]), order[k])):
        common = messages.get(key, Counter()).most_common(1)
        rows.append({"item_id": key[0], "check": key[1], "points": points[key], "count": len(students[key]),
                     "partial": len(partial.get(key, ())),
                     "message": _truncate(common[0][0]) if common else "",
                     "message_count": common[0][1] if common else 0})
    return rows


def _buckets(points: float, step: float) -> tuple[float, int]:
    """(bucket width, number of buckets) for scores 0..points: one bucket per `step` when that fits in
    MAX_BUCKETS (the last one is full marks), else a width that is a multiple of `step`, a divisor of the
    steps when one gives a readable chart."""
    if points <= 0:
        return 1.0, 1
    step = step if step > 0 else points
    steps = max(1, math.ceil(points / step - 1e-9))
    if steps + 1 <= MAX_BUCKETS:
        return step, steps + 1
    fits = [k for k in range(1, steps + 1) if steps % k == 0 and steps // k + 1 <= MAX_BUCKETS]
    if fits and steps // fits[0] + 1 >= 4:
        k = fits[0]
        return step * k, steps // k + 1
    k = math.ceil(steps / MAX_BUCKETS)
    return step * k, math.ceil(steps / k)


def _bucket_of(score: float, width: float, n: int) -> int:
    return min(n - 1, max(0, int(math.floor(score / width + 1e-9))))


# --------------------------------------------------------------------------------------------------- drawing

_CSS = """
:root { --ink:#1d2430; --muted:#5b6473; --line:#d5dae2; --bg:#f6f7f9; --bar:#3a6ea5; --full:#2f8a4c;
        --zero:#b8452f; --err:#8a8f98; --warn-bg:#fff3cd; --warn:#8a5a00; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--ink); font: 15px/1.45 system-ui, -apple-system, "Segoe UI",
       "Noto Sans", "Noto Sans CJK KR", "Apple SD Gothic Neo", "Malgun Gothic", "NanumGothic", sans-serif; }
main { max-width: 1140px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 16px; margin: 0 0 4px; }
.sub { color: var(--muted); margin: 0 0 16px; }
.facts { display: grid; grid-template-columns: repeat(4, 1fr); gap: 10px; margin: 16px 0; }
.fact { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.fact b { display: block; font-size: 20px; }
.fact span { color: var(--muted); font-size: 13px; }
.warning { border: 2px solid #d39e00; background: var(--warn-bg); color: #4d3300; border-radius: 6px;
           padding: 12px 16px; margin: 16px 0; font-size: 16px; }
.warning strong { color: var(--warn); text-transform: uppercase; letter-spacing: .03em; }
.items { display: grid; grid-template-columns: repeat(3, 1fr); gap: 14px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; break-inside: avoid;
        page-break-inside: avoid; }
.card .stats { color: var(--muted); font-size: 13px; margin: 4px 0 0; }
.card .stats b { color: var(--ink); }
svg { display: block; width: 100%; height: auto; }
svg text { font-family: inherit; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.msg { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; color: #333;
         word-break: break-word; }
td.full { background: #e5f3e9; } td.zero { background: #f8e4df; } td.part { background: #fdf6e3; }
td.ng { background: #eceef1; color: var(--muted); font-style: italic; }
tr { break-inside: avoid; page-break-inside: avoid; }
.legend { color: var(--muted); font-size: 13px; margin: 6px 0 12px; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; vertical-align: -1px;
          margin: 0 4px 0 12px; }
.none { color: var(--muted); font-style: italic; }
details summary { cursor: pointer; color: var(--muted); }
details ul { margin: 4px 0; padding-left: 18px; font-size: 12.5px; }
.students td.name { font-weight: 600; min-width: 170px; max-width: 260px; overflow-wrap: anywhere; }
.students th { font-size: 13px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@media print {
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  .items { grid-template-columns: repeat(2, 1fr); }
  .warning { border-width: 3px; }
  details ul { display: block; }
  body { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def _histogram_svg(counts: list[int], errors_in_zero: int, labels: list[str], full_last: bool, title: str) -> str:
    """A bar chart of students per score bucket; the could-not-be-checked ones are a grey part of the 0 bar."""
    width, height, left, bottom, top = 340, 170, 28, 34, 16
    n = len(counts)
    peak = max([1, *counts])
    plot_w, plot_h = width - left - 8, height - bottom - top
    slot = plot_w / n
    bar_w = max(2.0, slot * 0.78)
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}">',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}" stroke="#9aa3af"/>',
             f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="10" fill="#5b6473">{peak}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="10" fill="#5b6473">0</text>']
    for i, count in enumerate(counts):
        x = left + i * slot + (slot - bar_w) / 2
        h = plot_h * count / peak
        color = "var(--full)" if full_last and i == n - 1 else ("var(--zero)" if i == 0 else "var(--bar)")
        if count:
            parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                         f'fill="{color}"><title>{_e(labels[i])}: {count}</title></rect>')
            if i == 0 and errors_in_zero:
                eh = plot_h * errors_in_zero / peak
                parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - eh:.1f}" width="{bar_w:.1f}" height="{eh:.1f}" '
                             f'fill="var(--err)"><title>could not be checked: {errors_in_zero}</title></rect>')
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h - h - 3:.1f}" text-anchor="middle" '
                         f'font-size="10" fill="#1d2430">{count}</text>')
        step_label = n <= 6 or i % 2 == 0 or i == n - 1
        if step_label:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 13}" text-anchor="middle" '
                         f'font-size="10" fill="#5b6473">{_e(labels[i])}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle" font-size="10" '
                 f'fill="#5b6473">points</text></svg>')
    return "".join(parts)


def _time_svg(seconds: list[float]) -> str:
    """Sorted bars of the time each submission took, with a dashed median line."""
    width, height, left, bottom, top = 1080, 220, 78, 26, 14
    values = sorted(max(0.0, s) for s in seconds)
    peak = max([1e-9, *values])
    plot_w, plot_h = width - left - 10, height - bottom - top
    slot = plot_w / max(1, len(values))
    bar_w = max(1.0, slot * (0.8 if slot > 3 else 1.0))
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="seconds per submission, sorted">']
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="#e3e6eb"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#5b6473">'
                     f'{_e(_duration(peak * frac))}</text>')
    for i, value in enumerate(values):
        h = max(0.5, plot_h * value / peak)
        parts.append(f'<rect x="{left + i * slot:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
                     f'height="{h:.1f}" fill="var(--bar)"><title>{value:.1f} s</title></rect>')
    if values:
        med = statistics.median(values)
        y = top + plot_h * (1 - med / peak)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="#b8452f" '
                     f'stroke-dasharray="6 4"/><text x="{left + 6}" y="{y - 5:.1f}" text-anchor="start" '
                     f'font-size="12" fill="#b8452f" stroke="#fff" stroke-width="3" paint-order="stroke">'
                     f'median {_e(_duration(med))}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" font-size="11" '
                 f'fill="#5b6473">submissions, fastest to slowest ({len(values)})</text></svg>')
    return "".join(parts)


# --------------------------------------------------------------------------------------------------- sections

def _header(results, items, *, sandbox_kind, seconds, seed, resumed, now) -> str:
    assignments = sorted({r.assignment for r in results}) or sorted({i.assignment for i in items})
    title = ", ".join(assignments) or "(no assignment)"
    max_total = round(sum(i.points for i in items), 4) if items else max((r.max_score for r in results), default=0)
    totals = [r.score for r in results]
    mean = statistics.fmean(totals) if totals else None
    median = statistics.median(totals) if totals else None
    incomplete = sum(1 for r in results if not r.complete)

    def stat(x):
        return "—" if x is None else f"{_num(x)} / {_num(max_total)}"

    facts = [
        (len(results), "submissions"),
        (stat(mean), "mean total"),
        (stat(median), "median total"),
        (incomplete, "with a not-graded item (total without it)"),
        (_e(sandbox_kind), "sandbox"),
        (_e(seed), "seed"),
        (_e(_duration(seconds)), "total wall time"),
        (resumed, "resumed from an earlier run"),
    ]
    out = [f'<header><h1>Class report (학급 보고서): {_e(title)}</h1>',
           f'<p class="sub">Generated {_e(now.strftime("%Y-%m-%d %H:%M %Z").strip())} · {len(items)} graded items · '
           f'{_num(max_total)} points</p>']
    if sandbox_kind == "process":
        from autograder.sandbox import PROCESS_WARNING

        out.append(f'<div class="warning" id="process-sandbox-warning" role="alert"><strong>Warning: not '
                   f'sandboxed</strong><br>{_e(PROCESS_WARNING)}</div>')
    out.append('<div class="facts">' + "".join(f'<div class="fact"><b>{v}</b><span>{_e(k)}</span></div>'
                                               for v, k in facts) + "</div></header>")
    return "".join(out)


def _items_section(results, items) -> str:
    out = ['<section id="items"><h2>Score distribution (점수 분포)</h2>',
           '<p class="legend">Students per score bucket.<span class="swatch" style="background:var(--zero)"></span>'
           'lowest bucket<span class="swatch" style="background:var(--err)"></span>could not be checked (scores 0)'
           '<span class="swatch" style="background:var(--full)"></span>full marks. Not-graded items (grader errors) '
           'are left out of the chart and the mean.</p><div class="items">']
    for item in items:
        found = [r.by_item().get(item.id) for r in results]
        found = [x for x in found if x is not None]
        graded = [x for x in found if x.graded]
        errors = sum(1 for x in found if x.error is not None and x.graded)
        not_graded = len(found) - len(graded)
        step = min((p for _, p in item.checks if p > 0), default=item.points)
        width, n = _buckets(item.points, step)
        full_last = abs(width * (n - 1) - item.points) < 1e-9
        counts = [0] * n
        for x in graded:
            counts[_bucket_of(x.score, width, n)] += 1
        labels = []
        for i in range(n):
            lo, hi = width * i, min(item.points, width * (i + 1))
            one_value = abs(width - step) < 1e-9 or (full_last and i == n - 1)
            labels.append(_num(lo) if one_value else f"{_num(lo)}–{_num(hi)}")
        mean = statistics.fmean([x.score for x in graded]) if graded else None
        full = sum(1 for x in graded if x.score >= item.points - 1e-9)
        share = f"{100 * full / len(graded):.0f}%" if graded else "—"
        out.append(
            f'<div class="card" data-item="{_e(item.id)}"><h3>{_e(item.title)} <span class="none">'
            f'({_e(_short(item.id))}, {_num(item.points)} pts)</span></h3>'
            + _histogram_svg(counts, errors, labels, full_last, f"{item.title} scores")
            + f'<p class="stats">mean <b>{"—" if mean is None else _num(mean)}</b> / {_num(item.points)} · '
              f'full marks '
              f'<b>{share}</b> ({full}/{len(graded)})<br>could not be checked <b data-errors="{errors}">{errors}</b>'
              f' · not graded <b data-not-graded="{not_graded}">{not_graded}</b></p></div>')
    out.append("</div></section>")
    return "".join(out)


def _failing_section(results, items) -> str:
    rows = failing_subchecks(results, items)
    titles = {i.id: i.title for i in items}
    out = ['<section id="failing"><h2>Most frequent failing sub-checks (자주 틀린 항목)</h2>',
           f'<p class="legend">Each sub-check that students did not fully pass, most frequent first (top '
           f'{TOP_FAILING} of {len(rows)}), with the most common message they got.</p>']
    if not rows:
        out.append('<p class="none">No sub-check failed.</p></section>')
        return "".join(out)
    out.append('<table class="failing"><thead><tr><th class="n">#</th><th>Item</th><th>Sub-check</th>'
               '<th class="n">Students</th><th class="n">Share</th><th class="n">Partial</th>'
               '<th>Most common message</th></tr></thead><tbody>')
    total = max(1, len(results))
    for rank, row in enumerate(rows[:TOP_FAILING], 1):
        message = (f'{_e(row["message"])} <span class="none">({row["message_count"]}×)</span>' if row["message"]
                   else '<span class="none">(no message)</span>')
        out.append(
            f'<tr data-item="{_e(row["item_id"])}" data-check="{_e(row["check"])}" data-count="{row["count"]}">'
            f'<td class="n">{rank}</td><td>{_e(titles.get(row["item_id"], _short(row["item_id"])))}</td>'
            f'<td>{_e(row["check"])} <span class="none">({_num(row["points"])} pts)</span></td>'
            f'<td class="n"><b>{row["count"]}</b></td><td class="n">{100 * row["count"] / total:.0f}%</td>'
            f'<td class="n">{row["partial"]}</td><td class="msg">{message}</td></tr>')
    out.append("</tbody></table></section>")
    return "".join(out)


def _reasons_section(results) -> str:
    reasons = failure_reasons(results)
    out = ['<section id="reasons"><h2>Failures by reason (실패 원인)</h2>',
           '<p class="legend">Students whose notes or item errors show each problem (a student can have several).'
           '</p>']
    if not reasons:
        out.append('<p class="none">No submission had a problem of these kinds.</p></section>')
        return "".join(out)
    out.append('<table class="reasons"><thead><tr><th>Reason</th><th class="n">Students</th><th>Who</th></tr>'
               '</thead><tbody>')
    for reason, names in reasons.items():
        shown = ", ".join(_e(n) for n in names[:40]) + (f" … and {len(names) - 40} more" if len(names) > 40 else "")
        out.append(f'<tr data-reason="{_e(reason)}" data-count="{len(names)}"><td>{_e(reason)}</td>'
                   f'<td class="n"><b>{len(names)}</b></td><td>{shown}</td></tr>')
    out.append("</tbody></table></section>")
    return "".join(out)


def _time_section(results) -> str:
    seconds = [float(r.seconds) for r in results]
    out = ['<section id="time"><h2>Time per submission (제출물별 시간)</h2>']
    if not seconds:
        out.append('<p class="none">No submissions.</p></section>')
        return "".join(out)
    out.append(f'<p class="legend">min <b>{_e(_duration(min(seconds)))}</b> · median '
               f'<b>{_e(_duration(statistics.median(seconds)))}</b> · max <b>{_e(_duration(max(seconds)))}</b>'
               f' · total {_e(_duration(sum(seconds)))} (submissions run in parallel)</p>')
    out.append(_time_svg(seconds) + "</section>")
    return "".join(out)


def _students_section(results, items) -> str:
    out = ['<section id="students"><h2>Students (학생)</h2><table class="students"><thead><tr><th>Student</th>'
           '<th class="n">Total</th>']
    out += [f'<th class="n" title="{_e(i.title)}">{_e(_short(i.id)).replace("_", "_<wbr>")}<br>'
            f'<span class="none">/ {_num(i.points)}</span></th>' for i in items]
    out.append('<th class="n">Seconds</th><th>Notes</th></tr></thead><tbody>')
    for r in sorted(results, key=lambda r: (str(r.student).lower(), str(r.student))):
        by_item = r.by_item()
        total = f"{_num(r.score)} / {_num(r.max_score)}" + ("" if r.complete else " *")
        cells = []
        for item in items:
            x = by_item.get(item.id)
            state = x.state if x is not None else None
            if state is None:
                cells.append('<td class="n ng">—</td>')
            elif state in ("not graded", "error"):
                why, shown, kind = ((x.internal_error, "n/g", "ng") if state == "not graded"
                                    else (x.error, "0 (error)", "zero"))
                cells.append(f'<td class="n {kind}" title="{_e(_truncate(why))}">{shown}</td>')
            else:
                cells.append(f'<td class="n {state}">{_num(x.score)}</td>')
        if r.notes:
            notes = (f'<details><summary>{len(r.notes)}</summary><ul>'
                     + "".join(f"<li>{_e(_truncate(n, 600))}</li>" for n in r.notes) + "</ul></details>")
        else:
            notes = '<span class="none">0</span>'
        out.append(f'<tr><td class="name">{_e(r.student)}</td><td class="n">{_e(total)}</td>{"".join(cells)}'
                   f'<td class="n">{float(r.seconds):.1f}</td><td>{notes}</td></tr>')
    out.append('</tbody></table><p class="legend">n/g: not graded (grader error, not the student\'s fault, no '
               'score); * total without the not-graded items. Hover a cell for the reason.</p></section>')
    return "".join(out)


# --------------------------------------------------------------------------------------------------- the page

def render_class_report(results, items, *, sandbox_kind: str, seconds: float, seed: int, resumed: int = 0,
                        now: _dt.datetime | None = None) -> str:
    """The class report's HTML (see `write_class_report`)."""
    results, items = list(results), list(items)
    now = now or _dt.datetime.now().astimezone()
    title = ", ".join(sorted({r.assignment for r in results})) or "class"
    body = "".join([
        _header(results, items, sandbox_kind=sandbox_kind, seconds=seconds, seed=seed, resumed=resumed, now=now),
        _items_section(results, items),
        _failing_section(results, items),
        _reasons_section(results),
        _time_section(results),
        _students_section(results, items),
    ])
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>Class report: {_e(title)}</title><style>{_CSS}</style></head><body><main>{body}"
            f"<footer>Sequence Models Lab autograder · class report · {_e(now.isoformat(timespec='seconds'))}"
            "</footer></main></body></html>\n")


def write_class_report(out_dir, results, items, *, sandbox_kind: str, seconds: float, seed: int,
                       resumed: int = 0) -> Path:
    """Write `<out_dir>/class_report.html` atomically and return its path.

    results: the class's `SubmissionResult`s; items: the graded `Item`s (the columns and charts, in order);
    sandbox_kind: "bwrap" or "process" (the latter puts `autograder.sandbox.PROCESS_WARNING` at the top);
    seconds: the run's wall time; seed: the run's seed; resumed: how many results came from an earlier run.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    page = render_class_report(results, items, sandbox_kind=sandbox_kind, seconds=seconds, seed=seed,
                               resumed=resumed)
    from autograder.reports import write_atomic

    return write_atomic(out_dir / REPORT_NAME, page)
