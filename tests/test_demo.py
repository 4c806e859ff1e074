"""`make demo` end to end on a scratch copy of the course: release, autograde, feedback, export."""
from __future__ import annotations

import csv
import html as html_lib
import re
import subprocess
import tempfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
from PIL import Image

from helpers.pdf import find_chromium, headless_flags
from instructor.course import REPO, Course, assignment_names
from catalogue import load
from tests.conftest import cell_scores, hidden_code


@pytest.mark.parametrize("assignment", assignment_names())
def test_demo_grades_reference_blank_and_mistakes(assignment, demo_run):
    tmp_path, out = demo_run(assignment)
    assert f"== {assignment} ==" in out and "demo-reference" in out

    catalogue = load(assignment)
    rows = list(csv.DictReader(open(tmp_path / "grades.csv")))
    score = {(r["student"], r["question"]): (float(r["score"]), float(r["max_score"])) for r in rows}
    questions = list(catalogue.questions)
    assert all(score[("demo-reference", q)][0] == score[("demo-reference", q)][1] for q in questions)
    assert all(score[("demo-blank", q)][0] == 0 for q in questions)
    wrong = {q for name in catalogue.demo_mistakes for q in catalogue.mutant(name).questions}
    for q in questions:
        got, top = score[("demo-mistakes", q)]
        if q in wrong:
            assert got < top, f"demo-mistakes should lose points in {q}"
        else:
            assert got == top, f"demo-mistakes should keep full marks in {q}"

    for student in ("demo-reference", "demo-blank", "demo-mistakes"):
        html = tmp_path / "feedback" / student / assignment / f"{assignment}.html"
        assert html.exists() and "Score:" in html.read_text()
    html = (tmp_path / "feedback" / "demo-mistakes" / assignment / f"{assignment}.html").read_text()
    assert "hidden tests ran here" in html and "BEGIN HIDDEN TESTS" not in html
    assert "Error:" in html, "failed tests show their message as a hint"
    # What the feedback shows and hides, in detail: test_feedback_shows_points_hints_and_figures_but_no_hidden_code.
    exported = list(csv.DictReader(open(tmp_path / "gradebook.csv")))
    assert {r["student_id"] for r in exported} >= {"demo-reference", "demo-blank", "demo-mistakes"}


HINT = "Hidden test failed (its code is not shown). Hint: "


def hidden_failures(autograded) -> list[tuple[str, str]]:
    """(grade cell, message) of each error raised inside a hidden-test region of a test
    cell, read from IPython's traceback in the autograded notebook."""
    found = []
    for cell in autograded.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type != "code" or "### BEGIN HIDDEN TESTS" not in cell.source:
            continue
        lines = cell.source.split("\n")
        start = next(i for i, line in enumerate(lines, 1) if "### BEGIN HIDDEN TESTS" in line)
        end = next(i for i, line in enumerate(lines, 1) if "### END HIDDEN TESTS" in line)
        for out in cell.outputs:
            if out.output_type != "error":
                continue
            trace = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(out.traceback))
            line = re.search(rf"Cell In\[{cell.execution_count}\], line (\d+)", trace)
            if line and start < int(line.group(1)) < end:
                found.append((grade_id, out.evalue))
    return found


@pytest.mark.parametrize("assignment", assignment_names())
def test_feedback_shows_points_hints_and_figures_but_no_hidden_code(assignment, demo_run):
    """The feedback a student reads: the points of every graded cell, the visible tests and
    their messages, a hint for each failed hidden test (never its code) and their figures."""
    root, _ = demo_run(assignment)
    scores = cell_scores(Course(root), assignment, {"demo-reference", "demo-mistakes"})
    catalogue = load(assignment)
    # Hidden code lines (not the messages, which are shown as hints) that no visible cell has.
    hidden = hidden_code(assignment, root)
    assert len(hidden) > 10
    for student in ("demo-reference", "demo-mistakes"):
        page = (root / "feedback" / student / assignment / f"{assignment}.html").read_text()
        # The text a reader sees: highlighted code is split into <span>s.
        plain = html_lib.unescape(re.sub(r"<[^>]+>", "", page))
        # Points: each graded test cell of each question, with its score from the gradebook.
        for question, cells in catalogue.questions.items():
            for cell in cells:
                points = re.search(rf'<a name="{cell}"></a>.*?Score: ([\d.]+) / ([\d.]+)', page, re.S)
                assert points, f"{student}: the feedback does not show the points of {cell} ({question})"
                assert float(points.group(1)) == scores[student][cell], f"{student}: wrong points for {cell}"
        # No hidden test code, and no traceback that could quote it.
        for line in hidden:
            assert line not in plain, f"{student}'s feedback reveals hidden test code: {line}"
        assert "Traceback (most recent call last)" not in plain
        # Figures: every image output of the autograded notebook is embedded.
        graded = nbformat.read(str(root / "autograded" / student / assignment / f"{assignment}.ipynb"),
                               as_version=4)
        images = sum("image/png" in out.get("data", {})
                     for cell in graded.cells if cell.cell_type == "code" for out in cell.outputs)
        assert images > 0 and page.count('src="data:image/png;base64,') >= images, \
            f"{student}: {images} figures in the graded notebook, {page.count('data:image/png')} in the feedback"
        # A hint for each failed hidden test, in the words of its assertion message.
        failures = hidden_failures(graded)
        for grade_id, message in failures:
            assert HINT + message.strip() in plain, f"{student}: no hint for the hidden test of {grade_id}"
        if student == "demo-reference":
            assert not failures and "Hidden test failed" not in plain
        elif assignment == "fashion_vae":  # its demo mistakes include G6, caught by hidden tests only
            assert any(g == "test_gaussian" for g, _ in failures), failures


