"""Pre-flight check: can a grading kernel import the course and read its data? Asked once,
before a class is graded, so that the grader's own faults are not charged to students.

:func:`preflight` starts one Python process the way :mod:`instructor.sandbox` starts every
grading kernel: the kernel spec's Python, wrapped in the same ``bwrap`` command
(:func:`instructor.sandbox.wrap`: the same read-only mounts, no network, the same clean
environment with ``VAE_DATA``/``VAE_DATA_FALLBACK`` and ``NBGRADER_EXECUTION=autograde``, the
same unprivileged user and limits), in a throw-away working folder. With ``SANDBOX=off`` it is
a plain subprocess with the grader's environment, as the kernels then are. Inside, it

- imports the course's packages (``numpy``, ``matplotlib``, ``torch``, ``torchvision``,
  ``d2l.torch``, ``helpers``, ``grading``) and every module the assignment's master notebook
  (``source/<assignment>/<assignment>.ipynb``) imports at the top level of a cell, hidden
  tests included;
- calls every data loader of :mod:`helpers.data` (``load_mnist``, ``load_fashion_mnist``)
  that the master notebook calls, for a few images, exactly as the notebook would: so the
  documented offline fallbacks count as readable (Fashion-MNIST with MNIST digits standing
  in, see :mod:`helpers.data`), and a dataset that no kernel could load does not.

If anything fails, :class:`PreflightFailed` carries one sentence saying what to fix, e.g.
"MNIST cannot be read inside the grading sandbox: torchvision cannot download it (no
network) and VAE_DATA_FALLBACK is not set; set VAE_DATA_FALLBACK=/path/to/MNIST-10k (see
README) and run again". :func:`instructor.autograde.autograde_class` runs it before it
writes anything to the gradebook.
"""
from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from instructor import names, sandbox, syntax

REPO = Path(__file__).resolve().parent.parent
# What every notebook of the course needs, whatever the master imports.
PACKAGES = ("numpy", "matplotlib", "torch", "torchvision", "d2l.torch", "helpers", "grading")
# The datasets behind helpers.data's loaders, for the messages.
DATASETS = {"load_mnist": "MNIST", "load_fashion_mnist": "Fashion-MNIST"}
IMAGES = 4  # images loaded from each split of each dataset
TIMEOUT_S = 300.0
MARK = "VAE-PREFLIGHT-RESULT "

# Runs in the grading kernel's place: imports, then loads, then one line of JSON.
_PROBE = r'''
import importlib, json, os, sys, time
from helpers.environment import DATA_FALLBACK
spec = json.loads(sys.argv[1])
out = {"ok": True, "data": []}

def finish(**kw):
    out.update(kw)
    sys.stdout.write("\n" + spec["mark"] + json.dumps(out) + "\n")
    sys.stdout.flush()
    os._exit(0)

def one_line(err):
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}"[:200]

for name in spec["modules"]:
    try:
        importlib.import_module(name)
    except BaseException as err:
        finish(ok=False, stage="import", module=name, error=one_line(err), type=type(err).__name__)

def status(root):
    raw = os.path.join(root, "MNIST", "raw")
    if not os.path.isdir(root):
        return "missing"
    if not os.path.isdir(raw):
        return "no MNIST/raw"
    try:
        names = os.listdir(raw)
    except OSError:
        return "unreadable"
    files = [os.path.join(raw, n) for n in names if "ubyte" in n]
    if not files:
        return "no MNIST/raw"
    return "readable" if all(os.access(f, os.R_OK) for f in files) else "unreadable"

import helpers
for loader in spec["loaders"]:
    try:
        ds = getattr(helpers, loader)(limit_train=spec["images"], limit_test=spec["images"])
        for x in (ds.train_x, ds.test_x):
            assert len(x) > 0 and tuple(x.shape[1:]) == (1, 28, 28), f"images of shape {tuple(x.shape)}"
            assert float(x.min()) >= 0 and float(x.max()) <= 1, "pixel values outside [0, 1]"
    except BaseException as err:
        roots = [p for p in os.environ.get(DATA_FALLBACK, "").split(os.pathsep) if p]
        finish(ok=False, stage="data", loader=loader, error=one_line(err), type=type(err).__name__,
               fallback=os.environ.get(DATA_FALLBACK, ""),
               roots={r: status(r) for r in roots})
    out["data"].append(ds.describe())
finish()
'''


class PreflightFailed(RuntimeError):
    """The grading kernels could not run the assignment; the message is one sentence saying
    what to fix."""


# ------------------------------------------------------------------ what the notebook needs
def _master(course_root: Path, assignment: str) -> Path:
    for folder in ("source", "release"):
        path = course_root / folder / assignment / f"{assignment}.ipynb"
        if path.exists():
            return path
    raise FileNotFoundError(f"No assignment {assignment!r}: {course_root / 'source' / assignment} "
                            f"does not exist.")


