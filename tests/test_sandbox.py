"""The sandbox's configuration and kernel launch (``instructor/sandbox/``): limits set as
``SandboxLimits`` traits in ``nbgrader_config.py`` reach the bwrap command, the ``pids``
cgroup and the kernel; jupyter_client's provisioner interface launches every grading kernel;
what a kernel's launch made is removed when it is cleaned up, whether it ended normally, died
or ran out of time. (The hostile submissions graded by nbgrader itself: tests/test_hostile.py.)"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from traitlets import TraitError
from traitlets.config import Config

from instructor import names, preflight, sandbox
from instructor.course import REPO
from instructor.sandbox import GIB, Limits, SandboxLimits, SandboxProvisioner, course_limits
from instructor.sandbox.limits import _LIMITS_CODE

CONFIGURED = ("c.SandboxLimits.memory_gb = 3\nc.SandboxLimits.processes = 77\n"
              "c.SandboxLimits.file_gb = 0.5\nc.SandboxLimits.wall_s = 120\n")
EXPECTED = Limits(memory_bytes=3 * GIB, processes=77, file_bytes=GIB // 2, wall_s=120.0)


def _course(tmp_path: Path, extra: str = CONFIGURED) -> Path:
    """A course folder holding this repository's nbgrader_config.py with ``extra`` appended,
    as an instructor edits it."""
    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    with open(root / "nbgrader_config.py", "a") as f:
        f.write(extra)
    return root


def test_the_defaults_are_unchanged_and_the_course_config_sets_none():
    assert Limits() == Limits(memory_bytes=6 * GIB, processes=512, file_bytes=GIB, wall_s=900.0)
    assert SandboxLimits().limits() == Limits()
    assert course_limits(REPO).limits() == Limits()


def test_each_limit_says_its_unit():
    helps = {name: trait.help for name, trait in SandboxLimits.class_traits(config=True).items()}
    assert set(helps) == {"memory_gb", "processes", "file_gb", "wall_s"}
    assert "GiB" in helps["memory_gb"] and "GiB" in helps["file_gb"]
    assert "seconds" in helps["wall_s"] and "threads" in helps["processes"]
    with pytest.raises(TraitError, match="must be positive"):
        SandboxLimits(config=Config({"SandboxLimits": {"processes": 0}}))


def test_limits_in_nbgrader_config_reach_the_bwrap_command_and_the_cgroup(tmp_path):
    limits = course_limits(_course(tmp_path)).limits()
    assert limits == EXPECTED
    work, scratch, run = tmp_path / "work", tmp_path / "scratch", tmp_path / "run"
    cgroup = Path("/sys/fs/cgroup/pids/vae-sandbox-test")
    cmd = sandbox.wrap(["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "k.json"], str(work),
                       str(scratch), str(run), limits, cgroup)
    # setrlimit in the sandbox, before it becomes the kernel: data, processes, file size, core
    at = cmd.index(_LIMITS_CODE)
    assert cmd[at + 1:at + 5] == [str(3 * GIB), "77", str(GIB // 2), "0"]
    assert cmd[at + 5:] == ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "k.json"]
    # the kernel's processes are in the pids cgroup from the start
    assert cmd[:4] == ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(cgroup / "cgroup.procs")]


def test_the_preflight_check_runs_with_the_courses_limits(tmp_path, monkeypatch):
    root = _course(tmp_path)
    shutil.copytree(REPO / "source" / "vae_cvae", root / "source" / "vae_cvae")
    seen = []

    def command(python, spec, workdir, env, limits=None):
        seen.append(limits)
        raise preflight.PreflightFailed("stop here")
    monkeypatch.setattr(preflight, "_command", command)
    with pytest.raises(preflight.PreflightFailed, match="stop here"):
        preflight.preflight(root, "vae_cvae", env={**os.environ, names.SANDBOX: "on"})
    assert seen == [EXPECTED]


@pytest.mark.parametrize("variable", [names.SANDBOX_MEMORY_GB, names.SANDBOX_PROCESSES,
                                      names.SANDBOX_FILE_GB, names.SANDBOX_WALL_S])
def test_a_limit_still_set_in_the_environment_stops_grading(variable, monkeypatch):
    """The variables that set the limits before are no longer read: rather than grade with
    other limits than the instructor meant, grading stops and says what to write instead."""
    monkeypatch.setenv(variable, "7")
    trait = sandbox.limits.LEGACY_VARIABLES[variable]
    expected = re.escape(f"{variable} is no longer read: the sandbox's limits are set in "
                         f"nbgrader_config.py (c.SandboxLimits.{trait} = 7)")
    with pytest.raises(sandbox.SandboxUnavailable, match=expected):
        sandbox.announce(root=REPO)
    with pytest.raises(sandbox.SandboxUnavailable, match=expected):
        sandbox.GuardedExecute()
    with pytest.raises(preflight.PreflightFailed, match=expected):
        preflight.preflight(REPO, "vae_cvae")
    monkeypatch.setenv(names.SANDBOX, "off")  # no sandbox, no limits: nothing to refuse
    assert sandbox.legacy_variables() is not None
    sandbox.GuardedExecute()


def test_the_provisioner_is_registered_for_jupyter_client():
    from jupyter_client.provisioning import KernelProvisionerFactory
    assert sandbox.availability.provisioner_registered()
    factory = KernelProvisionerFactory.instance()
    assert factory.provisioners[names.SANDBOX_PROVISIONER].load() is SandboxProvisioner
    km = sandbox.SandboxKernelManager(kernel_name="python3")
    assert km.kernel_spec.metadata["kernel_provisioner"] == {"provisioner_name": names.SANDBOX_PROVISIONER}


def test_no_cleanup_is_left_to_the_garbage_collector():
    for path in (REPO / "instructor" / "sandbox").glob("*.py"):
        assert "__del__" not in path.read_text(), path


# ------------------------------------------------------------------ grading kernels, in-process
class Watched(sandbox.GuardedExecute):
    """GuardedExecute that notes, while each cell runs, the provisioner of its kernel, the
    provisioner's private folder and its cgroup's process limit."""
    seen: list

    def preprocess_cell(self, cell, resources, index):
        provisioner = self.km.provisioner
        cgroup = getattr(provisioner, "_cgroup", None)
        self.seen.append((provisioner, getattr(provisioner, "_tmp", None),
                          cgroup, (cgroup / "pids.max").read_text().strip() if cgroup else None))
        return super().preprocess_cell(cell, resources, index)


def _grade(tmp_path: Path, cells: list[str], provisioner: dict | None = None,
           prepare=None, **config) -> tuple[list, list, dict | None]:
    """Run ``cells`` as nbgrader's autograde step would, in a kernel with ``config``'s
    SandboxLimits (and ``provisioner``'s SandboxProvisioner traits), after ``prepare(folder)``
    has filled the submission's folder; return each cell's outputs, what :class:`Watched`
    saw, and the record."""
    import json
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    work = tmp_path / "autograded" / "student" / "assignment"
    work.mkdir(parents=True)
    if prepare is not None:
        prepare(work)
    ep = Watched(config=Config({"SandboxLimits": config, "Execute": {"timeout": 60},
                                "SandboxProvisioner": provisioner or {}}))
    ep.seen = []
    out, _ = ep.preprocess(nb, {"metadata": {"path": str(work)}})
    record = work / sandbox.RECORD
    return ([c.outputs for c in out.cells], ep.seen,
            json.loads(record.read_text()) if record.exists() else None)


def _text(outputs) -> str:
    return "".join(o.get("text", "") + f"{o.get('ename', '')}: {o.get('evalue', '')}"
                   if o.get("output_type") == "error" else o.get("text", "") for o in outputs)


def _check_removed(seen):
    for provisioner, folder, cgroup, _ in seen:
        assert folder is not None and not folder.exists(), f"{folder} left behind"
        assert cgroup is None or not cgroup.exists(), f"{cgroup} left behind"
        assert provisioner._tmp is None and provisioner._cgroup is None


def test_the_provisioner_launches_the_kernel_with_the_configured_limits(tmp_path):
    outputs, seen, record = _grade(tmp_path, [
        "import resource\nfor n in ('RLIMIT_DATA', 'RLIMIT_NPROC', 'RLIMIT_FSIZE'):\n"
        "    print(n, resource.getrlimit(getattr(resource, n))[0])",
        "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 80), timeout=2)\n"
        "    print('CONNECTED')\nexcept OSError as err:\n    print('blocked:', err)",
    ], memory_gb=3, processes=77, file_gb=0.5, wall_s=120)
    assert _text(outputs[0]).split() == ["RLIMIT_DATA", str(3 * GIB), "RLIMIT_NPROC", "77",
                                         "RLIMIT_FSIZE", str(GIB // 2)]
    assert "blocked:" in _text(outputs[1])
    assert {type(p) for p, *_ in seen} == {SandboxProvisioner}  # the kernel manager's provisioner
    assert len({id(p) for p, *_ in seen}) == 1                   # one kernel for the notebook
    if seen[0][2] is not None:                                   # grading as root: the pids cgroup
        assert {pids for *_, pids in seen} == {"77"}
    assert record["limits"] == {"memory_bytes": 3 * GIB, "processes": 77, "file_bytes": GIB // 2,
                                "wall_s": 120.0}
    assert record["sandbox"] and record["exit_code"] is None and not record["killed_for_time"]
    _check_removed(seen)


def test_a_kernel_that_exits_costs_the_cells_it_did_not_run_and_leaves_nothing(tmp_path):
    outputs, seen, record = _grade(tmp_path, ["print('ran')", "import os\nos._exit(3)", "print('after')"])
    assert _text(outputs[0]) == "ran\n"
    death = "the kernel exited with status 3 (sys.exit/os._exit in the notebook?)"
    assert _text(outputs[1]) == f"{names.KERNEL_DIED}: {death}"
    assert _text(outputs[2]) == f"{names.NOT_RUN}: not run because {death} in an earlier cell"
    assert record["exit_code"] == 3
    _check_removed(seen)


def test_the_wall_time_limit_stops_the_kernel(tmp_path):
    outputs, seen, record = _grade(tmp_path, ["import time\ntime.sleep(60)", "print('after')"], wall_s=3)
    death = "the kernel was stopped at the wall-time limit (3 s)"
    assert _text(outputs[0]) == f"{names.KERNEL_DIED}: {death}"
    assert _text(outputs[1]) == f"{names.NOT_RUN}: not run because {death} in an earlier cell"
    assert record["killed_for_time"] and 3 <= record["wall_s"] < 30
    _check_removed(seen)


def test_an_interrupt_reaches_the_kernel_alone(tmp_path):
    """The provisioner sends SIGINT to the kernel, not to bwrap (which would die of it): a
    cell interrupted at its time limit fails, and the kernel goes on with the next cell."""
    nb_config = {"interrupt_on_timeout": True, "timeout": 3}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import time\ntime.sleep(60)"),
                                         nbformat.v4.new_code_cell("print('still here')")])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    work = tmp_path / "work"
    work.mkdir()
    ep = Watched(config=Config({"Execute": nb_config}))
    ep.seen = []
    out, _ = ep.preprocess(nb, {"metadata": {"path": str(work)}})
    assert "KeyboardInterrupt" in _text(out.cells[0].outputs)
    assert _text(out.cells[1].outputs) == "still here\n"
    _check_removed(ep.seen)


# ------------------------------------------------------------------ matplotlib's font list
_FONT_LIST = ("import glob, json, os\n"
              "before = sorted(os.listdir(os.environ['MPLCONFIGDIR'])) "
              "if os.path.isdir(os.environ['MPLCONFIGDIR']) else []\n"
              "import matplotlib.font_manager as fm\n"
              "fonts = sorted((f.fname, f.name, f.style, f.weight) for f in fm.fontManager.ttflist)\n"
              "print(json.dumps({'before': before, 'fonts': fonts}))")


def _fonts_seen(outputs) -> dict:
    import json
    return json.loads(_text(outputs))


def test_the_prebuilt_font_list_is_the_one_a_sandboxed_kernel_builds_itself(tmp_path):
    """With the font list copied in, matplotlib finds it before its first import and loads
    the same fonts as a kernel that scanned the sandbox's fonts itself (the cache off)."""
    (on,), seen_on, _ = _grade(tmp_path / "on", [_FONT_LIST])
    (off,), seen_off, _ = _grade(tmp_path / "off", [_FONT_LIST], provisioner={"font_cache": False})
    on, off = _fonts_seen(on), _fonts_seen(off)
    assert off["before"] == [] and any(name.startswith("fontlist-") for name in on["before"])
    assert on["fonts"] == off["fonts"] and len(on["fonts"]) > 0
    _check_removed(seen_on + seen_off)


def test_a_linked_tmp_folder_in_a_submission_is_not_written_through(tmp_path):
    """A submission's folder may hold ``.tmp`` as a link to a folder of the grader's: the
    font list goes into a real folder of the scratch copy, and the link's target is left as
    it was."""
    outside = tmp_path / "grader-files"
    (outside / "matplotlib").mkdir(parents=True)
    (outside / "matplotlib" / "keep.txt").write_text("the grader's")
    (outputs,), seen, _ = _grade(tmp_path, [_FONT_LIST],
                                 prepare=lambda folder: (folder / ".tmp").symlink_to(outside))
    assert any(name.startswith("fontlist-") for name in _fonts_seen(outputs)["before"])
    assert sorted(p.name for p in (outside / "matplotlib").iterdir()) == ["keep.txt"]
    assert (outside / "matplotlib" / "keep.txt").read_text() == "the grader's"
    _check_removed(seen)
