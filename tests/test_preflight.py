"""The grader's own faults are not charged to students: the pre-flight check before a class
is graded (``instructor/preflight.py``), and the incident line for an answer that imports a
module the grading environment does not have (``instructor/audit/incidents.py``)."""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import nbformat
import pytest

from instructor import preflight, sandbox
from instructor.audit import incidents
from instructor.autograde import autograde_class
from instructor.course import REPO, Course
from instructor.demo import demo_submissions
from tests.hostile import _append

QUIET = dict(log=lambda *a, **k: None)
NO_FALLBACK = ("MNIST cannot be read inside the grading sandbox: torchvision cannot download it (no "
               "network) and VAE_DATA_FALLBACK is not set; set VAE_DATA_FALLBACK=/path/to/MNIST-10k "
               "(see README) and run again")


def _empty_fallback(path) -> str:
    return (f"MNIST cannot be read inside the grading sandbox: torchvision cannot download it (no "
            f"network) and VAE_DATA_FALLBACK={path} holds no MNIST/raw/*-ubyte files; point it at a "
            f"folder that does, e.g. /path/to/MNIST-10k (see README), and run again")


def test_what_is_checked_comes_from_the_master_notebook():
    needs = {a: preflight.needs(REPO / "source" / a / f"{a}.ipynb")
             for a in ("vae_cvae", "fashion_vae", "kl_annealing")}
    assert {a: n[1] for a, n in needs.items()} == {"vae_cvae": ["load_mnist"],
                                                    "fashion_vae": ["load_fashion_mnist"],
                                                    "kl_annealing": ["load_mnist"]}
    assert preflight.loaders() == {"load_mnist", "load_fashion_mnist"}
    for modules, _ in needs.values():
        assert modules[:7] == ["numpy", "matplotlib", "torch", "torchvision", "d2l.torch", "helpers", "grading"]
    # The master's own imports, hidden tests included.
    assert {"scipy.stats", "grading.fashion_vae", "helpers.fashion_checks"} <= set(needs["fashion_vae"][0])
    assert "grading.vae_cvae" in needs["vae_cvae"][0]


def test_the_check_runs_as_a_grading_kernel(tmp_path):
    """The same bwrap command as a kernel (clean environment, the data variables, grading
    mode); with SANDBOX=off, the plain Python with the grader's environment."""
    spec = {"modules": [], "loaders": [], "images": 1, "mark": preflight.MARK}
    env = {"VAE_DATA_FALLBACK": "/data/mnist", "PATH": "/usr/bin", "SECRET_TOKEN": "x", "SANDBOX": "on"}
    cmd, run_env = preflight._command(sys.executable, spec, str(tmp_path / "on"), env)
    assert cmd[0] == sandbox.check() and run_env is None
    assert {"--clearenv", "--unshare-all", "--die-with-parent"} <= set(cmd)
    pairs = list(zip(cmd, cmd[1:], cmd[2:]))
    assert ("--setenv", "VAE_DATA_FALLBACK", "/data/mnist") in pairs
    assert ("--setenv", "NBGRADER_EXECUTION", "autograde") in pairs
    assert not any("SECRET_TOKEN" in part for part in cmd)
    assert cmd[cmd.index("--") + 1] == sys.executable
    cmd, run_env = preflight._command(sys.executable, spec, str(tmp_path / "off"), {**env, "SANDBOX": "off"})
    assert cmd[:2] == [sys.executable, "-c"]
    assert run_env == {**env, "SANDBOX": "off", "NBGRADER_EXECUTION": "autograde"}


def test_passes_on_the_course_as_set_up():
    lines = {a: preflight.preflight(REPO, a) for a in ("vae_cvae", "fashion_vae", "kl_annealing")}
    head = r"pre-flight inside the grading sandbox: \d+ modules import; "
    assert re.fullmatch(head + r"MNIST: 4 training and 4 test images \(.*\) \(\d+\.\d s\)", lines["vae_cvae"])
    # Offline, the documented stand-in passes: MNIST digits stand in for Fashion-MNIST.
    assert re.fullmatch(head + r"(Fashion-MNIST|MNIST digits standing in for Fashion-MNIST): 4 training and "
                               r"4 test images \(.*\) \(\d+\.\d s\)", lines["fashion_vae"])
    # kl_annealing needs what vae_cvae needs, and scipy.stats: its own check.
    assert lines["kl_annealing"] != lines["vae_cvae"]
    # Passed once: remembered for the process, whatever the course root.
    assert preflight.preflight(REPO, "vae_cvae") is lines["vae_cvae"]


def test_sandbox_off_runs_it_in_a_plain_subprocess(monkeypatch):
    monkeypatch.setenv("SANDBOX", "off")
    line = preflight.preflight(REPO, "vae_cvae")
    assert re.fullmatch(r"pre-flight by the grading kernels \(SANDBOX=off\): \d+ modules import; MNIST: 4 "
                        r"training and 4 test images \(.*\) \(\d+\.\d s\)", line)


