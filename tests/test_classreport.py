"""The class report (autograder/classreport.py) on a synthetic class of 01_rnn_lstm: no grading, no TensorFlow.

The class is declared below as what each student got wrong; the expected counts are computed from that
declaration, the page's numbers are read back from it, and the page is opened in a real headless Chromium
(a screenshot and the parsed DOM).
"""
from __future__ import annotations

import html
import os
import re
import shutil
import struct
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from autograder import classreport, registry
from autograder.classreport import REPORT_NAME, failure_reasons, write_class_report
from autograder.results import ItemResult, SubCheck, SubmissionResult
from autograder.sandbox import PROCESS_WARNING

ASSIGNMENT = "01_rnn_lstm"
ITEMS = registry.items(ASSIGNMENT)
BY_GID = {i.grade_id: i for i in ITEMS}
SCRIPT = "<script>alert(1)</script>"
SCRIPT_MESSAGE = "expected tanh, got <script>alert(3)</script>"
FORGET = "the forget gate uses tanh instead of sigmoid"
MASK = "masked steps changed the state"

# who got what wrong: {student: {(grade_id, sub-check): (earned, message)}} on items that were checked
FAILS = {
    "ada": {},
    "ben": {("lstm_cell", "forget gate"): (0, FORGET), ("lstm_cell", "numerics"): (0.5, "outputs differ by 0.3")},
    "cho": {("lstm_cell", "forget gate"): (0, FORGET), ("gru_cell", "reset gate"): (0, "reset gate applied late")},
    "dana": {("lstm_cell", "forget gate"): (0, "the forget gate is never used"),
             ("masked_sequences", "mask"): (0, MASK)},
    "eun": {("masked_sequences", "mask"): (0, MASK), ("long_term_dependency", "learns the adding problem"):
            (0, "MSE 0.17 > 0.05 after training")},
    "fay": {("lstm_cell", "forget gate"): (0, FORGET), ("masked_sequences", "mask"): (0.5, MASK)},
    "gus": {("lstm_cell", "forget gate"): (0, FORGET), ("rnn_cell", "terms"): (0, "missing the bias term")},
    "hana": {},
    SCRIPT: {("rnn_cell", "terms"): (0, SCRIPT_MESSAGE), ("lstm_cell", "numerics"): (0, "outputs differ by 2.1")},
    "ivan": {("rnn_cell", "terms"): (0, SCRIPT_MESSAGE)},
    "jin": {("gru_cell", "interface"): (0, "GRUCell is not defined"), ("gru_cell", "shape"): (0, ""),
            ("gru_cell", "numerics"): (0, "")},
    "kim": {("rnn_cell", "serialization"): (0, "get_config() misses units")},
    "lee": {("rnn_cell", "shape"): (0.1, "wrong shape"), ("rnn_cell", "sequence"): (0, "no sequence"),
            ("rnn_cell", "symbolic"): (0, "symbolic call fails"), ("lstm_cell", "interface"): (0, "bad interface"),
            ("lstm_cell", "weight layout"): (0, "kernel is (4u, d)"), ("gru_cell", "candidate"): (0, "wrong h~"),
            ("bidirectional_encoder", "backward half"): (0, "not reversed"),
            ("bidirectional_encoder", "mask"): (0, "mask ignored"),
            ("long_term_dependency", "markers"): (0, "two markers expected"),
            ("long_term_dependency", "seeding"): (0, "not seeded"),
            ("masked_sequences", "initial_state"): (0, "initial_state ignored")},
}
# items that could not be checked (error) or were not graded (internal error), and the notes
TIMEOUT = "timed out after 120 s while running the answer cell 'long_term_dependency' (an infinite loop?)"
BUDGET = "the submission used up its time budget before this check could run"
MEMORY = "used more than 2048 MB of memory while running the answer cell 'lstm_cell'"
UNREADABLE = "hana.ipynb is not a valid notebook: Expecting value: line 1 column 1 (char 0)"
ERRORS = {
    "fay": {"long_term_dependency": TIMEOUT},
    "hana": {gid: UNREADABLE for gid in BY_GID},
    "ivan": {"lstm_cell": MEMORY},
    "kim": {"long_term_dependency": BUDGET},
}
INTERNAL = {"gus": {"gru_cell": "internal grader error, the judge raised 2 times: KeyError: 'gru/out'"}}
NOTES = {
    "fay": [TIMEOUT, "the answer cell 'long_term_dependency' was skipped so that the other parts could be graded"],
    "hana": [UNREADABLE],
    SCRIPT: [f"the answer cell 'rnn_cell' raised NameError: {SCRIPT}"],
    "ivan": [MEMORY],
    "jin": ["the answer cell 'gru_cell' is missing (deleted?); the starter code was graded"],
    "kim": ["started more than 64 processes while running the answer cell 'rnn_cell'",
            "the grading process ended (killed by signal 9) while running the answer cell 'gru_cell'", BUDGET],
    "lee": ["the locked cell 'setup' was edited; the original was used"],
}
# what each student's problems are, as designed above (independent of how the module finds them)
EXPECTED_REASONS = {
    "timed out": ["fay"],
    "time budget": ["kim"],
    "memory": ["ivan"],
    "too many processes": ["kim"],
    "crashed": ["kim"],
    "unreadable notebook": ["hana"],
    "cell skipped": ["fay"],
    "missing answer cell": ["jin"],
    "raised an error in a cell": [SCRIPT],
    "not graded (grader error)": ["gus"],
}
SECONDS = {s: 3.0 + 7.5 * k for k, s in enumerate(FAILS)}


