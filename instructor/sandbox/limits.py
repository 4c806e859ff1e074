"""The limits of a sandboxed kernel: memory, processes and threads, file size, wall time;
and the ``pids`` cgroup that holds the process limit when grading as root."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from instructor import names

GIB = 1024 ** 3
UNPRIVILEGED_UID = 65534  # "nobody": the kernel's user when the grader is root


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 6 * GIB     # RLIMIT_DATA: heap and anonymous memory of each process
    processes: int = 512            # RLIMIT_NPROC: processes and threads of the kernel's user
    file_bytes: int = 1 * GIB       # RLIMIT_FSIZE: largest file the kernel may write
    wall_s: float = 900.0           # the whole kernel, all cells

    @classmethod
    def from_env(cls, env=os.environ) -> "Limits":
        base = cls()
        return cls(memory_bytes=int(float(env.get(names.SANDBOX_MEMORY_GB, base.memory_bytes / GIB)) * GIB),
                   processes=int(env.get(names.SANDBOX_PROCESSES, base.processes)),
                   file_bytes=int(float(env.get(names.SANDBOX_FILE_GB, base.file_bytes / GIB)) * GIB),
                   wall_s=float(env.get(names.SANDBOX_WALL_S, base.wall_s)))


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