def test_feedback_page_screenshot(demo_run):
    """A feedback page as a browser shows it (artifacts/feedback-page.png), at the failed
    hidden test of the fashion_vae demo: not blank, the graded cell's heading with its
    score on top, and the hint in its shaded error box."""
    root, _ = demo_run("fashion_vae")
    page = root / "feedback" / "demo-mistakes" / "fashion_vae" / "fashion_vae.html"
    graded = nbformat.read(str(root / "autograded" / "demo-mistakes" / "fashion_vae" / "fashion_vae.ipynb"),
                           as_version=4)
    anchor = hidden_failures(graded)[0][0]
    chromium, width = find_chromium(), 1200
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        # Where the failed cell starts: a copy of the page reports its position in the DOM.
        probe = work / "probe.html"
        probe.write_text(page.read_text().replace("</body>", (
            f'<script>const a = document.getElementsByName("{anchor}")[0].closest("div.cell");'
            'document.body.setAttribute("data-top", String(Math.round(a.getBoundingClientRect().top + window.scrollY)));'
            "</script></body>")))
        flags = ["--hide-scrollbars", f"--window-size={width},1500"]
        dom = subprocess.run([chromium, *headless_flags(work / "p1"), *flags, "--dump-dom", probe.as_uri()],
                             capture_output=True, text=True, timeout=120).stdout
        found = re.search(r'data-top="(\d+)"', dom)
        assert found, f"Chromium did not render {page.name}: {dom[-500:]}"
        top = int(found.group(1))
        # Scrolling breaks headless screenshots, so capture the page down to the cell and crop.
        height = 1600
        shot = work / "full.png"
        subprocess.run([chromium, *headless_flags(work / "p2"), "--hide-scrollbars",
                        f"--window-size={width},{top + height}", f"--screenshot={shot}", page.as_uri()],
                       capture_output=True, timeout=120, check=True)
        image = Image.open(shot).convert("RGB").crop((0, max(top - 10, 0), width, top + height))
    (REPO / "artifacts").mkdir(exist_ok=True)
    image.save(REPO / "artifacts" / "feedback-page.png")
    pixels = np.asarray(image).astype(int)
    ink = (pixels.min(axis=2) < 200).mean()
    assert ink > 0.02 and pixels.std() > 20, f"the feedback page renders blank (ink {ink:.4f})"
    # nbgrader's blue panel heading of the graded cell is at the top of the crop.
    heading = (np.abs(pixels[:200] - np.array([51, 122, 183])).max(axis=2) < 30).sum()
    assert heading > 2000, "the graded cell's heading (Score) is not at the top of the capture"
    # The hint for the failed hidden test, in the shaded error box (instructor.feedback.FEEDBACK_CSS).
    shaded = (np.abs(pixels - np.array([253, 236, 234])).max(axis=2) <= 4).sum()
    assert shaded > 5000, f"no shaded error box with the hint in the capture ({shaded} pixels)"


def test_hidden_test_failures_become_one_line_hints():
    """instructor.feedback on a test cell whose hidden part fails: the hidden code and the
    traceback (which quotes it) are gone; the message remains, marked as a hidden test's."""
    from instructor.feedback import HideHiddenTests
    source = ("x = 1\nassert x == 1, 'visible message'\n### BEGIN HIDDEN TESTS\n"
              "y = secret_helper(x)\nassert y, 'hidden message'\n### END HIDDEN TESTS")
    cases = [("AssertionError", "hidden message", 5,
              "AssertionError: Hidden test failed (its code is not shown). Hint: hidden message"),
             ("AssertionError", "", 5, "Hint: the test has no message"),
             ("NameError", "name 'secret_helper' is not defined", 4,
              "NameError: Hidden test failed (its code is not shown). It stopped with NameError: "
              "name 'secret_helper' is not defined"),
             ("AssertionError", "visible message", 2, "AssertionError: visible message")]
    for ename, evalue, line, expected in cases:
        cell = nbformat.v4.new_code_cell(source, execution_count=7, metadata={
            "nbgrader": {"grade": True, "grade_id": "t", "points": 1, "solution": False}})
        cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[
            "\x1b[0;31mAssertionError\x1b[0m  Traceback (most recent call last)",
            f"Cell \x1b[0;32mIn[7], line {line}\x1b[0m", "----> y = secret_helper(x)"])]
        cell, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
        assert cell.source == "x = 1\nassert x == 1, 'visible message'\n# (hidden tests ran here)"
        (shown,) = cell.outputs[0].traceback
        assert expected in shown and "secret_helper(x)" not in shown and "Traceback" not in shown