def build_results() -> list[SubmissionResult]:
    results = []
    for student, fails in FAILS.items():
        items = []
        for item in ITEMS:
            if item.grade_id in INTERNAL.get(student, {}):
                items.append(ItemResult(item.id, item.points, internal_error=INTERNAL[student][item.grade_id]))
            elif item.grade_id in ERRORS.get(student, {}):
                items.append(ItemResult(item.id, item.points, error=ERRORS[student][item.grade_id]))
            else:
                checks = []
                for name, points in item.checks:
                    earned, message = fails.get((item.grade_id, name), (points, ""))
                    checks.append(SubCheck(name, points, earned, message))
                items.append(ItemResult(item.id, item.points, checks=checks))
        results.append(SubmissionResult(student, ASSIGNMENT, f"/submissions/{student}.ipynb", items,
                                        notes=list(NOTES.get(student, [])), seconds=SECONDS[student]))
    return results


def write(tmp_path: Path, sandbox_kind: str = "bwrap") -> Path:
    return write_class_report(tmp_path / "report", build_results(), ITEMS, sandbox_kind=sandbox_kind,
                              seconds=754.2, seed=20261123, resumed=3)


def section(page: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}">(.*?)</section>', page, re.S)
    assert match, f"no section {section_id!r} in the page"
    return match.group(1)


def test_data_is_what_the_test_means():
    """Guard for the test itself: every declared failing sub-check exists and really loses points."""
    for fails in FAILS.values():
        for (gid, name), (earned, _) in fails.items():
            assert earned < dict(BY_GID[gid].checks)[name], (gid, name)
    assert len({k for f in FAILS.values() for k in f}) > classreport.TOP_FAILING  # the top-15 cut is exercised


def test_failure_reasons_match_the_class():
    assert failure_reasons(build_results()) == EXPECTED_REASONS
    assert list(failure_reasons(build_results())) == [r for r in classreport.REASONS if r in EXPECTED_REASONS]
    assert failure_reasons([]) == {}


