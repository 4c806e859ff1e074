"""Matplotlib's font list, built once per grader process and copied into every kernel's
scratch folder.

A sandboxed kernel starts with an empty ``MPLCONFIGDIR`` (``<scratch>/.tmp/matplotlib``,
:func:`instructor.sandbox.command.kernel_env`), so without this every graded notebook made
matplotlib scan the system's fonts again and write ``fontlist-v*.json`` before its first plot
(about 0.7 s a notebook on the 2-core CI machine; ``python -m bench.grading --font-cache``
measures it). The list is built by the kernel's own Python, in a clean home and with the
kernel's ``PATH``, so it names the fonts that the sandbox shows (the sandbox mounts ``/usr``,
``/etc/fonts`` and the Python installation at the same paths), and
``tests/test_sandbox.py`` checks it against the list a sandboxed kernel builds itself.

The copy is the kernel's own: what a student's code writes there is thrown away with the
scratch folder, and a ``.tmp/matplotlib`` shipped inside a submission is overwritten.
"""
from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

_LOCK = threading.Lock()
_BUILT: dict[str, Path | None] = {}   # kernel's Python -> folder holding its fontlist-*.json


def font_list(python: str, timeout: float = 120.0) -> Path | None:
    """The folder holding matplotlib's ``fontlist-v*.json`` as ``python`` builds it (built on
    the first call for that interpreter, then reused until this process ends), or None when
    ``python`` cannot build it (no matplotlib, a failure): then each kernel builds its own, as
    before. Never raises for a failed build."""
    with _LOCK:
        if python in _BUILT:
            return _BUILT[python]
        folder = Path(tempfile.mkdtemp(prefix="vae-fontlist-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        home = folder / "home"
        home.mkdir()
        env = {"HOME": str(home), "MPLCONFIGDIR": str(folder / "matplotlib"),
               "TMPDIR": str(folder), "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
               "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"}
        for key in ("LANG", "LC_ALL"):
            if key in os.environ:
                env[key] = os.environ[key]
        try:
            subprocess.run([python, "-c", "import matplotlib.font_manager"], env=env,
                           capture_output=True, timeout=timeout, check=True)
            built = folder / "matplotlib" if any((folder / "matplotlib").glob("fontlist-*.json")) else None
        except (OSError, subprocess.SubprocessError):
            built = None
        _BUILT[python] = built
        return built


def seed(scratch: Path, python: str) -> bool:
    """Copy the font list of :func:`font_list` into ``<scratch>/.tmp/matplotlib`` (the
    kernel's ``MPLCONFIGDIR``), replacing whatever the folder held. Returns whether a list was
    copied (False: the kernel builds its own)."""
    source = font_list(python)
    if source is None:
        return False
    target = scratch
    for name in (".tmp", "matplotlib"):
        target = target / name
        # A submission's folder may hold anything, links included: the grader writes only
        # into real folders it made inside the scratch copy.
        if target.is_symlink() or (target.exists() and not target.is_dir()):
            target.unlink()
        elif name == "matplotlib" and target.exists():
            shutil.rmtree(target)
        target.mkdir(exist_ok=True)
    for path in source.glob("fontlist-*.json"):
        shutil.copyfile(path, target / path.name)
    return True
