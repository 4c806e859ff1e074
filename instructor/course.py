"""An nbgrader course directory, driven through nbgrader's own command line."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from instructor import names, syntax

REPO = Path(__file__).resolve().parent.parent
HELPERS = REPO / "helpers"


@dataclass
class Grade:
    score: float | None  # None: waits for manual grading
    max_score: float
    auto: bool  # graded by a test cell (True) or by hand (False)


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message carries the end of its log, ``log`` all of it."""

    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.log = log


class Course:
    """A course root holding ``source/``, ``release/``, ``submitted/``, ``autograded/``,
    ``feedback/`` and the gradebook, like this repository.

    ``root`` defaults to the repository. Tests use a temporary copy so that they never touch
    an instructor's gradebook.
    """

    def __init__(self, root: str | Path = REPO, db_url: str | None = None,
                 threads: int | None = None) -> None:
        self.root = Path(root).resolve()
        self.db_url = db_url or f"sqlite:///{self.root / 'gradebook.db'}"
        self.threads = threads  # CPU threads per grading kernel (None: torch's default)

    @classmethod
    def scratch(cls, root: str | Path, assignments: list[str] | None = None,
                threads: int | None = None) -> "Course":
        """A fresh course at ``root`` with this repository's masters and configuration."""
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
        for assignment in assignments or assignment_names():
            shutil.copytree(REPO / "source" / assignment, root / "source" / assignment,
                            dirs_exist_ok=True)
        return cls(root, threads=threads)

    # ------------------------------------------------------------ nbgrader commands
    def nbgrader(self, *args: str, timeout: float | None = None,
                 env: dict[str, str] | None = None) -> str:
        exe = Path(sys.executable).parent / "nbgrader"
        env = {**os.environ, **(env or {})}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env[names.NBGRADER_DB_URL] = self.db_url
        if self.threads:
            env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(self.threads)
        result = subprocess.run([str(exe), *args, f"--CourseDirectory.root={self.root}",
                                 f"--CourseDirectory.db_url={self.db_url}"],
                                cwd=self.root, env=env, capture_output=True, text=True,
                                timeout=timeout)
        log = result.stdout + result.stderr
        if result.returncode != 0:
            tail = "\n".join(log.strip().splitlines()[-25:])
            raise NbgraderError(f"nbgrader {' '.join(args)} failed (exit {result.returncode}):\n{tail}", log)
        return log

    def release(self, assignment: str, into: Path | None = None) -> Path:
        """Generate the student version, with the student kit (the part of ``helpers/`` that
        the notebook uses, :func:`vendor_helpers`) beside the notebook."""
        self.nbgrader("generate_assignment", assignment, "--force")
        out = self.root / "release" / assignment
        vendor_helpers(out, assignment)
        return out

    def submit(self, student: str, assignment: str, notebook) -> Path:
        """Place a notebook as ``student``'s submission (as ``nbgrader collect`` would)."""
        folder = self.root / "submitted" / student / assignment
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        path = folder / f"{assignment}.ipynb"
        if isinstance(notebook, (str, bytes)):
            path.write_text(notebook if isinstance(notebook, str) else notebook.decode())
        else:
            nbformat.write(notebook, str(path))
        (folder / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC")
        return path

    def autograde(self, assignment: str, student: str | None = None,
                  env: dict[str, str] | None = None) -> str:
        args = ["autograde", assignment, "--force"]
        if student:
            args.append(f"--student={student}")
        return self.nbgrader(*args, env=env)

    def feedback(self, assignment: str, student: str | None = None) -> str:
        args = ["generate_feedback", assignment, "--force"]
        if student:
            args.append(f"--student={student}")
        return self.nbgrader(*args)

    def export(self, path: Path) -> Path:
        self.nbgrader("export", f"--to={path}")
        return path

    # ------------------------------------------------------------ gradebook
    def grades(self, assignment: str) -> dict[str, dict[str, Grade]]:
        """``{student: {grade_id: Grade}}`` for every graded submission of ``assignment``."""
        from nbgrader.api import Gradebook
        out: dict[str, dict[str, Grade]] = {}
        with Gradebook(self.db_url) as gb:
            for submission in gb.assignment_submissions(assignment):
                cells = {}
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        auto = grade.cell_type == "code"
                        cells[grade.name] = Grade(grade.score if (auto or not grade.needs_manual_grade)
                                                  else None, grade.max_score, auto)
                out[submission.student_id] = cells
        return out


def assignment_names() -> list[str]:
    """The assignments of this course: the folders of ``source/`` holding a notebook."""
    return sorted(p.parent.name for p in (REPO / "source").glob("*/*.ipynb"))


def questions(assignment: str, root: Path = REPO) -> dict[str, list[str]]:
    """The master notebook's question map, ``{question label: [test cells' grade_ids]}``
    (:func:`instructor.notebooks.question_map`)."""
    from instructor.notebooks import question_map, read
    return question_map(read(Path(root) / "source" / assignment / f"{assignment}.ipynb"))


def vendor_helpers(folder: Path, assignment: str | None = None) -> list[str]:
    """Copy the student kit into a release folder, so that a student who downloads only that
    folder can import it; returns the module names copied.

    Only ``helpers/`` is ever copied (the grader's oracles in ``grading/`` never are), and of
    it only what this assignment's notebook imports, with what those modules import in turn,
    plus :mod:`helpers.pdf` and :mod:`helpers.check_notebook` (the students' commands), and the
    release's list of cells that the check compares with (``helpers/cells_<assignment>.json``):
    another assignment's test kit stays out. ``assignment`` defaults to the folder's name.
    """
    notebook = folder / f"{assignment or folder.name}.ipynb"
    modules = kit_modules(notebook)
    target = folder / "helpers"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in modules:
        shutil.copy(HELPERS / f"{name}.py", target / f"{name}.py")
    # The release's list of cells, for the student's structure check (helpers.check_notebook).
    from helpers.check_notebook import manifest_of
    name = assignment or folder.name
    (target / f"cells_{name}.json").write_text(
        json.dumps(manifest_of(nbformat.read(str(notebook), as_version=4)), indent=1) + "\n")
    return modules


def kit_modules(notebook: Path) -> list[str]:
    """The modules of ``helpers/`` that ``notebook`` needs: ``__init__``, ``pdf``,
    ``check_notebook``, every
    ``helpers.X`` its code cells import, and their own imports of ``helpers`` modules,
    found by reading the code (imports inside functions count too)."""
    import ast

    def imported(code: str) -> set[str]:
        found = set()
        try:
            tree = syntax.parse(code)
        except SyntaxError:
            return found
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1:  # from .x import ... (inside helpers)
                    found.add(node.module or "__init__")
                    if not node.module:
                        found.update(a.name for a in node.names)
                elif node.module == "helpers":
                    found.update(a.name for a in node.names)
                elif node.module and node.module.startswith("helpers."):
                    found.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("helpers."))
        return {name for name in found if (HELPERS / f"{name}.py").exists()}

    nb = nbformat.read(str(notebook), as_version=4)
    code = "\n".join("\n".join(line for line in c.source.splitlines() if not line.lstrip().startswith(("%", "!")))
                     for c in nb.cells if c.cell_type == "code")
    todo = imported(code) | {"__init__", "pdf", "check_notebook"}
    done: set[str] = set()
    while todo:
        name = todo.pop()
        done.add(name)
        todo |= imported((HELPERS / f"{name}.py").read_text()) - done
    return sorted(done)
