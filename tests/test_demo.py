"""`make demo` end to end on a scratch copy of the course: release, autograde, feedback, export."""
from __future__ import annotations

import csv

import pytest

from instructor.course import assignment_names
from tests.catalogue import load


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
    import html as html_lib
    plain = html_lib.unescape(html)
    source = (tmp_path / "source" / assignment / f"{assignment}.ipynb").read_text()
    import json
    for cell in json.loads(source)["cells"]:
        text = "".join(cell["source"])
        if "### BEGIN HIDDEN TESTS" in text:
            hidden = text.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
            visible = text.split("### BEGIN HIDDEN TESTS")[0]
            for line in hidden.splitlines():
                line = line.strip()
                if len(line) > 30 and line not in visible and not line.startswith(("#", '"', "f\"")):
                    assert line not in plain, f"feedback reveals hidden test code: {line}"
    assert "Error:" in plain, "failed tests show their message as a hint"
    exported = list(csv.DictReader(open(tmp_path / "gradebook.csv")))
    assert {r["student_id"] for r in exported} >= {"demo-reference", "demo-blank", "demo-mistakes"}
