"""The project's seams: packaging, the question map in the masters, one name in one place."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

from instructor import names, notebooks
from instructor.course import REPO, assignment_names, questions

CODE = [REPO / "nbgrader_config.py", *[p for d in ("instructor", "helpers", "grading", "bench", "catalogue")
                                       for p in sorted((REPO / d).rglob("*.py"))]]
PLACES = {REPO / "helpers" / "environment.py", REPO / "instructor" / "names.py"}


def _requirement(line: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[<>=!~;\[ ]", line.strip(), maxsplit=1)[0]).lower()


def test_requirements_hold_only_what_a_student_needs():
    """requirements.txt is the project's dependency list, and the grader's and the test
    suite's packages are extras, not something every student installs."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["tool"]["setuptools"]["dynamic"]["dependencies"]["file"] == ["requirements.txt"]
    student = {_requirement(line) for line in (REPO / "requirements.txt").read_text().splitlines()
               if line.split("#")[0].strip()}
    extras = {_requirement(req) for reqs in project["project"]["optional-dependencies"].values()
              for req in reqs if not req.startswith("vae-course")}
    assert extras >= {"pytest", "playwright", "psycopg2-binary"}
    assert not student & extras, f"requirements.txt makes every student install {sorted(student & extras)}"


def test_the_venv_imports_this_checkout():
    """make venv installs the project in editable mode: the course's packages come from this
    checkout, and no vae_course.pth from an older Makefile is left to point elsewhere."""
    import sysconfig
    import catalogue
    import helpers
    for package in (helpers, catalogue):
        assert Path(package.__file__).resolve().is_relative_to(REPO.resolve())
    assert not (Path(sysconfig.get_paths()["purelib"]) / "vae_course.pth").exists()


def test_kit_and_names_import_without_torch():
    """The constants and the student's check are read by the grader's processes (nbgrader's
    configuration, the sandbox); importing them must not import torch (seconds each)."""
    code = ("import sys, helpers.environment, helpers.check_notebook, helpers.budget, instructor.names;"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_each_name_is_written_in_one_place():
    """Environment variables and error names that cross a process boundary are written once
    (helpers/environment.py, instructor/names.py) and imported everywhere else."""
    values = {getattr(names, k) for k in dir(names) if k.isupper()}
    assert {"VAE_TEST_SEED", "KernelDied", "NotRun", "NBGRADER_EXECUTION"} <= values
    found = []
    for path in CODE:
        if path in PLACES:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            found += [f"{path.relative_to(REPO)}:{n}: {v}" for v in values
                      if f'"{v}"' in code or f"'{v}'" in code]
    assert not found, "write these through instructor.names / helpers.environment:\n" + "\n".join(found)


@pytest.mark.parametrize("assignment", assignment_names())
def test_every_test_cell_says_its_question(assignment):
    """The question map lives in the master: every autograded test cell carries a label,
    and the map covers every test cell exactly once."""
    master = notebooks.read(REPO / "source" / assignment / f"{assignment}.ipynb")
    tests = [notebooks.grade_id(c) for c in master.cells if notebooks.is_test_cell(c)]
    mapped = [cell for cells in questions(assignment).values() for cell in cells]
    assert sorted(mapped) == sorted(tests) and len(set(mapped)) == len(mapped)


def test_an_unlabelled_test_cell_is_named():
    nb = nbformat.v4.new_notebook()
    labelled = nbformat.v4.new_code_cell("assert True", metadata={
        "nbgrader": {"grade": True, "solution": False, "grade_id": "test_a", "points": 1},
        notebooks.QUESTION_KEY: {"question": "1a"}})
    bare = nbformat.v4.new_code_cell("assert True", metadata={
        "nbgrader": {"grade": True, "solution": False, "grade_id": "test_b", "points": 1}})
    nb.cells = [labelled]
    assert notebooks.question_map(nb) == {"1a": ["test_a"]}
    nb.cells = [labelled, bare]
    with pytest.raises(notebooks.QuestionMapError, match="test_b"):
        notebooks.question_map(nb)


def test_the_grader_parses_python_through_one_lock():
    """CPython 3.11's AST constructor keeps its recursion counter in shared state, so two
    grading threads in ast.parse at once can fail with "AST constructor recursion depth
    mismatch" (it failed a CI run: two grade_many workers released an assignment together).
    Every parse in the grader's code goes through instructor.syntax.parse, which holds a lock."""
    bare = [f"{path.relative_to(REPO)}:{n}" for path in CODE if path != REPO / "instructor" / "syntax.py"
            for n, line in enumerate(path.read_text().splitlines(), 1)
            if re.search(r"\bast\.parse\(", line.split("#")[0])]
    assert not bare, "parse with instructor.syntax.parse:\n" + "\n".join(bare)


def test_no_nbgrader_start_imports_rfc3987_syntax():
    """requirements.txt keeps jsonschema below 4.25, whose format checker imports
    rfc3987-syntax at start (1.5-2 s for every nbgrader process; bench/process_start.py)."""
    out = subprocess.run([sys.executable, "-c", "import sys, nbgrader.apps, jsonschema._format; "
                          "print('rfc3987_syntax' in sys.modules)"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
