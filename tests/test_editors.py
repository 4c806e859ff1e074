"""Notebooks saved by other editors go through every step: :func:`helpers.notebook_format.normalise`,
the student's PDF command, nbgrader autograde and generate_feedback.

Each editor's file is built from the ``fashion_vae`` release as that editor saves it:

- Colab: nbformat 4.0 without cell ids (its own copy sits in ``metadata.id``), ``colab`` and
  ``accelerator`` metadata, per-cell run records, widget state without the ``state`` map
  (nbconvert stops on it with ``KeyError: 'state'``);
- VS Code: nbformat 4.4 with cell ids (which the 4.4 schema does not allow) and ``vscode``
  metadata;
- Notebook 7: nbformat 4.5 with ids, tags and ``jupyter`` metadata (already normal);
- JupyterLab 3: nbformat 4.4 without ids, run timings, widget state in nbconvert's format.

Every file carries the student's work: a filled-in solution line and outputs of each kind
(text, a figure, a result, an error, a widget), which must come through unchanged.
"""
from __future__ import annotations

import copy
import json
import subprocess
import sys

import nbformat
import pytest
from nbformat.validator import isvalid

from helpers import pdf
from helpers.notebook_format import (EDITOR_CELL_KEYS, EDITOR_NOTEBOOK_KEYS, WIDGET_STATE,
                                     NotebookFormatError, normalise)
from helpers.system import ensure_program
from instructor import notebooks
from instructor.course import REPO, Course
from instructor.normalise import NormaliseNotebook

ASSIGNMENT = "fashion_vae"
RELEASE = REPO / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
MARK = "EDITORMARK"  # in the student's solution line
MODEL = "0a1b2c3d4e5f"  # the widget's model id
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def with_work(nb) -> dict:
    """``nb`` (a release or submission) as saved JSON, with a solution line marked and
    outputs of every kind in the first code cells."""
    nb = copy.deepcopy(nb)
    new = nbformat.v4.new_output
    code = [c for c in nb.cells if c.cell_type == "code"]
    next(c for c in code if notebooks.is_solution(c)).source += f"\n# {MARK}: my own line"
    outputs = [
        [new("stream", name="stdout", text="Computing on: cpu STREAMTEXT\n")],
        [new("display_data", data={"image/png": PNG, "text/plain": "<Figure size 100x100 with 1 Axes>"})],
        [new("execute_result", data={"text/plain": "RESULTTEXT 0.25"}, execution_count=3)],
        [new("error", ename="ValueError", evalue="ERRORTEXT", traceback=["ValueError: ERRORTEXT"])],
        [new("display_data", data={"application/vnd.jupyter.widget-view+json":
                                   {"model_id": MODEL, "version_major": 2, "version_minor": 0},
                                   "text/plain": "WIDGETTEXT 100% 10/10"})],
    ]
    for k, (cell, out) in enumerate(zip(code, outputs), start=1):
        cell.outputs, cell.execution_count = out, k
    return json.loads(nbformat.writes(nb))


def widget_model() -> dict:
    return {"model_module": "@jupyter-widgets/controls", "model_name": "HBoxModel",
            "model_module_version": "1.5.0", "state": {"children": []}}


def as_colab(nb: dict) -> dict:
    nb["nbformat_minor"] = 0
    nb["metadata"] = {"colab": {"provenance": [], "gpuType": "T4"}, "accelerator": "GPU",
                      "kernelspec": {"name": "python3", "display_name": "Python 3"},
                      "language_info": {"name": "python"},
                      "widgets": {WIDGET_STATE: {MODEL: widget_model()}}}
    for k, cell in enumerate(nb["cells"]):
        cell["metadata"]["id"] = cell.pop("id")
        if cell["cell_type"] == "code":
            cell["metadata"].update(colab={"base_uri": "https://localhost:8080/"}, outputId=f"out{k}",
                                    executionInfo={"status": "ok", "elapsed": 12,
                                                   "user": {"displayName": "A Student"}})
    return nb