def test_unreadable_data_stops_grading_before_any_grade(tmp_path, monkeypatch):
    assignment = "vae_cvae"
    course = Course.scratch(tmp_path / "course", [assignment])
    course.release(assignment)
    course.submit("demo-reference", assignment, demo_submissions(assignment, course.root)["demo-reference"])
    empty = tmp_path / "no-data"
    empty.mkdir()
    monkeypatch.setenv("VAE_DATA_FALLBACK", str(empty))

    with pytest.raises(preflight.PreflightFailed) as failed:
        autograde_class(course, assignment, jobs=1, **QUIET)
    assert str(failed.value) == _empty_fallback(empty)
    assert course.grades(assignment) == {}
    assert not (course.root / "autograded").exists()

    # python -m instructor.autograde (make autograde, the cluster tasks): exit status 2, the sentence.
    env = {k: v for k, v in os.environ.items() if k != "VAE_DATA_FALLBACK"}
    done = subprocess.run([sys.executable, "-m", "instructor.autograde", assignment, "--root", str(course.root)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == f"error: {NO_FALLBACK}"
    assert course.grades(assignment) == {}
    assert not (course.root / "autograded").exists()


def test_the_skip_switch_skips_it(tmp_path, monkeypatch):
    """preflight=False: straight to nbgrader (the no-submission error is the first thing)."""
    calls = []
    monkeypatch.setattr(preflight, "preflight", lambda *a, **k: calls.append(a) or "")
    course = Course.scratch(tmp_path, ["fashion_vae"])
    (tmp_path / "submitted" / "s0" / "fashion_vae").mkdir(parents=True)
    monkeypatch.setattr("instructor.autograde.ensure_assignment",
                        lambda *a: (_ for _ in ()).throw(RuntimeError("reached nbgrader")))
    with pytest.raises(RuntimeError, match="reached nbgrader"):
        autograde_class(course, "fashion_vae", preflight=False, **QUIET)
    assert calls == []
    with pytest.raises(RuntimeError, match="reached nbgrader"):
        autograde_class(course, "fashion_vae", **QUIET)
    assert calls == [(course.root, "fashion_vae")]


# ------------------------------------------------------------------ a missing module
MISSING = "seaborn"
ANSWER_LINE = ("encoder: imports seaborn, which the grading environment does not have: the cell stopped "
               "there and the tests that need the rest of it scored 0; install it for grading and regrade, "
               "or tell the student to use only the course's packages")


def test_an_answer_importing_a_missing_module_gets_its_incident_line(tmp_path):
    assert importlib.util.find_spec(MISSING) is None, f"{MISSING} is installed: pick a module that is not"
    assignment = "fashion_vae"  # the quickest to grade
    course = Course.scratch(tmp_path, [assignment])
    course.release(assignment)
    reference = demo_submissions(assignment, course.root)["demo-reference"]
    course.submit("imports-seaborn", assignment, _append(reference, "encoder", f"import {MISSING}"))
    runs = autograde_class(course, assignment, jobs=1, **QUIET)
    assert [r.error for r in runs] == [None]
    audits = incidents.audit(course.root, assignment, ["imports-seaborn"])
    assert audits["imports-seaborn"].lines == [ANSWER_LINE]
    # The import is the cell's last line: everything before it ran, and every test passed.
    grades = course.grades(assignment)["imports-seaborn"]
    assert {k: g.score for k, g in grades.items() if g.auto} == {k: g.max_score for k, g in grades.items() if g.auto}


def test_missing_module_lines_for_tests_and_not_for_typos(tmp_path):
    """A test cell that fails on the import gets its own line; a missing submodule of a
    package the grader has (torch.foo) is the student's mistake, not the environment's."""
    assignment = "fashion_vae"
    master = nbformat.read(str(REPO / "source" / assignment / f"{assignment}.ipynb"), as_version=4)
    released = incidents._cells(master)
    nb = nbformat.v4.new_notebook()
    for gid, value in (("encoder", "No module named 'torch.foo'"), ("decoder", "No module named 'sklearn.cluster'"),
                       ("test_encoder_shapes", f"No module named '{MISSING}'")):
        cell = nbformat.v4.new_code_cell("pass", metadata={"nbgrader": dict(released[gid].metadata["nbgrader"])})
        cell.outputs = [nbformat.v4.new_output("error", ename="ModuleNotFoundError", evalue=value, traceback=[])]
        nb.cells.append(cell)
    folder = tmp_path / assignment
    folder.mkdir()
    nbformat.write(nb, str(folder / f"{assignment}.ipynb"))
    report = incidents.Audit("s")
    incidents._kernel(folder, released, report)
    expected = []
    if importlib.util.find_spec("sklearn") is None:
        expected.append(ANSWER_LINE.replace("encoder", "decoder").replace(MISSING, "sklearn.cluster"))
    expected.append("test_encoder_shapes: the student's code imports seaborn, which the grading environment "
                    "does not have: this test failed and scored 0; install it for grading and regrade, or tell "
                    "the student to use only the course's packages")
    assert report.lines == expected
