"""Check a notebook before you hand it in: is it the assignment's notebook, whole, as the
grader expects it, and do its visible tests pass?

    python -m helpers.check_notebook vae_cvae.ipynb            # in the assignment's folder
    python -m helpers.check_notebook vae_cvae.ipynb --no-run   # structure only (seconds)

JupyterLab's **Validate** (``nbgrader validate``) runs the notebook's tests, but it only sees
the cells that still carry their grading metadata: on a notebook whose metadata an editor
cleared it finds no test and says "Success!". This check first compares the notebook with
the release's list of cells (``helpers/cells_<assignment>.json``, written when the release
is generated; it holds cell ids, kinds and points, no answers):

- a notebook that is not valid JSON, or another assignment's notebook;
- grading metadata lost (some editors clear it when they save);
- deleted cells, cells split or copied (two cells with one id), cells whose type changed;
- answers not written yet;
- other notebooks in the same folder that hold answers (only ``<assignment>.ipynb`` is
  graded).

Then it runs ``nbgrader validate`` (unless ``--no-run``), and ends with one verdict line.
Exit status: 0 ready to hand in, 1 something to fix (each finding says what), 2 the check
could not run.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .environment import NBGRADER_EXECUTION

STUBS = ("raise NotImplementedError()", "YOUR ANSWER HERE")


class CheckError(RuntimeError):
    """The check itself could not run; the message says what to do."""


def manifest_path(assignment: str) -> Path:
    return Path(__file__).resolve().parent / f"cells_{assignment}.json"


def manifest_of(release_nb) -> list[dict]:
    """The list of graded and locked cells of a release notebook, in order: ``grade_id``,
    ``cell_type``, ``kind`` ("answer", "test" or "locked"), ``points``, and for answers
    whether the release holds a stub. Holds nothing of the answers."""
    cells = []
    for cell in release_nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("grade_id"):
            continue
        kind = "answer" if meta.get("solution") else "test" if meta.get("grade") else "locked"
        entry = {"grade_id": meta["grade_id"], "cell_type": cell.cell_type, "kind": kind,
                 "points": meta.get("points", 0)}
        if kind != "answer":  # what the release shows, to tell an edited locked cell
            entry["sha256"] = source_hash(cell.source)
        cells.append(entry)
    return cells


def source_hash(source: str) -> str:
    """SHA-256 of a cell's source, trailing spaces and line endings ignored."""
    import hashlib
    text = "\n".join(line.rstrip() for line in source.strip().splitlines())
    return hashlib.sha256(text.encode()).hexdigest()


def _meta(cell) -> dict:
    return (cell.get("metadata") or {}).get("nbgrader") or {}


def _read(path: Path):
    import nbformat
    if not path.is_file():
        raise CheckError(f"{path} does not exist: give the path of your saved .ipynb file.")
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as err:  # JSON and schema errors
        raise CheckError(f"{path} is not a readable notebook ({type(err).__name__}); if it is open in "
                         "JupyterLab, save it again (File → Save Notebook), or download it again.") from None


def foreign_cells(graded: list[str], own) -> list[str]:
    """The ids in ``graded`` (a notebook's graded cells) that are not in ``own`` (this
    assignment's), when they make the notebook another assignment's: at least 3 of them, and
    at least as many as its own. Otherwise ``[]`` (a few stray ids are repaired at intake).
    The grader's intake (:mod:`instructor.intake`) refuses a notebook by the same rule."""
    foreign = [g for g in graded if g not in own]
    return foreign if len(foreign) >= 3 and len(foreign) >= len(graded) - len(foreign) else []


def _answered(cell) -> bool:
    return not any(stub in cell.source for stub in STUBS) and bool(cell.source.strip())


