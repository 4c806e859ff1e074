"""Whether kernels run sandboxed (``SANDBOX``), whether bubblewrap can run here, and what
grading says about it before it starts."""
from __future__ import annotations

import os
import subprocess
import sys

from instructor import names

from .limits import GIB, course_limits, legacy_variables


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot run here; the message says what to install or how to opt out."""


def enabled(env=os.environ) -> bool:
    """False only when the instructor opted out with ``SANDBOX=off``."""
    value = env.get(names.SANDBOX, "on").strip().lower()
    if value not in {"on", "off", "1", "0", "yes", "no", "true", "false", ""}:
        raise SandboxUnavailable(f"SANDBOX={value!r} is not understood: use SANDBOX=on (the default) "
                                 "or SANDBOX=off")
    return value not in {"off", "0", "no", "false"}


WARNING = ("WARNING: SANDBOX=off: student code runs WITHOUT isolation, with your rights: it can "
           "read source/ and the hidden tests, other submissions and the gradebook, write "
           "anywhere you can, and use the network. Grade only trusted notebooks this way.")

_CHECKED: str | None = None


def check() -> str:
    """Path of a working ``bwrap``; installs Debian's ``bubblewrap`` when possible, else raises
    :class:`SandboxUnavailable` saying what to do. Also raises it when the sandbox's kernel
    provisioner is not registered in this Python (the course is not installed into it)."""
    global _CHECKED
    if _CHECKED:
        return _CHECKED
    from helpers import system
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
    if not provisioner_registered():
        raise SandboxUnavailable(
            f"the sandbox's kernel provisioner ({names.SANDBOX_PROVISIONER!r}, entry point group "
            f"{PROVISIONERS}) is not registered in {sys.executable}: install the course into this "
            "Python (make venv, or pip install -e . in the repository) and run again")
    _CHECKED = bwrap
    return bwrap


PROVISIONERS = "jupyter_client.kernel_provisioners"


def provisioner_registered() -> bool:
    """Whether this Python's installed projects register the sandbox's provisioner
    (``pyproject.toml``), as jupyter_client's provisioner factory looks it up."""
    from importlib.metadata import entry_points
    return any(ep.name == names.SANDBOX_PROVISIONER for ep in entry_points(group=PROVISIONERS))


def announce(log=print, root=None) -> None:
    """Say how kernels will run, before grading the course at ``root`` (default: the current
    folder): refuse with :class:`SandboxUnavailable` when the sandbox cannot run or a limit
    is still set through the environment, warn when it is switched off."""
    if not enabled():
        print(WARNING, file=sys.stderr, flush=True)
        return
    check()
    legacy = legacy_variables()
    if legacy:
        raise SandboxUnavailable(legacy)
    limits = course_limits(root).limits()
    log(f"sandbox: every kernel in bubblewrap (no network, no course files; memory "
        f"{limits.memory_bytes / GIB:.0f} GiB, {limits.processes} processes, "
        f"{limits.wall_s:.0f} s per notebook)", flush=True)
