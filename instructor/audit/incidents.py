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
- tampering with the grader, found by reading the student's code
  (:func:`instructor.audit.code_scan.tampering`):
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

import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from instructor import names
from instructor.audit.code_scan import outside_access, tampering
from instructor.sandbox import RECORD, describe_death

MAX_LINES = 1000  # nbgrader's LimitOutput.max_lines

@dataclass
class Audit:
    student: str
    lines: list[str] = field(default_factory=list)
    withheld: bool = False  # autograded points set to 0 pending review
    not_graded: str | None = None  # why nbgrader could not grade it, in one sentence

    def add(self, line: str) -> None:
        if line not in self.lines:
            self.lines.append(line)


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
        folder = root / "submitted" / student / assignment
        path = folder / f"{assignment}.ipynb"
        others = _other_notebooks(folder, assignment, released)
        chosen = folder / CHOSEN
        if chosen.exists():
            report.add(f"graded {chosen.read_text().strip()} in place of {path.name}, as the instructor chose "
                       f"(the notebook as submitted is kept as {path.name}{AS_SUBMITTED})")
            others = [(name, n) for name, n in others if name != chosen.read_text().strip()]
        if not path.exists():
            found = sorted(p.name for p in folder.glob("*")) if folder.exists() else []
            report.not_graded = (f"no {path.name} in the submission (found: {', '.join(found) or 'nothing'})"
                                 + _grade_other_hint(others, student, assignment))
            report.add(f"not graded: {report.not_graded}")
            continue
        try:
            nb = nbformat.read(str(path), as_version=4)
        except Exception as err:  # nbformat raises several types for broken files
            report.not_graded = (f"the notebook is not a readable notebook ({type(err).__name__}: "
                                 f"{str(err).splitlines()[0][:120]}); ask the student to download it "
                                 "again from JupyterLab and resubmit")
            report.add(f"not graded: {report.not_graded}")
            continue
        if others:
            if not _answered(nb, released):
                report.add(f"{path.name} is the release as handed out (no answer filled in), graded as such; "
                           f"the work is in {others[0][0]} ({others[0][1]} answer(s))"
                           + _grade_other_hint(others, student, assignment))
            else:
                report.add("also handed in: " + ", ".join(f"{name} ({n} answer(s))" for name, n in others)
                           + f"; only {path.name} is graded")
        _compare(nb, released, report)
        _intake(root / "autograded" / student / assignment, released, report)
        _kernel(root / "autograded" / student / assignment, released, report)
        if report.not_graded is None and not (root / "autograded" / student / assignment /
                                              f"{assignment}.ipynb").exists():
            report.not_graded = _failure(root, assignment, student, report)
            report.add(f"not graded: {report.not_graded}")
    return out


# The instructor's choice of another notebook of the submission (python -m instructor.autograde
# <assignment> --student S --notebook FILE): the file's name, and the suffix of the original.
CHOSEN = ".graded-notebook"
AS_SUBMITTED = ".as-submitted"


def _answered(nb, released: dict) -> int:
    """How many answer cells of ``nb`` differ from the release's stubs."""
    count = 0
    for gid, cell in _cells(nb).items():
        ref = released.get(gid)
        if ref is not None and ref.metadata["nbgrader"].get("solution") and \
                cell.source.strip() != ref.source.strip():
            count += 1
    return count


def _other_notebooks(folder: Path, assignment: str, released: dict) -> list[tuple[str, int]]:
    """The other notebooks handed in beside ``<assignment>.ipynb``, with how many answers each
    holds, most answers first."""
    found = []
    for path in sorted(folder.glob("*.ipynb")) if folder.is_dir() else []:
        if path.name == f"{assignment}.ipynb":
            continue
        try:
            found.append((path.name, _answered(nbformat.read(str(path), as_version=4), released)))
        except Exception:  # not readable: still reported, with no answers counted
            found.append((path.name, 0))
    return sorted(found, key=lambda item: -item[1])


def _grade_other_hint(others: list[tuple[str, int]], student: str, assignment: str) -> str:
    if not others or not others[0][1]:
        return ""
    return (f"; to grade {others[0][0]} instead: make autograde ASSIGNMENT={assignment} STUDENT={student} "
            f"NOTEBOOK={others[0][0]}")