def as_vscode(nb: dict) -> dict:
    nb["nbformat_minor"] = 4
    nb["metadata"]["vscode"] = {"interpreter": {"hash": "3f1c0e5a" * 8}}
    nb["metadata"]["language_info"] = {
        "name": "python", "version": "3.11.4", "mimetype": "text/x-python", "file_extension": ".py",
        "codemirror_mode": {"name": "ipython", "version": 3}, "pygments_lexer": "ipython3"}
    next(c for c in nb["cells"] if c["cell_type"] == "code")["metadata"]["vscode"] = {"languageId": "python"}
    return nb


def as_notebook7(nb: dict) -> dict:
    for cell in nb["cells"]:
        cell["metadata"]["tags"] = []
        if cell["cell_type"] == "code":
            cell["metadata"]["jupyter"] = {"source_hidden": False, "outputs_hidden": False}
    return nb


def as_jupyterlab3(nb: dict) -> dict:
    nb["nbformat_minor"] = 4
    nb["metadata"]["widgets"] = {WIDGET_STATE: {"state": {MODEL: widget_model()},
                                                "version_major": 2, "version_minor": 0}}
    for cell in nb["cells"]:
        del cell["id"]
        if cell["cell_type"] == "code":
            cell["metadata"]["execution"] = {"iopub.execute_input": "2026-11-20T12:00:00.000Z",
                                             "shell.execute_reply": "2026-11-20T12:00:01.000Z"}
    return nb


EDITORS = {"colab": as_colab, "vscode": as_vscode, "notebook7": as_notebook7,
           "jupyterlab3": as_jupyterlab3}
CELLS = len(nbformat.read(str(RELEASE), as_version=4).cells)
CHANGES = {
    "colab": ["removed widget state that nbconvert cannot render (widgets show as text)",
              "removed editor metadata: accelerator, colab, executionInfo, id, outputId",
              "upgraded nbformat 4.0 to 4.5", f"added cell ids to {CELLS} cells"],
    "vscode": ["removed editor metadata: vscode", "upgraded nbformat 4.4 to 4.5"],
    "notebook7": [],
    "jupyterlab3": ["upgraded nbformat 4.4 to 4.5", f"added cell ids to {CELLS} cells"],
}


def saved(editor: str, nb=None) -> str:
    """The file ``editor`` writes for ``nb`` (default: the release) with the student's work."""
    return json.dumps(EDITORS[editor](with_work(nb or nbformat.read(str(RELEASE), as_version=4))), indent=1)


def work(nb) -> list:
    """What the student wrote and ran: each cell's type, source, outputs and nbgrader metadata."""
    return [(c.cell_type, c.source, c.get("outputs"), c.metadata.get("nbgrader")) for c in nb.cells]


@pytest.mark.parametrize("editor", EDITORS)
def test_normalise_gives_valid_nbformat_4_5_and_keeps_the_work(editor, tmp_path):
    before = nbformat.reads(saved(editor), as_version=4)
    nb = copy.deepcopy(before)
    assert normalise(nb) == CHANGES[editor]
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5) and isvalid(nb)
    ids = [cell.id for cell in nb.cells]
    assert len(set(ids)) == len(ids) == CELLS
    assert work(nb) == work(before)
    for key in ("kernelspec", "language_info"):
        assert nb.metadata[key] == before.metadata[key]
    assert not set(nb.metadata) & set(EDITOR_NOTEBOOK_KEYS)
    assert not any(set(cell.metadata) & set(EDITOR_CELL_KEYS) for cell in nb.cells)
    if editor == "jupyterlab3":  # state nbconvert can render, and Jupyter's run timings, stay
        assert nb.metadata.widgets == before.metadata.widgets
        assert all(c.metadata.execution for c in nb.cells if c.cell_type == "code")
    if editor == "notebook7":
        assert nb == before
    assert normalise(nb) == [], "normalise changes a normal notebook no further"

    html = pdf.notebook_html(nb, tmp_path, ASSIGNMENT)  # the page the PDF command prints
    for text in (MARK, "STREAMTEXT", "RESULTTEXT", "ERRORTEXT"):
        assert text in html
    assert ("WIDGETTEXT" in html) == (editor != "jupyterlab3")  # a rendered widget replaces its text


def test_colab_widget_state_is_what_stops_nbconvert(tmp_path):
    """Without normalise, nbconvert's widget filter fails on Colab's notebook (the bug this fixes)."""
    nb = nbformat.reads(saved("colab"), as_version=4)
    with pytest.raises(pdf.PdfError, match=r"nbconvert could not render .*KeyError: 'state'"):
        pdf.notebook_html(nb, tmp_path, ASSIGNMENT)


