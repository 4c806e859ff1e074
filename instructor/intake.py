"""What happens to a submitted notebook before nbgrader grades it: structure repair.

Students and their editors change a notebook's structure: they delete cells, split or copy
them (*Split Cell*, copy-paste: the copies share one ``grade_id``), change a cell's type, and
some editors empty every cell's metadata when they run it. nbgrader 0.9.6 repairs only part
of this: its ``add_missing_cells`` re-inserts a deleted grade cell after the *previous
grade or answer cell* and raises ``KeyError`` when the previous master cell is of another
kind (a locked instruction or run cell), and a notebook whose metadata was emptied looks to
it like a notebook with every test deleted. Either way the whole submission went ungraded.

The two preprocessors here replace nbgrader's of the same names in
``c.Autograde.sanitize_preprocessors`` (``nbgrader_config.py``). They repair the structure
from the master notebook (``source/<assignment>/<notebook>.ipynb``) before nbgrader's own
checks run, and keep nbgrader's behaviour for everything else:

1. :class:`DeduplicateIds`: of cells sharing a ``grade_id``, the last keeps it (nbgrader's
   rule: the code of every copy still runs, in order); the copies are recorded.
2. :class:`OverwriteCells`, before nbgrader's cell checks:

   a. a cell whose nbgrader metadata was lost gets it back when it sits where a master cell
      that the submission lacks belongs (between the same neighbours) and, for a locked
      cell, its source is the master's (similarity >= :data:`SAME_CELL`; a release older than
      the master still matches);
   b. a master cell still missing is put back after its nearest master neighbour that the
      submission has: locked cells (instructions, given code, tests) with the master's
      source, a written answer as the empty stub. A deleted *code answer* cell is not put
      back: the student's code may be in another cell, and a stub would overwrite it; the
      tests then run on whatever the notebook defines;
   c. nbgrader's checks then restore each locked cell's source (hidden tests included), its
      type, its points.

What was done is written as JSON to ``.intake.json`` beside the autograded notebook
(:data:`RECORD`, read by :mod:`instructor.audit.incidents`), so the report says what the grader
did rather than guessing it from the files.
"""
from __future__ import annotations

import copy
import difflib
import json
import os
from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearHiddenTests
from nbgrader.preprocessors import DeduplicateIds as NbgraderDeduplicateIds
from nbgrader.preprocessors import OverwriteCells as NbgraderOverwriteCells

from helpers.check_notebook import foreign_cells

RECORD = ".intake.json"
# Two cells are "the same cell" when their sources are at least this similar
# (difflib ratio over lines): a locked cell from an older release still matches its master.
SAME_CELL = 0.5
# ... or this similar when it is the only cell of its type where a missing master cell belongs.
SAME_PLACE = 0.2
TEXT_STUB = "YOUR ANSWER HERE"
_KEY = "vae_intake"  # resources key shared by the two preprocessors


def _record(resources) -> dict:
    return resources.setdefault(_KEY, {"duplicates": [], "metadata_restored": [], "restored": [],
                                       "deleted_answers": [], "type_restored": [],
                                       "unknown_ids": []})


def _lines(source: str) -> list[str]:
    return [line.rstrip() for line in source.strip().splitlines()]


def similarity(a: str, b: str) -> float:
    """How alike two cell sources are, from 0 to 1 (difflib's ratio over their lines,
    trailing spaces and line endings ignored)."""
    la, lb = _lines(a), _lines(b)
    if la == lb:
        return 1.0
    return difflib.SequenceMatcher(a=la, b=lb, autojunk=False).ratio()


class DeduplicateIds(NbgraderDeduplicateIds):
    """nbgrader's ``DeduplicateIds`` (the last of several cells sharing a ``grade_id`` keeps
    it; the others become ordinary cells), which records the ids it found more than once.

    Of the copies of a written answer, the last one that is not the empty stub is kept: a
    student who copied the question's cell, answered in the copy and left the stub below
    gets the answer graded. (Code copies keep nbgrader's rule: the notebook runs them all in
    order, as it did for the student.)
    """

    def preprocess(self, nb, resources):
        copies: dict[str, list] = {}
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader") or {}
            if cell.cell_type == "markdown" and meta.get("solution") and meta.get("grade_id"):
                copies.setdefault(meta["grade_id"], []).append(cell)
        for gid, cells in copies.items():
            answered = [c for c in cells if c.source.strip() and TEXT_STUB not in c.source]
            if len(cells) > 1 and answered:
                for cell in cells:
                    if cell not in answered:
                        del cell.metadata["nbgrader"]
                if gid not in _record(resources)["duplicates"]:
                    _record(resources)["duplicates"].append(gid)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        if "nbgrader" in cell.metadata and not (cell.metadata["nbgrader"] or {}).get("grade_id"):
            del cell.metadata["nbgrader"]  # nbgrader metadata without an id: nbgrader would crash
            return cell, resources
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        seen = gid in getattr(self, "grade_ids", set())
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if seen and gid not in _record(resources)["duplicates"]:
            _record(resources)["duplicates"].append(gid)
        return cell, resources