def test_failing_subchecks_counts_order_and_message(tmp_path):
    expected = Counter(key for fails in FAILS.values() for key in fails)
    messages: dict[tuple, Counter] = {}
    for fails in FAILS.values():
        for key, (_, message) in fails.items():
            if message:
                messages.setdefault(key, Counter())[message] += 1
    assert expected[("lstm_cell", "forget gate")] == 5  # ben cho dana fay gus: the class's top problem

    page = write(tmp_path).read_text(encoding="utf-8")
    rows = re.findall(r'<tr data-item="([^"]+)" data-check="([^"]+)" data-count="(\d+)">(.*?)</tr>',
                      section(page, "failing"), re.S)
    assert len(rows) == classreport.TOP_FAILING
    counts = [int(c) for _, _, c, _ in rows]
    assert counts == sorted(counts, reverse=True)
    assert counts == sorted(expected.values(), reverse=True)[:classreport.TOP_FAILING]
    for item_id, check, count, cells in rows:
        key = (item_id.split("/", 1)[1], html.unescape(check))
        assert int(count) == expected[key], key
        assert f"<b>{expected[key]}</b>" in cells
        if key in messages:
            text, n = messages[key].most_common(1)[0]
            assert f"{html.escape(text)} <span" in cells and f"({n}×)" in cells, key
        else:
            assert "(no message)" in cells
    top = rows[0]
    assert (top[0], top[1]) == (f"{ASSIGNMENT}/lstm_cell", "forget gate")
    assert html.escape(FORGET) in top[3] and "(4×)" in top[3]  # 4 of the 5 got this message, dana another


def test_items_section_counts_errors_and_not_graded(tmp_path):
    page = write(tmp_path).read_text(encoding="utf-8")
    items = section(page, "items")
    for item in ITEMS:
        errors = sum(1 for s in ERRORS if item.grade_id in ERRORS[s])
        not_graded = sum(1 for s in INTERNAL if item.grade_id in INTERNAL[s])
        card = re.search(rf'<div class="card" data-item="{re.escape(item.id)}">(.*?)</p></div>', items, re.S)
        assert card, item.id
        assert f'data-errors="{errors}"' in card.group(1) and f'data-not-graded="{not_graded}"' in card.group(1)
        assert "<svg" in card.group(1) and "<rect" in card.group(1)
        # full marks: checked, nothing declared failing on it, not errored or not graded
        full = sum(1 for s, fails in FAILS.items() if not any(g == item.grade_id for g, _ in fails)
                   and item.grade_id not in ERRORS.get(s, {}) and item.grade_id not in INTERNAL.get(s, {}))
        graded = len(FAILS) - not_graded
        assert f"({full}/{graded})" in card.group(1), item.id
    reasons = dict(re.findall(r'<tr data-reason="([^"]+)" data-count="(\d+)">', section(page, "reasons")))
    assert {html.unescape(k): int(v) for k, v in reasons.items()} == {k: len(v) for k, v in EXPECTED_REASONS.items()}
    header = page.split("</header>", 1)[0]
    assert ASSIGNMENT in header and "20261123" in header and "12 min 34 s" in header
    assert "<b>3</b><span>resumed from an earlier run</span>" in header
    assert f"<b>{len(FAILS)}</b><span>submissions</span>" in header
    students = section(page, "students")
    assert students.count(">n/g</td>") == 1 and students.count("0 (error)") == sum(len(e) for e in ERRORS.values())


def test_student_strings_are_escaped(tmp_path):
    page = write(tmp_path).read_text(encoding="utf-8")
    assert "<script" not in page.lower()  # the page has no script of its own, and none of the students'
    assert html.escape(SCRIPT) in section(page, "students")  # the name, in the table
    assert html.escape(NOTES[SCRIPT][0]) in section(page, "students")  # the note
    assert html.escape(SCRIPT) in section(page, "reasons")
    assert html.escape(SCRIPT_MESSAGE) in section(page, "failing")  # a sub-check's message


def test_process_sandbox_warning_only_for_process(tmp_path):
    warned = write(tmp_path / "p", "process").read_text(encoding="utf-8")
    plain = write(tmp_path / "b", "bwrap").read_text(encoding="utf-8")
    assert html.escape(PROCESS_WARNING) in warned and 'id="process-sandbox-warning"' in warned
    assert warned.index("process-sandbox-warning") < warned.index('<section id="items">')  # at the top
    assert PROCESS_WARNING not in plain and html.escape(PROCESS_WARNING) not in plain
    assert "process-sandbox-warning" not in plain


