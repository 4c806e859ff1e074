"""The masters in source/ and the committed student versions in release/."""
from __future__ import annotations

import ast
import json
import re
import textwrap

import pytest

from instructor import notebooks
from instructor.course import HELPERS, REPO, Course, assignment_names, kit_modules
from catalogue import load

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
    kit = {f"{name}.py" for name in kit_modules(committed / f"{assignment}.ipynb")}
    cells = f"cells_{assignment}.json"  # the release's list of cells for helpers.check_notebook
    shipped = {p.name for p in (committed / "helpers").iterdir()}
    assert shipped == kit | {cells}, \
        f"release/{assignment}/helpers/ should hold exactly {sorted(kit | {cells})}: run `make release`"
    assert (committed / "helpers" / cells).read_text() == (fresh / "helpers" / cells).read_text(), \
        f"release/{assignment}/helpers/{cells} is out of date: run `make release`"
    for name in kit:
        assert (committed / "helpers" / name).read_text() == (HELPERS / name).read_text(), \
            f"release/{assignment}/helpers/{name} is out of date: run `make release`"


def test_a_release_ships_only_its_own_test_kit():
    """Each assignment's stand-ins go to its own release folder only."""
    own = {"kl_annealing": "annealing_checks.py", "fashion_vae": "fashion_checks.py"}
    for assignment in ASSIGNMENTS:
        shipped = {p.name for p in (REPO / "release" / assignment / "helpers").iterdir()}
        for other, module in own.items():
            assert (module in shipped) == (other == assignment), f"release/{assignment} ships {sorted(shipped)}"


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


# ------------------------------------------------------------------ the whole-folder leak test
GRADER_ONLY = REPO / "grading"
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "BEGIN MARK SCHEME", "Mark scheme", "Model answer")


def _shipped_files(assignment):
    files = [p for p in sorted((REPO / "release" / assignment).rglob("*")) if p.is_file()]
    assert files, f"release/{assignment} is empty"
    return files


def _shipped_code(path) -> str:
    """The Python a shipped file holds that is not given code: a module's text, or a
    notebook's test cells."""
    if path.suffix == ".ipynb":
        nb = notebooks.read(path)
        return "\n".join(_python(c.source) for c in nb.cells if notebooks.is_test_cell(c))
    return path.read_text() if path.suffix == ".py" else ""


def _given_prints() -> set[str]:
    """Fingerprints of the code the release notebooks give: every code cell but the tests,
    and the code in the instructions' text (``y = F.one_hot(y, 10).float()`` in a hint)."""
    out = set()
    for a in ASSIGNMENTS:
        for c in release(a).cells:
            if c.cell_type == "code" and not notebooks.is_test_cell(c):
                out |= _fingerprints(_python(c.source))
            elif c.cell_type == "markdown":
                for span in re.findall(r"```(?:python)?\n(.*?)```|`([^`\n]+)`", c.source, flags=re.S):
                    out |= _fingerprints(textwrap.dedent(span[0] or span[1]))
    return out


def _python(source: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))


