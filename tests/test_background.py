"""The background catalogue grading's failure paths (tests/background.py): a child that fails,
stops, or hangs ends the waiting test with a message that says which and where its log is,
instead of hanging the session."""
from __future__ import annotations

import subprocess
import time

import pytest

from tests.background import ERROR, Background


def _background(tmp_path, command: list[str]) -> Background:
    """A :class:`Background` whose child is ``command`` instead of the catalogue grading."""
    job = Background.__new__(Background)
    job.workdir, job.assignments = tmp_path, ["fashion_vae"]
    job.log = tmp_path / "background.log"
    job.log.write_text("grading fashion_vae\n")
    job.process = subprocess.Popen(command, start_new_session=True)
    return job


def test_a_hung_child_is_stopped_and_named(tmp_path):
    job = _background(tmp_path, ["sleep", "60"])  # without the stall check: "stopped" after 60 s
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"(?s)wrote nothing for \d+ s .*so it was stopped.*grading fashion_vae"):
        job.result("fashion_vae", poll=0.1, stall_s=2)
    assert time.monotonic() - start < 30
    assert job.process.poll() is not None  # the child's process group was ended


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
