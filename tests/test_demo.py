"""`make demo` end to end on a scratch copy of the course: release, autograde, feedback, export."""
from __future__ import annotations

import csv

import pytest

from instructor import demo
from instructor.course import Course, assignment_names
from tests.catalogue import load


@pytest.mark.parametrize("assignment", assignment_names())
def test_demo_grades_reference_blank_and_mistakes(assignment, tmp_path, capsys):
    Course.scratch(tmp_path, [assignment])
    assert demo.main([assignment, "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
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
    exported = list(csv.DictReader(open(tmp_path / "gradebook.csv")))
    assert {r["student_id"] for r in exported} >= {"demo-reference", "demo-blank", "demo-mistakes"}
