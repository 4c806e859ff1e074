"""An nbgrader course directory, driven through nbgrader's own command line."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
HELPERS = REPO / "helpers"


@dataclass
class Grade:
    score: float | None  # None: waits for manual grading
    max_score: float
    auto: bool  # graded by a test cell (True) or by hand (False)


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message carries the end of its log."""


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
        env["NBGRADER_DB_URL"] = self.db_url
        if self.threads:
            env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(self.threads)
        result = subprocess.run([str(exe), *args, f"--CourseDirectory.root={self.root}",
                                 f"--CourseDirectory.db_url={self.db_url}"],
                                cwd=self.root, env=env, capture_output=True, text=True,
                                timeout=timeout)
        log = result.stdout + result.stderr
        if result.returncode != 0:
            tail = "\n".join(log.strip().splitlines()[-25:])
            raise NbgraderError(f"nbgrader {' '.join(args)} failed (exit {result.returncode}):\n{tail}")
        return log

    def release(self, assignment: str, into: Path | None = None) -> Path:
        """Generate the student version, with a copy of ``helpers/`` beside the notebook."""
        self.nbgrader("generate_assignment", assignment, "--force")
        out = self.root / "release" / assignment
        vendor_helpers(out)
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


def vendor_helpers(folder: Path) -> None:
    """Copy ``helpers/`` (Python files only) into a release folder, so that a student who
    downloads only that folder can import it."""
    target = folder / "helpers"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for module in sorted(HELPERS.glob("*.py")):
        shutil.copy(module, target / module.name)
