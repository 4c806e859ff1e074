"""The masters in source/ and the committed student versions in release/."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from instructor import notebooks
from instructor.course import HELPERS, REPO, Course, assignment_names
from tests.catalogue import load

ASSIGNMENTS = assignment_names()
EXPECTED_POINTS = {"vae_cvae": 28, "kl_annealing": 22, "fashion_vae": 18}


def source(a):
    return notebooks.read(REPO / "source" / a / f"{a}.ipynb")


def release(a):
    return notebooks.read(REPO / "release" / a / f"{a}.ipynb")


def meta(cell):
    return cell.metadata.get("nbgrader", {})


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_has_no_outputs(assignment):
    dirty = [i for i, c in enumerate(source(assignment).cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"source/{assignment} carries outputs in cells {dirty}: clear them before committing"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_points_and_cell_types(assignment):
    cells = source(assignment).cells
    auto = sum(meta(c).get("points", 0) for c in cells if meta(c).get("grade") and c.cell_type == "code")
    manual = sum(meta(c).get("points", 0) for c in cells if meta(c).get("grade") and c.cell_type == "markdown")
    assert auto > 0 and manual > 0, "each assignment has autograded and manually graded points"
    if assignment in EXPECTED_POINTS:
        assert auto + manual == EXPECTED_POINTS[assignment]
    for c in cells:
        m = meta(c)
        if m.get("grade") and c.cell_type == "code":
            assert m.get("locked") and "### BEGIN HIDDEN TESTS" in c.source, f"{m['grade_id']}: test cells are locked and have hidden tests"
            assert c.source.lstrip().startswith('"""'), f"{m['grade_id']}: test cells open with a one-line docstring"
            assert "assert" in c.source.split("### BEGIN HIDDEN TESTS")[0], f"{m['grade_id']}: needs visible asserts"
        if m.get("solution") and c.cell_type == "code":
            assert "### BEGIN SOLUTION" in c.source, f"{m['grade_id']}: answer cells mark their solution"
        if m.get("solution") and c.cell_type == "markdown":
            assert "**Mark scheme" in c.source, f"{m['grade_id']}: written answers carry a mark scheme"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_test_cell_belongs_to_a_question(assignment):
    tests = {meta(c)["grade_id"] for c in source(assignment).cells if meta(c).get("grade") and c.cell_type == "code"}
    mapped = {cell for cells in load(assignment).questions.values() for cell in cells}
    assert tests == mapped, f"catalogue questions and test cells differ: {sorted(tests ^ mapped)}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_matches_a_fresh_generation(assignment, tmp_path):
    course = Course.scratch(tmp_path, [assignment])
    fresh = course.release(assignment)
    committed = REPO / "release" / assignment
    assert json.loads((fresh / f"{assignment}.ipynb").read_text()) == \
        json.loads((committed / f"{assignment}.ipynb").read_text()), \
        f"release/{assignment} is out of date with source/: run `make release`"
    for module in HELPERS.glob("*.py"):
        copy = committed / "helpers" / module.name
        assert copy.exists() and copy.read_text() == module.read_text(), \
            f"release/{assignment}/helpers/{module.name} is out of date: run `make release`"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_leaks_no_solution_hidden_test_or_mark_scheme(assignment):
    text = (REPO / "release" / assignment / f"{assignment}.ipynb").read_text()
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "BEGIN MARK SCHEME", "Mark scheme", "Model answer"):
        assert marker not in text, f"release/{assignment} leaks {marker!r}"
    rel = release(assignment)
    released = "\n".join(c.source for c in rel.cells)
    visible = "\n".join(_visible_part(c.source) for c in source(assignment).cells)
    for cell in source(assignment).cells:
        if meta(cell).get("grade") and cell.cell_type == "code":
            hidden = cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
            for line in hidden.strip().splitlines():
                if len(line.strip()) > 25 and line.strip() not in visible:
                    assert line.strip() not in released, f"hidden test line leaked: {line.strip()}"
    for gid, regions in notebooks.solution_regions(source(assignment)).items():
        for region in regions:
            for line in region.splitlines():
                if len(line.strip()) > 30 and line.strip() not in visible:
                    assert line.strip() not in released, f"{gid}: solution line leaked: {line.strip()}"
    stubs = sum(c.source.count("# YOUR CODE HERE") for c in rel.cells if c.cell_type == "code")
    assert stubs == sum(len(r) for r in notebooks.solution_regions(source(assignment)).values())


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_validates(assignment, tmp_path):
    """nbgrader validate runs the master with its solutions: every test must pass."""
    course = Course.scratch(tmp_path, [assignment])
    log = course.nbgrader("validate", str(tmp_path / "source" / assignment / f"{assignment}.ipynb"))
    assert "Success! Your notebook passes all the tests." in log, log[-3000:]


def _visible_part(text: str) -> str:
    """A cell's text without its hidden-test and solution regions."""
    out, skip = [], False
    for line in text.split("\n"):
        if "### BEGIN HIDDEN TESTS" in line or "### BEGIN SOLUTION" in line:
            skip = True
        elif "### END HIDDEN TESTS" in line or "### END SOLUTION" in line:
            skip = False
        elif not skip:
            out.append(line)
    return "\n".join(out)
