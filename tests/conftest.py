"""Shared fixtures: one nbgrader run per assignment grades every catalogue submission (in the
background, :mod:`tests.background`, while the other tests run)."""
from __future__ import annotations

import os

# The catalogue grades in the background while the other tests run, so the machine runs more
# busy threads than it has cores. Spinning OpenMP threads (torch's default) then waste the
# cores that the thread they wait for needs: the training bench's test took 274 s instead of
# under 10 in a clean-clone run. PASSIVE makes them sleep (set before torch is imported here,
# inherited by every process the tests start; the sandbox passes it to the kernels).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402

from instructor.course import REPO, Course
from instructor.quality.verdicts import by_question
from tests.background import JOBS, Background, catalogue_class, grade  # noqa: F401 (JOBS: other tests import it from here)

_CATALOGUE = pytest.StashKey[list]()


def _catalogue_assignment(item) -> str | None:
    """The assignment whose catalogue grades ``item`` reads (its ``assignment`` parameter),
    or None if it reads none (or is not parametrised by one: then ``graded`` grades here)."""
    if "graded" not in getattr(item, "fixturenames", ()):
        return None
    return getattr(getattr(item, "callspec", None), "params", {}).get("assignment")


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected
def pytest_collection_modifyitems(session, config, items):
    """The tests that read the catalogue grades run last, grouped by assignment (not under
    ``--stepwise``, which skips by position)."""
    if config.getoption("stepwise", False) or config.getoption("stepwise_skip", False):
        return
    last = [item for item in items if _catalogue_assignment(item)]
    order = list(dict.fromkeys(_catalogue_assignment(item) for item in last))
    last.sort(key=lambda item: order.index(_catalogue_assignment(item)))
    items[:] = [item for item in items if not _catalogue_assignment(item)] + last


def pytest_collection_finish(session):
    """Notes, for :func:`catalogue_in_background`, the catalogues that the tests finally
    selected (after ``--lf``, ``--ff`` and the like) read, in the order they read them."""
    session.config.stash[_CATALOGUE] = list(dict.fromkeys(
        a for a in map(_catalogue_assignment, session.items) if a))


@pytest.fixture(scope="session", autouse=True)
def catalogue_in_background(request, tmp_path_factory):
    """Starts grading the catalogue classes of the selected tests in a background process
    (:mod:`tests.background`) when the session starts; None when no selected test reads
    them. The process is stopped at the session's end if it is still running."""
    needed = request.config.stash.get(_CATALOGUE, [])
    if not needed:
        yield None
        return
    job = Background(tmp_path_factory.mktemp("catalogue"), needed)
    yield job
    job.stop()


@pytest.fixture(scope="session")
def graded(catalogue_in_background, tmp_path_factory):
    """``graded(assignment)`` -> (catalogue, submissions, grades, scratch folder), graded once
    per assignment: by the background process when it has that assignment, else here."""
    cache = {}

    def run(assignment: str):
        if assignment not in cache:
            catalogue, subs = catalogue_class(assignment)
            job = catalogue_in_background
            if job is not None and assignment in job.assignments:
                grades, work = job.result(assignment)
            else:
                work = tmp_path_factory.mktemp(f"grading-{assignment}")
                grades = grade(assignment, work)
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