def _failure(root: Path, assignment: str, student: str, report: Audit) -> str:
    """Why nbgrader left no autograded notebook, in one sentence, from the student's log."""
    from instructor.autograde import log_path
    if any("another notebook" in line for line in report.lines):
        return "it is another assignment's notebook; ask the student to hand in this assignment's"
    log = log_path(root, assignment, student)
    text = log.read_text() if log.exists() else ""
    cause = ""
    lines = text.splitlines()
    for k, line in enumerate(lines):  # the last line of the last traceback
        if "Traceback (most recent call last)" in line:
            tail = [l for l in lines[k + 1:] if l.strip() and not l.startswith((" ", "\t", "[", "~", "^"))]
            cause = tail[0].strip() if tail else cause
    where = f"; its full grading log is {log.relative_to(root)}" if log.exists() else ""
    return (f"{GRADER_FAULT} ({cause[:160] or 'no cause in the log'}), a fault of the "
            f"grader and not of the student: report it to the course's maintainers{where}")


def _intake(folder: Path, released: dict, report: Audit) -> None:
    """What the intake repaired (:mod:`instructor.intake` records it beside the notebook)."""
    from instructor.intake import RECORD as INTAKE
    try:
        record = json.loads((folder / INTAKE).read_text())
    except (OSError, ValueError):
        return

    def few(ids: list[str]) -> str:
        return ", ".join(ids[:6]) + (f" and {len(ids) - 6} more" if len(ids) > 6 else "")

    def is_test(gid: str) -> bool:
        ref = released.get(gid)
        return ref is not None and bool(ref.metadata["nbgrader"].get("grade")) and ref.cell_type == "code"

    if record.get("metadata_restored"):
        ids = record["metadata_restored"]
        report.add(f"the nbgrader metadata of {len(ids)} cell(s) was lost (an editor cleared it) and was "
                   f"put back from the master, found by their place and source: {few(ids)}")
    restored = record.get("restored", [])
    tests = [g for g in restored if is_test(g)]
    if tests:
        report.add(f"deleted test cell(s) put back from the master and graded: {few(tests)}")
    if set(restored) - set(tests):
        report.add(f"deleted cell(s) put back from the master: {few([g for g in restored if g not in tests])}")
    if record.get("deleted_answers"):
        report.add(f"answer cell(s) deleted and not put back (their tests ran on what the rest of the "
                   f"notebook defines): {few(record['deleted_answers'])}")
    if record.get("duplicates"):
        report.add(f"cell(s) split or copied, sharing one id: {few(record['duplicates'])}; every copy ran in "
                   "order and the last one is the graded one")
    if record.get("type_restored"):
        report.add(f"cell type changed back to the master's: {few(record['type_restored'])}")
    unknown = [g for g in record.get("unknown_ids", []) if g not in released]
    if unknown:
        report.add(f"cell(s) with nbgrader ids this assignment does not have became ordinary cells: {few(unknown)}")


def _compare(nb, released: dict, report: Audit) -> None:
    mine = _cells(nb)
    foreign = sorted(set(mine) - set(released))
    if foreign and len(foreign) >= len(set(mine) & set(released)):
        report.add(f"this looks like another notebook: {len(foreign)} of its {len(mine)} graded "
                   f"cells are not in this assignment (e.g. {', '.join(foreign[:3])})")
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
        report.add(f"locked/test cell(s) that differ from the master (edited, or from an older release) were "
                   f"restored from it: {', '.join(edited)}")
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
    import importlib.util
    import re
    record = None
    if (folder / RECORD).exists():
        try:
            record = json.loads((folder / RECORD).read_text())
        except ValueError:
            record = None
    notebook = folder / f"{folder.name}.ipynb"
    if not notebook.exists():
        return  # not graded: audit() says why
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
            elif name == names.KERNEL_DIED:
                report.add(f"{gid}: {value}")
            elif name == names.NOT_RUN:
                not_run.append(gid)
            elif name == "MemoryError":
                limit = (record or {}).get("limits", {}).get("memory_bytes")
                report.add(f"{gid} ran out of memory" +
                           (f" (limit {limit / 1024 ** 3:.0f} GiB)" if limit else ""))
            elif name in {"BlockingIOError", "OSError"} and "temporarily unavailable" in value:
                report.add(f"{gid} hit the process limit (fork/threads refused)")
            elif name == "SystemExit":
                report.add(f"{gid} called sys.exit(); the kernel went on with the next cell")
            elif name == "ModuleNotFoundError" and re.search(r"No module named '([^']+)'", value):
                # A module the grading Python does not have (the kernel runs this same
                # Python): the grader's environment, not the answer, is at fault. A missing
                # submodule of a package it has (torch.foo) is the student's own mistake.
                module = re.search(r"No module named '([^']+)'", value).group(1)
                try:
                    present = importlib.util.find_spec(module.split(".")[0]) is not None
                except (ImportError, ValueError):
                    present = False
                if present:
                    continue
                ref = released.get(gid)
                if ref is not None and ref.cell_type == "code" and ref.metadata["nbgrader"].get("grade"):
                    report.add(f"{gid}: the student's code imports {module}, which the grading environment "
                               "does not have: this test failed and scored 0; install it for grading and "
                               "regrade, or tell the student to use only the course's packages")
                else:
                    report.add(f"{gid}: imports {module}, which the grading environment does not have: the "
                               "cell stopped there and the tests that need the rest of it scored 0; install "
                               "it for grading and regrade, or tell the student to use only the course's "
                               "packages")
            elif name in {"PermissionError", "FileNotFoundError", "ConnectionRefusedError",
                          "OSError"} and gid not in released:
                report.add(f"{gid}: {name}: {value[:100]}")
    if not_run:
        report.add(f"{len(not_run)} cell(s) not run after the kernel stopped "
                   f"({', '.join(not_run[:4])}{', ...' if len(not_run) > 4 else ''}); their tests "
                   "score 0")
    if record and record.get("killed_for_time") and not any("wall-time" in l for l in report.lines):
        report.add(describe_death(record))