def _grader_only_names() -> set[str]:
    """The public functions and classes that the grader-only package defines."""
    names = set()
    for module in GRADER_ONLY.glob("*.py"):
        for node in ast.parse(module.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                names.add(node.name)
    return names


class _Anonymise(ast.NodeTransformer):
    def visit_Name(self, node):
        return ast.copy_location(ast.Name(id="v", ctx=ast.Load()), node)


def _fingerprints(code: str, min_nodes: int = 6) -> set[str]:
    """Every expression of ``code`` with at least ``min_nodes`` expression nodes, a call
    among them, with its variable names erased: a copy with renamed variables
    has the same fingerprint."""
    try:
        tree = _Anonymise().visit(ast.parse(code))
    except SyntaxError:
        return set()
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.expr):
            parts = [n for n in ast.walk(node) if isinstance(n, ast.expr)]
            if len(parts) >= min_nodes and any(isinstance(n, ast.Call) for n in parts):
                out.add(ast.dump(node, annotate_fields=False))
    return out


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_file_of_a_release_folder_answers_a_graded_question(assignment):
    """Every file a release folder ships, the student kit included: no solution, hidden-test
    or mark-scheme text, nothing of the grader-only package, and no expression of any
    master's solutions (also with its variables renamed) that the release notebooks do not
    already give as code to complete."""
    files = _shipped_files(assignment)
    assert not [p for p in files if "grading" in p.relative_to(REPO / "release").parts], "a grader-only module is shipped"
    grader_texts = {p.read_text() for p in GRADER_ONLY.glob("*.py")}
    names = _grader_only_names()
    assert {"reference_vae_loss", "TinyVAE", "reference_kl_divergence", "TinySeedVAE"} <= names
    masters = [notebooks.read(REPO / "source" / a / f"{a}.ipynb") for a in ASSIGNMENTS]
    visible_text = "\n".join(_visible_part(c.source) for nb in masters for c in nb.cells)
    solution_lines = {line.strip() for nb in masters for regions in notebooks.solution_regions(nb).values()
                      for region in regions for line in region.split("\n")
                      if len(line.strip()) > 30 and line.strip() not in visible_text}
    solution_prints = set()
    for nb in masters:
        for regions in notebooks.solution_regions(nb).values():
            for region in regions:
                solution_prints |= _fingerprints(_dedent_code(region))
    solution_prints -= _given_prints()
    assert solution_prints, "no solution expression was read from the masters"
    for path in files:
        name = path.relative_to(REPO)
        text = path.read_text(errors="replace")
        for marker in MARKERS:
            assert marker not in text, f"{name} leaks {marker!r}"
        assert text not in grader_texts, f"{name} is a copy of a grader-only module"
        code = _shipped_code(path)
        for node in ast.walk(ast.parse(code)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            assert not [m for m in modules if m.split(".")[0] == "grading"], f"{name} imports the grader-only package"
        used = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", code))
        assert not used & names, f"{name} names grader-only functions: {sorted(used & names)}"
        for line in solution_lines:
            assert line not in text, f"{name} holds a solution line: {line}"
        leaked = _fingerprints(code) & solution_prints
        assert not leaked, f"{name} holds {len(leaked)} solution expression(s), e.g. {sorted(leaked)[0][:200]}"


def _dedent_code(region: str) -> str:
    return textwrap.dedent(region)


def test_the_leak_test_flags_a_renamed_copy_of_a_solution():
    """The fingerprints see through renamed variables, and tell an answer from given code."""
    region = notebooks.solution_regions(notebooks.read(REPO / "source" / "kl_annealing" / "kl_annealing.ipynb"))["kl_divergence"][0]
    renamed = _dedent_code(region).replace("mu", "m").replace("log_var", "s")
    copy = f"def helper(m, s):\n    {renamed.strip()}\n"
    assert _fingerprints(copy) & _fingerprints(_dedent_code(region)) - _given_prints()
    assert not _fingerprints("def helper(x):\n    return x.sum(dim=0)\n") & _fingerprints(_dedent_code(region))


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


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_autograded_answer_cell_has_a_cheat_in_the_catalogue(assignment):
    """The cheat family answers each autograded answer cell by calling what the release
    folder ships; tests/test_grading.py grades them, and each must lose its points."""
    catalogue = load(assignment)
    graded_cells = {m.cell for m in catalogue.mutants if m.family != "cheat"}
    cheats = [m for m in catalogue.mutants if m.family == "cheat"]
    assert graded_cells <= {m.cell for m in cheats}, \
        f"answer cells without a cheat: {sorted(graded_cells - {m.cell for m in cheats})}"
    for m in cheats:
        code = "\n".join(list(m.regions.values()) + [new for _, new in m.edits])
        assert "from helpers" in code or "import helpers" in code, f"{m.name} calls nothing the release ships"
