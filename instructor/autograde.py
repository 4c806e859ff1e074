"""``make autograde ASSIGNMENT=... JOBS=N``: autograde a whole class with N parallel workers.

nbgrader grades one submission after the other. Here the submissions found in
``submitted/<student>/<assignment>/`` are dealt round-robin to N workers; each worker is one
``nbgrader autograde`` process that skips the other workers' students
(``--CourseDirectory.student_id_exclude``). All workers write to the same gradebook:

* SQLite: the database URL gets a busy timeout, so a worker that finds the file locked
  waits for the other worker's short write instead of failing with "database is locked".
  nbgrader opens the gradebook only around its reads and writes, never while a notebook
  runs, so waits are short.
* PostgreSQL (``NBGRADER_DB_URL=postgresql://...``): concurrent writers are the server's job.

Each worker's kernels get ``cpu_count // N`` CPU threads and, on a host with several GPUs,
one GPU each (``CUDA_VISIBLE_DEVICES``, dealt round-robin).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from instructor.course import REPO, Course, NbgraderError, questions
from instructor.preflight import PreflightFailed

SQLITE_BUSY_TIMEOUT_S = 600
# Each student's part of the nbgrader log is kept here (course root relative), whatever happened.
LOGS = "grading-logs"


def log_path(root: Path, assignment: str, student: str) -> Path:
    """Where the grading log of ``student``'s ``assignment`` is kept."""
    return Path(root) / LOGS / assignment / f"{student}.log"


def split_log(log: str, students: list[str]) -> dict[str, str]:
    """One worker's nbgrader log cut into each student's part: a line belongs to the last
    student it or an earlier line names (nbgrader grades one submission after the other and
    names the student's folder or id in each step's line); lines before the first student
    (start-up) go to everyone."""
    import re
    pattern = re.compile(r"/submitted/([^/]+)/|/autograded/([^/]+)/|ID '([^']+)'|for ([^>\s]+)>|student '([^']+)'")
    head, parts, current = [], {s: [] for s in students}, None
    for line in log.splitlines():
        for match in pattern.finditer(line):
            named = next(g for g in match.groups() if g is not None)
            if named in parts:
                current = named
                break
        (parts[current] if current else head).append(line)
    return {s: "\n".join(head + lines) + "\n" for s, lines in parts.items()}


@dataclass
class WorkerRun:
    worker: int
    students: list[str]
    seconds: float = 0.0
    error: str | None = None
    env: dict[str, str] = field(default_factory=dict)


def with_busy_timeout(db_url: str, seconds: int = SQLITE_BUSY_TIMEOUT_S) -> str:
    """A SQLite URL that waits up to ``seconds`` for a lock (other URLs are returned as is)."""
    if not db_url.startswith("sqlite:") or "timeout=" in db_url:
        return db_url
    return f"{db_url}{'&' if '?' in db_url else '?'}timeout={seconds}"


def submitted_students(course: Course, assignment: str) -> list[str]:
    folder = course.root / "submitted"
    return sorted(p.parent.name for p in folder.glob(f"*/{assignment}") if p.is_dir())


