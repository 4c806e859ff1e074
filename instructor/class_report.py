"""``make class-report ASSIGNMENT=<a>``: one HTML page on how a class did, after grading.

It reads the gradebook and the autograded notebooks of one assignment and shows:

- the distribution of the scores of each question and of the total (histograms);
- the most-failed checks: for each failing test, the message the student's feedback shows
  (:func:`instructor.feedback.summary`: the assertion's message, never the hidden code),
  how many students hit it and which;
- the incidents of the grading audit (:mod:`instructor.audit.incidents`), summed by kind;
- the grading time of each submission (the sandboxed kernel's wall time, ``.sandbox.json``);
- the manual-grading progress (written answers graded by hand, and still to grade);
- submissions whose own code looks copied (:mod:`instructor.similarity`), with the matching
  regions side by side.

The page is ``reports/<assignment>/class-report.html`` under the course root, its figures
embedded and also saved beside it as PNG files. Several course roots can be read as one
class (a class graded by several workers, each with its own gradebook).
"""
from __future__ import annotations

import argparse
import base64
import html
import io
import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from instructor import notebooks, similarity
from instructor.course import REPO, Course, Grade, questions as course_questions
from instructor.feedback import BEGIN as HIDDEN_BEGIN, failing_line, hidden_lines, summary

REPORTS = "reports"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
# Incident kinds, tried in order on each line of the audit (instructor.audit.incidents).
KINDS = [
    ("not graded", ("not graded:",)),
    ("tampering suspected (points withheld)", ("tampering suspected",)),
    ("timed out or out of time", ("timed out", "ran past the cell time limit", "wall-time")),
    ("kernel died or cells not run", ("not run after the kernel stopped", "kernel died", "kernel exited",
                                      "crashed")),
    ("memory or process limit", ("ran out of memory", "process limit")),
    ("sys.exit()", ("sys.exit()",)),
    ("output cut", ("printed more than",)),
    ("reaches outside its folder", ("tries to reach outside",)),
    ("module missing from the grading environment", ("which the grading environment does not have",)),
    ("cells repaired at intake", ("put back from the master", "metadata of", "cell type changed back",
                                  "split or copied", "became ordinary cells", "deleted and not put back")),
    ("locked cells or points restored", ("restored from it", "edited points restored")),
    ("other notebooks handed in", ("also handed in", "is the release as handed out", "in place of",
                                   "another notebook")),
]


@dataclass
class Student:
    """One submission: its grades (``{grade_id: Grade}``), kernel wall time in seconds
    (None without the sandbox), failed checks and audit lines."""
    name: str
    root: Path
    grades: dict[str, Grade]
    not_graded: bool = False
    wall_s: float | None = None
    failures: list[tuple[str, str]] = field(default_factory=list)  # (test cell, message shown)
    incidents: list[str] = field(default_factory=list)
    withheld: bool = False


@dataclass
class ClassData:
    """What the page shows: one assignment's questions and students."""
    assignment: str
    questions: dict[str, list[str]]  # question -> its test cells
    students: dict[str, Student]
    manual_cells: list[str]  # grade_ids graded by hand, in gradebook order

    def scores(self, student: Student) -> dict[str, tuple[float, float]]:
        """``{question: (points, maximum points)}`` over the question's test cells."""
        return {q: (sum(student.grades[c].score or 0.0 for c in cells if c in student.grades),
                    sum(student.grades[c].max_score for c in cells if c in student.grades))
                for q, cells in self.questions.items()}

    def total(self, student: Student) -> tuple[float, float]:
        """Autograded points and their maximum."""
        parts = self.scores(student).values()
        return sum(s for s, _ in parts), sum(m for _, m in parts)

    @property
    def graded(self) -> list[Student]:
        return [s for s in self.students.values() if not s.not_graded]


