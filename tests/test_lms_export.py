"""Grades out (:mod:`instructor.lms_export`): the gradebook of the demo's graded fashion_vae
course, marked by hand through :mod:`instructor.marking`, exported as Brightspace, Canvas
and Moodle import files and compared with fixtures written in each platform's layout
(``tests/fixtures/lms/``); then nbgrader's late-penalty settings applied to the total."""
from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from instructor import lms_export, marking

FIXTURES = Path(__file__).parent / "fixtures" / "lms"
ASSIGNMENT = "fashion_vae"
# The marks a TA gives the demo's written answers ({grade_id: {student: points}}).
MARKS = {"answer_kl_formula": {"demo-reference": 1, "demo-mistakes": 0.5, "demo-blank": 0},
         "answer_selection": {"demo-reference": 1, "demo-mistakes": 0.75, "demo-blank": 0},
         "answer_hist2d": {"demo-reference": 1, "demo-mistakes": 0.25, "demo-blank": 0},
         "answer_traverse": {"demo-reference": 0.5, "demo-mistakes": 1, "demo-blank": 0}}


@pytest.fixture(scope="module")
def course(demo_run, tmp_path_factory):
    """A copy of the demo's graded course with every written answer marked, one student
    with a name, an e-mail and an LMS id, and one student enrolled without a submission."""
    root, _ = demo_run(ASSIGNMENT)
    copy = tmp_path_factory.mktemp("lms-course")
    for name in ("source", "release", "nbgrader_config.py", "gradebook.db"):
        (shutil.copytree if (root / name).is_dir() else shutil.copy)(root / name, copy / name)
    with Gradebook(f"sqlite:///{copy / 'gradebook.db'}") as gb:
        gb.update_or_create_student("demo-reference", first_name="Ada", last_name="Lovelace, Countess",
                                    email="ada@example.org", lms_user_id="00246")
        gb.update_or_create_student("absent", first_name="Al", last_name="Sent", email="al@example.org")
        for grade_id, by_student in MARKS.items():
            q = marking.question(ASSIGNMENT, grade_id, copy)
            for student, points in by_student.items():
                marking.record(gb, ASSIGNMENT, q, student, points)
    return copy


def export(course: Path, platform: str, out: Path) -> Path:
    """``python -m instructor.lms_export`` (what ``make lms-export`` runs), in this process."""
    assert lms_export.main([platform, ASSIGNMENT, "--root", str(course), "--to", str(out)]) == 0
    return out


def rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


@pytest.mark.parametrize("platform", lms_export.PLATFORMS)
def test_export_matches_the_fixture_in_the_platform_layout(course, platform, tmp_path):
    got = rows(export(course, platform, tmp_path / f"{platform}.csv"))
    expected = rows(FIXTURES / f"{platform}_{ASSIGNMENT}.csv")
    assert got[0] == expected[0], f"{platform}: header differs"
    assert got == expected, f"{platform}: rows differ from tests/fixtures/lms/{platform}_{ASSIGNMENT}.csv"


def test_brightspace_layout():
    """OrgDefinedId and Username first, '<item> Points Grade' columns, the End-of-Line
    Indicator '#' last (D2L, "Importing grades")."""
    header, *body = rows(FIXTURES / f"brightspace_{ASSIGNMENT}.csv")
    assert header[:2] == ["OrgDefinedId", "Username"] and header[-1] == "End-of-Line Indicator"
    assert all(h.endswith(" Points Grade") for h in header[2:-1])
    assert all(r[-1] == "#" and r[1].startswith("#") and len(r) == len(header) for r in body)


def test_canvas_layout():
    """Student, ID, SIS User ID, SIS Login ID, Section, then the assignments, and the
    Points Possible row second (Canvas's gradebook import)."""
    header, possible, *body = rows(FIXTURES / f"canvas_{ASSIGNMENT}.csv")
    assert header[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert possible[0].strip() == "Points Possible" and possible[-1] == "18"
    assert all(len(r) == len(header) for r in body)


def test_canvas_columns_name_existing_assignments_by_id(course, tmp_path):
    """With Canvas's assignment ids the columns read ``<name> (<id>)``, as in Canvas's own
    export, so an import updates those assignments instead of creating new ones."""
    ids = tmp_path / "ids.json"
    ids.write_text('{"fashion_vae total": 4242, "fashion_vae traverse": "77"}')
    out = tmp_path / "canvas.csv"
    assert lms_export.main(["canvas", ASSIGNMENT, "--root", str(course), "--to", str(out), "--canvas-ids", str(ids)]) == 0
    header = rows(out)[0]
    assert header[-1] == "fashion_vae total (4242)" and "fashion_vae traverse (77)" in header
    assert header[5] == "fashion_vae test_encoder_shapes", "items without an id keep their name"
    ids.write_text('{"fashion_vae totl": 1}')
    with pytest.raises(SystemExit):
        lms_export.main(["canvas", ASSIGNMENT, "--root", str(course), "--to", str(out), "--canvas-ids", str(ids)])


def test_moodle_layout():
    """One identifier column to map (ID number -> useridnumber, Email address -> useremail)
    and one column per grade item (Moodle, "Grade import")."""
    header, *body = rows(FIXTURES / f"moodle_{ASSIGNMENT}.csv")
    assert header[:4] == ["First name", "Last name", "ID number", "Email address"]
    assert len(set(r[2] for r in body)) == len(body), "the ID number identifies each user once"


def test_totals_follow_the_late_penalty_settings(course, tmp_path):
    """Submitted after the due date: with nbgrader's default (``penalty_method = 'none'``)
    nothing changes; with ``'zero'`` the total is 0 and the question items stay."""
    late = tmp_path / "late"
    shutil.copytree(course, late)
    with Gradebook(f"sqlite:///{late / 'gradebook.db'}") as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=datetime(2026, 11, 19, 12))  # UTC, as nbgrader stores it
        assert gb.find_submission(ASSIGNMENT, "demo-reference").total_seconds_late == 86400
    on_time = {r[2]: r for r in rows(export(course, "moodle", tmp_path / "on-time.csv"))}
    none = {r[2]: r for r in rows(export(late, "moodle", tmp_path / "none.csv"))}
    assert none == on_time
    with open(late / "nbgrader_config.py", "a") as fh:
        fh.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    zero = rows(export(late, "moodle", tmp_path / "zero.csv"))
    header, body = zero[0], {r[2]: r for r in zero[1:]}
    total = header.index(f"{ASSIGNMENT} total")
    for student in ("demo-reference", "demo-mistakes", "demo-blank"):
        assert body[student][total] == "0", f"{student}: a late submission scores 0 with penalty_method 'zero'"
        assert body[student][4:total] == on_time[student][4:total], "question items carry no penalty"
    assert body["absent"][total] == "0"


