"""What went wrong with each submission, one clear line per finding, for the grading report.

After ``nbgrader autograde``, :func:`audit` looks at every submission from outside its
kernel:

- the submitted notebook: missing, not valid JSON, or another assignment's notebook;
- cells the student must not change: deleted test cells (nbgrader puts them back,
  ``OverwriteCells.add_missing_cells``), edited locked cells and edited ``points`` (nbgrader
  restores them from the gradebook);
- the kernel's fate, from the sandbox's record and the autograded notebook: cells that timed
  out, a kernel that crashed, exited or hit the wall-time limit (and the cells not run after
  it), memory and process limits, ``sys.exit()``, output cut to nbgrader's limit;
- tampering with the grader, found by reading the student's code (:func:`tampering`):
  constructs that rebind or patch what the tests rely on (``torch.allclose = ...``,
  ``helpers.checks.quietly = ...``, ``builtins``, ``AssertionError``, ``sys.modules``,
  writes through ``globals()``, IPython's execution machinery, frames, function internals),
  dynamic code (``exec``, ``eval``, ``__import__``) that could hide any of these, and imports
  of the grader-only package ``grading``. A module's name alone (``import gc``), reading
  ``globals()`` and editor-written magics are not findings. Such a submission's
  autograded points are withheld (set to 0 in the gradebook, with a comment) until an
  instructor reviews it: in-process tests cannot be trusted once the process is patched.
"""
from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from instructor.sandbox import RECORD, describe_death

MAX_LINES = 1000  # nbgrader's LimitOutput.max_lines

# What the tests rely on, and so what student code must not rebind or patch: the modules and
# names the notebooks import (torch, numpy, the course's helpers, ...), builtins and
# AssertionError, IPython's execution machinery and sys.modules. A module's name alone, a
# read of globals(), or the line-magic calls that notebook tools write is not tampering.
RELIED_ON = {"torch", "np", "numpy", "nn", "F", "helpers", "math", "plt", "matplotlib", "d2l",
             "scipy", "builtins", "__builtins__", "IPython", "ipykernel", "sys", "Normal",
             "kl_divergence", "kstest"}
# Module attributes that students legitimately set: plotting and determinism settings.
HARMLESS_SETTINGS = ("plt.rcParams", "matplotlib.rcParams", "mpl.rcParams", "torch.backends.",
                     "os.environ", "np.set_printoptions", "pd.options", "warnings.filters",
                     "torch.set_printoptions")
GRADER_ONLY = "grading"  # the package of reference answers (grading/), never released
# Code that can run anything, and so hide any of the constructs below.
DYNAMIC_CODE = {"exec", "eval", "compile", "__import__", "breakpoint"}
# Attributes that reach or rewrite the interpreter's machinery: frames and tracing, function
# internals, IPython's cell execution and error display, the garbage collector's object lists.
MACHINERY = {"_getframe", "currentframe", "settrace", "setprofile", "f_globals", "f_locals",
             "f_back", "excepthook", "displayhook", "get_referrers", "get_objects",
             "__globals__", "__code__", "__closure__", "__defaults__", "__kwdefaults__",
             "__builtins__", "__subclasses__", "run_cell", "run_cell_async", "run_ast_nodes",
             "run_code", "showtraceback", "_showtraceback", "set_custom_exc", "events",
             "input_transformers_post", "input_transformers_cleanup", "ast_transformers"}
# What notebook editors write for magics (VS Code, jupytext, nbconvert --to script).
MAGIC_CALLS = {"run_line_magic", "run_cell_magic", "magic", "system", "getoutput"}
# Methods that only read a mapping such as sys.modules or globals().
READING = {"get", "keys", "values", "items", "copy", "__contains__", "__getitem__"}


@dataclass
class Audit:
    student: str
    lines: list[str] = field(default_factory=list)
    withheld: bool = False  # autograded points set to 0 pending review

    def add(self, line: str) -> None:
        if line not in self.lines:
            self.lines.append(line)