def _submitted_notebooks(course, assignment: str, audits: dict[str, Audit], wanted):
    """``(report, notebook)`` for each gradebook notebook of the students whose audit
    ``wanted(report)`` picks, in an open gradebook that is committed after each student."""
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(course.db_url) as gb:
        for student, report in audits.items():
            if not wanted(report):
                continue
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                continue
            for notebook in submission.notebooks:
                yield report, notebook
            gb.db.commit()


def withhold(course, assignment: str, audits: dict[str, Audit]) -> None:
    """Set the autograded points of submissions suspected of tampering to 0, pending review."""
    for report, notebook in _submitted_notebooks(course, assignment, audits, lambda r: r.withheld):
        for grade in notebook.grades:
            if grade.cell_type == "code" and grade.auto_score is not None:
                grade.manual_score = 0.0
        for comment in notebook.comments:
            comment.manual_comment = (f"{WITHHELD}: the code seems to tamper with the tests. "
                                      + "; ".join(report.lines)[:900])


def mark_not_graded(course, assignment: str, audits: dict[str, Audit]) -> None:
    """Mark the submissions nbgrader could not grade as such in the gradebook, so that no
    export shows them as zeros that look like a blank submission: each notebook is flagged,
    its grades have no score and need manual grading, and its comments give the reason
    (``Audit.not_graded``). :class:`instructor.export.CsvExportPlugin` exports them as
    "not graded" with an empty score."""
    for report, notebook in _submitted_notebooks(course, assignment, audits, lambda r: r.not_graded):
        notebook.flagged = True
        for grade in notebook.grades:
            grade.auto_score, grade.manual_score, grade.needs_manual_grade = None, None, True
        for comment in notebook.comments:
            comment.manual_comment = f"{NOT_GRADED}: {report.not_graded}"[:1000]


NOT_GRADED = "Not graded"
WITHHELD = "Autograded points withheld pending review"
GRADER_FAULT = "the grader failed on this notebook"


def clear_not_graded(course, assignment: str, audits: dict[str, Audit]) -> None:
    """Undo :func:`mark_not_graded` for the submissions graded now (e.g. graded again from
    another notebook): unflag them and remove the "Not graded" comments."""
    for _, notebook in _submitted_notebooks(course, assignment, audits, lambda r: not r.not_graded):
        stale = [c for c in notebook.comments if (c.manual_comment or "").startswith(NOT_GRADED)]
        if notebook.flagged and stale:
            notebook.flagged = False
        for comment in stale:
            comment.manual_comment = None


def record(course, assignment: str, audits: dict[str, Audit]) -> None:
    """Write the audit's consequences into the gradebook: :func:`withhold`,
    :func:`mark_not_graded` and :func:`clear_not_graded`."""
    withhold(course, assignment, audits)
    mark_not_graded(course, assignment, audits)
    clear_not_graded(course, assignment, audits)


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
