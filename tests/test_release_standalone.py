"""A student who downloads only ``release/<assignment>/`` and ``requirements.txt`` can run it.

The release folder is copied outside the repository and probed by a Python started with
``-S``: without ``site``, the venv's editable install of the course (which puts this
repository's packages on the path) is not read, so ``helpers`` can only come from the copied
folder. The installed
packages are put back on the path by hand, as ``pip install -r requirements.txt`` would
provide them.
"""
from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from instructor import notebooks
from instructor.course import REPO, assignment_names

# Run with the copied release folders; for each, with it as the working directory and the
# repository off the path: import every helpers module and run the notebook's imports cell.
PROBE = r"""
import importlib, importlib.util, json, os, pkgutil, sys
stdlib = [p for p in sys.path if p]
found = {}
for folder, cell in json.loads(os.environ["PROBE_FOLDERS"]):
    os.chdir(folder)
    sys.path[:] = [folder] + stdlib + json.loads(os.environ["PROBE_SITE"])
    for name in [m for m in sys.modules if m == "helpers" or m.startswith("helpers.")]:
        del sys.modules[name]
    assert importlib.util.find_spec("instructor") is None, "the repository is still on the path"
    import helpers
    modules = {"helpers": helpers.__file__}
    for info in pkgutil.iter_modules(helpers.__path__):
        modules[info.name] = importlib.import_module(f"helpers.{info.name}").__file__
    exec(compile(cell, f"{folder}: imports cell", "exec"), {})
    found[folder] = modules
print(json.dumps(found))
"""


def requirement_names() -> set[str]:
    names = set()
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            names.add(_normal(re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0]))
    return names | {"d2l"}  # installed with --no-deps, as the README says


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _code(source: str) -> str:
    """A code cell's Python without IPython magics."""
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))


def _imported(code: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_release_folders_run_without_the_repository(tmp_path):
    folders = []
    for assignment in assignment_names():
        copy = tmp_path / assignment
        shutil.copytree(REPO / "release" / assignment, copy)
        nb = notebooks.read(copy / f"{assignment}.ipynb")
        cell = next(c for c in nb.cells if c.cell_type == "code" and "import helpers" in c.source)
        folders.append((str(copy), _code(cell.source)))
    site = list(dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib")))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MPLBACKEND": "Agg",
           "PROBE_SITE": json.dumps(site), "PROBE_FOLDERS": json.dumps(folders)}
    result = subprocess.run([sys.executable, "-S", "-c", PROBE], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, (
        f"a release folder alone cannot run its notebook's imports cell:\n{result.stderr[-2000:]}")
    found = json.loads(result.stdout.strip().splitlines()[-1])
    for folder, modules in found.items():
        assert len(modules) > 5, f"{folder}: only {sorted(modules)} were found in helpers/"
        outside = {name: path for name, path in modules.items() if not path.startswith(folder + "/")}
        assert not outside, f"{folder}: modules imported from outside the release folder: {outside}"


@pytest.mark.parametrize("assignment", assignment_names())
def test_requirements_cover_what_a_release_imports(assignment):
    """Every third-party module imported by the notebook or its helpers is in requirements.txt."""
    folder = REPO / "release" / assignment
    nb = notebooks.read(folder / f"{assignment}.ipynb")
    code = [_code(c.source) for c in nb.cells if c.cell_type == "code"]
    code += [p.read_text() for p in (folder / "helpers").glob("*.py")]
    imported = set().union(*map(_imported, code)) - set(sys.stdlib_module_names) - {"helpers", "__future__"}
    dists = importlib.metadata.packages_distributions()
    required = requirement_names()
    missing = {}
    for module in sorted(imported):
        names = {_normal(d) for d in dists.get(module, [])}
        if not names & required:
            missing[module] = sorted(names) or ["not installed"]
    assert not missing, f"release/{assignment} imports modules that requirements.txt does not give: {missing}"


# A kernel for the copied release folders that cannot see this repository: Python without
# `site` (so the editable install does not put the repository on the path), the installed packages put back
# by hand, and a refusal to start if the grader-only package `grading` is importable.
KERNEL = r"""
import importlib.util, json, os, sys
sys.path[:] = [""] + [p for p in sys.path if p] + json.loads(os.environ["PROBE_SITE"])
if importlib.util.find_spec("grading") is not None or importlib.util.find_spec("instructor") is not None:
    raise SystemExit("the repository is on the kernel's path")
from ipykernel import kernelapp
kernelapp.launch_new_instance()
"""


@pytest.mark.parametrize("assignment", assignment_names())
def test_a_student_with_one_release_folder_passes_the_visible_tests_and_validate(assignment, tmp_path):
    """The release folder alone, completed with the reference answers: every visible test
    passes and `nbgrader validate` says Success, with no grader-only code anywhere near."""
    from instructor.notebooks import reference_submission
    folder = tmp_path / assignment
    shutil.copytree(REPO / "release" / assignment, folder)
    source = notebooks.read(REPO / "source" / assignment / f"{assignment}.ipynb")
    release = notebooks.read(folder / f"{assignment}.ipynb")
    import nbformat
    nbformat.write(reference_submission(source, release), str(folder / f"{assignment}.ipynb"))
    kernels = tmp_path / "jupyter" / "kernels" / "python3"
    kernels.mkdir(parents=True)
    (tmp_path / "kernel.py").write_text(KERNEL)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-S", str(tmp_path / "kernel.py"), "-f", "{connection_file}"],
        "display_name": "Python 3 (release folder only)", "language": "python"}))
    site = list(dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib")))
    env = {**{k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "VAE_DATA_FALLBACK", "VAE_DATA")},
           "HOME": str(tmp_path), "MPLBACKEND": "Agg", "JUPYTER_PATH": str(tmp_path / "jupyter"),
           "PROBE_SITE": json.dumps(site), "PYTHONPATH": ""}
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    result = subprocess.run([nbgrader, "validate", f"{assignment}.ipynb"], cwd=folder, env=env,
                            capture_output=True, text=True, timeout=600)
    log = result.stdout + result.stderr
    assert "Success! Your notebook passes all the tests." in log, log[-3000:]
