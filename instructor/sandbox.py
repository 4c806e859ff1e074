"""Sandboxed grading kernels: every submission's kernel runs inside bubblewrap.

nbgrader runs student code with the grader's rights. Here each kernel that nbgrader starts
(``Execute.kernel_manager_class``, set by :meth:`instructor.course.Course.autograde`) is
wrapped in ``bwrap``:

- its file system holds only read-only system and library paths (``/usr``, the Python
  installation, the virtual environment, the course's ``helpers/``, the grader's oracles in
  ``grading/`` (the hidden tests import them) and the datasets) and a
  private, writable *scratch copy* of its own working folder. ``source/``, ``release/``,
  other submissions, the gradebook and ``nbgrader_config.py`` do not exist inside it, and
  what the kernel writes is thrown away with the scratch copy;
- it has no network (a network namespace with only a loopback device) and talks to the
  grader over Unix sockets in a private folder (ZeroMQ's ``ipc`` transport);
- it runs with a clean environment (no database URL, no tokens), without capabilities, in
  its own PID namespace, and, when the grader is root, as an unprivileged user;
- it has limits: memory (``RLIMIT_DATA``), processes and threads (``RLIMIT_NPROC``), file
  size, and wall time (the grader kills it when its time is up);
- on a GPU host it keeps the NVIDIA devices.

What happened to each kernel (wall time, exit status, limit hits) is written beside the
autograded notebook as ``.sandbox.json``; :mod:`instructor.incidents` turns it into the
grading report's lines.

``SANDBOX=off`` runs kernels without isolation, with a warning on every run. When the
sandbox cannot be set up, grading stops with a message saying what to install.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

REPO = Path(__file__).resolve().parent.parent
HELPERS = REPO / "helpers"
GRADING = REPO / "grading"  # the grader-only package of oracles, for the hidden tests
RECORD = ".sandbox.json"
MANAGER = "instructor.sandbox.SandboxKernelManager"
GIB = 1024 ** 3

# Variables a grading kernel may see; everything else (database URLs, tokens, HOME) is dropped.
PASSED_ENV = ("LANG", "LC_ALL", "TZ", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
              "OPENBLAS_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES",
              "NBGRADER_EXECUTION", "NBGRADER_VALIDATING", "PYTHONHASHSEED")
PASSED_PREFIXES = ("VAE_",)
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
                "/etc/fonts", "/etc/alternatives", "/etc/nsswitch.conf", "/etc/mime.types")
UNPRIVILEGED_UID = 65534  # "nobody": the kernel's user when the grader is root


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot run here; the message says what to install or how to opt out."""


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 6 * GIB     # RLIMIT_DATA: heap and anonymous memory of each process
    processes: int = 512            # RLIMIT_NPROC: processes and threads of the kernel's user
    file_bytes: int = 1 * GIB       # RLIMIT_FSIZE: largest file the kernel may write
    wall_s: float = 900.0           # the whole kernel, all cells

    @classmethod
    def from_env(cls, env=os.environ) -> "Limits":
        base = cls()
        return cls(memory_bytes=int(float(env.get("SANDBOX_MEMORY_GB", base.memory_bytes / GIB)) * GIB),
                   processes=int(env.get("SANDBOX_PROCESSES", base.processes)),
                   file_bytes=int(float(env.get("SANDBOX_FILE_GB", base.file_bytes / GIB)) * GIB),
                   wall_s=float(env.get("SANDBOX_WALL_S", base.wall_s)))


# ------------------------------------------------------------------ switch and checks
def enabled(env=os.environ) -> bool:
    """False only when the instructor opted out with ``SANDBOX=off``."""
    value = env.get("SANDBOX", "on").strip().lower()
    if value not in {"on", "off", "1", "0", "yes", "no", "true", "false", ""}:
        raise SandboxUnavailable(f"SANDBOX={value!r} is not understood: use SANDBOX=on (the default) "
                                 "or SANDBOX=off")
    return value not in {"off", "0", "no", "false"}


