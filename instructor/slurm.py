"""``make autograde ASSIGNMENT=... ENGINE=slurm``: grade a class as one Slurm job array.

:func:`main` (``python -m instructor.autograde <assignment> --engine slurm``), run on a
machine that can submit jobs, with the course on a filesystem every node mounts and
``NBGRADER_DB_URL`` naming a PostgreSQL gradebook:

1. runs the pre-flight check (:mod:`instructor.preflight`) and, when the gradebook does not
   know the assignment yet, generates the release (which creates the tables);
2. writes the class list (with ``--resume``: only the students with no complete grade, after
   removing what an interrupted run left of theirs) and the sbatch script, filled in from the
   template ``instructor/slurm.sbatch`` (or ``--template``), both kept in
   ``grading-logs/<assignment>/slurm/``;
3. submits one ``sbatch --array=0-(N-1)`` job: task I runs ``instructor.autograde
   --class-list <list> --shard I/N`` (graded in the sandbox, written to the gradebook);
4. follows the array, printing a progress line whenever it changes (tasks pending, running
   and done; submissions graded);
5. when every task has ended, removes the partial grades of the students no task completed
   (a task that failed, was cancelled, ran out of time or lost its node; a submission a TA
   has marked by hand is kept, with its earlier grade and marks), prints the
   per-question table and the incident report of the class, and names the students each
   failed task left ungraded, with the command that grades them (``--resume``).

Exit status: 0 when every submission has a complete grade, 1 when some have none (or the
grader failed on one), 2 when nothing was submitted (no sbatch, no PostgreSQL gradebook, a
failed pre-flight check).
"""
from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template

from sqlalchemy.exc import OperationalError

from instructor import names
from instructor.autograde import (LOGS, complete_students, discard_partial, ensure_assignment, marker,
                                  questions, resumable, submitted_students)
from instructor.course import Course, NbgraderError
from instructor.preflight import PreflightFailed

TEMPLATE = Path(__file__).with_name("slurm.sbatch")
MAX_TASKS = 50
PER_TASK = 4  # submissions per task when --tasks is not given
# Slurm's job states in which a task has ended; any other state means pending or running.
ENDED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED",
         "BOOT_FAIL", "DEADLINE", "REVOKED", "SPECIAL_EXIT"}
RUNNING = {"RUNNING", "COMPLETING", "CONFIGURING", "STAGE_OUT", "SIGNALING", "RESIZING", "SUSPENDED"}


class SlurmError(RuntimeError):
    """sbatch or scontrol failed; the message says what to do."""


@dataclass
class TaskState:
    state: str = "PENDING"
    reason: str = ""
    exit_code: str = ""


