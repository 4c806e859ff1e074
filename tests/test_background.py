"""The background catalogue grading's failure paths (tests/background.py): a child that fails,
stops, or hangs ends the waiting test with a message that says which and where its log is,
instead of hanging the session; a child that keeps writing is waited for."""
from __future__ import annotations

import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest

from instructor.course import REPO
from instructor.sandbox.limits import course_limits
from tests.background import ERROR, RESULT, STALL_MARGIN_S, Background, stall_limit


def _background(tmp_path, command: list[str], stall_s: float | None = None) -> Background:
    """A :class:`Background` whose child is ``command`` instead of the catalogue grading."""
    job = Background.__new__(Background)
    job.workdir, job.assignments = tmp_path, ["fashion_vae"]
    job.stall_s, job.stalled = stall_s, None
    job.log = tmp_path / "background.log"
    job.log.write_text("grading fashion_vae\n")
    job.process = subprocess.Popen(command, start_new_session=True, cwd=tmp_path)
    return job


def _live_members(group: int, wait_s: float = 5.0) -> list[int]:
    """Processes of process group ``group`` still alive (not zombies) after up to ``wait_s``."""
    deadline = time.monotonic() + wait_s
    while True:
        live = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group and fields[0] != "Z":
                live.append(int(stat.parent.name))
        if not live or time.monotonic() > deadline:
            return live
        time.sleep(0.1)


def test_a_hung_child_and_its_group_are_stopped_and_named(tmp_path):
    # Without the stall check this would end after 60 s as "stopped (exit 0)", and fail.
    job = _background(tmp_path, ["sh", "-c", "sleep 60 & wait"], stall_s=2)
    try:
        start = time.monotonic()
        with pytest.raises(RuntimeError, match=r"(?s)wrote nothing for \d+ s .*stopped as hung.*grading fashion_vae"):
            job.result("fashion_vae", poll=0.1)
        assert time.monotonic() - start < 30
        assert _live_members(job.process.pid) == []  # the whole process group was ended
        with pytest.raises(RuntimeError, match="stopped as hung"):  # and a later wait says so too
            job.result("kl_annealing", poll=0.1)
    finally:
        job.stop()


def test_a_child_that_keeps_writing_deep_down_is_waited_for(tmp_path):
    grades = {"reference": {"test_encoder": 1.0}}
    (tmp_path / "grades").write_bytes(pickle.dumps(grades))
    writer = ("import pathlib, shutil, time\n"
              "deep = pathlib.Path('worker0/autograded/s/fashion_vae'); deep.mkdir(parents=True)\n"
              "for k in range(20):\n"
              "    (deep / f'{k}.ipynb').write_text('{}'); time.sleep(0.2)\n"
              f"pathlib.Path('fashion_vae').mkdir(); shutil.move('grades', 'fashion_vae/{RESULT}')\n")
    job = _background(tmp_path, [sys.executable, "-c", writer], stall_s=1)
    try:
        got, work = job.result("fashion_vae", poll=0.1)  # 4 s of writing, never 1 s idle
    finally:
        job.stop()
    assert got == grades and work == tmp_path / "fashion_vae"


def test_a_child_that_stops_without_grades_is_named_with_its_log(tmp_path):
    job = _background(tmp_path, ["true"])
    job.process.wait()
    with pytest.raises(RuntimeError, match=r"(?s)stopped \(exit 0\) without its grades.*grading fashion_vae"):
        job.result("fashion_vae", poll=0.1)


def test_a_failed_assignment_gives_its_traceback(tmp_path):
    job = _background(tmp_path, ["sleep", "600"])
    (tmp_path / "fashion_vae").mkdir()
    (tmp_path / "fashion_vae" / ERROR).write_text("Traceback: nbgrader exited 1")
    try:
        with pytest.raises(RuntimeError, match="in the background failed:\nTraceback: nbgrader exited 1"):
            job.result("fashion_vae", poll=0.1)
    finally:
        job.stop()


def test_the_stall_limit_is_the_courses_wall_limit_and_a_margin(monkeypatch):
    monkeypatch.setenv("SANDBOX", "on")
    assert stall_limit() == course_limits(REPO).wall_s + STALL_MARGIN_S
    monkeypatch.setenv("SANDBOX", "off")  # no wall limit ends a kernel: never taken as hung
    assert stall_limit() is None
