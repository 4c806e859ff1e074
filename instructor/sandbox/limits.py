"""The limits of a sandboxed kernel: memory, processes and threads, file size, wall time;
and the ``pids`` cgroup that holds the process limit when grading as root.

The limits are traits of :class:`SandboxLimits`, set in ``nbgrader_config.py`` the way
nbgrader's own options are (``c.SandboxLimits.memory_gb = 8``) or on nbgrader's command line
(``--SandboxLimits.memory_gb=8``). :class:`Limits` is what one kernel gets, in bytes."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from traitlets import Float, Integer, TraitError, validate
from traitlets.config import Configurable

from instructor import names

GIB = 1024 ** 3
UNPRIVILEGED_UID = 65534  # "nobody": the kernel's user when the grader is root
CONFIG_FILE = "nbgrader_config"


@dataclass(frozen=True)
class Limits:
    """The limits of one kernel, as the sandbox applies them (bytes, seconds); written into
    each kernel's record (``.sandbox.json``). Made by :meth:`SandboxLimits.limits`."""
    memory_bytes: int = 6 * GIB     # RLIMIT_DATA: heap and anonymous memory of each process
    processes: int = 512            # RLIMIT_NPROC: processes and threads of the kernel's user
    file_bytes: int = 1 * GIB       # RLIMIT_FSIZE: largest file the kernel may write
    wall_s: float = 900.0           # the whole kernel, all cells


class SandboxLimits(Configurable):
    """The limits of every sandboxed grading kernel, configured in ``nbgrader_config.py``
    (``c.SandboxLimits.processes = 256``). The defaults are :class:`Limits`'s."""

    memory_gb = Float(Limits.memory_bytes / GIB, help=(
        "Memory of each kernel process, in GiB (RLIMIT_DATA: its heap and anonymous memory); "
        "an allocation beyond it fails with MemoryError.")).tag(config=True)
    processes = Integer(Limits.processes, help=(
        "Processes and threads of the kernel, counted together (a pids cgroup when grading as "
        "root, RLIMIT_NPROC of the kernel's user otherwise); fork and thread creation fail "
        "beyond it.")).tag(config=True)
    file_gb = Float(Limits.file_bytes / GIB, help=(
        "Largest file the kernel may write, in GiB (RLIMIT_FSIZE); writing past it kills the "
        "kernel with SIGXFSZ.")).tag(config=True)
    wall_s = Float(Limits.wall_s, help=(
        "Wall-clock time of the whole notebook, all cells, in seconds; then the grader kills "
        "the kernel and the cells not yet run score 0. (One cell's limit is nbgrader's "
        "Execute.timeout.)")).tag(config=True)

    @validate("memory_gb", "processes", "file_gb", "wall_s")
    def _positive(self, proposal):
        if not proposal["value"] > 0:
            raise TraitError(f"SandboxLimits.{proposal['trait'].name} must be positive, "
                             f"not {proposal['value']!r}")
        return proposal["value"]

    def limits(self) -> Limits:
        """The limits in the units the sandbox applies (bytes, seconds)."""
        return Limits(memory_bytes=int(self.memory_gb * GIB), processes=int(self.processes),
                      file_bytes=int(self.file_gb * GIB), wall_s=float(self.wall_s))


# The environment variables that set the limits before they were SandboxLimits's traits. They
# are no longer read; one that is still set stops grading instead of being ignored quietly.
LEGACY_VARIABLES = {names.SANDBOX_MEMORY_GB: "memory_gb", names.SANDBOX_PROCESSES: "processes",
                    names.SANDBOX_FILE_GB: "file_gb", names.SANDBOX_WALL_S: "wall_s"}


def legacy_variables(env=os.environ) -> str | None:
    """A sentence saying how to move limits still set through the environment into
    ``nbgrader_config.py``, or None when none is set."""
    found = [k for k in LEGACY_VARIABLES if k in env]
    if not found:
        return None
    lines = "; ".join(f"c.SandboxLimits.{LEGACY_VARIABLES[k]} = {env[k]}" for k in found)
    return (f"{', '.join(found)} {'is' if len(found) == 1 else 'are'} no longer read: the sandbox's "
            f"limits are set in nbgrader_config.py ({lines}); unset "
            f"{'it' if len(found) == 1 else 'them'} and set the limit there")


def course_limits(root: str | Path | None = None) -> SandboxLimits:
    """The limits that ``nbgrader`` run in the course folder ``root`` (default: the current
    folder) gives its kernels: ``nbgrader_config.py`` (or ``.json``) in Jupyter's config
    folders, then the course's own, the later winning, as nbgrader loads them. (Options given
    on nbgrader's command line are not seen here.)"""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config import Config
    from traitlets.config.loader import ConfigFileNotFound, JSONFileConfigLoader, PyFileConfigLoader
    config = Config()
    folders = list(reversed(jupyter_config_path())) + [os.path.abspath(root or os.getcwd())]
    for folder in dict.fromkeys(folders):
        for loader in (PyFileConfigLoader, JSONFileConfigLoader):
            name = CONFIG_FILE + (".py" if loader is PyFileConfigLoader else ".json")
            try:
                config.merge(loader(name, path=folder).load_config())
            except ConfigFileNotFound:
                pass
    return SandboxLimits(config=config)


# Run inside the sandbox: set the limits, then become the kernel.
_LIMITS_CODE = ("import os,resource,sys;"
                "[resource.setrlimit(getattr(resource,n),(int(v),int(v))) for n,v in "
                "zip(('RLIMIT_DATA','RLIMIT_NPROC','RLIMIT_FSIZE','RLIMIT_CORE'),sys.argv[1:5])];"
                "os.makedirs(os.environ['TMPDIR'],exist_ok=True);"
                "os.execv(sys.argv[5],sys.argv[5:])")


def _pids_cgroup_parent() -> Path | None:
    """A cgroup folder under which this process may create a ``pids``-limited group
    (cgroup v1's ``pids`` hierarchy, or v2 with the ``pids`` controller), or None."""
    v1 = Path("/sys/fs/cgroup/pids")
    if (v1 / "cgroup.procs").exists() and os.access(v1, os.W_OK):
        return v1
    v2 = Path("/sys/fs/cgroup")
    try:
        if ("pids" in (v2 / "cgroup.subtree_control").read_text().split()
                and os.access(v2, os.W_OK)):
            return v2
    except OSError:
        pass
    return None


def _sweep_cgroups(parent: Path) -> None:
    """Remove the empty groups left by grader processes that have ended."""
    for group in parent.glob("vae-sandbox-*"):
        try:
            owner = int(group.name.split("-")[2])
        except (IndexError, ValueError):
            continue
        if owner != os.getpid() and Path(f"/proc/{owner}").exists():
            continue  # a running grader's: not ours to touch
        try:
            if not (group / "cgroup.procs").read_text().split():
                group.rmdir()
        except OSError:
            pass
