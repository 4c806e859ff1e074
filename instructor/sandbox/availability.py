"""Whether kernels run sandboxed (``SANDBOX``), whether bubblewrap can run here, and what
grading says about it before it starts."""
from __future__ import annotations

import os
import subprocess
import sys

from instructor import names

from .limits import GIB, Limits


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
    :class:`SandboxUnavailable` saying what to do."""
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
    _CHECKED = bwrap
    return bwrap


def announce(log=print) -> None:
    """Say how kernels will run, before grading: refuse with :class:`SandboxUnavailable`
    when the sandbox cannot run, warn when it is switched off."""
    if not enabled():
        print(WARNING, file=sys.stderr, flush=True)
        return
    check()
    limits = Limits.from_env()
    log(f"sandbox: every kernel in bubblewrap (no network, no course files; memory "
        f"{limits.memory_bytes / GIB:.0f} GiB, {limits.processes} processes, "
        f"{limits.wall_s:.0f} s per notebook)", flush=True)