def test_written_atomically(tmp_path, monkeypatch):
    path = write(tmp_path)
    assert path == tmp_path / "report" / REPORT_NAME
    assert sorted(p.name for p in path.parent.iterdir()) == [REPORT_NAME]  # no temporary file left
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and '<meta charset="utf-8">' in page
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)

    # a write that fails at the last step leaves the previous report whole and no temporary file
    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        write_class_report(path.parent, build_results()[:2], ITEMS, sandbox_kind="process", seconds=1, seed=1)
    monkeypatch.undo()
    assert sorted(p.name for p in path.parent.iterdir()) == [REPORT_NAME]
    assert path.read_text(encoding="utf-8") == page


def test_empty_class(tmp_path):
    path = write_class_report(tmp_path, [], ITEMS, sandbox_kind="bwrap", seconds=0, seed=1)
    page = path.read_text(encoding="utf-8")
    assert "No sub-check failed." in page and "No submissions." in page


# ----------------------------------------------------------------------------------------- a real browser

CHROMIUM = "/usr/bin/chromium"


def _chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    if not (shutil.which("chromium") or Path(CHROMIUM).exists()):
        pytest.fail("Chromium is not installed (needed to check the class report in a real browser): "
                    "apt-get install -y chromium (.ci/run installs it)")
    exe = shutil.which("chromium") or CHROMIUM
    profile = tmp / f"profile{len(list(tmp.glob('profile*')))}"
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", *args]
    env = {**os.environ, "HOME": str(tmp)}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"chromium did not finish in 60 s: {' '.join(cmd)}\n{(exc.stderr or b'')[-2000:]!r}")
    assert proc.returncode == 0, f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}"
    return proc


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_page_in_a_real_browser(tmp_path):
    from PIL import Image

    page = write(tmp_path, "process")
    shot = tmp_path / "shot" / "report.png"
    shot.parent.mkdir()
    _chromium(tmp_path, "--window-size=1200,3000", f"--screenshot={shot}", page.as_uri())
    assert shot.is_file(), "chromium wrote no screenshot"
    assert _png_size(shot) == (1200, 3000)
    with Image.open(shot) as image:
        rgb = image.convert("RGB")
        colors = Counter(rgb.getdata())
    white = colors.get((255, 255, 255), 0) / sum(colors.values())
    assert white < 0.97, f"the screenshot is almost blank ({white:.1%} white)"
    assert len(colors) > 50, "the screenshot has almost no colours: was anything drawn?"

    def near(rgb_hex: str) -> int:
        want = tuple(int(rgb_hex[i:i + 2], 16) for i in (0, 2, 4))
        return sum(n for c, n in colors.items() if all(abs(a - b) <= 6 for a, b in zip(c, want)))

    assert near("3a6ea5") > 2000, "no chart bars drawn (the bar colour is missing)"
    assert near("2f8a4c") > 200, "no full-marks bars drawn"
    assert near("fff3cd") > 2000, "the process-sandbox warning box is not visible"

    dom = _chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    for heading in ("Class report", "Score distribution", "Most frequent failing sub-checks", "Failures by reason",
                    "Time per submission", "Students"):
        assert re.search(rf"<h[12][^>]*>{heading}", dom), f"the browser's DOM has no heading {heading!r}"
    assert "<script" not in dom.lower(), "a student's <script> became an element"
    assert html.escape(SCRIPT, quote=False) in dom  # it is text
    assert dom.count("<svg") == len(ITEMS) + 1  # a histogram per item and the time chart

    kept = tmp_path / "class_report.png"
    shutil.copyfile(shot, kept)
    print(f"\nclass report screenshot: {kept}\npage: {page}")
