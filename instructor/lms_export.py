"""Grades out of nbgrader's gradebook, as the grade-import CSV of Brightspace, Canvas or Moodle.

One grade item per question and one per assignment total:

- a question of the master's question map (``metadata.vae_course.question`` of its test
  cells, e.g. ``vae_cvae 10.2a``) sums the autograded points of its test cells;
- a written answer is its own item, named from its ``grade_id`` (``answer_10_6h`` becomes
  ``vae_cvae 10.6h``);
- ``<assignment> total`` is the submission's score after the late penalty.

Late submissions follow nbgrader's settings: the penalty of each notebook comes from the
plugin that ``nbgrader autograde`` uses (``c.AssignLatePenalties.plugin_class``, by
default ``LateSubmissionPlugin`` with ``c.LateSubmissionPlugin.penalty_method``), called
with the notebook's *current* score (after manual marking; autograde ran before it) and the
submission's ``total_seconds_late``, capped to ``[0, score]`` as ``AssignLatePenalties``
caps it. Question items stay unpenalised; only the total carries the penalty.

A cell is left **empty**, never 0, when there is no grade to give yet: a written answer not
marked, the autograded points of a submission withheld pending review, every item of a
submission the grader could not grade (:mod:`instructor.export`), and the total of any of
these. All three platforms skip an empty cell on import. A student without a submission
gets 0 in the total and empty question items.

Layouts (each platform's documented import format):

- **Brightspace** (D2L, "Importing grades", community.d2l.com/brightspace/kb/articles/3538):
  ``OrgDefinedId`` then ``Username`` (one or both identify the user), one ``<item> Points
  Grade`` column per numeric item, and the ``End-of-Line Indicator`` column holding ``#``;
  identifier values carry a leading ``#`` as in Brightspace's own export, so spreadsheets
  keep leading zeros (kb.wisc.edu/page.php?id=4330, "Function of Pound Signs").
- **Canvas** (Instructure, "How do I import grades in the Gradebook?"; the column list as
  in teaching.resources.osu.edu, "Import a CSV file to Carmen Grades"): ``Student``
  (``Last, First``), ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``, then one
  column per assignment, named ``<name> (<Canvas assignment id>)`` as Canvas's own export
  names it when the ids are given (``--canvas-ids``, a JSON object ``{item name: id}``),
  else ``<name>``, which creates a new assignment on import; the second row is
  ``Points Possible``.
- **Moodle** ("Grade import", docs.moodle.org/311/en/Grade_import): a header row and one
  row per user; the user is matched through a column the teacher maps (``ID number`` to
  ``useridnumber`` or ``Email address`` to ``useremail``) and each grade column is mapped to
  a grade item. Columns as in Moodle's plain-text export: ``First name``, ``Last name``,
  ``ID number``, ``Email address``, then the items.

nbgrader's ``Student.id`` is the username (Brightspace ``Username``, Canvas ``SIS User ID``,
Moodle ``ID number``); ``Student.lms_user_id`` fills Brightspace's ``OrgDefinedId`` and
Canvas's ``ID`` when set (``nbgrader db student add --lms-user-id``).

Run ``python -m instructor.lms_export {brightspace,canvas,moodle} [assignment ...] --to
FILE`` (``make lms-export LMS=canvas``).
"""
from __future__ import annotations

import argparse
import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from instructor.course import REPO

PLATFORMS = ("brightspace", "canvas", "moodle")


@dataclass
class Item:
    """A grade item: its column name and maximum points."""
    name: str
    max_score: float


@dataclass
class StudentRow:
    """A student's identifiers and ``{item name: points}`` (``None``: leave the cell empty)."""
    student_id: str
    first_name: str
    last_name: str
    email: str
    lms_user_id: str
    scores: dict[str, float | None] = field(default_factory=dict)


def item_label(assignment: str, key: str) -> str:
    """The item name of a question label or answer cell: ``vae_cvae 10.2a``,
    ``answer_10_6h`` -> ``vae_cvae 10.6h``, ``answer_kl_formula`` -> ``fashion_vae kl_formula``."""
    match = re.fullmatch(r"answer_(\d+)_(\d+)([a-z]*)", key)
    if match:
        key = f"{match[1]}.{match[2]}{match[3]}"
    elif key.startswith("answer_"):
        key = key[len("answer_"):]
    return f"{assignment} {key}"


