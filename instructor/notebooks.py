"""Solution regions of master notebooks, and release notebooks filled with answers."""
from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.utils import is_grade, is_solution

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
TEXT_STUB = "YOUR ANSWER HERE"


def read(path: str | Path) -> NotebookNode:
    """Read a notebook, with a clear error for a missing or corrupt file."""
    path = Path(path)
    try:
        return nbformat.read(str(path), as_version=4)
    except FileNotFoundError:
        raise FileNotFoundError(f"No notebook at {path}.") from None
    except Exception as error:  # JSON errors, schema errors
        raise ValueError(f"{path} is not a readable notebook ({type(error).__name__}: "
                         f"{error}); restore it from a backup or the release.") from None


def grade_id(cell: NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def is_test_cell(cell: NotebookNode) -> bool:
    """An autograded test cell: a graded code cell that is not an answer cell."""
    return cell.cell_type == "code" and bool(is_grade(cell)) and not is_solution(cell)


# Where a master notebook's test cell says which question it grades:
# cell.metadata[QUESTION_KEY]["question"], a label such as "10.2a".
QUESTION_KEY = "vae_course"


class QuestionMapError(ValueError):
    """A master notebook's test cells do not all say which question they grade."""


def question_map(master: NotebookNode) -> dict[str, list[str]]:
    """``{question label: [test cells' grade_ids]}``, in the notebook's order, from the
    ``metadata.vae_course.question`` of each autograded test cell of a master notebook.

    Raises :class:`QuestionMapError` naming the test cells that carry no label (a new test
    cell must say which question it grades, or per-question scores would silently miss it).
    """
    questions: dict[str, list[str]] = {}
    unlabelled = []
    for cell in master.cells:
        if not is_test_cell(cell):
            continue
        label = cell.metadata.get(QUESTION_KEY, {}).get("question")
        if not label:
            unlabelled.append(grade_id(cell))
            continue
        questions.setdefault(str(label), []).append(grade_id(cell))
    if unlabelled:
        raise QuestionMapError(
            f"test cell(s) {', '.join(map(str, unlabelled))} say no question: add "
            f'"{QUESTION_KEY}": {{"question": "<label>"}} to their metadata in the master notebook')
    return questions


def solution_regions(source: NotebookNode) -> dict[str, list[str]]:
    """For each autograded answer cell of a master notebook, its solution regions' code,
    indented as in the master (the release's stub sits at the same indentation)."""
    regions: dict[str, list[str]] = {}
    for cell in source.cells:
        if cell.cell_type != "code" or not is_solution(cell):
            continue
        found, current = [], None
        for line in cell.source.split("\n"):
            if BEGIN in line:
                current = []
            elif END in line:
                found.append("\n".join(current))
                current = None
            elif current is not None:
                current.append(line)
        regions[grade_id(cell)] = found
    return regions


def written_answers(source: NotebookNode) -> dict[str, str]:
    """The model answers of the manually graded markdown cells (without the mark scheme)."""
    answers = {}
    for cell in source.cells:
        if cell.cell_type == "markdown" and is_solution(cell):
            text = cell.source.replace(BEGIN, "").replace(END, "")
            text = re.split(r"\*\*Mark scheme", text)[0]
            answers[grade_id(cell)] = text.replace("**Model answer.**", "").strip()
    return answers


def fill(release: NotebookNode, code: dict[str, list[str]] | None = None,
         text: dict[str, str] | None = None) -> NotebookNode:
    """A copy of a release notebook with answers in place of its stubs.

    ``code[grade_id][k]`` (indented as in the master) replaces the k-th
    ``# YOUR CODE HERE`` stub of that answer cell; ``text[grade_id]`` replaces a written answer. Cells not named
    keep their stubs, as a student who skipped them would.
    """
    code, text = code or {}, text or {}
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in text and cell.cell_type == "markdown":
            cell.source = text[gid]
        if gid in code and cell.cell_type == "code":
            cell.source = _replace_stubs(cell.source, code[gid], gid)
    return nb


def _replace_stubs(source: str, answers: list[str], gid: str) -> str:
    lines = source.split("\n")
    out, k, i = [], 0, 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == STUB[0] and i + 1 < len(lines) and lines[i + 1].strip() == STUB[1]:
            if k >= len(answers):
                raise ValueError(f"Cell {gid} has more stubs than the {len(answers)} answers given.")
            out.extend(answers[k].split("\n"))
            k += 1
            i += 2
            continue
        out.append(line)
        i += 1
    if k != len(answers):
        raise ValueError(f"Cell {gid} has {k} stubs but {len(answers)} answers were given.")
    return "\n".join(out)


def reference_submission(source: NotebookNode, release: NotebookNode) -> NotebookNode:
    """The release notebook completed with the master's solutions and model answers."""
    return fill(release, solution_regions(source), written_answers(source))
