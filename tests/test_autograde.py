"""Parallel class autograding (``make autograde JOBS=N``): same grades as nbgrader's serial run,
one consistent SQLite gradebook, clear errors."""
from __future__ import annotations

import os
import shutil
import sqlite3

import pytest

from instructor import autograde
from instructor.course import Course
from tests.conftest import cell_scores

ASSIGNMENT = "fashion_vae"  # the quickest to execute


def test_two_workers_give_the_serial_grades_in_one_gradebook(demo_run, tmp_path):
    serial_root, _ = demo_run(ASSIGNMENT)  # graded by one plain `nbgrader autograde`
    serial = Course(serial_root)
    students = autograde.submitted_students(serial, ASSIGNMENT)
    assert len(students) == 3

    course = Course.scratch(tmp_path, [ASSIGNMENT])
    shutil.copytree(serial_root / "submitted", tmp_path / "submitted")
    runs = autograde.autograde_class(course, ASSIGNMENT, jobs=2, log=lambda *a, **k: None)

    assert [len(r.students) for r in runs] == [2, 1]
    assert all(r.error is None for r in runs), [r.error for r in runs]
    assert all(r.env["OMP_NUM_THREADS"] == str(max(1, (os.cpu_count() or 1) // 2)) for r in runs)
    parallel = cell_scores(course, ASSIGNMENT, students)
    assert parallel == cell_scores(serial, ASSIGNMENT, students)
    assert parallel["demo-reference"] != parallel["demo-blank"]  # the comparison can fail
    # One gradebook, one submission row per student, and SQLite finds it intact.
    db = sqlite3.connect(tmp_path / "gradebook.db")
    assert db.execute("pragma integrity_check").fetchone() == ("ok",)
    rows = db.execute("select student_id from submitted_assignment").fetchall()
    assert sorted(r[0] for r in rows) == students


def test_sqlite_urls_get_a_busy_timeout_and_others_are_left_alone():
    assert autograde.with_busy_timeout("sqlite:////x/gradebook.db") == "sqlite:////x/gradebook.db?timeout=600"
    assert autograde.with_busy_timeout("sqlite:////x/g.db?timeout=5") == "sqlite:////x/g.db?timeout=5"
    url = "postgresql://grader@db/vae"
    assert autograde.with_busy_timeout(url) == url


def test_workers_are_spread_over_gpus_and_share_the_cpus():
    gpus = ["0", "1", "2"]
    envs = [autograde.worker_env(k, 4, gpus, cpus=8) for k in range(4)]
    assert [e["CUDA_VISIBLE_DEVICES"] for e in envs] == ["0", "1", "2", "0"]
    assert all(e["OMP_NUM_THREADS"] == "2" for e in envs)
    # One GPU or none: every worker keeps the host's view.
    assert "CUDA_VISIBLE_DEVICES" not in autograde.worker_env(1, 2, ["0"], cpus=2)
    assert autograde.worker_env(0, 4, [], cpus=2)["OMP_NUM_THREADS"] == "1"


def test_gpu_ids_follow_cuda_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert autograde.gpu_ids() == ["2", "3"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert autograde.gpu_ids() == []


def test_no_submissions_is_a_clear_error(tmp_path):
    course = Course.scratch(tmp_path, [ASSIGNMENT])
    with pytest.raises(FileNotFoundError, match="No submissions of 'fashion_vae'.*collect them first"):
        autograde.autograde_class(course, ASSIGNMENT, jobs=2)
    assert autograde.main([ASSIGNMENT, "--root", str(tmp_path), "--jobs", "2"]) == 2


def test_shards_split_the_class_and_bad_shards_are_refused(tmp_path, capsys):
    course = Course.scratch(tmp_path, [ASSIGNMENT])
    for k in range(3):
        (tmp_path / "submitted" / f"s{k}" / ASSIGNMENT).mkdir(parents=True)
    assert autograde.main([ASSIGNMENT, "--root", str(tmp_path), "--shard", "5/8"]) == 0
    assert "shard 5/8: nothing to grade (the class has 3 submissions)" in capsys.readouterr().out
    for bad in ("3/3", "1", "a/b", "-1/2"):
        with pytest.raises(SystemExit):
            autograde.main([ASSIGNMENT, "--root", str(tmp_path), "--shard", bad])
    assert autograde.submitted_students(course, ASSIGNMENT) == ["s0", "s1", "s2"]
    # Each shard would work out its own --resume list while the others grade.
    with pytest.raises(SystemExit):
        autograde.main([ASSIGNMENT, "--root", str(tmp_path), "--shard", "0/2", "--resume"])
    assert "--resume cannot go with --shard" in capsys.readouterr().err


def _submitted(tmp_path, students: list[str]) -> Course:
    """A scratch course where ``students`` have handed in (empty notebooks) and whose
    gradebook knows the assignment: what an interrupted run starts from."""
    course = Course.scratch(tmp_path, [ASSIGNMENT])
    for student in students:
        course.submit(student, ASSIGNMENT, "{}")
    with autograde.gradebook(course) as gb:
        gb.add_assignment(ASSIGNMENT)
    return course


# nbgrader's own add_submission makes SQLAlchemy warn about its session's autoflush.
@pytest.mark.filterwarnings("ignore:Object of type <SubmittedAssignment> not in session")
def test_resume_removes_half_written_grades_and_keeps_the_complete_ones(tmp_path, capsys):
    everyone = ["complete", "half-written", "never-started"]
    course = _submitted(tmp_path, everyone)
    with autograde.gradebook(course) as gb:
        for student in everyone[:2]:
            gb.add_student(student)
            gb.add_submission(ASSIGNMENT, student)
            (tmp_path / "autograded" / student / ASSIGNMENT).mkdir(parents=True)
    autograde.mark_complete(course, ASSIGNMENT, ["complete"])
    assert autograde.complete_students(course, ASSIGNMENT, everyone) == {"complete"}

    todo, _ = autograde.resumable(course, ASSIGNMENT, everyone)
    assert todo == ["half-written", "never-started"]
    assert "removed the partial grades of 1 submission(s) an interrupted run left: half-written" \
        in capsys.readouterr().out
    assert not (tmp_path / "autograded" / "half-written").joinpath(ASSIGNMENT).exists()
    with autograde.gradebook(course) as gb:
        assert [s.student_id for s in gb.assignment_submissions(ASSIGNMENT)] == ["complete"]
    assert autograde.discard_partial(course, ASSIGNMENT, everyone) == []


@pytest.mark.filterwarnings("ignore:Object of type <SubmittedAssignment> not in session")
@pytest.mark.filterwarnings("ignore:Object of type <SubmittedNotebook> not in session")
def test_resume_keeps_a_submission_a_ta_has_marked_by_hand(tmp_path, capsys):
    everyone = ["hand-marked", "commented", "half-written"]
    course = _submitted(tmp_path, everyone)
    with autograde.gradebook(course) as gb:
        gb.add_notebook(ASSIGNMENT, ASSIGNMENT)
        gb.add_grade_cell("q1", ASSIGNMENT, ASSIGNMENT, max_score=2, cell_type="markdown")
        gb.add_solution_cell("q1", ASSIGNMENT, ASSIGNMENT)
        for student in everyone:
            gb.add_student(student)
            gb.add_submission(ASSIGNMENT, student)
            (tmp_path / "autograded" / student / ASSIGNMENT).mkdir(parents=True)
        gb.find_grade("q1", ASSIGNMENT, ASSIGNMENT, "hand-marked").manual_score = 1.5
        gb.find_comment("q1", ASSIGNMENT, ASSIGNMENT, "commented").manual_comment = "see me"
        gb.db.commit()
    # No marker: as after a re-grade stopped in the middle, or a refused Slurm job.
    todo, _ = autograde.resumable(course, ASSIGNMENT, everyone)
    assert todo == ["half-written"]
    out = capsys.readouterr().out
    assert "kept 2 submission(s) holding hand marks" in out and "--student <student>" in out
    assert "removed the partial grades of 1 submission(s) an interrupted run left: half-written" in out
    with autograde.gradebook(course) as gb:
        assert sorted(s.student_id for s in gb.assignment_submissions(ASSIGNMENT)) == ["commented", "hand-marked"]
        assert gb.find_grade("q1", ASSIGNMENT, ASSIGNMENT, "hand-marked").manual_score == 1.5
        assert gb.find_comment("q1", ASSIGNMENT, ASSIGNMENT, "commented").manual_comment == "see me"
    assert (tmp_path / "autograded" / "hand-marked" / ASSIGNMENT).is_dir()
    kept: list[str] = []
    assert autograde.discard_partial(course, ASSIGNMENT, everyone, kept) == []
    assert kept == ["commented", "hand-marked"]


def test_a_student_whose_autograded_notebook_the_run_did_not_write_is_not_marked_complete(tmp_path):
    course = Course.scratch(tmp_path, [ASSIGNMENT])
    for student in ("regraded", "stale"):
        folder = tmp_path / "autograded" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / f"{ASSIGNMENT}.ipynb").write_text("{}")
    before = autograde.autograded_notebooks(course, ASSIGNMENT, ["regraded", "stale"])
    notebook = tmp_path / "autograded" / "regraded" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    stat = notebook.stat()
    os.utime(notebook, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # the run rewrote it
    autograde.mark_complete(course, ASSIGNMENT, ["regraded", "stale"], before)
    assert autograde.marker(course, ASSIGNMENT, "regraded").is_file()
    assert not autograde.marker(course, ASSIGNMENT, "stale").exists()


def test_a_class_list_keeps_names_exactly_as_written(tmp_path):
    listed = tmp_path / "class.students"
    listed.write_text(" spaced \nplain\n\n")
    assert autograde.read_class_list(listed, [" spaced ", "plain"]) == [" spaced ", "plain"]
    with pytest.raises(FileNotFoundError, match="names students with no submission"):
        autograde.read_class_list(listed, ["spaced", "plain"])
