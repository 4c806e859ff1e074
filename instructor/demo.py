"""``make demo``: generate the releases, autograde demo submissions, print and export grades.

For each assignment it builds three submissions from the master and the release:
``demo-reference`` (the solutions and model answers), ``demo-blank`` (the release as
handed out) and ``demo-mistakes`` (typical mistakes from the catalogue in ``tests/``). It
then runs nbgrader autograde and generate_feedback, prints a per-student, per-question
table, and writes ``grades.csv`` (per question) and ``gradebook.csv`` (nbgrader's export).
It ends by writing each assignment's class report (``reports/<assignment>/class-report.html``,
:mod:`instructor.class_report`).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from instructor import notebooks
from instructor.course import REPO, Course, assignment_names, questions as course_questions
from instructor.report import question_table, write_csv
from instructor.quality.verdicts import changed_answers
from catalogue import load


def demo_submissions(assignment: str, root: Path = REPO) -> dict:
    source = notebooks.read(root / "source" / assignment / f"{assignment}.ipynb")
    release = notebooks.read(root / "release" / assignment / f"{assignment}.ipynb")
    catalogue = load(assignment)
    regions = notebooks.solution_regions(source)
    answers = changed_answers(regions, *(catalogue.mutant(name) for name in catalogue.demo_mistakes))
    mistakes = notebooks.fill(release, answers, notebooks.written_answers(source))
    return {"demo-reference": notebooks.reference_submission(source, release),
            "demo-blank": release,
            "demo-mistakes": mistakes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: every assignment in source/")
    parser.add_argument("--root", default=str(REPO), help="course root (default: this repository)")
    args = parser.parse_args(argv)
    course = Course(args.root)
    if not (course.root / "source").is_dir():
        parser.error(f"{course.root} is not a course directory: it has no source/ folder")
    assignments = args.assignments or assignment_names()
    from instructor import sandbox
    from instructor.audit import incidents
    try:
        sandbox.announce(root=course.root)
    except sandbox.SandboxUnavailable as err:
        print(f"error: {err}")
        return 2
    csv_path = course.root / "grades.csv"
    for k, assignment in enumerate(assignments):
        start = time.perf_counter()
        print(f"[{assignment}] generating the release ...", flush=True)
        course.release(assignment)
        submissions = demo_submissions(assignment, course.root)
        for student, nb in submissions.items():
            course.submit(student, assignment, nb)
        print(f"[{assignment}] autograding {', '.join(submissions)} ...", flush=True)
        course.autograde(assignment)
        audits = incidents.audit(course.root, assignment, list(submissions))
        incidents.record(course, assignment, audits)
        print(f"[{assignment}] generating feedback ...", flush=True)
        course.feedback(assignment)
        grades = {s: g for s, g in course.grades(assignment).items() if s.startswith("demo-")}
        questions = course_questions(assignment, course.root)
        print(question_table(assignment, grades, questions))
        print(incidents.format_report(audits))
        write_csv(csv_path, assignment, grades, questions, append=k > 0)
        print(f"[{assignment}] done in {time.perf_counter() - start:.0f} s; feedback in "
              f"{course.root / 'feedback'}/<student>/{assignment}/\n", flush=True)
    course.export(course.root / "gradebook.csv")
    print(f"Grades per question: {csv_path}\nnbgrader's export: {course.root / 'gradebook.csv'}")
    from instructor import class_report
    for assignment in assignments:
        start = time.perf_counter()
        page = class_report.write([course.root], assignment)
        print(f"Class report of {assignment}: {page} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