# ------------------------------------------------------------------ reading student code
def tampering(source: str) -> list[str]:
    """Constructs in ``source`` that rebind or patch what the tests rely on, as
    ``"line N: <code>  (why)"``, one per construct.

    Reported: assigning to, deleting or ``setattr`` on an attribute or item of a module or
    name the tests use (``torch.allclose = ...``, ``helpers.checks.quietly = ...``,
    ``builtins.AssertionError = ...``); rebinding ``AssertionError`` or ``__builtins__``;
    changing ``sys.modules`` or writing through ``globals()``; IPython's execution machinery
    (``get_ipython().run_cell``, ``events``), frames and tracing, function internals
    (``__code__``, ``__globals__``), the garbage collector's object lists; dynamic code
    (``exec``, ``eval``, ``__import__``), which could hide any of these; and imports of the
    grader-only package ``grading``. Not reported: ordinary model code (``setattr(self, ...)``),
    importing a module by name (``gc``, ``inspect``, ``importlib``), ``gc.collect()``,
    ``importlib.reload``, ``inspect.signature``, reading ``globals()``, magics and the
    ``get_ipython().run_line_magic(...)`` calls that editors write for them.
    """
    try:
        tree = ast.parse(_strip_magics(source))
    except SyntaxError:
        return []
    modules = set(RELIED_ON)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules |= {a.asname or a.name for a in node.names}  # may be submodules
    lines = source.splitlines()
    found: list[str] = []

    def root(node) -> str | None:
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        return node.id if isinstance(node, ast.Name) else None

    def is_call_of(node, name: str) -> bool:
        return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name

    def base_call(node):
        """The call at the root of ``node`` (``globals()`` in ``globals()["x"]``), if any."""
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        return node if isinstance(node, ast.Call) else None

    def hit(node, why: str) -> None:
        text = lines[node.lineno - 1].strip() if 0 < node.lineno <= len(lines) else ""
        found.append(f"line {node.lineno}: {text}  ({why})")

    def sys_modules(node) -> bool:
        return isinstance(node, ast.Attribute) and node.attr == "modules" and root(node) == "sys"

    for node in ast.walk(tree):
        targets = []
        if isinstance(node, (ast.Assign, ast.Delete)):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            for t in (target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]):
                if not isinstance(t, (ast.Attribute, ast.Subscript)):
                    continue
                text = ast.unparse(t)
                call = base_call(t)
                if root(t) in modules and not text.startswith(HARMLESS_SETTINGS):
                    hit(node, f"changes {text}")
                elif call is not None and (is_call_of(call, "globals") or is_call_of(call, "get_ipython")
                                           or is_call_of(call, "vars")):
                    hit(node, f"changes {text}")
                elif isinstance(t, ast.Attribute) and t.attr in MACHINERY:
                    hit(node, f"changes {text}")
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else (func.attr if isinstance(func, ast.Attribute) else None)
            if name in {"setattr", "delattr"} and isinstance(func, ast.Name) and node.args and (
                    root(node.args[0]) in modules or base_call(node.args[0]) is not None):
                hit(node, f"{name} on {ast.unparse(node.args[0])}")
            elif name in DYNAMIC_CODE and isinstance(func, ast.Name):
                hit(node, f"runs dynamic code with {name}()")
            elif isinstance(func, ast.Attribute) and func.attr not in READING and (
                    sys_modules(func.value) or is_call_of(func.value, "globals")):
                hit(node, f"changes {ast.unparse(func.value)} with .{func.attr}()")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for n in names:
                if n.split(".")[0] == GRADER_ONLY and getattr(node, "level", 0) == 0:
                    hit(node, f"imports the grader-only package {n} (the reference answers)")
        if isinstance(node, ast.Attribute) and node.attr in MACHINERY:
            hit(node, f"uses .{node.attr}")
        if isinstance(node, ast.Name) and node.id in {"__builtins__", "AssertionError"} and \
                isinstance(node.ctx, (ast.Store, ast.Del)):
            hit(node, f"rebinds {node.id}")
    return list(dict.fromkeys(found))