def _trees(notebook: Path):
    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                         for line in cell.source.splitlines())
        try:
            yield syntax.parse(code)
        except SyntaxError:
            continue


def loaders() -> set[str]:
    """The data loaders of :mod:`helpers.data`: its public functions named ``load_*``."""
    tree = syntax.parse((REPO / "helpers" / "data.py").read_text())
    return {node.name for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("load_")}


def needs(notebook: Path) -> tuple[list[str], list[str]]:
    """``(modules, loaders)`` of a master notebook: :data:`PACKAGES` and the modules its
    cells import at their top level, and the :mod:`helpers.data` loaders it calls."""
    known = loaders()
    modules, called = list(PACKAGES), set()
    for tree in _trees(notebook):
        for node in tree.body:
            if isinstance(node, ast.Import):
                modules += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.append(node.module)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else (
                    func.attr if isinstance(func, ast.Attribute) else None)
                if name in known:
                    called.add(name)
    return list(dict.fromkeys(modules)), sorted(called)


# ------------------------------------------------------------------ running the probe
def _kernel_python(notebook: Path) -> str:
    """The Python of the kernel nbgrader starts for ``notebook`` (its kernel spec's, with
    ``python`` meaning this interpreter, as jupyter_client has it)."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager
        name = nbformat.read(str(notebook), as_version=4).metadata.get("kernelspec", {}).get("name", "python3")
        argv = KernelSpecManager().get_kernel_spec(name).argv
    except Exception:
        return sys.executable
    if not argv or argv[0] in {"python", f"python{sys.version_info[0]}",
                               "python%i.%i" % sys.version_info[:2]}:
        return sys.executable
    return argv[0]


def _command(python: str, spec: dict, workdir: str, env,
             limits: sandbox.Limits | None = None) -> tuple[list[str], dict | None]:
    probe = [python, "-c", _PROBE, json.dumps(spec)]
    if not sandbox.enabled(env):
        return probe, {**env, names.NBGRADER_EXECUTION: "autograde"}
    rundir = os.path.join(workdir, "run")
    scratch = os.path.join(workdir, "work")
    os.makedirs(rundir)
    os.makedirs(scratch)
    os.chmod(workdir, 0o711)  # as SandboxKernelManager does
    kernel_env = {**env, names.NBGRADER_EXECUTION: "autograde"}
    # The folder a kernel works in: autograded/<student>/<assignment>, here a stand-in.
    return sandbox.wrap(probe, os.path.join(workdir, "kernel"), scratch, rundir,
                        limits or sandbox.Limits(), env=kernel_env), None


_PASSED: dict[tuple, str] = {}


def _key(modules, called, python, env, limits) -> tuple:
    on = sandbox.enabled(env)
    seen = {k: v for k, v in env.items()
            if k.startswith(sandbox.PASSED_PREFIXES) or k.startswith(names.SANDBOX) or k in sandbox.PASSED_ENV}
    return (tuple(modules), tuple(called), python, on, limits, tuple(sorted(seen.items())))


def preflight(course_root: str | Path, assignment: str, env=None,
              timeout_s: float = TIMEOUT_S) -> str:
    """Check that a grading kernel of ``assignment`` can import the course's packages and
    read the assignment's datasets; return a line saying what was checked.

    What is checked: see the module docstring. It takes about 4 to 5 s (a Python that
    imports torch, torchvision, d2l, matplotlib and the master's modules, then loads a few
    images: measured 3.7 to 6.1 s in the sandbox, 4.4 to 9.7 s with ``SANDBOX=off``, on the
    2-core development machine while others graded), once per process: a check that passed is remembered for
    the same modules, datasets, Python, sandbox limits (the course's
    ``nbgrader_config.py``, :func:`instructor.sandbox.course_limits`) and environment
    (``SANDBOX*``, ``VAE_*``, the kernels' variables), so grading many classes of one
    assignment, or the test suite, pays it once per assignment. A check that failed is not
    remembered.

    Raises :class:`PreflightFailed` (one sentence saying what to fix) when a package does
    not import or a dataset cannot be read, or when the check itself cannot run or does not
    finish in ``timeout_s``, or when a limit is still set through a variable that is no longer
    read (``SANDBOX_MEMORY_GB``...); :class:`FileNotFoundError` when the course has no such
    assignment; :class:`instructor.sandbox.SandboxUnavailable` when the sandbox is on but
    cannot run here.
    """
    env = dict(os.environ if env is None else env)
    course_root = Path(course_root).resolve()
    notebook = _master(course_root, assignment)
    modules, called = needs(notebook)
    python = _kernel_python(notebook)
    on = sandbox.enabled(env)
    legacy = sandbox.legacy_variables(env) if on else None
    if legacy:
        raise PreflightFailed(legacy)
    # The limits nbgrader will give the kernels: the course's nbgrader_config.py.
    limits = sandbox.course_limits(course_root).limits()
    key = _key(modules, called, python, env, limits)
    if key in _PASSED:
        return _PASSED[key]
    place = "inside the grading sandbox" if on else "by the grading kernels (SANDBOX=off)"
    spec = {"modules": modules, "loaders": called, "images": IMAGES, "mark": MARK}
    workdir = tempfile.mkdtemp(prefix="vae-preflight-")
    start = time.perf_counter()
    try:
        cmd, run_env = _command(python, spec, workdir, env, limits)
        try:
            done = subprocess.run(cmd, env=run_env, cwd=workdir, capture_output=True, text=True,
                                  timeout=timeout_s, start_new_session=True)
        except subprocess.TimeoutExpired:
            raise PreflightFailed(
                f"The pre-flight check did not finish in {timeout_s:.0f} s {place} (importing "
                f"{', '.join(PACKAGES)} and loading {', '.join(called) or 'no data'}); find out "
                f"why the grading Python is this slow and run again") from None
        except OSError as err:
            raise PreflightFailed(f"The pre-flight check could not start {place} ({err}); fix "
                                  f"that and run again") from None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    seconds = time.perf_counter() - start
    result = None
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(MARK):
            result = json.loads(line[len(MARK):])
            break
    if result is None:
        tail = " ".join((done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1].split())
        raise PreflightFailed(f"The pre-flight check died {place} before it could report ({tail[:200]}); "
                              f"fix that and run again")
    if not result["ok"]:
        raise PreflightFailed(_sentence(result, place, on, env, python, limits))
    line = (f"pre-flight {place}: {len(modules)} modules import"
            + "".join(f"; {d}" for d in result["data"]) + f" ({seconds:.1f} s)")
    _PASSED[key] = line
    return line


def forget() -> None:
    """Forget the checks that passed (the next :func:`preflight` runs again)."""
    _PASSED.clear()


# ------------------------------------------------------------------ the one sentence
def _sentence(result: dict, place: str, on: bool, env: dict, python: str, limits: sandbox.Limits) -> str:
    error = result.get("error", "")
    if result["stage"] == "import":
        module = result["module"]
        if on and (result.get("type") == "MemoryError" or re.search(
                r"cannot allocate memory|failed to map segment|out of memory", error, re.I)):
            return (f"{module} cannot be imported {place} ({error}): the sandbox's memory limit, "
                    f"{limits.memory_bytes / sandbox.GIB:g} GiB, is too small for it; raise "
                    f"c.SandboxLimits.memory_gb in nbgrader_config.py and run again")
        return (f"{module} cannot be imported {place} ({error}); install the course's "
                f"requirements into the grading Python {python} (make venv) and run again")
    dataset = DATASETS.get(result["loader"], result["loader"])
    see = (f"offline, its MNIST digits stand in for {dataset}; see README"
           if result["loader"] == "load_fashion_mnist" else "see README")
    fallback, roots = result.get("fallback", ""), result.get("roots", {})
    head = f"{dataset} cannot be read {place}"
    if result.get("type") != "DataUnavailableError":
        return (f"{head} ({error}); check the files in VAE_DATA_FALLBACK={fallback or '(not set)'} "
                f"and {names.DATA}={env.get(names.DATA, REPO / 'data')} (see README) and run again")
    if on:
        download = "torchvision cannot download it (no network)"
    else:
        reason = re.search(r"could not be downloaded \((.*)\)\. Connect", error)
        download = f"torchvision cannot download it ({reason.group(1) if reason else 'download failed'})"
    if not fallback:
        return (f"{head}: {download} and VAE_DATA_FALLBACK is not set; set "
                f"VAE_DATA_FALLBACK=/path/to/MNIST-10k ({see}) and run again")
    relative = [r for r in roots if not os.path.isabs(r)]
    if relative:
        return (f"{head}: {download} and VAE_DATA_FALLBACK={fallback} is a relative path, which "
                f"the kernels resolve from their own folder; set it to an absolute path "
                f"(e.g. {os.path.abspath(relative[0])}) and run again")
    unreadable = [r for r, s in roots.items() if s == "unreadable"]
    if unreadable:
        return (f"{head}: {download} and the kernel's user cannot read {unreadable[0]}/MNIST/raw; "
                f"make it readable to all (chmod -R a+rX {unreadable[0]}) and run again")
    if any(s == "readable" for s in roots.values()):
        return (f"{head}: {download} and the MNIST files in VAE_DATA_FALLBACK={fallback} do not "
                f"load ({error}); replace them with a good copy (see README) and run again")
    return (f"{head}: {download} and VAE_DATA_FALLBACK={fallback} holds no MNIST/raw/*-ubyte "
            f"files; point it at a folder that does, e.g. /path/to/MNIST-10k ({see}), and run "
            f"again")
