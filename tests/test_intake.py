"""The intake's structure repair and the per-student log split, called directly (well under a second).

1. ``intake.repair`` on a notebook whose metadata an editor cleared, with one locked cell
   deleted or edited: every other cell keeps its id (a similar locked cell further down, such
   as the two ``with torch.no_grad(): ...`` run cells or the two scatterplot tests, must not
   be taken for the changed one).
2. ``autograde.split_log`` gives each student only their own lines, also when one id is a
   substring of another or of the log's fixed text (``ted`` in ``/submitted/``).
"""
from __future__ import annotations

import copy

import nbformat
import pytest

from instructor.autograde import split_log
from instructor.course import REPO
from instructor.intake import repair
from instructor.notebooks import read, reference_submission


def _gid(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _reference(assignment):
    master = read(REPO / "source" / assignment / f"{assignment}.ipynb")
    release = read(REPO / "release" / assignment / f"{assignment}.ipynb")
    return master, reference_submission(master, release)


def _record():
    return {"duplicates": [], "metadata_restored": [], "restored": [], "deleted_answers": [],
            "type_restored": [], "unknown_ids": []}


def _edit_run_cell(nb):
    k = next(k for k, c in enumerate(nb.cells) if _gid(c) == "run_plot_latent")
    nb.cells[k].source = "plot_latent(model)"  # a VS Code student drops the no_grad block
    return "run_plot_latent"


def _delete_test(nb):
    k = next(k for k, c in enumerate(nb.cells) if _gid(c) == "test_scatterplot_latent")
    del nb.cells[k]
    return "test_scatterplot_latent"


@pytest.mark.parametrize("change", [_edit_run_cell, _delete_test])
def test_metadata_cleared_and_one_locked_cell_changed_keeps_every_other_cell_its_id(change):
    master, nb = _reference("vae_cvae")
    changed = change(nb)
    truth = {c["id"]: _gid(c) for c in nb.cells}
    for cell in nb.cells:  # as c02: every cell's metadata emptied by the editor
        cell["metadata"] = nbformat.NotebookNode()
    record = _record()
    repair(nb, master, record)
    wrong = [f"{truth[c['id']]} became {_gid(c)}" for c in nb.cells
             if c.get("id") in truth and truth[c["id"]] != changed and _gid(c) != truth[c["id"]]]
    assert not wrong, wrong
    assert not record["deleted_answers"], record["deleted_answers"]
    assert not [g for g in record["restored"] if g.startswith("answer_")], record["restored"]


@pytest.mark.parametrize("students", [["al", "ted"], ["d", "e"], ["s1", "s10"]])
def test_split_log_gives_each_student_only_their_own_lines(students):
    first, second = students
    log = (f"[AutogradeApp | INFO] Autograding /c/submitted/{first}/a/a.ipynb\n"
           f"[AutogradeApp | INFO] <marker {first}>\n"
           f"[AutogradeApp | INFO] Autograding /c/submitted/{second}/a/a.ipynb\n"
           f"[AutogradeApp | INFO] <marker {second}>\n")
    parts = split_log(log, copy.copy(students))
    assert f"<marker {first}>" in parts[first] and f"<marker {second}>" not in parts[first]
    assert f"<marker {second}>" in parts[second] and f"<marker {first}>" not in parts[second]