def gather(roots: list[Path], assignment: str, audit: bool = True) -> ClassData:
    """Everything the page shows, from the gradebooks and autograded notebooks of
    ``roots`` (course roots; their students are put together). Raises ValueError when a
    student is in two roots, or when no root has a graded submission of ``assignment``."""
    from instructor.audit import incidents
    roots = [Path(r).resolve() for r in roots]
    qmap = course_questions(assignment, roots[0])
    tests = {c for cells in qmap.values() for c in cells}
    students: dict[str, Student] = {}
    manual: list[str] = []
    for root in roots:
        course = Course(root)
        if course.db_url.startswith("sqlite:///") and not Path(course.db_url[len("sqlite:///"):]).exists():
            raise ValueError(f"{root} has no gradebook: run make autograde ASSIGNMENT={assignment} first")
        grades = course.grades(assignment)
        audits = incidents.audit(root, assignment, sorted(grades)) if audit else {}
        for name, cells in sorted(grades.items()):
            if name in students:
                raise ValueError(f"student {name!r} is in both {students[name].root} and {root}: "
                                 "give each course root once, with distinct students")
            manual += [c for c, g in cells.items() if not g.auto and c not in manual]
            s = Student(name, root, cells)
            s.not_graded = all(g.score is None for c, g in cells.items() if c in tests)
            folder = root / "autograded" / name / assignment
            s.wall_s = _wall_time(folder)
            path = folder / f"{assignment}.ipynb"
            if path.exists():
                s.failures = failed_checks(nbformat.read(str(path), as_version=4), tests)
            if name in audits:
                s.incidents, s.withheld = audits[name].lines, audits[name].withheld
                s.not_graded = s.not_graded or bool(audits[name].not_graded)
            students[name] = s
    if not students:
        raise ValueError(f"no graded submission of {assignment} in {', '.join(map(str, roots))}: "
                         f"run make autograde ASSIGNMENT={assignment} first")
    return ClassData(assignment, qmap, students, manual)