def test_unmarked_answers_leave_the_total_empty(course, tmp_path):
    """An answer still waiting for a mark: its item and the total are empty, never 0."""
    pending = tmp_path / "pending"
    shutil.copytree(course, pending)
    with Gradebook(f"sqlite:///{pending / 'gradebook.db'}") as gb:
        marking.record(gb, ASSIGNMENT, marking.question(ASSIGNMENT, "answer_traverse", pending), "demo-mistakes", None)
    got = rows(export(pending, "canvas", tmp_path / "canvas.csv"))
    header, body = got[0], {r[2]: r for r in got[2:]}
    assert body["demo-mistakes"][header.index(f"{ASSIGNMENT} traverse")] == ""
    assert body["demo-mistakes"][header.index(f"{ASSIGNMENT} total")] == ""
    assert body["demo-reference"][header.index(f"{ASSIGNMENT} total")] != ""


def test_bad_platform_or_assignment_says_what_to_do(course, tmp_path):
    with pytest.raises(ValueError, match="choose one of brightspace, canvas, moodle"):
        lms_export.write("blackboard", tmp_path / "x.csv", [], [])
    result = subprocess.run([sys.executable, "-m", "instructor.lms_export", "canvas", "nope", "--root", str(course)],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "not in the gradebook: nope (it has fashion_vae)" in result.stderr, result.stderr


def test_names_that_spreadsheets_run_as_formulas_stay_text_and_such_ids_are_refused(course, tmp_path):
    """OWASP's CSV-injection advice: a name or e-mail starting with ``=`` (``+ - @``, tab, CR)
    gets a leading ``'``; an identifier the LMS matches users on is refused, naming the student."""
    hostile = tmp_path / "hostile"
    shutil.copytree(course, hostile)
    link = '=HYPERLINK("http://x","click")'
    with Gradebook(f"sqlite:///{hostile / 'gradebook.db'}") as gb:
        gb.update_or_create_student("demo-mistakes", first_name=link, last_name="+1", email="@x")
    moodle = {r[2]: r for r in rows(export(hostile, "moodle", tmp_path / "moodle.csv"))}
    assert moodle["demo-mistakes"][:4] == ["'" + link, "'+1", "demo-mistakes", "'@x"]
    assert moodle["demo-reference"][:2] == ["Ada", "Lovelace, Countess"], "other names are unchanged"
    canvas = {r[2]: r for r in rows(export(hostile, "canvas", tmp_path / "canvas.csv"))}
    assert canvas["demo-mistakes"][0] == "'+1, " + link
    with Gradebook(f"sqlite:///{hostile / 'gradebook.db'}") as gb:
        gb.update_or_create_student("demo-blank", lms_user_id="=1+2")
        items, students = lms_export.collect(gb, [ASSIGNMENT], hostile)
    with pytest.raises(ValueError, match="student 'demo-blank': ID '=1\\+2' starts with '='"):
        lms_export.write("canvas", tmp_path / "x.csv", items, students)


def test_a_written_cell_without_a_mark_scheme_still_exports_and_clashing_items_are_refused(course, tmp_path):
    """The written items come from the gradebook, so a master cell without a ``**Mark
    scheme`` paragraph does not stop the export; two items with one column name do, clearly."""
    import nbformat

    from instructor import notebooks
    changed = tmp_path / "changed"
    shutil.copytree(course, changed)
    master_path = changed / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    master = notebooks.read(master_path)
    answer = next(c for c in master.cells if notebooks.grade_id(c) == "answer_traverse")
    answer.source = answer.source.replace("**Mark scheme", "**Scheme")
    nbformat.write(master, str(master_path))
    with pytest.raises(marking.MarkingError):
        marking.written_questions(ASSIGNMENT, changed)
    assert rows(export(changed, "moodle", tmp_path / "moodle.csv")) == \
        rows(export(course, "moodle", tmp_path / "before.csv"))
    test_cell = next(c for c in master.cells if notebooks.is_test_cell(c))
    test_cell.metadata["vae_course"]["question"] = "traverse"
    nbformat.write(master, str(master_path))
    result = subprocess.run([sys.executable, "-m", "instructor.lms_export", "canvas", ASSIGNMENT, "--root", str(changed),
                             "--to", str(tmp_path / "x.csv")], capture_output=True, text=True)
    assert result.returncode == 2 and "would share a column: fashion_vae traverse" in result.stderr, result.stderr
