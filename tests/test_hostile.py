"""Broken and hostile submissions, graded in the sandbox beside two ordinary ones.

The class is graded once (module fixture) through ``instructor.autograde`` with two workers,
as ``make autograde`` does; every case of ``tests/hostile.py`` is then asserted.
"""
from __future__ import annotations

import copy
import json
import os
import re
import socket
import sqlite3
import threading
import time
from pathlib import Path

import nbformat
import pytest

from instructor import sandbox
from instructor.audit import code_scan, incidents
from instructor.autograde import autograde_class
from instructor.course import Course
from tests.conftest import JOBS, cell_scores
from tests.hostile import ASSIGNMENT, cases, write

CLEAN = ("demo-reference", "demo-mistakes")
# Correct submissions with habits the tampering scan once withheld: they keep every point and
# get no finding: instances written here of the kind of the real gc.collect() case, which
# tests/test_real_world.py grades with the other real-world cases.
HABITS = {
    "habit-inspect-reload-globals": ("train_vae", "import inspect, importlib\nimport helpers.plotting\n"
                                     "importlib.reload(helpers.plotting)\nprint(inspect.signature(train_vae))\n"
                                     "print('vae' in globals(), sorted(k for k in globals() if k.startswith('train'))[:3])"),
    "habit-editor-magics": ("encoder", "get_ipython().run_line_magic('matplotlib', 'inline')\n"
                                       "import gc, torch\ngc.collect()\ntorch.cuda.empty_cache()"),
    # Cells with nbgrader metadata that the master does not have: the names cell as an older
    # release locked it, and a copied cell the student renamed. nbgrader 0.9.6 left such a
    # submission ungraded (instructor/intake.py).
    "stale-and-unknown-nbgrader-cells": "unknown cells",
}


def _with_unknown_cells(nb):
    nb = copy.deepcopy(nb)
    names = next(c for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("**Names:**"))
    names.metadata["nbgrader"] = {"grade": False, "grade_id": "names", "locked": True, "schema_version": 3,
                                  "solution": False, "task": False}
    names.source = "**Names:** Ada Lovelace\n\n**Group:** 7"
    extra = nbformat.v4.new_code_cell("print('my scratch work')")
    extra.metadata["nbgrader"] = {"grade": False, "grade_id": "my_scratch", "locked": False,
                                  "schema_version": 3, "solution": True, "task": False}
    nb.cells.insert(5, extra)
    return nb
# Not a notebook of this assignment: nbgrader cannot grade them; the report says why.
UNGRADABLE = {"hostile-corrupt-json", "hostile-other-assignment"}
LIMITS = {"VAE_CELL_TIMEOUT": "30"}
# The sandbox's limits for this class, in the course's nbgrader_config.py as an instructor sets
# them: the fork bomb and the memory hog run into these.
SANDBOX_LIMITS = ("c.SandboxLimits.processes = 256\nc.SandboxLimits.wall_s = 400\n"
                  "c.SandboxLimits.memory_gb = 6\n")