WARNING = ("WARNING: SANDBOX=off: student code runs WITHOUT isolation, with your rights: it can "
           "read source/ and the hidden tests, other submissions and the gradebook, write "
           "anywhere you can, and use the network. Grade only trusted notebooks this way.")

_CHECKED: str | None = None


def _helpers_system():
    """helpers/system.py on its own: importing the helpers package would import torch
    (seconds) into every nbgrader process."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("_vae_helpers_system", HELPERS / "system.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check() -> str:
    """Path of a working ``bwrap``; installs Debian's ``bubblewrap`` when possible, else raises
    :class:`SandboxUnavailable` saying what to do."""
    global _CHECKED
    if _CHECKED:
        return _CHECKED
    system = _helpers_system()
    MissingProgram, ensure_program = system.MissingProgram, system.ensure_program
    try:
        bwrap = ensure_program("bwrap", "bubblewrap", "the grading sandbox")
    except MissingProgram as err:
        raise SandboxUnavailable(f"{err}. Or, to grade without isolation (trusted notebooks "
                                 "only), set SANDBOX=off.") from None
    probe = subprocess.run([bwrap, "--ro-bind", "/", "/", "--unshare-all",
                                            "--die-with-parent", "true"],
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        raise SandboxUnavailable(
            "bubblewrap is installed but cannot create a sandbox here "
            f"({probe.stderr.strip() or 'exit ' + str(probe.returncode)}). It needs unprivileged "
            "user namespaces: 'sysctl -w kernel.unprivileged_userns_clone=1' (Debian) or "
            "'sysctl -w user.max_user_namespaces=10000'; in a container, allow them (e.g. "
            "docker --security-opt seccomp=unconfined). Or set SANDBOX=off to grade without "
            "isolation (trusted notebooks only).")
    _CHECKED = bwrap
    return bwrap


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


# ------------------------------------------------------------------ the command
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
    roots = [env.get("VAE_DATA", str(REPO / "data"))]
    roots += [p for p in env.get("VAE_DATA_FALLBACK", "").split(os.pathsep) if p]
    return [os.path.abspath(r) for r in roots if os.path.isdir(r)]


def gpu_devices() -> list[str]:
    return sorted(str(p) for p in Path("/dev").glob("nvidia*")) + (
        ["/dev/dri"] if Path("/dev/dri").exists() and any(Path("/dev").glob("nvidia*")) else [])


def kernel_env(workdir: str, env=os.environ) -> dict[str, str]:
    out = {k: env[k] for k in PASSED_ENV if k in env}
    out.update({k: v for k, v in env.items() if k.startswith(PASSED_PREFIXES)})
    out.setdefault("VAE_DATA", str(REPO / "data"))
    out.update({"HOME": workdir, "TMPDIR": os.path.join(workdir, ".tmp"),
                "MPLCONFIGDIR": os.path.join(workdir, ".tmp", "matplotlib"),
                "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
                "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
                "VAE_SANDBOX": "1"})
    return out


# Run inside the sandbox: set the limits, then become the kernel.
_LIMITS_CODE = ("import os,resource,sys;"
                "[resource.setrlimit(getattr(resource,n),(int(v),int(v))) for n,v in "
                "zip(('RLIMIT_DATA','RLIMIT_NPROC','RLIMIT_FSIZE','RLIMIT_CORE'),sys.argv[1:5])];"
                "os.makedirs(os.environ['TMPDIR'],exist_ok=True);"
                "os.execv(sys.argv[5],sys.argv[5:])")


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


@dataclass
class Record:
    """What happened to one sandboxed kernel, saved beside the autograded notebook."""
    sandbox: bool
    wall_s: float = 0.0
    exit_code: int | None = None      # the kernel died on its own (negative: by that signal);
                                      # None: it ran until the grader stopped it
    killed_for_time: bool = False
    limits: dict | None = None
    kernel_log: str = ""              # the end of the kernel process's own output




# ------------------------------------------------------------------ the kernel manager
class SandboxKernelManager(AsyncKernelManager):
    """nbclient's kernel manager, with the kernel command wrapped in bubblewrap."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._on = enabled()
        if self._on:
            check()
            self.transport = "ipc"
            self._tmp = Path(tempfile.mkdtemp(prefix="vae-sandbox-"))
            os.chmod(self._tmp, 0o711)
            self._rundir = self._tmp / "run"
            self._scratch = self._tmp / "work"
            self._rundir.mkdir(mode=0o700)
            self._cgroup: Path | None = None
            self.connection_file = str(self._rundir / "kernel.json")
            self.ip = str(self._rundir / "kernel-ipc")
        self._limits = Limits.from_env()
        self._workdir: str | None = None
        self._started = 0.0
        self._timer: threading.Timer | None = None
        self._killed_for_time = False
        self._recorded = False

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        self._workdir = os.path.abspath(self._launch_args.get("cwd") or os.getcwd())
        if not self._on:
            return cmd
        if self._scratch.exists():
            shutil.rmtree(self._scratch)
        shutil.copytree(self._workdir, self._scratch, symlinks=True)
        self._cgroup = self._make_cgroup()
        return wrap(cmd, self._workdir, str(self._scratch), str(self._rundir), self._limits,
                    self._cgroup)

    def _make_cgroup(self) -> Path | None:
        parent = _pids_cgroup_parent()
        if parent is None:
            return None
        _sweep_cgroups(parent)
        group = parent / f"vae-sandbox-{os.getpid()}-{id(self):x}"
        try:
            group.mkdir(exist_ok=True)
            (group / "pids.max").write_text(str(self._limits.processes))
        except OSError:
            return None
        return group

    def _remove_cgroup(self) -> None:
        group = getattr(self, "_cgroup", None)
        if group is None:
            return
        for _ in range(10):  # an empty group left behind is swept at the next kernel start
            try:
                for pid in (group / "cgroup.procs").read_text().split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                group.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.02)
        self._cgroup = None

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        self._started = time.monotonic()
        if self._on:
            # The kernel's own stdout/stderr (start-up notes, C-level crash messages) go to a
            # log kept for the record, not into the grader's output.
            self._log = open(self._tmp / "kernel.log", "wb")
            kw["stdout"] = kw["stderr"] = self._log
        await super()._async_launch_kernel(kernel_cmd, **kw)
        self._timer = threading.Timer(self._limits.wall_s, self._time_up)
        self._timer.daemon = True
        self._timer.start()

    _launch_kernel = _async_launch_kernel

    def _kernel_pid(self) -> int | None:
        """Host pid of the kernel inside bwrap: the first descendant of the launched
        process that runs ipykernel."""
        process = getattr(self.provisioner, "process", None)
        if process is None:
            return None
        queue = [process.pid]
        while queue:
            pid = queue.pop(0)
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                if len(argv) > 2 and argv[1] == b"-m" and b"ipykernel" in argv[2]:
                    return pid
                queue += [int(c) for c in
                          Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
            except (OSError, ValueError):
                continue
        return None

    async def interrupt_kernel(self) -> None:
        """SIGINT to the kernel alone: bwrap itself would die of it."""
        if not self._on:
            return await AsyncKernelManager.interrupt_kernel(self)
        pid = self._kernel_pid()
        if pid is not None:
            try:
                os.kill(pid, signal.SIGINT)
            except ProcessLookupError:
                pass

    def _time_up(self) -> None:
        self._killed_for_time = True
        self._kill()

    def _kill(self) -> None:
        process = getattr(self.provisioner, "process", None)
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                process.kill()

    def _log_tail(self, size: int = 2000) -> str:
        log = getattr(self, "_log", None)
        if log is None:
            return ""
        log.flush()
        try:
            with open(log.name, "rb") as f:
                f.seek(max(0, os.path.getsize(log.name) - size))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _record(self, process=None) -> None:
        if self._recorded or self._workdir is None:
            return
        self._recorded = True
        if self._timer:
            self._timer.cancel()
        code = process.poll() if process is not None else None
        record = Record(sandbox=self._on, wall_s=round(time.monotonic() - self._started, 2),
                        exit_code=code, killed_for_time=self._killed_for_time,
                        limits=asdict(self._limits),
                        kernel_log=self._log_tail() if code not in (0, None) else "")
        try:
            Path(self._workdir, RECORD).write_text(json.dumps(asdict(record)))
        except OSError:
            pass

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        process = getattr(self.provisioner, "process", None)
        if process is not None and process.poll() is not None:
            self._record(process)  # it died before the grader stopped it: keep its exit status
        await AsyncKernelManager.shutdown_kernel(self, now=now, restart=restart)
        self._record(None)
        if process is not None:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if self._on and not restart:
            self._remove_cgroup()
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __del__(self):
        self._remove_cgroup()
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------ nbgrader's Execute, guarded
def _error(ename: str, evalue: str):
    from nbformat import NotebookNode
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


def describe_death(record: dict | None) -> str:
    """One sentence saying why a kernel stopped early, from its :class:`Record`."""
    if not record:
        return "the kernel died"
    if record.get("killed_for_time"):
        return f"the kernel was stopped at the wall-time limit ({record['limits']['wall_s']:.0f} s)"
    code = record.get("exit_code")
    if code is None:
        return "the kernel died"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        what = {"SIGSEGV": "crashed (segmentation fault)", "SIGKILL": "was killed (SIGKILL)",
                "SIGABRT": "aborted", "SIGBUS": "crashed (bus error)",
                "SIGXFSZ": "was killed for writing a file over the size limit"}.get(name, f"was killed by {name}")
        return f"the kernel {what}"
    if code >= 128:  # bwrap reports a child killed by a signal as 128 + signal
        return describe_death({**record, "exit_code": -(code - 128)})
    return f"the kernel exited with status {code} (sys.exit/os._exit in the notebook?)"


try:
    from nbgrader.preprocessors import Execute as _Execute
except ImportError:  # pragma: no cover - nbgrader is in requirements.txt
    _Execute = object


class GuardedExecute(_Execute):
    """nbgrader's ``Execute`` with each kernel in the sandbox (unless ``SANDBOX=off``), and a
    kernel that dies (crash, ``os._exit``, time limit) costing the cells it did not run
    rather than the whole submission: those cells get an error output saying why, so
    their tests score 0, and grading goes on with the next submission."""

    def __init__(self, *args, **kwargs):
        if enabled():
            check()
            kwargs["kernel_manager_class"] = SandboxKernelManager
        super().__init__(*args, **kwargs)
        if not enabled():
            self.log.warning(WARNING)

    def preprocess(self, nb, resources=None, km=None):
        self._death = None
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        from nbclient.exceptions import DeadKernelError
        if cell.cell_type != "code":
            return cell, resources
        if self._death:
            cell.outputs = [_error("NotRun", f"not run because {self._death} in an earlier cell")]
            return cell, self.resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except Exception as err:  # the kernel died or stopped answering: its state is lost
            if not isinstance(err, DeadKernelError):
                try:
                    self.km._kill() if isinstance(self.km, SandboxKernelManager) else None
                except Exception:
                    pass
            record = None
            if isinstance(self.km, SandboxKernelManager):
                process = getattr(self.km.provisioner, "process", None)
                self.km._record(process)
                try:
                    record = json.loads(Path(self.km._workdir, RECORD).read_text())
                except (OSError, TypeError, ValueError):
                    record = None
            self._death = describe_death(record) if isinstance(err, DeadKernelError) else (
                f"the kernel stopped answering ({type(err).__name__}) and was killed")
            cell.outputs.append(_error("KernelDied", self._death))
            return cell, self.resources


def announce(log=print) -> None:
    """Say how kernels will run, before grading: refuse with :class:`SandboxUnavailable`
    when the sandbox cannot run, warn when it is switched off."""
    import sys as _sys
    if not enabled():
        print(WARNING, file=_sys.stderr, flush=True)
        return
    check()
    limits = Limits.from_env()
    log(f"sandbox: every kernel in bubblewrap (no network, no course files; memory "
        f"{limits.memory_bytes / GIB:.0f} GiB, {limits.processes} processes, "
        f"{limits.wall_s:.0f} s per notebook)", flush=True)