def test_colab_notebook_prints_to_pdf(tmp_path):
    notebook = tmp_path / f"{ASSIGNMENT}.ipynb"
    notebook.write_text(saved("colab"))
    result = subprocess.run([sys.executable, "-m", "helpers.pdf", str(notebook)], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    out = notebook.with_suffix(".pdf")
    assert f"wrote {out}" in result.stdout and out.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run([ensure_program("pdftotext", "poppler-utils", "to check the printed PDF"),
                           str(out), "-"], check=True, capture_output=True, text=True, timeout=60).stdout
    for word in (MARK, "STREAMTEXT", "RESULTTEXT", "ERRORTEXT", "WIDGETTEXT"):
        assert word in text, f"{word} is missing from the PDF"


def test_a_notebook_that_cannot_be_repaired_fails_in_one_sentence(tmp_path, caplog):
    broken = json.loads(saved("colab"))
    stream = next(c for c in broken["cells"] if c.get("outputs"))["outputs"][0]
    del stream["name"]  # a stream output must say stdout or stderr
    nb = nbformat.reads(json.dumps(broken), as_version=4)
    before = copy.deepcopy(nb)
    with pytest.raises(NotebookFormatError, match=r"'name' is a required property \(at cells/\d+/outputs/0\)"):
        normalise(nb)
    assert nb == before, "a notebook that cannot be repaired is left as it was"

    # The PDF command: one line that says what to do, no traceback, no PDF.
    notebook = tmp_path / "broken.ipynb"
    notebook.write_text(json.dumps(broken))
    result = subprocess.run([sys.executable, "-m", "helpers.pdf", str(notebook)], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "cannot be printed because" in result.stderr and "File → Save Notebook" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.ipynb"]

    # nbgrader's step passes it on unchanged, with a one-line warning.
    step = NormaliseNotebook()
    caplog.clear()
    with caplog.at_level("WARNING"):
        out, _ = step.preprocess(nb, {"unique_key": "broken"})
    assert out == before
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and "\n" not in messages[0], messages
    assert messages[0].startswith("broken left as it is: it is not a valid nbformat 4.5 notebook")


def test_colab_submission_is_graded_and_gets_feedback(tmp_path):
    """A correct submission saved by Colab keeps every autograded point and gets feedback,
    also when its autograded notebook still holds Colab's widget state (graded before the
    sanitizing step normalised it)."""
    release = nbformat.read(str(RELEASE), as_version=4)
    source = notebooks.read(REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    course = Course.scratch(tmp_path, [ASSIGNMENT])
    course.release(ASSIGNMENT)
    course.submit("colab", ASSIGNMENT, saved("colab", notebooks.reference_submission(source, release)))
    course.autograde(ASSIGNMENT)

    graded = course.grades(ASSIGNMENT)["colab"]
    auto = {gid: g.score for gid, g in graded.items() if g.auto}
    grade_cells = [c for c in release.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert auto == {c.metadata.nbgrader.grade_id: c.metadata.nbgrader.points
                    for c in grade_cells if c.cell_type == "code"}, "every autograded point kept"

    path = tmp_path / "autograded" / "colab" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    autograded = nbformat.read(str(path), as_version=4)
    assert (autograded.nbformat, autograded.nbformat_minor) == (4, 5) and isvalid(autograded)
    assert not {"colab", "widgets", "accelerator"} & set(autograded.metadata)

    total = sum(c.metadata.nbgrader.points for c in grade_cells)
    score = f"Score: {sum(auto.values()):.1f} / {total:.1f}"  # written answers wait for a grader
    feedback = tmp_path / "feedback" / "colab" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    course.feedback(ASSIGNMENT, "colab")
    html = feedback.read_text()
    assert score in html and MARK in html and "BEGIN HIDDEN TESTS" not in html

    # Autograded before normalising was configured: Colab's widget state is still there.
    raw = json.loads(path.read_text())
    raw["metadata"]["widgets"] = {WIDGET_STATE: {MODEL: widget_model()}}
    path.write_text(json.dumps(raw))
    feedback.unlink()
    course.feedback(ASSIGNMENT, "colab")
    assert score in feedback.read_text()