def default_tasks(students: int) -> int:
    """One task per :data:`PER_TASK` submissions, at least 1 and at most :data:`MAX_TASKS`."""
    return max(1, min(MAX_TASKS, -(-students // PER_TASK)))


def render(template: str, *, root: Path, python: str, assignment: str, class_list: Path, tasks: int,
           jobs: int, cpus_per_task: int, mem: str, output: Path, partition: str | None = None,
           time_limit: str | None = None, gres: str | None = None, job_name: str | None = None) -> str:
    """The sbatch script: ``template`` (:class:`string.Template` syntax, see
    ``instructor/slurm.sbatch``) with its fields filled in, paths shell-quoted. ``optional``
    holds the ``#SBATCH`` lines of the options given (partition, time limit, gres). Raises
    ValueError when the template names a field that does not exist."""
    for option, value in (("--partition", partition), ("--time", time_limit), ("--gres", gres), ("--mem", mem),
                          ("the job name", job_name or f"grade-{assignment}")):
        if value and any(ord(c) < 32 or ord(c) == 127 for c in str(value)):
            raise ValueError(f"{option} holds a newline or control character ({value!r}), which would "
                             f"become a line of the sbatch script of its own: give it on one plain line.")
    optional = [f"#SBATCH --{key}={value}" for key, value in
                (("partition", partition), ("time", time_limit), ("gres", gres)) if value]
    fields = {"job_name": job_name or f"grade-{assignment}", "last_task": tasks - 1, "tasks": tasks,
              "cpus_per_task": cpus_per_task, "mem": mem, "jobs": jobs, "output": shlex.quote(str(output)),
              "optional": "\n".join(optional), "root": shlex.quote(str(root)), "python": shlex.quote(python),
              "assignment": shlex.quote(assignment), "class_list": shlex.quote(str(class_list))}
    try:
        return Template(template).substitute(fields)
    except (KeyError, ValueError) as err:
        raise ValueError(f"The sbatch template has a field it cannot fill ({err}); the fields are "
                         f"{', '.join('${' + k + '}' for k in sorted(fields))}, and a plain $ is written $$.") from err


def _slurm(*cmd: str) -> subprocess.CompletedProcess:
    if not shutil.which(cmd[0]):
        raise SlurmError(f"{cmd[0]} is not on PATH: --engine slurm runs where Slurm's commands are "
                         "(a login node of the cluster), or grade on this machine with --engine local.")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def submit(script: Path) -> str:
    """Submit ``script`` with ``sbatch --parsable``; returns the job id. Raises
    :class:`SlurmError` with sbatch's own message when it refuses."""
    result = _slurm("sbatch", "--parsable", str(script))
    if result.returncode != 0:
        raise SlurmError(f"sbatch refused the job ({(result.stderr or result.stdout).strip()}); the "
                         f"script is {script}: check its #SBATCH lines against the cluster (sinfo).")
    return result.stdout.strip().split(";")[0]


def _task_ids(text: str, tasks: int) -> list[int]:
    """Array task ids from scontrol's ``ArrayTaskId`` (``3``, ``0-4``, ``1,3-5%2``, ``0-9:2``)."""
    out: list[int] = []
    for part in text.split("%")[0].split(","):
        part, _, step = part.partition(":")
        if "-" in part:
            lo, hi = part.split("-")
            out += range(int(lo), int(hi) + 1, int(step or 1))
        elif part.isdigit():
            out.append(int(part))
    return [k for k in out if 0 <= k < tasks]


def task_states(job: str, tasks: int, known: dict[int, TaskState] | None = None) -> dict[int, TaskState]:
    """The state of each task of array job ``job`` (``scontrol -o show job``). A task that
    Slurm no longer knows keeps its last known state, or counts as ended (``UNKNOWN``) when
    none was seen."""
    states = dict(known or {})
    result = _slurm("scontrol", "-o", "show", "job", job)
    if result.returncode != 0:
        if "Invalid job id" in result.stderr:
            return {k: (states[k] if k in states and states[k].state in ENDED else TaskState("UNKNOWN"))
                    for k in range(tasks)}
        raise SlurmError(f"scontrol cannot show job {job}: {result.stderr.strip()}")
    for line in result.stdout.splitlines():
        fields = dict(re.findall(r"(\w+)=(\S*)", line))
        if "ArrayTaskId" not in fields:
            continue
        state = TaskState(fields.get("JobState", "UNKNOWN"), fields.get("Reason", ""),
                          fields.get("ExitCode", ""))
        for k in _task_ids(fields["ArrayTaskId"], tasks):
            states[k] = state
    return states


def progress(states: dict[int, TaskState], graded: int, students: int) -> str:
    ended = sum(s.state in ENDED or s.state == "UNKNOWN" for s in states.values())
    running = sum(s.state in RUNNING for s in states.values())
    pending = len(states) - ended - running
    reasons = sorted({s.reason for s in states.values()
                      if s.state == "PENDING" and s.reason not in ("", "None", "Priority")})
    return (f"tasks: {pending} pending, {running} running, {ended} done; "
            f"{graded}/{students} submissions graded" + (f" (pending: {', '.join(reasons)})" if reasons else ""))


def follow(course: Course, assignment: str, job: str, shards: list[list[str]], poll_s: float = 5.0,
           log=print) -> dict[int, TaskState]:
    """Poll array job ``job`` until every task has ended, printing a progress line whenever it
    changes; returns each task's last state."""
    students = [s for shard in shards for s in shard]
    states: dict[int, TaskState] = {k: TaskState() for k in range(len(shards))}
    last = ""
    while True:
        states = task_states(job, len(shards), states)
        graded = sum(marker(course, assignment, s).is_file() for s in students)
        line = progress(states, graded, len(students))
        if line != last:
            log(f"[{assignment}] job {job} {time.strftime('%H:%M:%S')} {line}", flush=True)
            last = line
        if all(s.state in ENDED or s.state == "UNKNOWN" for s in states.values()):
            return states
        time.sleep(poll_s)


def main(course: Course, args: argparse.Namespace) -> int:
    """``instructor.autograde --engine slurm`` (see the module's docstring)."""
    from instructor.audit import incidents
    from instructor.preflight import preflight
    from instructor.report import question_table
    assignment = args.assignment
    if not course.db_url.startswith("postgresql"):
        print(f"error: --engine slurm needs a PostgreSQL gradebook that every node reaches: set "
              f"{names.NBGRADER_DB_URL}=postgresql://user:password@host/database (docs/scaling-out.md); "
              f"the gradebook now is {course.db_url.split('?')[0]}")
        return 2
    for value, what in ((args.tasks, "--tasks"), (args.cpus_per_task, "--cpus-per-task"), (args.jobs, "--jobs")):
        if value is not None and value < 1:
            print(f"error: {what} must be at least 1, not {value}")
            return 2
    start = time.perf_counter()
    try:
        everyone = submitted_students(course, assignment)
        if args.student:
            if args.student not in everyone:
                raise FileNotFoundError(f"No submission of {assignment!r} by {args.student!r} in "
                                        f"{course.root / 'submitted'}.")
            everyone = [args.student]
        if not everyone:
            raise FileNotFoundError(f"No submissions of {assignment!r} in {course.root / 'submitted'}/"
                                    f"<student>/{assignment}/: collect them first (nbgrader collect, "
                                    f"or copy them there).")
        print(f"[{assignment}] {preflight(course.root, assignment)}", flush=True)
        ensure_assignment(course, assignment)
        todo = everyone
        if args.resume:
            todo, nothing = resumable(course, assignment, everyone)
            if not todo:
                print(nothing)
                return 0
        tasks = min(args.tasks or default_tasks(len(todo)), len(todo))
        shards = [todo[k::tasks] for k in range(tasks)]
        folder = course.root / LOGS / assignment / names.ENGINE_SLURM
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        class_list = folder / f"{stamp}.students"
        class_list.write_text("".join(f"{s}\n" for s in todo))
        template = Path(args.template) if args.template else TEMPLATE
        script = folder / f"{stamp}.sbatch"
        script.write_text(render(template.read_text(), root=course.root, python=sys.executable,
                                 assignment=assignment, class_list=class_list, tasks=tasks,
                                 jobs=args.jobs or args.cpus_per_task, cpus_per_task=args.cpus_per_task,
                                 mem=args.mem, output=folder / "%A_%a.out", partition=args.partition,
                                 time_limit=args.time, gres=args.gres))
        job = submit(script)
        # The progress counts this run's grades. Unlinked only once the job is submitted: a
        # refused job leaves every earlier grade complete (and a later --resume keeps it).
        for student in todo:
            marker(course, assignment, student).unlink(missing_ok=True)
    except (FileNotFoundError, PreflightFailed, SlurmError, ValueError, OSError, NbgraderError) as err:
        print(f"error: {err}")
        return 2
    except OperationalError as err:  # the database server cannot be reached
        print(f"error: cannot open the gradebook {course.db_url.split('?')[0]} "
              f"({str(err.orig).strip().splitlines()[0] if err.orig else err}): check "
              f"{names.NBGRADER_DB_URL} and that the server is up; nothing was submitted")
        return 2
    print(f"[{assignment}] submitted job {job}: {tasks} task(s) for {len(todo)} submission(s), "
          f"{args.cpus_per_task} CPU(s) and {args.mem} each (script: {script})", flush=True)
    try:
        states = follow(course, assignment, job, shards, args.poll)
    except KeyboardInterrupt:
        print(f"\nstopped following job {job}; it keeps running: `squeue -j {job}` shows it and "
              f"`scancel {job}` stops it; run --resume only once `squeue -j {job}` no longer lists it "
              f"(a --resume while it runs would remove and regrade what its tasks are grading)")
        return 130
    except SlurmError as err:
        print(f"error: {err}")
        return 2
    elapsed = time.perf_counter() - start

    done = complete_students(course, assignment, todo)
    ungraded = sorted(set(todo) - done)
    kept: list[str] = []
    discard_partial(course, assignment, ungraded, kept)
    # The table and the incidents cover the whole class as the gradebook now holds it.
    graded = sorted(complete_students(course, assignment, everyone))
    audits = incidents.audit(course.root, assignment, graded)
    not_graded = {s for s in graded if audits[s].not_graded}
    grades = {s: g for s, g in course.grades(assignment).items() if s in graded and s not in not_graded}
    print(question_table(assignment, grades, questions(assignment, course.root), not_graded))
    print(incidents.format_report(audits))
    ok = sum(s.state == "COMPLETED" for s in states.values())
    print(f"{len(done)} of {len(todo)} submission(s) graded in {elapsed:.1f} s by job {job} "
          f"({ok} of {tasks} task(s) completed); task logs: {folder}/{job}_<task>.out")
    print(f"grading logs, one per student: {course.root / LOGS / assignment}/")
    if not_graded:
        print(f"not graded ({len(not_graded)}): {', '.join(sorted(not_graded))}; the incidents above say why, "
              "and the gradebook marks them as not graded")
    if ungraded:
        print(f"UNGRADED ({len(ungraded)}): no complete grade from this run"
              + (f" (those holding hand marks keep their earlier grade: {', '.join(kept)})" if kept else
                 ", and nothing of theirs in the gradebook") + ":")
        for k, shard in enumerate(shards):
            left = [s for s in shard if s in ungraded]
            if left:
                state = states[k]
                print(f"  task {k} ({state.state}" + (f", exit {state.exit_code}" if state.exit_code else "")
                      + (f", {state.reason}" if state.reason not in ("", "None") else "")
                      + f"): {', '.join(left)}")
                out = folder / f"{job}_{k}.out"
                if out.is_file():
                    tail = out.read_text(errors="replace").strip().splitlines()[-3:]
                    print("".join(f"      | {line}\n" for line in tail), end="")
        print(f"  grade them: make autograde ASSIGNMENT={assignment} ENGINE=slurm RESUME=1 "
              f"(python -m instructor.autograde {assignment} --engine slurm --resume)")
    faulty = any(audits[s].not_graded.startswith(incidents.GRADER_FAULT) for s in not_graded)
    return 1 if ungraded or faulty else 0
