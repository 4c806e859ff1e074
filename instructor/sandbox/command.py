"""The ``bwrap`` command that runs a kernel: what it mounts, the environment it passes, and
the limits it sets before it becomes the kernel."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from instructor import names

from .availability import check
from .limits import _LIMITS_CODE, UNPRIVILEGED_UID, Limits

REPO = Path(__file__).resolve().parents[2]
HELPERS = REPO / "helpers"
GRADING = REPO / "grading"  # the grader-only package of oracles, for the hidden tests

# Variables a grading kernel may see; everything else (database URLs, tokens, HOME) is dropped.
# OMP_WAIT_POLICY=PASSIVE: OpenMP threads that wait sleep instead of spinning, which a machine
# running more busy threads than it has cores needs (the test suite sets it).
PASSED_ENV = ("LANG", "LC_ALL", "TZ", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY",
              "OPENBLAS_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES",
              names.NBGRADER_EXECUTION, names.NBGRADER_VALIDATING, "PYTHONHASHSEED")
PASSED_PREFIXES = ("VAE_",)
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
                "/etc/fonts", "/etc/alternatives", "/etc/nsswitch.conf", "/etc/mime.types")


def readonly_paths() -> list[str]:
    """Host paths the kernel may read: system, Python, the venv, helpers/, grading/ (read-only,
    for the hidden tests), the datasets."""
    paths = [p for p in SYSTEM_DIRS + SYSTEM_FILES if os.path.lexists(p)]
    for p in {sys.base_prefix, sys.prefix, os.path.realpath(sys.base_prefix),
              os.path.realpath(sys.prefix), str(HELPERS), str(GRADING)}:
        paths.append(p)
    for root in data_paths():
        paths.append(root)
    # Paths under one another: keep only the outermost, so that mounts do not shadow.
    out: list[str] = []
    for p in sorted(set(map(os.path.abspath, paths)), key=len):
        if not any(p == q or p.startswith(q.rstrip("/") + "/") for q in out):
            out.append(p)
    return out


def data_paths(env=os.environ) -> list[str]:
    roots = [env.get(names.DATA, str(REPO / "data"))]
    roots += [p for p in env.get(names.DATA_FALLBACK, "").split(os.pathsep) if p]
    return [os.path.abspath(r) for r in roots if os.path.isdir(r)]


def gpu_devices() -> list[str]:
    return sorted(str(p) for p in Path("/dev").glob("nvidia*")) + (
        ["/dev/dri"] if Path("/dev/dri").exists() and any(Path("/dev").glob("nvidia*")) else [])


def kernel_env(workdir: str, env=os.environ) -> dict[str, str]:
    out = {k: env[k] for k in PASSED_ENV if k in env}
    out.update({k: v for k, v in env.items() if k.startswith(PASSED_PREFIXES)})
    out.setdefault(names.DATA, str(REPO / "data"))
    out.update({"HOME": workdir, "TMPDIR": os.path.join(workdir, ".tmp"),
                "MPLCONFIGDIR": os.path.join(workdir, ".tmp", "matplotlib"),
                "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
                "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
                names.IN_SANDBOX: "1"})
    return out


def wrap(cmd: list[str], workdir: str, scratch: str, rundir: str, limits: Limits,
         cgroup: Path | None = None, env=os.environ) -> list[str]:
    """The command that runs kernel command ``cmd`` in bwrap, with ``scratch`` mounted at
    ``workdir``, the connection files in ``rundir``, and (when given) inside the
    ``pids``-limited ``cgroup``."""
    bwrap = check()
    args = [bwrap, "--unshare-all", "--unshare-user", "--die-with-parent",
            "--uid", str(UNPRIVILEGED_UID), "--gid", str(UNPRIVILEGED_UID),
            "--cap-drop", "ALL", "--proc", "/proc", "--dev", "/dev", "--clearenv"]
    for path in readonly_paths():
        args += ["--ro-bind", path, path]
    gpus = gpu_devices()
    for dev in gpus:
        args += ["--dev-bind", dev, dev]
    if gpus and os.path.isdir("/sys"):
        args += ["--ro-bind", "/sys", "/sys"]
    args += ["--bind", scratch, workdir, "--bind", rundir, rundir, "--chdir", workdir,
             "--remount-ro", "/", "--remount-ro", "/dev"]  # what bwrap made: read-only
    for key, value in kernel_env(workdir, env).items():
        args += ["--setenv", key, value]
    python = cmd[0]
    args += ["--", python, "-c", _LIMITS_CODE, str(limits.memory_bytes), str(limits.processes),
             str(limits.file_bytes), "0"] + cmd
    if cgroup is not None:
        # Join the cgroup before bwrap starts, so that every process of the kernel is in it.
        args = ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(cgroup / "cgroup.procs")] + args
    return args
