"""A PostgreSQL gradebook (for grading across machines): parallel workers writing to a real
server give the grades of nbgrader's serial run.

The server comes from Debian's ``postgresql`` package, installed here with apt-get when it
is missing (CI runs as root). Set ``SKIP_POSTGRES=1`` to skip this test on a machine where
that is impossible; without it, failing to get a server is a test failure, not a skip.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from instructor import autograde
from instructor.course import Course
from tests.conftest import cell_scores

ASSIGNMENT = "fashion_vae"


def run(*cmd: str, **kw) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result


def postgres_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            pytest.fail("PostgreSQL is not installed and cannot be installed here (needs root and "
                        "apt-get): run `apt-get install postgresql` as root, or set SKIP_POSTGRES=1.")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run("apt-get", "update", "-q", env=env)
        run("apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql", env=env)
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres():
    """A throwaway PostgreSQL server on a Unix socket; yields its SQLAlchemy URL."""
    if os.environ.get("SKIP_POSTGRES") == "1":
        pytest.skip("SKIP_POSTGRES=1")
    bindir = postgres_bindir()
    # Under /tmp, which the server's user can reach (pytest's own tmp folders are private).
    base = Path(tempfile.mkdtemp(prefix="vae-postgres-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    # The server refuses to run as root: run it as the package's `postgres` user.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    port = free_port()
    run(*as_user, str(bindir / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "-E", "UTF8")
    run(*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w",
        "-o", f"-k {sock} -p {port} -c listen_addresses=''", "start")
    try:
        run(*as_user, str(bindir / "createdb"), "-h", str(sock), "-p", str(port), "-U", "postgres",
            "vae_course")
        yield f"postgresql+psycopg2://postgres@/vae_course?host={sock}&port={port}"
    finally:
        run(*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(base, ignore_errors=True)


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
