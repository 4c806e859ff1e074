"""The kernel manager that launches every grading kernel through the sandbox's ``bwrap``
command, enforces its wall time, and records what happened to it (``.sandbox.json``)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

from .availability import check, enabled
from .command import wrap
from .limits import Limits, _pids_cgroup_parent, _sweep_cgroups

RECORD = ".sandbox.json"
MANAGER = "instructor.sandbox.SandboxKernelManager"


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
