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

Each worker's kernels get ``cpu_count // N`` CPU threads (in a Slurm task, the task's CPUs
``// N``) and, on a host with several GPUs, one GPU each (``CUDA_VISIBLE_DEVICES``, dealt
round-robin).

A student's grade is *complete* once nbgrader has graded the submission and the incident
audit has written its consequences into the gradebook: then, and only then, a marker
(:data:`COMPLETE`) is written beside the autograded notebook. A run that is killed before
leaves no marker; :func:`discard_partial` removes what it wrote (except a submission a TA has
marked by hand, which keeps its earlier grade and marks), and ``--resume`` grades only the
students with no complete grade. ``--engine slurm`` grades the class as the tasks of a
Slurm job array (:mod:`instructor.slurm`).
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

from instructor import names
from instructor.course import REPO, Course, NbgraderError, questions
from instructor.preflight import PreflightFailed

SQLITE_BUSY_TIMEOUT_S = 600
# Each student's part of the nbgrader log is kept here (course root relative), whatever happened.
LOGS = "grading-logs"


# Written beside a student's autograded notebook once the grade is complete (graded and
# audited); nbgrader's own files never start with a dot.
COMPLETE = ".grading-complete"


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


def task_cpus() -> int:
    """The CPUs this process may use: a Slurm task's ``SLURM_CPUS_PER_TASK``, else the host's."""
    granted = os.environ.get(names.SLURM_CPUS_PER_TASK, "")
    return int(granted) if granted.isdigit() and int(granted) > 0 else (os.cpu_count() or 1)


