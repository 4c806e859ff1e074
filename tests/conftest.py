"""Shared fixtures: one nbgrader run per assignment grades every catalogue submission."""
from __future__ import annotations

import os

# With more busy threads than cores, spinning OpenMP threads (torch's default) waste the cores
# that the thread they wait for needs: while the catalogue once graded in a background
# process, the training bench's test took 274 s instead of under 10 in a clean-clone run.
# Kept for any test that runs multi-threaded torch beside other processes (the grading
# kernels of JOBS=3 workers on 2 cores run one thread each, so it rarely acts now). PASSIVE
# makes them sleep (set before torch is imported here, inherited by every process the tests
# start; the sandbox passes it to the kernels).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402

from catalogue import load  # noqa: E402
from instructor import notebooks  # noqa: E402
from instructor.course import REPO, Course  # noqa: E402
from instructor.quality.verdicts import by_question, catalogue_submissions, grade_many  # noqa: E402

JOBS = int(os.environ.get("JOBS", "2"))


def catalogue_class(assignment: str):
    """``(catalogue, {student: (kind, change, notebook)})``: the catalogue's submissions with
    the variants bundled, the blank release and the reference a second time."""
    catalogue = load(assignment)
    subs = catalogue_submissions(catalogue, bundle_variants=True)
    release = notebooks.read(REPO / "release" / assignment / f"{assignment}.ipynb")
    subs["blank"] = ("blank", None, release)
    subs["reference-again"] = ("reference", None, subs["reference"][2])
    return catalogue, subs


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """``graded(assignment)`` -> (catalogue, submissions, grades, scratch folder): the
    :func:`catalogue_class` autograded with ``$JOBS`` nbgrader workers, once per assignment."""
    cache = {}

    def run(assignment: str):
        if assignment not in cache:
            catalogue, subs = catalogue_class(assignment)
            work = tmp_path_factory.mktemp(f"grading-{assignment}")
            grades = grade_many(assignment, {k: v[2] for k, v in subs.items()}, jobs=JOBS,
                                workdir=work)
            assert set(grades) == set(subs), "the graded class is not the catalogue's class"
            cache[assignment] = (catalogue, subs, grades, work)
        return cache[assignment]

    return run


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """``demo_run(assignment)`` -> (course root, printed output): ``make demo`` for one
    assignment on a scratch copy of the course, run once per session."""
    import contextlib
    import io

    from instructor import demo
    cache = {}

    def run(assignment: str):
        if assignment not in cache:
            root = tmp_path_factory.mktemp(f"demo-{assignment}")
            Course.scratch(root, [assignment])
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = demo.main([assignment, "--root", str(root)])
            assert code == 0, out.getvalue()
            cache[assignment] = (root, out.getvalue())
        return cache[assignment]

    return run


def cell_scores(course: Course, assignment: str, students) -> dict:
    """``{student: {test cell: score}}`` from ``course``'s gradebook, for ``students``."""
    return {s: {cell: g.score for cell, g in cells.items()}
            for s, cells in course.grades(assignment).items() if s in students}


def question_scores(catalogue, grades):
    return by_question(grades, catalogue.questions)


# Lines a test asks to see at the end of the run, whatever pytest's capture (report_line).
_REPORT: list[str] = []


def report_line(line: str) -> None:
    """Print ``line`` in the run's terminal summary (e.g. how long the Slurm test took)."""
    _REPORT.append(line)


def pytest_terminal_summary(terminalreporter):
    for line in _REPORT:
        terminalreporter.write_line(line)


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives JupyterLab in headless Chromium "
                                       "(tests/test_browser.py; make test-browser)")


def hidden_code(assignment: str, root=None) -> set[str]:
    """Lines of the master's hidden tests (code, not the messages, which are shown as hints)
    that no visible cell has: what no page meant for students or TAs may show."""
    from instructor import notebooks as nbs
    source = nbs.read((root or REPO) / "source" / assignment / f"{assignment}.ipynb")
    hidden, visible = [], []
    for cell in source.cells:
        parts = cell.source.split("### BEGIN HIDDEN TESTS")
        visible += [parts[0]] + [p.split("### END HIDDEN TESTS", 1)[-1] for p in parts[1:]]
        hidden += [p.split("### END HIDDEN TESTS", 1)[0] for p in parts[1:]]
    shown = "\n".join(visible)
    return {line.strip() for block in hidden for line in block.splitlines()
            if len(line.strip()) > 20 and line.strip() not in shown
            and not line.strip().startswith(("#", '"', "f\"", "'"))}