class Listener:
    """A TCP server on the host's loopback that counts the connections it accepts."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
                self.accepted += 1
                conn.close()
            except OSError:
                continue

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    sandbox.check()
    saved = {k: os.environ.get(k) for k in LIMITS}
    os.environ.update(LIMITS)
    listener = Listener()
    try:
        root = tmp_path_factory.mktemp("hostile")
        course = Course.scratch(root, [ASSIGNMENT])
        with open(course.root / "nbgrader_config.py", "a") as config:
            config.write(SANDBOX_LIMITS)
        course.release(ASSIGNMENT)
        from instructor.demo import demo_submissions
        clean = demo_submissions(ASSIGNMENT, course.root)
        for student in CLEAN:
            course.submit(student, ASSIGNMENT, clean[student])
        corpus = cases(course.root, listener.port)
        for student, habit in HABITS.items():
            if habit == "unknown cells":
                nb = _with_unknown_cells(clean["demo-reference"])
            else:
                from tests.hostile import _append
                nb = _append(clean["demo-reference"], *habit)
            course.submit(student, ASSIGNMENT, nb)
        for student, case in corpus.items():
            folder = course.root / "submitted" / student / ASSIGNMENT
            folder.mkdir(parents=True)
            write(case, folder / f"{ASSIGNMENT}.ipynb")
            (folder / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC")
        start = time.perf_counter()
        runs = autograde_class(course, ASSIGNMENT, jobs=JOBS, log=lambda *a, **k: None)
        seconds = time.perf_counter() - start
        students = sorted(corpus) + list(CLEAN) + [h for h in HABITS
                                                   if (course.root / "submitted" / h).exists()]
        audits = incidents.audit(course.root, ASSIGNMENT, students)
        incidents.record(course, ASSIGNMENT, audits)
        print(f"\n{len(students)} submissions graded in {seconds:.1f} s\n" + incidents.format_report(audits))
        for run in runs:
            print(f"worker {run.worker}: {run.seconds:.1f} s", run.error or "ok")
        yield course, corpus, audits, runs, listener
    finally:
        listener.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _outputs(course, student) -> str:
    path = course.root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            texts.append(out.get("text", "") + out.get("evalue", "") + str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(texts)


def test_the_class_completes_and_ordinary_submissions_get_their_clean_grades(corpus, demo_run):
    course, cases_, audits, runs, _ = corpus
    clean_root, _ = demo_run(ASSIGNMENT)
    expected = cell_scores(Course(clean_root), ASSIGNMENT, CLEAN)
    got = cell_scores(course, ASSIGNMENT, CLEAN)
    assert got == expected, "a hostile classmate changed an ordinary submission's grades"
    graded = {s for s in cases_ if (course.root / "autograded" / s / ASSIGNMENT /
                                    f"{ASSIGNMENT}.ipynb").exists()}
    assert set(cases_) - graded == UNGRADABLE, f"not graded: {sorted(set(cases_) - graded)}"


@pytest.mark.parametrize("student", sorted(HABITS))
def test_harmless_habits_keep_every_point_and_get_no_finding(corpus, student):
    """gc.collect(), torch.cuda.empty_cache(), inspect, importlib.reload, globals() reads,
    editor-written magics and cells the master does not know, in a correct submission: full
    autograded points, nothing withheld."""
    course, _, audits, _, _ = corpus
    assert not audits[student].withheld and not any("tampering" in line for line in audits[student].lines), \
        audits[student].lines
    reference = cell_scores(course, ASSIGNMENT, ["demo-reference"])["demo-reference"]
    grades = course.grades(ASSIGNMENT)[student]
    lost = {cell: g.score for cell, g in grades.items() if g.auto and g.score != reference[cell]}
    assert not lost, f"{student} lost autograded points: {lost}"


@pytest.mark.parametrize("student", sorted(cases(Path("/course"), 1)))
def test_each_hostile_case_is_reported_and_gains_nothing(corpus, student):
    course, cases_, audits, _, _ = corpus
    case = cases_[student]
    report = "\n".join(audits[student].lines)
    assert re.search(case.report, report, re.M), \
        f"{student}: expected a report line matching {case.report!r}, got:\n{report or '(none)'}"
    assert audits[student].withheld == case.withheld, report
    if student in UNGRADABLE:
        assert "not graded" in report
        assert not any(g.score for g in course.grades(ASSIGNMENT).get(student, {}).values())
        return
    reference = cell_scores(course, ASSIGNMENT, ["demo-reference"])["demo-reference"]
    scores = cell_scores(course, ASSIGNMENT, [student])[student]
    grades = course.grades(ASSIGNMENT)[student]
    for cell, score in scores.items():
        if not grades[cell].auto:
            continue  # written answers wait for the instructor
        assert score <= reference[cell], f"{student} gained a point in {cell}"
        assert grades[cell].max_score == course.grades(ASSIGNMENT)["demo-reference"][cell].max_score
    for cell in case.must_fail:
        assert scores[cell] == 0, f"{student}: {cell} must score 0, got {scores[cell]}"
    if case.withheld:
        assert all(s == 0 for cell, s in scores.items() if grades[cell].auto), scores


def test_nothing_outside_the_sandbox_was_read_written_or_reached(corpus):
    course, cases_, _, _, listener = corpus
    for student in cases_:
        if student in UNGRADABLE:
            continue
        text = _outputs(course, student)
        for marker in ("READ ", "WROTE ", "UPDATED ", "CONNECTED ", "BEGIN HIDDEN TESTS"):
            assert marker not in text, f"{student}: {marker.strip()} in its outputs"
    for student in ("hostile-read-hidden-tests", "hostile-read-other-student",
                    "hostile-write-gradebook", "hostile-network"):
        assert "blocked:" in _outputs(course, student), f"{student}: the probe did not run"
    assert listener.accepted == 0, "a kernel reached a server on the host's loopback"


def test_the_gradebook_is_intact(corpus):
    course, cases_, _, _, _ = corpus
    db = course.root / "gradebook.db"
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT MAX(auto_score) FROM grade").fetchone()[0] <= 1
    grades = course.grades(ASSIGNMENT)
    assert set(grades) >= set(cases_) - UNGRADABLE | set(CLEAN)
    for student in UNGRADABLE:
        assert not any(g.score for g in grades.get(student, {}).values())


def test_the_limits_set_in_nbgrader_config_reached_every_kernel(corpus):
    """SANDBOX_LIMITS, written in the course's nbgrader_config.py, are the limits each
    kernel of the nbgrader processes ran with (its record, .sandbox.json)."""
    course = corpus[0]
    records = [json.loads(p.read_text())
               for p in (course.root / "autograded").glob(f"*/{ASSIGNMENT}/{sandbox.RECORD}")]
    assert len(records) >= len(CLEAN) + len(HABITS)
    assert {tuple(sorted(r["limits"].items())) for r in records} == {tuple(sorted(
        {"memory_bytes": 6 * sandbox.GIB, "processes": 256, "file_bytes": sandbox.GIB, "wall_s": 400.0}.items()))}


def test_no_sandboxed_process_outlives_grading(corpus):
    """No sandboxed kernel of this class (its bwrap processes and the kernel work in the class's
    autograded/ folders) is left; kernels that other gradings on the machine run are theirs."""
    root = str(corpus[0].root)
    left = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (b"vae-sandbox-" in (proc / "cmdline").read_bytes()
                        and os.readlink(proc / "cwd").startswith(root + "/")):
                    left.append(proc.name)
            except OSError:
                continue
    assert not left, f"processes of sandboxed kernels still running: {left}"


def test_grading_refuses_without_a_sandbox_and_warns_when_switched_off(monkeypatch, capsys):
    from instructor import autograde

    def unavailable():
        raise sandbox.SandboxUnavailable("bubblewrap is missing; install it with: sudo apt-get "
                                         "install bubblewrap. Or set SANDBOX=off")
    monkeypatch.setattr(sandbox.availability, "check", unavailable)
    assert autograde.main([ASSIGNMENT, "--root", "/nonexistent"]) == 2
    out = capsys.readouterr().out
    assert "apt-get install bubblewrap" in out and "SANDBOX=off" in out
    monkeypatch.setenv("SANDBOX", "off")
    sandbox.announce()
    assert "WITHOUT isolation" in capsys.readouterr().err
    monkeypatch.setenv("SANDBOX", "maybe")
    with pytest.raises(sandbox.SandboxUnavailable, match="SANDBOX=on"):
        sandbox.enabled()


def test_tampering_scan_flags_no_reference_or_variant():
    from instructor.notebooks import read
    from instructor.quality.verdicts import catalogue_submissions
    from catalogue import load
    from instructor.course import REPO, assignment_names
    for assignment in assignment_names():
        subs = catalogue_submissions(load(assignment), bundle_variants=False)
        for name, (kind, _, nb) in subs.items():
            if kind == "mutant":
                continue
            for cell in nb.cells:
                if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("locked"):
                    assert code_scan.tampering(cell.source) == [], (assignment, name, cell.source)
        assert read(REPO / "source" / assignment / f"{assignment}.ipynb")


def test_the_scan_withholds_imports_of_the_grader_only_package():
    """The reference answers exist only while grading: importing them is tampering."""
    for code in ("from grading.vae_cvae import reference_vae_loss",
                 "import grading",
                 "import grading.fashion_vae as g",
                 "def kl_loss(m, lv):\n    from grading.kl_annealing import reference_kl_divergence\n    return reference_kl_divergence(m, lv)"):
        found = code_scan.tampering(code)
        assert found and "grader-only package" in found[0], (code, found)
    # A student's own name `grading`, or a relative import, is not the package.
    assert code_scan.tampering("grading = {'a': 1}\nprint(grading)") == []


def test_an_edited_names_cell_is_not_an_incident():
    """Students write their names in the introduction: an ordinary, editable cell."""
    from instructor.course import REPO, assignment_names
    from instructor.notebooks import read, reference_submission
    for assignment in assignment_names():
        source = read(REPO / "source" / assignment / f"{assignment}.ipynb")
        release = read(REPO / "release" / assignment / f"{assignment}.ipynb")
        names = [c for c in release.cells if c.cell_type == "markdown" and c.source.startswith("**Names:**")]
        assert len(names) == 1 and "nbgrader" not in names[0].metadata, "the names cell must be editable"
        nb = reference_submission(source, release)
        cell = next(c for c in nb.cells if c.source.startswith("**Names:**"))
        cell.source = "**Names:** Ada Lovelace, Alan Turing\n\n**Group:** 7"
        report = incidents.Audit("student")
        incidents._compare(nb, incidents._cells(release), report)
        assert report.lines == [] and not report.withheld, report.lines


def test_the_scan_has_no_false_positive_and_catches_every_hostile_construct():
    """Both sides of the tampering scan, measured: false-positive rate 0 on legitimate code
    (student habits, editor-written magics, every catalogue variant and reference answer),
    detection rate 1 on the hostile corpus; each finding names the construct and its line."""
    from instructor.course import assignment_names
    from instructor.quality.verdicts import catalogue_submissions
    from catalogue import load
    from tests.scan_corpus import HOSTILE, LEGITIMATE
    legitimate = dict(LEGITIMATE)
    for assignment in assignment_names():
        subs = catalogue_submissions(load(assignment), bundle_variants=False)
        for name, (kind, _, nb) in subs.items():
            if kind != "mutant":
                for k, cell in enumerate(nb.cells):
                    if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("locked"):
                        legitimate[f"{assignment} {name} cell {k}"] = cell.source
    flagged = {name: code_scan.tampering(code) for name, code in legitimate.items()}
    false_positives = {name: found for name, found in flagged.items() if found}
    caught = {name: code_scan.tampering(code) for name, code in HOSTILE.items()}
    missed = sorted(name for name, found in caught.items() if not found)
    print(f"tampering scan: {len(false_positives)} false positives in {len(legitimate)} legitimate cells; "
          f"{len(HOSTILE) - len(missed)}/{len(HOSTILE)} hostile constructs caught")
    assert not false_positives, false_positives
    assert not missed, missed
    for name, found in caught.items():
        assert re.match(r"line \d+: \S", found[0]), (name, found)