def outside_access(source: str) -> list[str]:
    """What ``source`` tries to reach outside its own folder: paths (absolute or with
    ``..``) and the network. Harmless in the sandbox, where they do not exist, but worth
    the instructor's attention."""
    try:
        tree = ast.parse(_strip_magics(source))
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            value = node.value
            if (value.startswith("/") and value.count("/") > 1 and not value.startswith("/dev/null")) \
                    or value.startswith("../") or "/../" in value:
                found.append(f"the path {value[:80]!r}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                if name.split(".")[0] in {"socket", "urllib", "http", "requests", "ftplib",
                                          "smtplib", "subprocess"}:
                    found.append(f"the module {name}")
    return list(dict.fromkeys(found))


def _strip_magics(source: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


# ------------------------------------------------------------------ the audit
def _cells(nb) -> dict[str, dict]:
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade_id")}


def audit(course_root: Path, assignment: str, students: list[str],
          master: Path | None = None) -> dict[str, Audit]:
    """One :class:`Audit` per student of ``assignment`` under ``course_root``."""
    root = Path(course_root)
    master = master or root / "release" / assignment / f"{assignment}.ipynb"
    if not master.exists():
        master = root / "source" / assignment / f"{assignment}.ipynb"
    released = _cells(nbformat.read(str(master), as_version=4))
    out = {}
    for student in students:
        report = Audit(student)
        out[student] = report
        path = root / "submitted" / student / assignment / f"{assignment}.ipynb"
        if not path.exists():
            found = sorted(p.name for p in path.parent.glob("*")) if path.parent.exists() else []
            report.add(f"no {path.name} in the submission (found: {', '.join(found) or 'nothing'}): "
                       "not graded")
            continue
        try:
            nb = nbformat.read(str(path), as_version=4)
        except Exception as err:  # nbformat raises several types for broken files
            report.add(f"the notebook is not a readable notebook ({type(err).__name__}: "
                       f"{str(err).splitlines()[0][:120]}): not graded; ask the student to "
                       "download it again from JupyterLab and resubmit")
            continue
        _compare(nb, released, report)
        _kernel(root / "autograded" / student / assignment, released, report)
    return out


def _compare(nb, released: dict, report: Audit) -> None:
    mine = _cells(nb)
    foreign = sorted(set(mine) - set(released))
    if foreign and len(foreign) >= len(set(mine) & set(released)):
        report.add(f"this looks like another notebook: {len(foreign)} of its {len(mine)} graded "
                   f"cells are not in this assignment (e.g. {', '.join(foreign[:3])}); the "
                   "assignment's cells were put back and graded")
    missing = [gid for gid, c in released.items() if gid not in mine]
    tests = [gid for gid in missing if released[gid].metadata["nbgrader"].get("grade")]
    if tests:
        report.add(f"deleted test cell(s) restored and graded: {', '.join(tests)}")
    elif missing:
        report.add(f"deleted cell(s) restored: {', '.join(missing)}")
    edited, points = [], []
    for gid, cell in mine.items():
        ref = released.get(gid)
        if ref is None:
            continue
        meta, ref_meta = cell.metadata["nbgrader"], ref.metadata["nbgrader"]
        if ref_meta.get("locked") and cell.source.strip() != ref.source.strip():
            edited.append(gid)
        if ref_meta.get("grade") and meta.get("points") != ref_meta.get("points"):
            points.append(f"{gid} ({meta.get('points')} instead of {ref_meta.get('points')})")
    if edited:
        report.add(f"edited locked/test cell(s) restored from the master: {', '.join(edited)}")
    if points:
        report.add(f"edited points restored: {', '.join(points)}")
    for gid, cell in [(c.metadata.get("nbgrader", {}).get("grade_id") or f"cell {k + 1}", c)
                      for k, c in enumerate(nb.cells) if c.cell_type == "code"]:
        ref = released.get(gid)
        if ref is not None and ref.metadata["nbgrader"].get("locked"):
            continue  # restored from the master before running
        for finding in tampering(cell.source):
            report.withheld = True
            report.add(f"tampering suspected in {gid}, {finding}")
        reach = outside_access(cell.source)
        if reach:
            report.add(f"{gid} tries to reach outside its folder (blocked by the sandbox): "
                       + ", ".join(reach[:8]) + (", ..." if len(reach) > 8 else ""))


def _kernel(folder: Path, released: dict, report: Audit) -> None:
    record = None
    if (folder / RECORD).exists():
        try:
            record = json.loads((folder / RECORD).read_text())
        except ValueError:
            record = None
    notebook = folder / f"{folder.name}.ipynb"
    if not notebook.exists():
        report.add("not graded: nbgrader could not process this submission"
                   + (" (not this assignment's notebook)" if any("another notebook" in l for l in report.lines)
                      else " (see the worker's log)"))
        return
    nb = nbformat.read(str(notebook), as_version=4)
    not_run = []
    for k, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        gid = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {k + 1}"
        # nbgrader's LimitOutput counts the lines of all of a cell's stream outputs together
        # (the kernel's output can arrive as several outputs) and ends the last kept one with
        # its marker.
        streams = [o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream"]
        if sum(text.count("\n") for text in streams) >= MAX_LINES - 1 or \
                any(text.rstrip().endswith("... Output truncated ...") for text in streams):
            report.add(f"{gid} printed more than {MAX_LINES} lines: its output was cut to "
                       f"the first {MAX_LINES}")
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            name, value = output.get("ename", ""), output.get("evalue", "")
            if name == "CellTimeoutError" or "timed out" in value.lower() and "cell" in value.lower():
                report.add(f"{gid} timed out and was interrupted")
            elif name == "KeyboardInterrupt" and not any(
                    o.get("ename") == "CellTimeoutError" for o in cell.get("outputs", [])):
                report.add(f"{gid} ran past the cell time limit and was interrupted")
            elif name == "KernelDied":
                report.add(f"{gid}: {value}")
            elif name == "NotRun":
                not_run.append(gid)
            elif name == "MemoryError":
                limit = (record or {}).get("limits", {}).get("memory_bytes")
                report.add(f"{gid} ran out of memory" +
                           (f" (limit {limit / 1024 ** 3:.0f} GiB)" if limit else ""))
            elif name in {"BlockingIOError", "OSError"} and "temporarily unavailable" in value:
                report.add(f"{gid} hit the process limit (fork/threads refused)")
            elif name == "SystemExit":
                report.add(f"{gid} called sys.exit(); the kernel went on with the next cell")
            elif name in {"PermissionError", "FileNotFoundError", "ConnectionRefusedError",
                          "OSError"} and gid not in released:
                report.add(f"{gid}: {name}: {value[:100]}")
    if not_run:
        report.add(f"{len(not_run)} cell(s) not run after the kernel stopped "
                   f"({', '.join(not_run[:4])}{', ...' if len(not_run) > 4 else ''}); their tests "
                   "score 0")
    if record and record.get("killed_for_time") and not any("wall-time" in l for l in report.lines):
        report.add(describe_death(record))


def withhold(course, assignment: str, audits: dict[str, Audit]) -> None:
    """Set the autograded points of submissions suspected of tampering to 0, pending review."""
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(course.db_url) as gb:
        for student, report in audits.items():
            if not report.withheld:
                continue
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                continue
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.cell_type == "code" and grade.auto_score is not None:
                        grade.manual_score = 0.0
                for comment in notebook.comments:
                    comment.manual_comment = ("Autograded points withheld pending review: the "
                                              "code seems to tamper with the tests. "
                                              + "; ".join(report.lines)[:900])
            gb.db.commit()


def format_report(audits: dict[str, Audit]) -> str:
    lines = []
    for student in sorted(audits):
        report = audits[student]
        if not report.lines:
            continue
        head = f"  {student}:" + ("  [autograded points WITHHELD pending review]" if report.withheld else "")
        lines.append(head)
        lines += [f"    - {line}" for line in report.lines]
    if not lines:
        return "Incidents: none"
    return "Incidents (what happened to each submission):\n" + "\n".join(lines)