class OverwriteCells(NbgraderOverwriteCells):
    """nbgrader's ``OverwriteCells`` with the structure repaired from the master first (see
    the module's docstring). ``c.OverwriteCells.add_missing_cells`` switches the re-insertion
    of deleted cells (step b) on or off, as it does nbgrader's.

    Also survives cells that the master does not have: nbgrader 0.9.6 deletes only the
    ``grade_id`` of such a cell (from an older release, or made up) and its own
    ``add_missing_cells`` then raises ``KeyError: 'grade_id'``; here the cell loses all its
    nbgrader metadata and becomes an ordinary cell, worth nothing.

    Raises :class:`FileNotFoundError` when the master notebook is missing, :class:`ValueError`
    when the notebook is another assignment's (most of its graded cells are not this one's).
    """

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        coursedir = CourseDirectory(config=self.config)
        master_path = Path(coursedir.format_path(coursedir.source_directory, ".", info["assignment"]),
                           f"{info['notebook']}.ipynb")
        if not master_path.exists():
            raise FileNotFoundError(f"the master notebook {master_path} is missing: the grader cannot "
                                    "repair or grade this submission")
        master = nbformat.read(str(master_path), as_version=4)
        record = _record(resources)
        self._master = {c.metadata.nbgrader["grade_id"]: c for c in master.cells
                        if c.metadata.get("nbgrader", {}).get("grade_id")}
        here = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells]
        here = [gid for gid in here if gid]
        foreign = foreign_cells(here, self._master)
        if foreign:
            raise ValueError(f"not this assignment's notebook: {len(foreign)} of its {len(here)} graded cells "
                             f"belong to another (e.g. {', '.join(foreign[:3])})")
        repair(nb, master, record, insert=self.add_missing_cells)
        # Everything is in place now: nbgrader's own insertion (which crashes on some
        # layouts) has nothing left to do.
        self._repaired = True
        nb, resources = super().preprocess(nb, resources)
        out = Path(coursedir.format_path(coursedir.autograded_directory, info["student"], info["assignment"]))
        out.mkdir(parents=True, exist_ok=True)
        (out / RECORD).write_text(json.dumps(record, indent=1))
        return nb, resources

    def add_missing_grade_cells(self, nb, resources):
        return (nb, resources) if getattr(self, "_repaired", False) else super().add_missing_grade_cells(nb, resources)

    def add_missing_task_cells(self, nb, resources):
        return (nb, resources) if getattr(self, "_repaired", False) else super().add_missing_task_cells(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        ref = getattr(self, "_master", {}).get(gid)
        if ref is not None and ref.cell_type != cell.cell_type:
            _record(resources)["type_restored"].append(f"{gid} ({cell.cell_type} -> {ref.cell_type})")
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        meta = cell.metadata.get("nbgrader")
        if meta is not None and "grade_id" not in meta:
            if gid:
                _record(resources)["unknown_ids"].append(gid)
            del cell.metadata["nbgrader"]
        return cell, resources


def released_source(cell) -> str:
    """A master cell's source as the release shows it: hidden test regions removed."""
    cell = copy.deepcopy(cell)
    ClearHiddenTests(enforce_metadata=False)._remove_hidden_test_region(cell)
    return cell.source


def repair(nb, master, record: dict, insert: bool = True) -> None:
    """Repair ``nb``'s structure in place from ``master`` (steps a and b of the module's
    docstring), appending what was done to ``record``'s lists: ``metadata_restored``,
    ``restored`` (cells put back) and ``deleted_answers`` (deleted code answer cells, not
    put back)."""
    order = [c for c in master.cells if c.metadata.get("nbgrader", {}).get("grade_id") and
             (utils.is_grade(c) or utils.is_solution(c) or utils.is_locked(c) or utils.is_task(c))]
    ids = [c.metadata.nbgrader["grade_id"] for c in order]
    known = set(ids)

    def gid(cell):
        return cell.metadata.get("nbgrader", {}).get("grade_id") if "metadata" in cell else None

    def where() -> dict[str, int]:
        return {gid(c): k for k, c in enumerate(nb.cells) if gid(c) in known}

    def slot(i: int, at: dict[str, int]) -> range:
        before = max((at[ids[j]] for j in range(i) if ids[j] in at), default=-1)
        after = min((at[ids[j]] for j in range(i + 1, len(ids)) if ids[j] in at), default=len(nb.cells))
        return range(before + 1, after) if after > before else range(0)

    def unmarked(k: int) -> bool:
        meta = nb.cells[k].get("metadata", {}).get("nbgrader")
        return not meta or not meta.get("grade_id")

    def adopt(k: int, ref) -> None:
        cell = nb.cells[k]
        cell.setdefault("metadata", nbformat.NotebookNode())
        cell.metadata["nbgrader"] = copy.deepcopy(ref.metadata.nbgrader)
        record["metadata_restored"].append(ref.metadata.nbgrader["grade_id"])

    locked = [i for i, c in enumerate(order) if not utils.is_solution(c)]
    answers = [i for i, c in enumerate(order) if utils.is_solution(c)]
    # a. Lost metadata: locked cells first (matched by their source), then answer cells
    # (matched by their place between the locked cells found).
    # Unchanged cells first, so that every slot is bounded before a changed cell is looked for
    # (a similar cell further down must not be taken for it).
    for threshold in (1.0, SAME_CELL):
        for i in locked:
            at = where()
            if ids[i] in at:
                continue
            target = released_source(order[i])
            scored = [(similarity(nb.cells[k].source, target), -k, k) for k in slot(i, at) if unmarked(k)]
            best = max(scored, default=None)
            if best and best[0] >= threshold:
                adopt(best[2], order[i])
    for i in answers:
        at = where()
        if ids[i] in at:
            continue
        ref = order[i]
        taken = {k for k in slot(i, at) if not unmarked(k)}
        candidates = [k for k in slot(i, at) if k not in taken and nb.cells[k].cell_type == ref.cell_type
                      and not any(similarity(nb.cells[k].source, released_source(order[j])) >= SAME_CELL
                                  for j in locked)]
        if candidates:
            adopt(max(candidates, key=lambda k: (similarity(nb.cells[k].source, ref.source), -k)), ref)
    # A locked cell alone in its place: the one unmarked cell of its type there is that cell,
    # even when changed more (a release older than the master, a test the student edited).
    for i in locked:
        at = where()
        if ids[i] in at:
            continue
        here = slot(i, at)
        missing_here = [j for j in range(len(ids)) if ids[j] not in at and slot(j, at) == here
                        and order[j].cell_type == order[i].cell_type]
        candidates = [k for k in here if unmarked(k) and nb.cells[k].cell_type == order[i].cell_type]
        if missing_here == [i] and len(candidates) == 1 and \
                similarity(nb.cells[candidates[0]].source, released_source(order[i])) >= SAME_PLACE:
            adopt(candidates[0], order[i])
    if not insert:
        return
    # b. Cells still missing go back after their nearest master neighbour present.
    for i, ref in enumerate(order):
        at = where()
        if ids[i] in at:
            continue
        if utils.is_solution(ref) and ref.cell_type == "code":
            record["deleted_answers"].append(ids[i])
            continue
        cell = copy.deepcopy(ref)
        if utils.is_solution(ref):
            cell.source = TEXT_STUB
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if nb.nbformat_minor < 5:
            cell.pop("id", None)
        else:
            cell["id"] = _fresh_id(nb)
        before = max((at[ids[j]] for j in range(i) if ids[j] in at), default=None)
        after = min((at[ids[j]] for j in range(i + 1, len(ids)) if ids[j] in at), default=len(nb.cells))
        nb.cells.insert(before + 1 if before is not None else after, cell)
        record["restored"].append(ids[i])


def _fresh_id(nb) -> str:
    taken = {c.get("id") for c in nb.cells}
    while True:
        new = os.urandom(4).hex()
        if new not in taken:
            return new
