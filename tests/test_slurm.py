"""Grading a class on a real Slurm cluster (``make autograde ENGINE=slurm``), with a real
PostgreSQL gradebook.

The set-up installs Debian's ``slurm-wlm`` and ``munge`` (and ``postgresql``) when they are
missing, and starts ``munged``, ``slurmctld`` and ``slurmd`` on this machine as a one-node
cluster with two CPUs (:func:`tests.services.slurm_cluster`), and a PostgreSQL server; it stops
every daemon it started. It skips, with one sentence, only where the packages are missing and
cannot be installed (no root or no apt-get): CI runs as root and does not skip.

The class: the three demo submissions of fashion_vae, two hostile ones and a real-world case.
One Slurm run has a task cancelled in the middle of a submission; ``--resume`` then grades its
students. The grades must equal a local serial run's, with nothing lost or graded twice.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from instructor import autograde, names
from instructor.course import REPO, Course
from tests import services
from tests.conftest import cell_scores, report_line

ASSIGNMENT = "fashion_vae"
HOSTILE = ("hostile-sys-exit", "hostile-patch-torch")  # a kernel that exits; points withheld
REAL_WORLD = REPO.parent / "shared" / "cases" / "real-world" / "c02_vscode_stripped_metadata"
REAL_STUDENT = "real-c02-stripped-metadata"
TASKS = 3
TASK_TO_CANCEL = 1  # grades demo-mistakes, then hostile-sys-exit (the class list is sorted)


@pytest.fixture(scope="module")
def cluster():
    if not services.slurm_installed():
        try:
            services.apt_install(*services.SLURM_PACKAGES)
        except services.Unavailable as err:
            pytest.skip(f"No Slurm here: {err}.")
    with services.slurm_cluster(cpus=2) as running:
        yield running


@pytest.fixture(scope="module")
def gradebook():
    with services.postgres_server() as url:
        yield url


def add_extra_students(course: Course) -> list[str]:
    """Two hostile submissions and a real-world case; returns their student ids."""
    from tests.hostile import cases
    corpus = cases(course.root, services.free_port())
    for name in HOSTILE:
        course.submit(name, ASSIGNMENT, corpus[name].submission)
    folder = course.root / "submitted" / REAL_STUDENT / ASSIGNMENT
    shutil.copytree(REAL_WORLD, folder)
    (folder / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC")
    return [*HOSTILE, REAL_STUDENT]


def grade_on_slurm(course: Course, env: dict, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "instructor.autograde", ASSIGNMENT, "--root", str(course.root),
           "--engine", "slurm", "--tasks", str(TASKS), "--cpus-per-task", "1", "--mem", "3G",
           "--poll", "1", *extra]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def wait_for(ready, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        assert time.monotonic() < deadline, f"{what} within {seconds:.0f} s"
        time.sleep(0.5)


def submissions_in(url: str) -> list[str]:
    from nbgrader.api import Gradebook
    with Gradebook(url) as gb:
        return sorted(s.student_id for s in gb.assignment_submissions(ASSIGNMENT))


def test_a_class_graded_on_slurm_equals_a_local_serial_run_and_survives_a_cancelled_task(
        cluster, gradebook, demo_run, tmp_path):
    began = time.perf_counter()
    serial_root, _ = demo_run(ASSIGNMENT)  # the demo class, graded by one plain nbgrader run
    serial = Course(serial_root)
    demo = autograde.submitted_students(serial, ASSIGNMENT)

    # The hostile and real-world submissions, graded locally by one serial worker.
    local = Course.scratch(tmp_path / "local", [ASSIGNMENT])
    extra = add_extra_students(local)
    assert autograde.main([ASSIGNMENT, "--root", str(local.root), "--jobs", "1"]) == 0

    course = Course.scratch(tmp_path / "cluster", [ASSIGNMENT])
    shutil.copytree(serial_root / "submitted", course.root / "submitted")
    add_extra_students(course)
    course.db_url = gradebook
    students = autograde.submitted_students(course, ASSIGNMENT)
    assert students == sorted(demo + extra) and len(students) == 6
    cancelled = students[TASK_TO_CANCEL::TASKS]
    assert cancelled == ["demo-mistakes", "hostile-sys-exit"]
    env = {**os.environ, **cluster.env, names.NBGRADER_DB_URL: gradebook}
    env.pop("CUDA_VISIBLE_DEVICES", None)

    # 1. The class on Slurm; task 1 is cancelled while it grades its first student.
    slurm_began = time.perf_counter()
    run = grade_on_slurm(course, env)
    first = course.root / "autograded" / cancelled[0] / ASSIGNMENT
    try:
        wait_for(lambda: first.is_dir() and cancelled[0] in submissions_in(gradebook) or run.poll() is not None,
                 600, f"task {TASK_TO_CANCEL} did not start grading {cancelled[0]}")
        assert run.poll() is None, run.stdout.read()
        jobs = sorted((course.root / autograde.LOGS / ASSIGNMENT / "slurm").glob("*.out"))
        job = jobs[0].name.split("_")[0]
        time.sleep(3)  # in the middle of the notebook
        half_written = cancelled[0] in submissions_in(gradebook)
        subprocess.run(["scancel", f"{job}_{TASK_TO_CANCEL}"], env=env, check=True)
        out, _ = run.communicate(timeout=900)
    finally:
        if run.poll() is None:
            run.kill()
    first_s = time.perf_counter() - slurm_began
    assert run.returncode == 1, out
    assert half_written, "the cancelled task had not written its student's submission yet"
    assert f"submitted job {job}: 3 task(s) for 6 submission(s)" in out, out
    assert "running" in out and "done; " in out and "submissions graded" in out, out  # progress lines
    assert f"task {TASK_TO_CANCEL} (CANCELLED" in out and ", ".join(cancelled) in out, out
    assert "ENGINE=slurm RESUME=1" in out, out
    # No half-written grades: the cancelled task's students are not in the gradebook at all.
    finished = [s for s in students if s not in cancelled]
    assert submissions_in(gradebook) == finished, out
    assert autograde.complete_students(course, ASSIGNMENT, students) == set(finished)
    expected = {**cell_scores(serial, ASSIGNMENT, demo), **cell_scores(local, ASSIGNMENT, extra)}
    assert cell_scores(course, ASSIGNMENT, students) == {s: expected[s] for s in finished}
    stamps = {s: autograde.marker(course, ASSIGNMENT, s).stat().st_mtime_ns for s in finished}

    # 2. --resume grades exactly the cancelled task's students.
    resumed = grade_on_slurm(course, env, "--resume")
    out, _ = resumed.communicate(timeout=900)
    assert resumed.returncode == 0, out
    assert f"resuming: 2 of 6 submission(s) have no complete grade: {', '.join(cancelled)}" in out, out
    assert "2 of 2 submission(s) graded" in out and "UNGRADED" not in out, out
    assert {s: autograde.marker(course, ASSIGNMENT, s).stat().st_mtime_ns for s in finished} == stamps, \
        "--resume graded again a student whose grade was complete"
    assert "hostile-patch-torch:  [autograded points WITHHELD pending review]" in out, out

    # The whole class: the local serial grades, one intact submission per student.
    assert submissions_in(gradebook) == students
    on_slurm = cell_scores(course, ASSIGNMENT, students)
    assert on_slurm == expected
    assert on_slurm["demo-reference"] != on_slurm["demo-mistakes"]  # the comparison can fail
    from nbgrader.api import Gradebook
    with Gradebook(gradebook) as gb:
        for submission in gb.assignment_submissions(ASSIGNMENT):
            assert len(submission.notebooks) == 1, submission.student_id
            assert {g.name for g in submission.notebooks[0].grades} == set(expected[submission.student_id])
    assert autograde.complete_students(course, ASSIGNMENT, students) == set(students)
    report_line(f"Slurm test ({cluster.version}, one node, 2 CPUs): {time.perf_counter() - began:.0f} s in all; "
                f"cluster up in {cluster.start_s:.0f} s, the class with a cancelled task {first_s:.0f} s, "
                f"--resume {time.perf_counter() - slurm_began - first_s:.0f} s")


# ---------------------------------------------------------------- without a cluster

def render(**kw) -> str:
    from instructor import slurm
    args = dict(root=Path("/shared/vae course"), python="/shared/vae course/.venv/bin/python",
                assignment=ASSIGNMENT, class_list=Path("/shared/x.students"), tasks=4, jobs=2,
                cpus_per_task=2, mem="8G", output=Path("/shared/logs/%A_%a.out"))
    return slurm.render(slurm.TEMPLATE.read_text(), **{**args, **kw})


def test_the_sbatch_script_comes_from_the_template_with_the_options_given():
    script = render(partition="gpu", time_limit="02:00:00", gres="gpu:2")
    for line in ("#SBATCH --array=0-3", "#SBATCH --cpus-per-task=2", "#SBATCH --mem=8G",
                 "#SBATCH --partition=gpu", "#SBATCH --time=02:00:00", "#SBATCH --gres=gpu:2",
                 "--shard \"${SLURM_ARRAY_TASK_ID}/4\" --jobs 2", "cd '/shared/vae course'"):
        assert line in script, script
    plain = render()
    assert "--partition" not in plain and "--gres" not in plain and "--time" not in plain
    assert subprocess.run(["bash", "-n"], input=plain, text=True).returncode == 0


def test_a_template_field_that_does_not_exist_is_a_clear_error():
    from instructor import slurm
    with pytest.raises(ValueError, match=r"cannot fill.*\$\{tasks\}.*a plain \$ is written \$\$"):
        slurm.render("#SBATCH --qos=${qos}\n", root=Path("/r"), python="p", assignment="a",
                     class_list=Path("/c"), tasks=1, jobs=1, cpus_per_task=1, mem="1G", output=Path("/o"))


def test_array_task_ids_and_states_are_read_as_scontrol_writes_them():
    from instructor import slurm
    assert slurm._task_ids("3", 5) == [3]
    assert slurm._task_ids("0-4%2", 5) == [0, 1, 2, 3, 4]
    assert slurm._task_ids("1,3-4", 5) == [1, 3, 4]
    assert slurm._task_ids("0-9:3", 10) == [0, 3, 6, 9]
    states = {0: slurm.TaskState("COMPLETED"), 1: slurm.TaskState("RUNNING"),
              2: slurm.TaskState("PENDING", "Resources"), 3: slurm.TaskState("CANCELLED")}
    assert slurm.progress(states, 3, 8) == ("tasks: 1 pending, 1 running, 2 done; 3/8 submissions graded "
                                            "(pending: Resources)")
    assert [slurm.default_tasks(n) for n in (1, 4, 5, 400)] == [1, 1, 2, 50]


def test_the_slurm_engine_needs_a_postgresql_gradebook(tmp_path, monkeypatch, capsys):
    Course.scratch(tmp_path, [ASSIGNMENT])
    monkeypatch.delenv(names.NBGRADER_DB_URL, raising=False)
    assert autograde.main([ASSIGNMENT, "--root", str(tmp_path), "--engine", "slurm"]) == 2
    assert "--engine slurm needs a PostgreSQL gradebook" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        autograde.main([ASSIGNMENT, "--root", str(tmp_path), "--engine", "slurm", "--shard", "1/2"])


def test_a_tasks_workers_share_the_cpus_slurm_gave_it(monkeypatch):
    monkeypatch.setenv(names.SLURM_CPUS_PER_TASK, "4")
    assert autograde.task_cpus() == 4
    assert autograde.worker_env(0, 2, [])["OMP_NUM_THREADS"] == "2"
    monkeypatch.setenv(names.SLURM_CPUS_PER_TASK, "")
    assert autograde.task_cpus() == (os.cpu_count() or 1)


def test_the_gpu_check_refuses_to_run_without_a_gpu(monkeypatch, capsys):
    from bench import gpu_check
    monkeypatch.setattr(gpu_check, "gpu", lambda: None)
    assert gpu_check.main(["fashion_vae"]) == 2
    assert "no usable CUDA GPU here" in capsys.readouterr().out


def test_an_option_holding_a_newline_is_refused_before_it_becomes_a_script_line():
    for bad in (dict(partition="gpu\n#SBATCH --account=other"), dict(mem="8G\nrm -rf /"),
                dict(time_limit="1:00\r"), dict(gres="gpu:1\x00"), dict(assignment="a\nb")):
        with pytest.raises(ValueError, match="newline or control character"):
            render(**bad)


def test_a_refused_job_leaves_every_complete_grade_complete(tmp_path, monkeypatch, capsys):
    """A bad --partition: sbatch refuses, and the class's markers stay (a later --resume must not
    take the whole class, TAs' hand marks included, for interrupted)."""
    from instructor import preflight, slurm
    course = Course.scratch(tmp_path, [ASSIGNMENT])
    course.db_url = "postgresql://nowhere/gradebook"
    for student in ("a", "b"):
        course.submit(student, ASSIGNMENT, "{}")
        autograde.marker(course, ASSIGNMENT, student).parent.mkdir(parents=True)
        autograde.marker(course, ASSIGNMENT, student).write_text("done\n")
    monkeypatch.setattr(preflight, "preflight", lambda root, assignment: "pre-flight check passed")
    monkeypatch.setattr(slurm, "ensure_assignment", lambda course, assignment: None)

    def refuse(script):
        raise slurm.SlurmError("sbatch refused the job (invalid partition specified: nope)")
    monkeypatch.setattr(slurm, "submit", refuse)
    args = autograde.parser().parse_args([ASSIGNMENT, "--engine", "slurm", "--partition", "nope"])
    assert slurm.main(course, args) == 2
    assert "invalid partition" in capsys.readouterr().out
    assert all(autograde.marker(course, ASSIGNMENT, s).is_file() for s in ("a", "b"))