def gpu_ids() -> list[str]:
    """The GPUs this host lets us use: ``CUDA_VISIBLE_DEVICES`` if set, else ``nvidia-smi -L``."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [g.strip() for g in visible.split(",") if g.strip() and g.strip() != "-1"]
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(k) for k, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


def worker_env(worker: int, jobs: int, gpus: list[str], cpus: int | None = None) -> dict[str, str]:
    threads = str(max(1, (cpus or os.cpu_count() or 1) // jobs))
    env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    if len(gpus) > 1:
        env["CUDA_VISIBLE_DEVICES"] = gpus[worker % len(gpus)]
    return env


def autograde_class(course: Course, assignment: str, jobs: int = 1,
                    students: list[str] | None = None, log=print,
                    preflight: bool = True) -> list[WorkerRun]:
    """Autograde ``students`` (default: every submission of ``assignment``) with ``jobs``
    nbgrader processes writing to ``course``'s gradebook. Returns one record per worker;
    a worker whose nbgrader call failed carries the end of its log in ``error``.

    First, unless ``preflight`` is False, :func:`instructor.preflight.preflight` checks that a
    grading kernel can import the course and read the assignment's data (once per process);
    if not, :class:`instructor.preflight.PreflightFailed` is raised before anything is written."""
    everyone = submitted_students(course, assignment)
    students = sorted(students if students is not None else everyone)
    if not students:
        raise FileNotFoundError(f"No submissions of {assignment!r} in {course.root / 'submitted'}/"
                                f"<student>/{assignment}/: collect them first (nbgrader collect, "
                                f"or copy them there).")
    if preflight:
        from instructor.preflight import preflight as check_kernels
        log(f"[{assignment}] {check_kernels(course.root, assignment)}", flush=True)
    ensure_assignment(course, assignment)
    jobs = max(1, min(jobs, len(students)))
    gpus = gpu_ids()
    shared = Course(course.root, db_url=with_busy_timeout(course.db_url))
    runs = [WorkerRun(k, students[k::jobs], env=worker_env(k, jobs, gpus)) for k in range(jobs)]

    def work(run: WorkerRun) -> WorkerRun:
        others = sorted(set(everyone) - set(run.students))
        args = ["autograde", assignment, "--force"]
        if others:
            args.append(f"--CourseDirectory.student_id_exclude={','.join(others)}")
        start = time.perf_counter()
        try:
            log_text = shared.nbgrader(*args, env=run.env)
        except NbgraderError as err:
            run.error, log_text = str(err), err.log
        run.seconds = time.perf_counter() - start
        for student, part in split_log(log_text, run.students).items():
            path = log_path(course.root, assignment, student)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(part)
        return run

    log(f"[{assignment}] autograding {len(students)} submission(s) with {jobs} worker(s)"
        + (f" over GPUs {', '.join(gpus)}" if len(gpus) > 1 else ""), flush=True)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        done = list(pool.map(work, runs))
    for run in done:
        status = "ok" if run.error is None else "FAILED"
        log(f"  worker {run.worker}: {len(run.students)} submission(s) in {run.seconds:.1f} s, {status}"
            + (f" (CUDA_VISIBLE_DEVICES={run.env['CUDA_VISIBLE_DEVICES']})"
               if "CUDA_VISIBLE_DEVICES" in run.env else ""), flush=True)
        if run.error:
            log("    " + run.error.replace("\n", "\n    "), flush=True)
    return done


def ensure_assignment(course: Course, assignment: str) -> None:
    """Generate the release if the gradebook does not know ``assignment`` yet (autograde
    compares submissions with the master's cells stored there)."""
    from nbgrader.api import Gradebook, MissingEntry
    # A new gradebook is created with the `alembic` command, which sits beside Python.
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"
    with Gradebook(with_busy_timeout(course.db_url)) as gb:
        try:
            gb.find_assignment(assignment)
            return
        except MissingEntry:
            pass
    if not (course.root / "source" / assignment).is_dir():
        raise FileNotFoundError(f"No assignment {assignment!r}: {course.root / 'source' / assignment} "
                                f"does not exist.")
    course.release(assignment)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--jobs", type=int, default=1, help="parallel workers (default 1)")
    parser.add_argument("--root", default=str(REPO), help="course root (default: this repository)")
    parser.add_argument("--student", help="grade only this student")
    parser.add_argument("--notebook", metavar="FILE",
                        help="with --student: grade this other notebook of the submission (e.g. a copy "
                             "holding the work) in place of <assignment>.ipynb, which is kept")
    parser.add_argument("--shard", default="0/1", metavar="I/N",
                        help="grade only the I-th of N slices of the class (0-based), e.g. one "
                             "task of a Slurm job array; default: the whole class")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    try:
        shard, shards = (int(v) for v in args.shard.split("/"))
        assert 0 <= shard < shards
    except (ValueError, AssertionError):
        parser.error(f"--shard must be I/N with 0 <= I < N, not {args.shard!r}")
    from instructor import sandbox
    from instructor.audit import incidents
    from instructor.report import question_table
    course = Course(args.root)
    try:
        sandbox.announce(root=course.root)
    except sandbox.SandboxUnavailable as err:
        print(f"error: {err}")
        return 2
    if args.notebook and not args.student:
        parser.error("--notebook needs --student")
    start = time.perf_counter()
    try:
        if args.notebook:
            grade_other_notebook(course, args.assignment, args.student, args.notebook)
        everyone = submitted_students(course, args.assignment)
        if args.student:
            if args.student not in everyone:
                raise FileNotFoundError(f"No submission of {args.assignment!r} by {args.student!r} in "
                                        f"{course.root / 'submitted'}.")
            everyone = [args.student]
        if shards > 1 and everyone and not everyone[shard::shards]:
            print(f"shard {shard}/{shards}: nothing to grade (the class has {len(everyone)} submissions)")
            return 0
        runs = autograde_class(course, args.assignment, jobs=args.jobs,
                               students=everyone[shard::shards] if shards > 1 or args.student else None)
    except (FileNotFoundError, PreflightFailed) as err:  # PreflightFailed: no grade written
        print(f"error: {err}")
        return 2
    elapsed = time.perf_counter() - start
    students = [s for r in runs for s in r.students]
    audits = incidents.audit(course.root, args.assignment, students)
    incidents.record(course, args.assignment, audits)
    not_graded = {s for s in students if audits[s].not_graded}
    grades = {s: g for s, g in course.grades(args.assignment).items() if s in students and s not in not_graded}
    print(question_table(args.assignment, grades, questions(args.assignment, course.root), not_graded))
    print(incidents.format_report(audits))
    print(f"{len(students)} submission(s) in {elapsed:.1f} s with {len(runs)} worker(s): "
          f"{len(students) / elapsed * 60:.1f} submissions per minute")
    print(f"grading logs, one per student: {course.root / LOGS / args.assignment}/")
    if not_graded:
        print(f"not graded ({len(not_graded)}): {', '.join(sorted(not_graded))}; the incidents above say why, "
              "and the gradebook marks them as not graded")
    # A submission the grader itself failed on fails the run; one not graded for a reason in
    # the submission (no notebook, not a notebook) does not.
    return 1 if any(audits[s].not_graded.startswith(incidents.GRADER_FAULT) for s in not_graded) else 0


def grade_other_notebook(course: Course, assignment: str, student: str, notebook: str) -> Path:
    """Make ``notebook`` (another notebook of ``student``'s submission, e.g. a copy holding the
    work) the one graded as ``<assignment>.ipynb``. The notebook as submitted is kept as
    ``<assignment>.ipynb.as-submitted`` and the choice is recorded, so the incident report
    says what was graded. Raises :class:`FileNotFoundError` if either is missing."""
    from instructor.audit.incidents import AS_SUBMITTED, CHOSEN
    folder = course.root / "submitted" / student / assignment
    source = folder / notebook
    if not source.is_file():
        found = ", ".join(sorted(p.name for p in folder.glob("*.ipynb"))) if folder.is_dir() else "no such submission"
        raise FileNotFoundError(f"No {notebook} in {folder} (notebooks there: {found or 'none'}).")
    target = folder / f"{assignment}.ipynb"
    kept = folder / f"{assignment}.ipynb{AS_SUBMITTED}"
    if target.exists() and not kept.exists():
        shutil.copy2(target, kept)
    shutil.copy2(source, target)
    (folder / CHOSEN).write_text(notebook + "\n")
    return target


if __name__ == "__main__":
    raise SystemExit(main())