def _wall_time(folder: Path) -> float | None:
    from instructor.sandbox import RECORD
    try:
        return float(json.loads((folder / RECORD).read_text())["wall_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # graded without the sandbox (SANDBOX=off), or not graded


def failed_checks(graded, tests: set[str]) -> list[tuple[str, str]]:
    """``[(test cell, message)]`` for each error output of ``graded``'s test cells, the
    message being the one line the student's feedback shows for it
    (:func:`instructor.feedback.summary`): hidden code never appears in it."""
    out = []
    for cell in graded.cells:
        gid = notebooks.grade_id(cell)
        if cell.cell_type != "code" or gid not in tests:
            continue
        hidden = hidden_lines(cell.source) if HIDDEN_BEGIN in cell.source else set()
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                line = failing_line(output, cell.get("execution_count"))
                out.append((gid, summary(output, line in hidden)))
    return out


def kind_of(line: str) -> str:
    for kind, marks in KINDS:
        if any(mark in line for mark in marks):
            return kind
    return "other"


# ------------------------------------------------------------------ figures
def _figure_png(fig) -> bytes:
    import matplotlib.pyplot as plt
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _bins(top: float) -> list[float]:
    step = max(top / 20, 0.5) if top > 10 else 0.5 if top > 2 else 0.25
    edges, x = [], -step / 2
    while x <= top + step / 2 + 1e-9:
        edges.append(x)
        x += step
    return edges + [x]


def figures(data: ClassData) -> dict[str, bytes]:
    """``{file name: PNG}``: scores per question, total, grading time, incidents, manual."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    graded = data.graded
    out = {}
    qs = list(data.questions)
    cols = min(4, max(1, len(qs)))
    rows = max(1, -(-len(qs) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax, q in zip(axes.flat, qs):
        values = [data.scores(s)[q][0] for s in graded]
        top = max((data.scores(s)[q][1] for s in graded), default=1.0)
        ax.hist(values, bins=_bins(top), color="#4c72b0", edgecolor="white")
        ax.set_title(f"{q} (max {top:g})", fontsize=9)
        ax.set_xlabel("points", fontsize=8)
        ax.set_ylabel("students", fontsize=8)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in list(axes.flat)[len(qs):]:
        ax.axis("off")
    if not qs:
        axes.flat[0].text(0.5, 0.5, "no autograded questions in the master", ha="center",
                          transform=axes.flat[0].transAxes)
    fig.tight_layout()
    out["scores-per-question.png"] = _figure_png(fig)

    fig, ax = plt.subplots(figsize=(7, 3))
    totals = [data.total(s)[0] for s in graded]
    top = max((data.total(s)[1] for s in graded), default=1.0)
    ax.hist(totals, bins=_bins(top), color="#55a868", edgecolor="white")
    ax.set(title=f"autograded total (max {top:g})", xlabel="points", ylabel="students")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    out["scores-total.png"] = _figure_png(fig)

    times = [s.wall_s for s in data.students.values() if s.wall_s is not None]
    fig, ax = plt.subplots(figsize=(7, 3))
    if times:
        ax.hist(times, bins=min(30, max(5, len(times) // 5)), color="#8172b2", edgecolor="white")
    else:
        ax.text(0.5, 0.5, "no grading time recorded (graded without the sandbox)", ha="center",
                transform=ax.transAxes)
    ax.set(title="grading time per submission", xlabel="seconds (kernel wall time)", ylabel="students")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    out["grading-time.png"] = _figure_png(fig)

    kinds = Counter(kind_of(line) for s in data.students.values() for line in s.incidents)
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.35 * max(1, len(kinds))))
    if kinds:
        names, counts = zip(*kinds.most_common()[::-1])
        ax.barh(names, counts, color="#c44e52")
    else:
        ax.text(0.5, 0.5, "no incidents", ha="center", transform=ax.transAxes)
    ax.set(title="incidents by kind", xlabel="findings")
    out["incidents.png"] = _figure_png(fig)

    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.35 * max(1, len(data.manual_cells))))
    if data.manual_cells:
        done = [sum(1 for s in graded if c in s.grades and s.grades[c].score is not None)
                for c in data.manual_cells]
        ax.barh(data.manual_cells, done, color="#55a868", label="graded")
        ax.barh(data.manual_cells, [len(graded) - d for d in done], left=done, color="#dddddd",
                label="to grade")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "nothing to grade by hand", ha="center", transform=ax.transAxes)
    ax.set(title="manual grading progress", xlabel="submissions")
    out["manual-grading.png"] = _figure_png(fig)
    return out


# ------------------------------------------------------------------ the page
CSS = """
body { font-family: sans-serif; margin: 2em; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }
img { max-width: 100%; border: 1px solid #eee; }
pre { white-space: pre-wrap; margin: 0; font-size: 0.85em; }
table.side td { width: 50%; } mark { background: #ffe08a; }
.note { color: #555; }
"""


def _e(text) -> str:
    return html.escape(str(text))


def build(data: ClassData, out_dir: Path, similar: bool = True, threshold: float = similarity.THRESHOLD) -> Path:
    """Write ``out_dir/class-report.html`` and its PNG figures; returns the page's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    pngs = figures(data)
    for name, png in pngs.items():
        (out_dir / name).write_bytes(png)

    def img(name: str, alt: str) -> str:
        uri = "data:image/png;base64," + base64.b64encode(pngs[name]).decode()
        return f'<img class="figure" data-file="{name}" alt="{_e(alt)}" src="{uri}">'

    graded = data.graded
    all_students = sorted(data.students)
    parts = [f"<h1>Class report: {_e(data.assignment)}</h1>",
             f'<p id="counts"><span data-count="submissions">{len(all_students)}</span> submissions: '
             f'<span data-count="graded">{len(graded)}</span> graded, '
             f'<span data-count="not-graded">{len(all_students) - len(graded)}</span> not graded.</p>']

    # scores
    parts.append("<h2>Scores</h2>")
    parts.append(img("scores-total.png", "histogram of the autograded total"))
    parts.append(img("scores-per-question.png", "histograms of the scores per question"))
    head = "".join(f"<th>{_e(q)}</th>" for q in data.questions)
    mean_row = "".join(
        f"<td>{sum(data.scores(s)[q][0] for s in graded) / max(1, len(graded)):.2f}</td>" for q in data.questions)
    full_row = "".join(
        f"<td>{sum(1 for s in graded if data.scores(s)[q][0] >= data.scores(s)[q][1] - 1e-9)}</td>"
        for q in data.questions)
    parts.append(f"<table id='question-summary'><tr><th></th>{head}</tr>"
                 f"<tr><th>mean points</th>{mean_row}</tr><tr><th>full marks (students)</th>{full_row}</tr></table>")
    rows = []
    for name in all_students:
        s = data.students[name]
        if s.not_graded:
            cells = "".join("<td>not graded</td>" for _ in data.questions)
            rows.append(f"<tr data-student='{_e(name)}'><td>{_e(name)}</td>{cells}<td data-total=''>not graded</td></tr>")
            continue
        sc = data.scores(s)
        total, top = data.total(s)
        cells = "".join(f"<td>{sc[q][0]:g}</td>" for q in data.questions)
        rows.append(f"<tr data-student='{_e(name)}'><td>{_e(name)}</td>{cells}"
                    f"<td data-total='{total:g}'>{total:g}/{top:g}</td></tr>")
    parts.append(f"<details><summary>Scores of every student</summary><table id='scores'>"
                 f"<tr><th>student</th>{head}<th>total</th></tr>{''.join(rows)}</table></details>")

    # most-failed checks: one row per test cell and message, numbers aside (a message that
    # quotes the student's values is one check failing)
    hits: dict[tuple[str, str], list[str]] = {}
    shown: dict[tuple[str, str], list[str]] = {}
    for s in graded:
        for cell, message in dict.fromkeys(s.failures):
            key = (cell, NUMBER.sub("#", message))
            if message not in shown.setdefault(key, []):
                shown[key].append(message)
            if s.name not in hits.setdefault(key, []):
                hits[key].append(s.name)
    question_of = {c: q for q, cells in data.questions.items() for c in cells}
    parts.append("<h2>Most-failed checks</h2><p class='note'>Each failing check with the message "
                 "the students' feedback shows (never the test's code).</p>")
    rows = []
    for (cell, pattern), who in sorted(hits.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        message = shown[(cell, pattern)][0]
        note = " <i>(its numbers vary by student; the first is shown)</i>" if len(shown[(cell, pattern)]) > 1 else ""
        rows.append(f"<tr class='failed-check'><td>{_e(question_of.get(cell, ''))}</td><td>{_e(cell)}</td>"
                    f"<td><pre>{_e(message)}</pre>{note}</td><td data-hits='{len(who)}'>{len(who)}</td>"
                    f"<td><details><summary>{len(who)} student(s)</summary>{_e(', '.join(who))}</details></td></tr>")
    parts.append("<table id='failed-checks'><tr><th>question</th><th>test cell</th><th>message shown</th>"
                 f"<th>students</th><th>who</th></tr>{''.join(rows)}</table>" if rows
                 else "<p>No check failed.</p>")

    # incidents
    kinds: dict[str, list[str]] = {}
    for s in data.students.values():
        for line in s.incidents:
            kinds.setdefault(kind_of(line), []).append(s.name)
    parts.append("<h2>Incidents</h2>" + img("incidents.png", "incidents by kind"))
    rows = [f"<tr><td>{_e(k)}</td><td data-incidents='{len(v)}'>{len(v)}</td>"
            f"<td>{_e(', '.join(sorted(set(v))))}</td></tr>"
            for k, v in sorted(kinds.items(), key=lambda kv: -len(kv[1]))]
    parts.append(f"<table id='incidents'><tr><th>kind</th><th>findings</th><th>students</th></tr>{''.join(rows)}</table>"
                 if rows else "<p>No incidents.</p>")

    # grading time
    times = sorted(s.wall_s for s in data.students.values() if s.wall_s is not None)
    parts.append("<h2>Grading time</h2>" + img("grading-time.png", "grading time per submission"))
    if times:
        parts.append(f"<p id='grading-time'>{len(times)} submissions: median {times[len(times) // 2]:.1f} s, "
                     f"longest {times[-1]:.1f} s, total {sum(times) / 60:.1f} min of kernel time.</p>")

    # manual grading
    parts.append("<h2>Manual grading</h2>" + img("manual-grading.png", "manual grading progress"))
    if data.manual_cells:
        pending = sum(1 for s in graded for c in data.manual_cells if c in s.grades and s.grades[c].score is None)
        answers = sum(1 for s in graded for c in data.manual_cells if c in s.grades)
        parts.append(f"<p id='manual'><span data-manual='graded'>{answers - pending}</span> of "
                     f"<span data-manual='answers'>{answers}</span> written answers have a grade (nbgrader gives 0 "
                     f"to an answer left blank); <span data-manual='pending'>{pending}</span> to grade by hand "
                     f"(make lab, then Formgrader).</p>")

    # similarity
    if similar:
        parts.append(similarity_section(data, threshold))
    parts.append(f"<p class='note'>Written in {time.perf_counter() - started:.1f} s.</p>")
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Class report: {_e(data.assignment)}</title>"
            f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>")
    path = out_dir / "class-report.html"
    path.write_text(page)
    return path


def similarity_section(data: ClassData, threshold: float) -> str:
    release = _release(data)
    answers, skipped = {}, []
    for s in data.graded:
        path = s.root / "autograded" / s.name / data.assignment / f"{data.assignment}.ipynb"
        if path.exists():
            try:
                cells = similarity.own_code(notebooks.read(path), release)
            except ValueError as err:  # one odd notebook leaves only itself out
                skipped.append(f"{s.name} ({err})")
                continue
            answers[s.name] = similarity.answers_of(s.name, cells)
    given = "\n".join(c.source for c in release.cells if c.cell_type == "code")
    pairs, figures_ = similarity.compare(list(answers.values()), threshold, given=given)
    out = [f"<h2>Similar submissions</h2><p class='note'>Each student's own code (what differs from the "
           f"release in the answer cells), compared with copydetect's k-gram fingerprints; code found in "
           f"more than {figures_['common']} submissions is ignored. {figures_['pairs_compared']} pairs "
           f"compared; <span data-count=\"similar-pairs\">{len(pairs)}</span> above {threshold:.0%}.</p>"]
    if skipped:
        out.append(f"<p class='note'>Not compared: {_e('; '.join(skipped))}.</p>")
    for p in pairs:
        out.append(f"<details class='pair' data-pair='{_e(p.a)}|{_e(p.b)}'><summary>{_e(p.a)} and {_e(p.b)}: "
                   f"{p.similarity:.0%}</summary>{similarity.side_by_side(p, answers)}</details>")
    return "".join(out)


def _release(data: ClassData):
    for s in data.students.values():
        path = s.root / "release" / data.assignment / f"{data.assignment}.ipynb"
        if path.exists():
            return notebooks.read(path)
    fallback = REPO / "release" / data.assignment / f"{data.assignment}.ipynb"
    if not fallback.exists():
        raise ValueError(f"no release/{data.assignment}/{data.assignment}.ipynb in the course: "
                         "generate the release first (make release)")
    return notebooks.read(fallback)


def write(roots: list[Path], assignment: str, out_dir: Path | None = None, similar: bool = True) -> Path:
    """Gather and build: the report of ``assignment`` over ``roots`` (default folder:
    ``<first root>/reports/<assignment>/``)."""
    data = gather(roots, assignment)
    return build(data, out_dir or Path(roots[0]) / REPORTS / assignment, similar)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--root", action="append", help="course root (repeat for several; default: this repository)")
    parser.add_argument("--out", help="output folder (default: <root>/reports/<assignment>)")
    parser.add_argument("--no-similarity", action="store_true", help="leave out the similarity section")
    args = parser.parse_args(argv)
    roots = [Path(r) for r in (args.root or [REPO])]
    for root in roots:
        if not (root / "source" / args.assignment).is_dir():
            parser.error(f"{root} has no source/{args.assignment}: give a course root and one of its assignments")
    started = time.perf_counter()
    try:
        path = write(roots, args.assignment, Path(args.out) if args.out else None, not args.no_similarity)
    except ValueError as err:
        print(f"error: {err}")
        return 2
    print(f"Class report: {path} ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
