"""A PostgreSQL gradebook (for grading across machines): parallel workers writing to a real
server give the grades of nbgrader's serial run.

The server comes from Debian's ``postgresql`` package, installed here with apt-get when it
is missing (CI runs as root). Set ``SKIP_POSTGRES=1`` to skip this test on a machine where
that is impossible; without it, failing to get a server is a test failure, not a skip.
"""
from __future__ import annotations

import os
import shutil

import pytest

from instructor import autograde
from instructor.course import Course
from tests import services
from tests.conftest import cell_scores

ASSIGNMENT = "fashion_vae"


@pytest.fixture
def postgres():
    """A throwaway PostgreSQL server on a Unix socket (:func:`tests.services.postgres_server`);
    yields its SQLAlchemy URL."""
    if os.environ.get("SKIP_POSTGRES") == "1":
        pytest.skip("SKIP_POSTGRES=1")
    try:
        server = services.postgres_server()
        url = server.__enter__()
    except services.Unavailable as err:
        pytest.fail(f"PostgreSQL is not installed and {err}, or set SKIP_POSTGRES=1.")
    try:
        yield url
    finally:
        server.__exit__(None, None, None)


def test_parallel_workers_on_a_postgresql_gradebook_give_the_serial_grades(postgres, demo_run, tmp_path):
    serial_root, _ = demo_run(ASSIGNMENT)  # graded by one plain `nbgrader autograde` (SQLite)
    serial = Course(serial_root)
    students = autograde.submitted_students(serial, ASSIGNMENT)

    course = Course.scratch(tmp_path, [ASSIGNMENT])
    course.db_url = postgres
    shutil.copytree(serial_root / "submitted", tmp_path / "submitted")
    runs = autograde.autograde_class(course, ASSIGNMENT, jobs=2, log=lambda *a, **k: None)
    assert [len(r.students) for r in runs] == [2, 1]
    assert all(r.error is None for r in runs), [r.error for r in runs]
    assert not (tmp_path / "gradebook.db").exists(), "the workers used SQLite, not PostgreSQL"

    on_postgres = cell_scores(course, ASSIGNMENT, students)
    assert set(on_postgres) == set(students)
    assert on_postgres == cell_scores(serial, ASSIGNMENT, students)
    assert on_postgres["demo-reference"] != on_postgres["demo-mistakes"]