def worker_env(worker: int, jobs: int, gpus: list[str], cpus: int | None = None) -> dict[str, str]:
    threads = str(max(1, (cpus or task_cpus()) // jobs))
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
    for student in students:  # graded again: complete only once this run has finished it
        (marker(course, assignment, student)).unlink(missing_ok=True)
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


def gradebook(course: Course):
    """nbgrader's :class:`~nbgrader.api.Gradebook` of ``course`` (a context manager), with a
    SQLite busy timeout."""
    from nbgrader.api import Gradebook
    # A new gradebook is created with the `alembic` command, which sits beside Python.
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"
    return Gradebook(with_busy_timeout(course.db_url))


def marker(course: Course, assignment: str, student: str) -> Path:
    """The file that says ``student``'s grade of ``assignment`` is complete (:data:`COMPLETE`)."""
    return course.root / "autograded" / student / assignment / COMPLETE


def autograded_notebooks(course: Course, assignment: str, students) -> dict[Path, int]:
    """The autograded notebooks of ``students`` now, each with its mtime (ns): taken before a
    run, it tells :func:`mark_complete` which notebooks the run did not write."""
    found = {}
    for student in students:
        for path in (course.root / "autograded" / student / assignment).glob("*.ipynb"):
            try:
                found[path] = path.stat().st_mtime_ns
            except OSError:
                pass
    return found


def mark_complete(course: Course, assignment: str, students, before: dict[Path, int] | None = None) -> None:
    """Record that ``students`` are graded and audited (call after :func:`incidents.record`).
    With ``before`` (:func:`autograded_notebooks` taken when the run began), a student with
    an autograded notebook the run left as it was (nbgrader stopped before it; the file is an
    earlier run's) is not marked. Comparing mtimes of the same filesystem, not the clock,
    keeps this right across a shared filesystem whose server's clock differs from ours."""
    before = before or {}
    for student in students:
        path = marker(course, assignment, student)
        if not path.parent.is_dir():
            continue
        if any(before.get(nb) == nb.stat().st_mtime_ns for nb in path.parent.glob("*.ipynb")):
            continue
        path.write_text(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {os.uname().nodename}\n")


def complete_students(course: Course, assignment: str, students) -> set[str]:
    """Those of ``students`` whose grade is complete: marked (:func:`mark_complete`) and in
    ``course``'s gradebook."""
    from nbgrader.api import MissingEntry
    marked = {s for s in students if marker(course, assignment, s).is_file()}
    if not marked:
        return set()
    with gradebook(course) as gb:
        try:
            in_gradebook = {s.student_id for s in gb.assignment_submissions(assignment)}
        except MissingEntry:  # no such assignment yet: nothing is complete
            return set()
    return marked & in_gradebook


def hand_marked(gb, assignment: str, student: str) -> bool:
    """Whether ``student``'s submission of ``assignment`` in ``gb`` holds a TA's hand mark: a
    grade with a manual score, or a comment written by hand."""
    from nbgrader.api import MissingEntry
    try:
        submission = gb.find_submission(assignment, student)
    except MissingEntry:
        return False
    return any(grade.manual_score is not None for nb in submission.notebooks for grade in nb.grades) \
        or any((comment.manual_comment or "").strip() for nb in submission.notebooks for comment in nb.comments)


def discard_partial(course: Course, assignment: str, students, kept: list[str] | None = None) -> list[str]:
    """Remove what an interrupted run left of the grades of ``students`` that are not complete:
    their submission in the gradebook (its grades and comments go with it) and their
    autograded folder, so that no half-written grade is ever read or exported. A submission
    holding a TA's hand mark (:func:`hand_marked`) is never removed: it keeps its earlier
    grade and marks, its student is appended to ``kept`` (when given) and a sentence says so.
    Returns the students whose partial grades were removed."""
    from nbgrader.api import MissingEntry
    incomplete = sorted(set(students) - complete_students(course, assignment, students))
    removed, marked = [], []
    with gradebook(course) as gb:
        for student in incomplete:
            if hand_marked(gb, assignment, student):
                marked.append(student)
                continue
            folder = course.root / "autograded" / student / assignment
            found = folder.exists()
            try:
                gb.remove_submission(assignment, student)
                found = True
            except MissingEntry:
                pass
            shutil.rmtree(folder, ignore_errors=True)
            if found:
                removed.append(student)
    if marked:
        print(f"[{assignment}] kept {len(marked)} submission(s) holding hand marks that a run left without a "
              f"complete grade ({', '.join(marked)}): each keeps its earlier grade and marks, and is regraded "
              f"only on request (python -m instructor.autograde {assignment} --student <student>)")
    if kept is not None:
        kept += marked
    return removed


def read_class_list(path: Path, everyone: list[str]) -> list[str]:
    """The students listed in ``path`` (one a line), each of which must have a submission."""
    try:
        # Names are kept as written: a student folder's name may begin or end with a space.
        listed = [line for line in Path(path).read_text().splitlines() if line]
    except OSError as err:
        raise FileNotFoundError(f"Cannot read the class list {path}: {err.strerror}.") from err
    unknown = sorted(set(listed) - set(everyone))
    if unknown:
        raise FileNotFoundError(f"The class list {path} names students with no submission in submitted/: "
                                f"{', '.join(unknown[:5])}.")
    return sorted(set(listed))


def ensure_assignment(course: Course, assignment: str) -> None:
    """Generate the release if the gradebook does not know ``assignment`` yet (autograde
    compares submissions with the master's cells stored there)."""
    from nbgrader.api import MissingEntry
    with gradebook(course) as gb:
        try:
            gb.find_assignment(assignment)
            return
        except MissingEntry:
            pass
    if not (course.root / "source" / assignment).is_dir():
        raise FileNotFoundError(f"No assignment {assignment!r}: {course.root / 'source' / assignment} "
                                f"does not exist.")
    course.release(assignment)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("assignment")
    p.add_argument("--jobs", type=int, default=None,
                   help="parallel workers (default 1; with --engine slurm: per task, default its CPUs)")
    p.add_argument("--root", default=str(REPO), help="course root (default: this repository)")
    p.add_argument("--student", help="grade only this student")
    p.add_argument("--notebook", metavar="FILE",
                   help="with --student: grade this other notebook of the submission (e.g. a copy "
                        "holding the work) in place of <assignment>.ipynb, which is kept")
    p.add_argument("--shard", default="0/1", metavar="I/N",
                   help="grade only the I-th of N slices of the class (0-based), e.g. one "
                        "task of a Slurm job array; default: the whole class")
    p.add_argument("--class-list", metavar="FILE",
                   help="the class to grade (and to cut into shards): these students, one a line, "
                        "instead of every submission")
    p.add_argument("--resume", action="store_true",
                   help="grade only the students with no complete grade (after a run that failed "
                        "or was killed); what such a run left half-written is removed first")
    cluster = p.add_argument_group("grading on a Slurm cluster (--engine slurm; instructor/slurm.py)")
    cluster.add_argument("--engine", choices=names.ENGINES, default=names.ENGINE_LOCAL,
                         help="local: workers on this machine (default); slurm: one sbatch job array, "
                              "writing to the PostgreSQL gradebook of $NBGRADER_DB_URL")
    cluster.add_argument("--tasks", type=int, help="array tasks (default: one per 4 submissions, at most 50)")
    cluster.add_argument("--cpus-per-task", type=int, default=2, help="CPUs per task (default 2)")
    cluster.add_argument("--mem", default="8G", help="memory per task, as sbatch --mem takes it (default 8G)")
    cluster.add_argument("--partition", help="Slurm partition (default: the cluster's)")
    cluster.add_argument("--time", help="time limit per task, as sbatch --time takes it, e.g. 02:00:00")
    cluster.add_argument("--gres", help="generic resources per task, e.g. gpu:1 (the task's workers "
                                        "share out its GPUs)")
    cluster.add_argument("--template", metavar="FILE",
                         help="the sbatch script's template (default instructor/slurm.sbatch)")
    cluster.add_argument("--poll", type=float, default=5.0, help="seconds between progress checks (default 5)")
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        p.error("--jobs must be at least 1")
    try:
        shard, shards = (int(v) for v in args.shard.split("/"))
        assert 0 <= shard < shards
    except (ValueError, AssertionError):
        p.error(f"--shard must be I/N with 0 <= I < N, not {args.shard!r}")
    if args.resume and shards > 1:
        p.error("--resume cannot go with --shard: each shard would work out its own list while the others "
                "grade; resume from one process, which shards itself (--engine slurm --resume), or "
                "grade the rest here with --resume and no --shard")
    if args.notebook and not args.student:
        p.error("--notebook needs --student")
    if args.engine == names.ENGINE_SLURM and (args.notebook or shards > 1 or args.class_list):
        p.error("--engine slurm grades the whole class (or --student): it makes the shards and the "
                "class list itself")
    from instructor import sandbox
    from instructor.audit import incidents
    from instructor.report import question_table
    # The gradebook: $NBGRADER_DB_URL (e.g. PostgreSQL, shared by the machines), else SQLite.
    course = Course(args.root, db_url=os.environ.get(names.NBGRADER_DB_URL) or None)
    try:
        sandbox.announce(root=course.root)
    except sandbox.SandboxUnavailable as err:
        print(f"error: {err}")
        return 2
    if args.engine == names.ENGINE_SLURM:
        from instructor import slurm
        return slurm.main(course, args)
    start = time.perf_counter()
    try:
        if args.notebook:
            grade_other_notebook(course, args.assignment, args.student, args.notebook)
        everyone = submitted_students(course, args.assignment)
        if args.class_list:
            everyone = read_class_list(args.class_list, everyone)
        if args.student:
            if args.student not in everyone:
                raise FileNotFoundError(f"No submission of {args.assignment!r} by {args.student!r} in "
                                        f"{course.root / 'submitted'}.")
            everyone = [args.student]
        if args.resume:
            everyone, nothing = resumable(course, args.assignment, everyone)
            if not everyone:
                print(nothing)
                return 0
        if shards > 1 and everyone and not everyone[shard::shards]:
            print(f"shard {shard}/{shards}: nothing to grade (the class has {len(everyone)} submissions)")
            return 0
        whole = args.student is None and not args.class_list and not args.resume and shards == 1
        before = autograded_notebooks(course, args.assignment, everyone[shard::shards])
        runs = autograde_class(course, args.assignment, jobs=args.jobs or 1,
                               students=None if whole else everyone[shard::shards])
    except (FileNotFoundError, PreflightFailed) as err:  # PreflightFailed: no grade written
        print(f"error: {err}")
        return 2
    elapsed = time.perf_counter() - start
    students = [s for r in runs for s in r.students]
    audits = incidents.audit(course.root, args.assignment, students)
    incidents.record(course, args.assignment, audits)
    faulty = {s for s in students if (audits[s].not_graded or "").startswith(incidents.GRADER_FAULT)}
    mark_complete(course, args.assignment, [s for s in students if s not in faulty], before)
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
    return 1 if faulty else 0


def resumable(course: Course, assignment: str, students: list[str]) -> tuple[list[str], str]:
    """For ``--resume``: those of ``students`` with no complete grade, after removing what an
    interrupted run left of their grades, and the sentence to print when there are none."""
    todo = sorted(set(students) - complete_students(course, assignment, students))
    kept: list[str] = []
    removed = discard_partial(course, assignment, todo, kept)
    todo = [s for s in todo if s not in kept]  # hand-marked: regraded only with --student
    if removed:
        print(f"[{assignment}] removed the partial grades of {len(removed)} submission(s) an interrupted "
              f"run left: {', '.join(removed)}")
    print(f"[{assignment}] resuming: {len(todo)} of {len(students)} submission(s) have no complete grade"
          + (f": {', '.join(todo[:10])}{', ...' if len(todo) > 10 else ''}" if todo else ""))
    return todo, f"[{assignment}] every submission has a complete grade: nothing to grade"


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