def late_plugin(root: Path):
    """The late-penalty plugin nbgrader's autograde would use with ``root``'s
    ``nbgrader_config.py`` (nbgrader's ``AssignLatePenalties.init_plugin``)."""
    from nbgrader.preprocessors import AssignLatePenalties
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader
    config = Config()
    if (Path(root) / "nbgrader_config.py").exists():
        config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    assigner = AssignLatePenalties(config=config)
    assigner.init_plugin()
    return assigner.plugin_inst


def collect(gradebook, assignments: list[str], root: Path = REPO) -> tuple[list[Item], list[StudentRow]]:
    """The grade items of ``assignments`` and one row per student of the gradebook
    (see the module's docstring for what each cell holds). ``gradebook`` is an open
    :class:`nbgrader.api.Gradebook`."""
    from nbgrader.api import MissingEntry

    from instructor.course import questions as question_map
    from instructor.export import submission_status
    from instructor.notebooks import grade_id, read
    plugin = late_plugin(root)
    items: list[Item] = []
    rows = {s.id: StudentRow(s.id, s.first_name or "", s.last_name or "", s.email or "", s.lms_user_id or "")
            for s in gradebook.students}
    for assignment in assignments:
        record = gradebook.find_assignment(assignment)
        questions = question_map(assignment, root)
        in_gradebook = {c.name for nb in record.notebooks for c in nb.grade_cells if c.cell_type == "markdown"}
        # The written answers the gradebook grades, in the master's order (a master cell
        # without a mark scheme still exports: the marks are in the gradebook).
        master = Path(root) / "source" / assignment / f"{assignment}.ipynb"
        order = [grade_id(c) for c in read(master).cells if c.cell_type == "markdown"] if master.exists() else []
        written = [g for g in order if g in in_gradebook] + sorted(in_gradebook - set(order))
        max_of = {c.name: c.max_score for nb in record.notebooks for c in nb.grade_cells}
        keys = [(item_label(assignment, q), cells) for q, cells in questions.items()] + \
               [(item_label(assignment, gid), [gid]) for gid in written]
        names = [i.name for i in items] + [name for name, _ in keys] + [f"{assignment} total"]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"two grade items of {assignment} would share a column: {', '.join(twice)}; "
                             "rename a question label or a written answer's grade_id in the master")
        items += [Item(name, sum(max_of[c] for c in cells)) for name, cells in keys]
        total = f"{assignment} total"
        items.append(Item(total, record.max_score))
        for row in rows.values():
            try:
                submission = gradebook.find_submission(assignment, row.student_id)
            except MissingEntry:
                row.scores.update({name: None for name, _ in keys})
                row.scores[total] = 0.0
                continue
            status, _ = submission_status(submission)
            grades = {g.name: g for nb in submission.notebooks for g in nb.grades}
            pending = False
            for name, cells in keys:
                auto = grades[cells[0]].cell_type == "code"
                if status == "not graded" or (status == "withheld pending review" and auto) \
                        or any(grades[c].needs_manual_grade for c in cells):
                    row.scores[name] = None
                    pending = True
                else:
                    row.scores[name] = float(sum(grades[c].score for c in cells))
            row.scores[total] = None if pending else net_score(submission, plugin)
    return items, sorted(rows.values(), key=lambda r: r.student_id)


def net_score(submission, plugin) -> float:
    """The submission's score less nbgrader's late penalty (module docstring)."""
    score = 0.0
    for notebook in submission.notebooks:
        penalty = 0.0
        if submission.total_seconds_late > 0:
            penalty = plugin.late_submission_penalty(submission.student.id, notebook.score,
                                                     submission.total_seconds_late) or 0.0
            penalty = min(max(penalty, 0.0), notebook.score)
        score += notebook.score - penalty
    return score


# A cell starting with one of these is read as a formula by spreadsheets (OWASP, "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    """A free-text cell (a name, an e-mail): a leading ``'`` keeps a formula as text."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _identifier(value: str, student: str, column: str) -> str:
    """A cell the LMS matches users on: changing it would match no one, so it is refused."""
    if value.startswith(FORMULA_START):
        raise ValueError(f"student {student!r}: {column} {value!r} starts with {value[0]!r}, which a spreadsheet "
                         "runs as a formula; correct it in the gradebook (nbgrader db student add) and export again")
    return value


