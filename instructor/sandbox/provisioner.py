"""The kernel provisioner that launches every grading kernel through the sandbox's ``bwrap``
command, enforces its wall time, records what happened to it (``.sandbox.json``), and
removes what it made when the kernel is cleaned up.

It is jupyter_client's documented way to change how a kernel is launched: a subclass of
:class:`jupyter_client.provisioning.LocalProvisioner`, registered under the entry point
group ``jupyter_client.kernel_provisioners`` as ``names.SANDBOX_PROVISIONER`` (in
``pyproject.toml``; ``make venv`` installs it), and chosen by the ``kernel_provisioner``
stanza of the kernel spec (:class:`instructor.sandbox.kernel.SandboxKernelManager` adds it).

One provisioner serves one kernel manager, so one notebook: :meth:`pre_launch` makes the
private folder (connection files, the scratch copy of the notebook's folder, the kernel's
log) and the ``pids`` cgroup, :meth:`launch_kernel` starts the kernel and its wall-time
timer, and :meth:`cleanup` (called by the kernel manager when the kernel is shut down or its
resources are cleaned up) writes the record and removes the folder and the cgroup.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jupyter_client.provisioning import LocalProvisioner
from traitlets import Bool

from . import fontcache
from .availability import check
from .command import wrap
from .limits import Limits, SandboxLimits, _pids_cgroup_parent, _sweep_cgroups

RECORD = ".sandbox.json"


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


class SandboxProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner with the kernel command wrapped in bubblewrap, the
    limits of :class:`~instructor.sandbox.limits.SandboxLimits` (this provisioner's config,
    which is its kernel manager's, which is nbgrader's), a wall-time timer, interrupts sent to
    the kernel alone, and a record of how the kernel ended."""

    font_cache = Bool(True, help=(
        "Copy matplotlib's font list, built once per grader process by the kernel's Python, "
        "into each kernel's scratch folder (instructor.sandbox.fontcache), so that no kernel "
        "scans the system's fonts again. False: every kernel builds its own.")).tag(config=True)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.limits: Limits = SandboxLimits(parent=self).limits()
        self._tmp: Path | None = None
        self._cgroup: Path | None = None
        self._workdir: str | None = None
        self._log = None
        self._timer: threading.Timer | None = None
        self._started = 0.0
        self._killed_for_time = False
        self._stopping = False        # the grader has begun to stop the kernel
        self._record: dict | None = None

    # ------------------------------------------------------------------ launch
    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        """Make the private folder, point the kernel manager's connection at Unix sockets in
        it (ZeroMQ's ``ipc`` transport: the kernel has no network), let
        :class:`LocalProvisioner` write the connection file and build the kernel command,
        then copy the notebook's folder to the scratch copy and wrap the command in bwrap."""
        check()
        km = self.parent
        try:
            if self._tmp is None:
                self._tmp = Path(tempfile.mkdtemp(prefix="vae-sandbox-"))
                os.chmod(self._tmp, 0o711)
                (self._tmp / "run").mkdir(mode=0o700)
            rundir, scratch = self._tmp / "run", self._tmp / "work"
            km.transport = "ipc"
            km.cache_ports = False  # ports are socket file names here, not TCP ports to reserve
            km.connection_file = str(rundir / "kernel.json")
            km.ip = str(rundir / "kernel-ipc")
            kwargs = await super().pre_launch(**kwargs)
            self._workdir = os.path.abspath(kwargs.get("cwd") or os.getcwd())
            if scratch.exists():
                shutil.rmtree(scratch)
            shutil.copytree(self._workdir, scratch, symlinks=True)
            if self.font_cache:
                fontcache.seed(scratch, kwargs["cmd"][0])
            self._remove_cgroup()
            self._cgroup = self._make_cgroup()
            kwargs["cmd"] = wrap(kwargs["cmd"], self._workdir, str(scratch), str(rundir), self.limits,
                                 self._cgroup, env=kwargs.get("env", os.environ))
        except BaseException:
            self._release()
            raise
        return kwargs

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        """Start the kernel with its own output going to a log kept for the record, then its
        wall-time timer."""
        self._started = time.monotonic()
        self._killed_for_time = self._stopping = False
        self._record = None
        try:
            # The kernel's own stdout/stderr (start-up notes, C-level crash messages) go to a
            # log kept for the record, not into the grader's output.
            self._log = open(self._tmp / "kernel.log", "wb")
            kwargs["stdout"] = kwargs["stderr"] = self._log
            info = await super().launch_kernel(cmd, **kwargs)
        except BaseException:
            self._release()
            raise
        self._timer = threading.Timer(self.limits.wall_s, self._time_up)
        self._timer.daemon = True
        self._timer.start()
        return info

    def _make_cgroup(self) -> Path | None:
        parent = _pids_cgroup_parent()
        if parent is None:
            return None
        _sweep_cgroups(parent)
        group = parent / f"vae-sandbox-{os.getpid()}-{id(self):x}"
        try:
            group.mkdir(exist_ok=True)
            (group / "pids.max").write_text(str(self.limits.processes))
        except OSError:
            return None
        return group

    # ------------------------------------------------------------------ signals and stopping
    def _kernel_pid(self) -> int | None:
        """Host pid of the kernel inside bwrap: the first descendant of the launched
        process that runs ipykernel."""
        process = self.process
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

    async def send_signal(self, signum: int) -> None:
        """SIGINT (an interrupt) to the kernel alone: bwrap itself would die of it; any other
        signal to the whole process group, as :class:`LocalProvisioner` does."""
        if getattr(self.parent, "shutting_down", False):
            self._note_stop()
        if signum != signal.SIGINT:
            return await super().send_signal(signum)
        pid = self._kernel_pid()
        if pid is not None:
            try:
                os.kill(pid, signal.SIGINT)
            except ProcessLookupError:
                pass

    async def shutdown_requested(self, restart: bool = False) -> None:
        self._note_stop()
        await super().shutdown_requested(restart=restart)

    async def terminate(self, restart: bool = False) -> None:
        self._note_stop()
        await super().terminate(restart=restart)

    async def kill(self, restart: bool = False) -> None:
        self._note_stop()
        await super().kill(restart=restart)

    def _note_stop(self) -> None:
        """The grader begins to stop the kernel: if it died on its own before, keep its exit
        status (killing it now would replace it)."""
        if self._stopping:
            return
        self._stopping = True
        process = self.process
        if process is not None and process.poll() is not None:
            self.record(from_process=True)

    def _time_up(self) -> None:
        self._killed_for_time = True
        self.kill_now()

    def kill_now(self) -> None:
        """SIGKILL to the kernel's process group, at once (from any thread): the wall-time
        timer, and a kernel that stopped answering."""
        process = self.process
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                process.kill()

    # ------------------------------------------------------------------ the record
    def _log_tail(self, size: int = 2000) -> str:
        log = self._log
        if log is None or log.closed:
            return ""
        log.flush()
        try:
            with open(log.name, "rb") as f:
                f.seek(max(0, os.path.getsize(log.name) - size))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def record(self, from_process: bool = False) -> dict | None:
        """Write the kernel's :class:`Record` beside the notebook (``.sandbox.json``) once, and
        return it. ``from_process``: the kernel stopped on its own, so its exit status (or
        None while it has not ended) is kept; otherwise the grader stopped it."""
        if self._record is not None or self._workdir is None:
            return self._record
        if self._timer:
            self._timer.cancel()
        process = self.process
        code = process.poll() if from_process and process is not None else None
        self._record = asdict(Record(sandbox=True, wall_s=round(time.monotonic() - self._started, 2),
                                     exit_code=code, killed_for_time=self._killed_for_time,
                                     limits=asdict(self.limits),
                                     kernel_log=self._log_tail() if code not in (0, None) else ""))
        try:
            Path(self._workdir, RECORD).write_text(json.dumps(self._record))
        except OSError:
            pass
        return self._record

    # ------------------------------------------------------------------ cleanup
    async def cleanup(self, restart: bool = False) -> None:
        """Called by the kernel manager once the kernel is stopped (or found dead): write the
        record if nothing did yet, then remove the cgroup (killing what is left in it), and,
        unless the kernel restarts, the private folder."""
        process = self.process
        died = not self._stopping and process is not None and process.poll() is not None
        self.record(from_process=died)
        await super().cleanup(restart=restart)
        self._release(keep_folder=restart)

    def _release(self, keep_folder: bool = False) -> None:
        if self._timer:
            self._timer.cancel()
            self._timer = None
        if self._log is not None:
            self._log.close()
            self._log = None
        self._remove_cgroup()
        if self._tmp is not None and not keep_folder:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def _remove_cgroup(self) -> None:
        group = self._cgroup
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
