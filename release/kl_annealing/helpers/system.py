"""System programs the course needs from Debian (Chromium for the PDF print, bubblewrap
for the grading sandbox, pdftoppm for the PDF test), found on ``PATH`` or installed.

``ensure_program("chromium", "chromium")`` returns the program's path. When it is missing
and this process may install Debian packages (root, ``apt-get`` present), it runs
``apt-get update`` once and ``apt-get install -y <package>``. Otherwise it raises
:class:`MissingProgram` with the exact command to run by hand.
"""
from __future__ import annotations

import os
import shutil
import subprocess

_UPDATED = False


class MissingProgram(RuntimeError):
    """A program the course needs is not installed and could not be installed."""


def _can_install() -> bool:
    return shutil.which("apt-get") is not None and hasattr(os, "geteuid") and os.geteuid() == 0


def ensure_program(program: str, package: str, purpose: str = "", install: bool = True) -> str:
    """Path of ``program``; installs Debian's ``package`` when missing and allowed to."""
    found = shutil.which(program)
    if found:
        return found
    why = f" ({purpose})" if purpose else ""
    hint = f"install it with:  sudo apt-get install {package}"
    if not install or not _can_install():
        raise MissingProgram(f"'{program}' is needed{why} but is not installed; {hint}")
    global _UPDATED
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        if not _UPDATED:
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env,
                           capture_output=True, text=True, timeout=600)
            _UPDATED = True
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", package],
                       check=True, env=env, capture_output=True, text=True, timeout=1200)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
        tail = (getattr(err, "stderr", "") or "").strip().splitlines()[-3:]
        raise MissingProgram(f"'{program}' is needed{why}; installing Debian's '{package}' "
                             f"failed: {' | '.join(tail) or err}. {hint}") from err
    found = shutil.which(program)
    if not found:
        raise MissingProgram(f"Debian's '{package}' installed but '{program}' is still not on "
                             f"PATH{why}")
    return found