def _points(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def write(platform: str, path: Path, items: list[Item], rows: list[StudentRow],
          canvas_ids: dict[str, int | str] | None = None) -> Path:
    """Write the ``platform``'s import CSV (one of :data:`PLATFORMS`) to ``path``;
    ``canvas_ids`` (``{item name: Canvas assignment id}``, Canvas only) names the columns of
    existing Canvas assignments.

    Names and e-mails that a spreadsheet would run as a formula (starting with ``= + - @``,
    a tab or a carriage return) get a leading ``'``; such a value in a column the LMS matches
    users on (Canvas ``ID``/``SIS User ID``, Moodle ``ID number``) is refused instead.

    Raises ``ValueError`` for another platform name, for ``canvas_ids`` naming an item
    that is not exported (the message lists the item names), or for such an identifier.
    """
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}: choose one of {', '.join(PLATFORMS)}")
    canvas_ids = canvas_ids or {}
    unknown = sorted(set(canvas_ids) - {i.name for i in items})
    if unknown:
        raise ValueError(f"--canvas-ids names items that are not exported: {', '.join(unknown)}; "
                         f"the items are: {', '.join(i.name for i in items)}")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        if platform == "brightspace":
            out.writerow(["OrgDefinedId", "Username", *(f"{i.name} Points Grade" for i in items),
                          "End-of-Line Indicator"])
            for r in rows:
                out.writerow([f"#{r.lms_user_id}" if r.lms_user_id else "", f"#{r.student_id}",
                              *(_points(r.scores[i.name]) for i in items), "#"])
        elif platform == "canvas":
            out.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                          *(f"{i.name} ({canvas_ids[i.name]})" if i.name in canvas_ids else i.name for i in items)])
            out.writerow(["    Points Possible", "", "", "", "", *(f"{i.max_score:g}" for i in items)])
            for r in rows:
                name = ", ".join(p for p in (r.last_name, r.first_name) if p) or r.student_id
                out.writerow([_text(name), _identifier(r.lms_user_id, r.student_id, "ID"),
                              _identifier(r.student_id, r.student_id, "SIS User ID"), "", "",
                              *(_points(r.scores[i.name]) for i in items)])
        else:
            out.writerow(["First name", "Last name", "ID number", "Email address", *(i.name for i in items)])
            for r in rows:
                out.writerow([_text(r.first_name), _text(r.last_name),
                              _identifier(r.student_id, r.student_id, "ID number"), _text(r.email),
                              *(_points(r.scores[i.name]) for i in items)])
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("platform", choices=PLATFORMS)
    parser.add_argument("assignments", nargs="*", help="default: every assignment in the gradebook")
    parser.add_argument("--to", help="output CSV (default: grades-<platform>.csv in the course root)")
    parser.add_argument("--root", default=str(REPO), help="course root (default: this repository)")
    parser.add_argument("--db-url", help="gradebook (default: <root>/gradebook.db)")
    parser.add_argument("--canvas-ids", help="Canvas only: a JSON file {item name: Canvas assignment id}, "
                                             "to update existing assignments")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    if not args.db_url and not (root / "gradebook.db").exists():
        parser.error(f"no gradebook at {root / 'gradebook.db'}: autograde the submissions first")
    canvas_ids = None
    if args.canvas_ids:
        if args.platform != "canvas":
            parser.error("--canvas-ids is for the canvas export only")
        try:
            canvas_ids = json.loads(Path(args.canvas_ids).read_text())
        except (OSError, ValueError) as err:
            parser.error(f"cannot read --canvas-ids {args.canvas_ids}: {err}; "
                         'give a JSON object such as {"vae_cvae total": 12345}')
        if not isinstance(canvas_ids, dict):
            parser.error('--canvas-ids must hold a JSON object such as {"vae_cvae total": 12345}')
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(args.db_url or f"sqlite:///{root / 'gradebook.db'}") as gb:
        known = [a.name for a in gb.assignments]
        chosen = args.assignments or known
        unknown = [a for a in chosen if a not in known]
        if unknown:
            parser.error(f"not in the gradebook: {', '.join(unknown)} (it has {', '.join(known) or 'none'})")
        try:
            items, rows = collect(gb, chosen, root)
        except (MissingEntry, KeyError) as err:
            parser.error(f"the gradebook does not match source/ ({err}): autograde the submissions again "
                         "after changing a master")
        except ValueError as err:
            parser.error(str(err))
    dest = Path(args.to or root / f"grades-{args.platform}.csv")
    try:
        write(args.platform, dest, items, rows, canvas_ids)
    except ValueError as err:
        parser.error(str(err))
    empty = sum(r.scores[i.name] is None for r in rows for i in items if i.name.endswith(" total"))
    print(f"{dest}: {len(rows)} students, {len(items)} grade items"
          + (f"; {empty} total(s) left empty (not marked, withheld, not graded)" if empty else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
