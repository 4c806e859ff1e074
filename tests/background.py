"""The catalogue classes, graded in a background process while the other tests run.

Grading an assignment's catalogue (every mutant, the variant bundles, the reference twice and
the blank release, each in its own fresh sandboxed kernel; :func:`catalogue_class`) is about
half of ``make test``'s time, and it keeps both cores busy. Most other tests leave a core
idle much of the time (an nbgrader start, one kernel at a time): 68% of the machine was busy
over ``tests/test_hostile.py``, ``test_real_world.py`` and ``test_demo.py``. So
``tests/conftest.py`` starts this module when the session starts, for the assignments that the
selected tests grade, runs the tests that read the catalogue grades last, and its ``graded``
fixture waits here for them. The grading itself is the call the fixture made before
(:func:`instructor.quality.verdicts.grade_many`, ``$JOBS`` nbgrader workers, the same
submissions); only the moment it runs changes.

    python -m tests.background WORKDIR ASSIGNMENT [ASSIGNMENT ...]

grades the assignments one after the other, and writes ``WORKDIR/<assignment>/grades.pickle``
(``{student: {grade_id: Grade}}``) when each is done, its nbgrader scratch courses beside it.
"""
from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

from catalogue import load
from instructor import notebooks
from instructor.course import REPO
from instructor.sandbox import availability
from instructor.sandbox.limits import course_limits
from instructor.quality.verdicts import catalogue_submissions, grade_many

JOBS = int(os.environ.get("JOBS", "2"))
RESULT, ERROR = "grades.pickle", "error.txt"
STALL_MARGIN_S = 300.0


def stall_limit() -> float | None:
    """Seconds with nothing written under the work folder after which the background grader
    is taken to be hung: the sandbox's wall limit for one notebook (as the course's
    ``nbgrader_config.py`` sets it; the catalogue's scratch courses copy it), plus a margin
    for nbgrader's own work. None with ``SANDBOX=off``, where no wall limit ends a kernel."""
    if not availability.enabled():
        return None
    return course_limits(REPO).wall_s + STALL_MARGIN_S
_PARENT = "VAE_BACKGROUND_PARENT"  # the pytest process's id, for the child


def catalogue_class(assignment: str):
    """``(catalogue, {student: (kind, change, notebook)})``: the catalogue's submissions with
    the variants bundled, the blank release and the reference a second time."""
    catalogue = load(assignment)
    subs = catalogue_submissions(catalogue, bundle_variants=True)
    release = notebooks.read(REPO / "release" / assignment / f"{assignment}.ipynb")
    subs["blank"] = ("blank", None, release)
    subs["reference-again"] = ("reference", None, subs["reference"][2])
    return catalogue, subs


def grade(assignment: str, work: Path) -> dict:
    """Autograde :func:`catalogue_class` of ``assignment`` in scratch courses under ``work``
    with ``$JOBS`` nbgrader workers; ``{student: {grade_id: Grade}}``."""
    _, subs = catalogue_class(assignment)
    return grade_many(assignment, {k: v[2] for k, v in subs.items()}, jobs=JOBS, workdir=work)


class Background:
    """This module run as a child process (its own process group), and its results.

    :meth:`result` waits for one assignment; :meth:`stop` ends the child and every nbgrader
    process it started (the session's end, or a run stopped early)."""

    def __init__(self, workdir: Path, assignments: list[str]):
        self.workdir, self.assignments = workdir, list(assignments)
        self.stall_s = stall_limit()  # None: never taken to be hung
        self.stalled: str | None = None  # why the child was stopped as hung, once it was
        self.log = workdir / "background.log"
        with open(self.log, "wb") as out:
            # Its own process group, so that stop() ends its nbgrader workers too; it ends
            # itself if pytest dies (_die_with_parent).
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.background", str(workdir), *assignments],
                cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, _PARENT: str(os.getpid())})

    def result(self, assignment: str, poll: float = 1.0) -> tuple[dict, Path]:
        """``(grades, scratch folder)`` of ``assignment``, once the child has written them.

        Raises RuntimeError if grading that assignment failed (with its traceback), if the
        child stopped without its grades (with the end of the child's log), or if nothing
        under the work folder changed for ``self.stall_s`` seconds (:func:`stall_limit`).
        Then the child is stopped as hung, since the sandbox kills every kernel at its wall
        limit, and later calls raise the same."""
        stall_s = self.stall_s
        work = self.workdir / assignment
        checked = time.monotonic()
        while not (work / RESULT).exists():
            if self.stalled:
                raise RuntimeError(self.stalled)
            if (work / ERROR).exists():
                raise RuntimeError(f"grading the {assignment} catalogue in the background failed:\n"
                                   + (work / ERROR).read_text())
            if self.process.poll() is not None and not (work / RESULT).exists():
                raise RuntimeError(f"grading the {assignment} catalogue in the background stopped "
                                   f"(exit {self.process.returncode}) without its grades; "
                                   + self._log_tail())
            if stall_s is not None and time.monotonic() - checked > min(30.0, stall_s / 4):
                checked = time.monotonic()
                idle = time.time() - _last_change(self.workdir)
                if idle > stall_s:
                    self.stop()
                    self.stalled = (f"the background catalogue grader wrote nothing for {idle:.0f} s "
                                    f"(its limit: {stall_s:.0f} s, a notebook's wall limit and a margin) "
                                    f"while {assignment} was awaited, so it was stopped as hung; "
                                    + self._log_tail())
                    raise RuntimeError(self.stalled)
            time.sleep(poll)
        return pickle.loads((work / RESULT).read_bytes()), work

    def _log_tail(self) -> str:
        tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])
        return f"its log ({self.log}) ends:\n{tail}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _last_change(folder: Path) -> float:
    """The newest modification time (epoch seconds) of ``folder`` or anything under it."""
    newest = folder.stat().st_mtime
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            try:
                newest = max(newest, os.stat(os.path.join(root, name), follow_symlinks=False).st_mtime)
            except OSError:  # removed while walking, or unreadable
                pass
    return newest


def _die_with_parent(parent: int) -> None:
    """Stop this process group (this child and its nbgrader workers) when pytest goes, however
    it goes: Linux sends SIGTERM at the parent's death, and SIGTERM ends the whole group."""
    def end_group(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.killpg(os.getpgrp(), signal.SIGTERM)
    signal.signal(signal.SIGTERM, end_group)
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # pytest went before the line above
        end_group(signal.SIGTERM, None)


def main(argv: list[str]) -> int:
    workdir, assignments = Path(argv[0]), argv[1:]
    if os.environ.get(_PARENT):
        _die_with_parent(int(os.environ[_PARENT]))
    for assignment in assignments:
        start = time.perf_counter()
        work = workdir / assignment
        work.mkdir(parents=True, exist_ok=True)
        try:
            grades = grade(assignment, work)
        except Exception:  # that assignment's tests get it; the others are still graded
            (work / ERROR).write_text(traceback.format_exc())
            print(f"{assignment}: failed, see {work / ERROR}", flush=True)
            continue
        partial = work / (RESULT + ".part")
        partial.write_bytes(pickle.dumps(grades))
        partial.rename(work / RESULT)
        print(f"{assignment}: {len(grades)} submissions graded in {time.perf_counter() - start:.0f} s",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