def findings(nb, manifest: list[dict], folder: Path | None = None, name: str | None = None) -> list[str]:
    """What the grader would have to repair or would grade as missing in ``nb``, one
    sentence each, with what to do; empty when the structure is as released."""
    out = []
    expected = {c["grade_id"]: c for c in manifest}
    ids = [_meta(c).get("grade_id") for c in nb.cells]
    present = [g for g in ids if g]
    foreign = foreign_cells(present, expected)
    if foreign:
        return [f"This is another assignment's notebook ({len(foreign)} of its graded cells are not "
                "this assignment's): hand in the assignment's own notebook."]
    known = [g for g in present if g in expected]
    unmarked = sum(1 for g in ids if not g)
    missing = [g for g in expected if g not in known]
    if len(set(known)) < len(expected) / 2:
        out.append(f"The grading metadata of {len(expected) - len(set(known))} of the {len(expected)} graded "
                   "cells is gone (an editor cleared it when saving). The grader puts it back from the "
                   "master, but to be safe open the notebook in JupyterLab, or paste your answers into a "
                   "fresh copy of the release notebook, and hand that in.")
    elif len(missing) > 3 and unmarked >= len(missing):
        out.append(f"{len(missing)} graded cells lost their grading metadata or were deleted (an editor may have "
                   f"cleared the metadata of the cells it ran): {', '.join(missing[:6])}"
                   + (", ..." if len(missing) > 6 else "") + ". The grader puts the metadata back from the master "
                   "where it finds the cells, but to be safe paste your answers into a fresh copy of the release "
                   "notebook, run it in JupyterLab, and hand that in.")
    else:
        answers = [g for g in missing if expected[g]["kind"] == "answer"]
        others = [g for g in missing if expected[g]["kind"] != "answer"]
        if answers:
            out.append(f"Answer cell(s) deleted: {', '.join(answers)}. The grader cannot put your answer "
                       "back: undo the deletion (Edit → Undo Cell Operation) or copy the cell from a fresh "
                       "release notebook and write your answer in it.")
        if others:
            out.append(f"Cell(s) of the assignment deleted: {', '.join(others)}. The grader puts them back, "
                       "but check that nothing of yours was in them; a fresh release notebook has them.")
        dupes = sorted({g for g in known if known.count(g) > 1})
        if dupes:
            out.append(f"Cell(s) split or copied (one id on several cells): {', '.join(dupes)}. Every copy "
                       "runs in order and the last one is the graded one; merge them (Edit → Merge Cells) "
                       "if that is not what you meant.")
        retyped = [f"{g} (now {c.cell_type})" for g, c in zip(ids, nb.cells)
                   if g in expected and c.cell_type != expected[g]["cell_type"]]
        if retyped:
            out.append(f"Cell type changed: {', '.join(retyped)}. The grader changes it back; change it "
                       "back yourself so that what you see is what is graded.")
        edited = sorted({g for g, c in zip(ids, nb.cells) if g in expected and expected[g].get("sha256")
                         and source_hash(c.source) != expected[g]["sha256"]})
        if edited:
            out.append(f"Locked cell(s) changed: {', '.join(edited)}. The grader puts back the released "
                       "version, so your change is lost and the tests run as released: undo it.")
        todo = [g for g, c in zip(ids, nb.cells) if g in expected and expected[g]["kind"] == "answer"
                and not _answered(c)]
        if todo:
            out.append(f"{len(todo)} answer(s) not written yet: {', '.join(todo[:8])}"
                       + (", ..." if len(todo) > 8 else "") + ".")
    if folder is not None and name is not None:
        for other in sorted(folder.glob("*.ipynb")):
            if other.name == name:
                continue
            try:
                theirs = _read(other)
            except CheckError:
                continue
            mine = {(g, c.source.strip()) for g, c in zip(ids, nb.cells) if g}
            extra = sum(1 for c in theirs.cells
                        if expected.get(_meta(c).get("grade_id"), {}).get("kind") == "answer" and _answered(c)
                        and (_meta(c)["grade_id"], c.source.strip()) not in mine)
            if extra:  # a backup identical to the notebook is fine
                out.append(f"{other.name} beside it holds {extra} answer(s) that {name} does not have, but only "
                           f"{name} is graded: put all your work in {name} (or rename the notebook you worked in).")
    return out


def validate(path: Path) -> tuple[bool, str]:
    """Run ``nbgrader validate`` on ``path``: (passed, its output)."""
    exe = shutil.which("nbgrader") or str(Path(sys.executable).parent / "nbgrader")
    if not Path(exe).exists() and not shutil.which("nbgrader"):
        raise CheckError("nbgrader is not installed: pip install -r requirements.txt, then run this again.")
    result = subprocess.run([exe, "validate", path.name], cwd=path.parent, capture_output=True, text=True,
                            env={**os.environ, NBGRADER_EXECUTION: "validate"})
    text = (result.stdout + result.stderr).strip()
    return result.returncode == 0 and "Success!" in text and "VALIDATION FAILED" not in text, text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--no-run", action="store_true", help="check the structure only; do not run the tests")
    args = parser.parse_args(argv)
    path = args.notebook.resolve()
    try:
        nb = _read(path)
        assignment = path.stem
        manifest = manifest_path(assignment)
        if not manifest.exists():
            known = sorted(p.stem[len("cells_"):] for p in manifest.parent.glob("cells_*.json"))
            raise CheckError(f"{path.name} is not one of this course's assignment notebooks"
                             + (f" ({', '.join(f'{k}.ipynb' for k in known)})" if known else "")
                             + ": only the notebook with the assignment's own name is graded; rename it or "
                               "run this check in the assignment's folder.")
        found = findings(nb, json.loads(manifest.read_text()), path.parent, path.name)
        for line in found:
            print(f"- {line}")
        passed, output = (True, "")
        if not args.no_run:
            print("running the notebook's visible tests (nbgrader validate) ...", flush=True)
            passed, output = validate(path)
            if not passed:
                print(output)
    except CheckError as err:
        print(f"error: {err}")
        return 2
    if found or not passed:
        print(f"NOT READY: {len(found)} problem(s) above" + ("" if passed else "; the visible tests do not all pass")
              + ". Fix them, save, and run this check again.")
        return 1
    print("Ready to hand in: the structure is as released" + ("" if args.no_run else " and the visible tests pass")
          + ". Hand in the .ipynb and its PDF.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
