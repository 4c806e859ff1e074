"""Grade many submissions through nbgrader and judge them question by question.

Used for the mutant/variant catalogue (``catalogue``): every mutant must lose points
in its labelled question(s) and nowhere else; every variant must keep full marks.
"""
from __future__ import annotations

import os
import tempfile
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from instructor import names, notebooks
from instructor.course import REPO, Course, Grade


def grade_many(assignment: str, submissions: dict, jobs: int = 1,
               workdir: str | Path | None = None,
               seed_of=None) -> dict[str, dict[str, Grade]]:
    """Autograde ``{student: notebook}`` with ``jobs`` nbgrader processes in parallel.

    Each worker has its own scratch course (its own gradebook), so they never share a
    SQLite file. ``seed_of(student)``, if given, sets ``VAE_TEST_SEED`` for that student's
    grading (then each student is graded by its own nbgrader call).
    """
    students = sorted(submissions)
    shares = [students[k::jobs] for k in range(jobs) if students[k::jobs]]
    base = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="vae-grading-"))

    def work(k: int) -> dict[str, dict[str, Grade]]:
        threads = max(1, (os.cpu_count() or 1) // len(shares))
        course = Course.scratch(base / f"worker{k}", [assignment], threads=threads)
        course.release(assignment)
        for student in shares[k]:
            course.submit(student, assignment, submissions[student])
        if seed_of is None:
            course.autograde(assignment)
        else:
            for student in shares[k]:
                course.autograde(assignment, student, env={names.TEST_SEED: str(seed_of(student))})
        return course.grades(assignment)

    results: dict[str, dict[str, Grade]] = {}
    with ThreadPoolExecutor(max_workers=len(shares)) as pool:
        for part in pool.map(work, range(len(shares))):
            results.update(part)
    missing = set(students) - set(results)
    if missing:
        raise RuntimeError(f"nbgrader produced no grades for: {', '.join(sorted(missing))}")
    return results


def by_question(grades: dict[str, Grade], questions: dict[str, list[str]]) -> dict[str, tuple[float, float]]:
    """``{question: (score, max)}`` over the question's test cells."""
    out = {}
    for question, cells in questions.items():
        missing = [c for c in cells if c not in grades]
        if missing:
            raise KeyError(f"Question {question}: no grade for test cell(s) {', '.join(missing)}")
        out[question] = (sum(grades[c].score or 0.0 for c in cells), sum(grades[c].max_score for c in cells))
    return out


@dataclass
class Verdict:
    name: str
    ok: bool
    detail: str


def judge_mutant(name: str, labelled: tuple[str, ...], scores: dict[str, tuple[float, float]]) -> Verdict:
    lost = sorted(q for q, (s, m) in scores.items() if s < m - 1e-9)
    if not lost:
        return Verdict(name, False, f"not caught: full marks (should lose points in {', '.join(labelled)})")
    wrong = [q for q in lost if q not in labelled]
    if wrong:
        return Verdict(name, False, f"loses points outside its question(s): {', '.join(wrong)}")
    if not all(q in lost for q in labelled):
        kept = [q for q in labelled if q not in lost]
        return Verdict(name, False, f"keeps full marks in labelled question(s) {', '.join(kept)}")
    return Verdict(name, True, f"caught in {', '.join(lost)}")


def judge_full_marks(name: str, scores: dict[str, tuple[float, float]]) -> Verdict:
    lost = {q: s for q, (s, m) in scores.items() if s < m - 1e-9}
    if lost:
        return Verdict(name, False, "loses points in " + ", ".join(f"{q} ({s:g})" for q, s in sorted(lost.items())))
    return Verdict(name, True, "full marks")


def catalogue_submissions(catalogue, include: set[str] | None = None,
                          bundle_variants: bool = False) -> dict[str, tuple[str, object, object]]:
    """``{student: (kind, change, notebook)}`` for the reference, the mutants and the variants.

    With ``bundle_variants``, variants are graded in bundles (kind ``"variants"``, change: the
    tuple of variants) instead of one submission each: a bundle holds at most one variant
    per answer cell, all applied together. That is honest for variants, and stricter than
    one at a time: every question's tests run against the bundle's answer for that cell,
    and the bundle must keep every point. (Mutants are never bundled: a lost point could
    not be traced to one of them.)
    """
    a = catalogue.assignment
    source = notebooks.read(REPO / "source" / a / f"{a}.ipynb")
    release = notebooks.read(REPO / "release" / a / f"{a}.ipynb")
    regions = notebooks.solution_regions(source)
    out = {"reference": ("reference", None, notebooks.reference_submission(source, release))}
    for kind, changes in (("mutant", catalogue.mutants), ("variant", catalogue.variants)):
        chosen = [c for c in changes if include is None or c.name in include]
        if kind == "variant" and bundle_variants:
            for k, bundle in enumerate(bundles(chosen)):
                answers = changed_answers(regions, *bundle)
                nb = notebooks.fill(release, answers, notebooks.written_answers(source))
                out[f"variants-{k:02d}"] = ("variants", tuple(bundle), nb)
            continue
        for change in chosen:
            out[f"{kind}-{change.name}"] = (kind, change, apply(source, release, regions, change))
    return out


def bundles(changes) -> list[list]:
    """Group catalogue changes so that no group changes the same answer cell twice
    (first fit, in catalogue order)."""
    groups: list[list] = []
    for change in changes:
        for group in groups:
            if all(other.cell != change.cell for other in group):
                group.append(change)
                break
        else:
            groups.append([change])
    return groups


def apply(source, release, regions, change):
    """The reference submission with ``change`` (a catalogue entry) applied."""
    return notebooks.fill(release, changed_answers(regions, change), notebooks.written_answers(source))


def indentation(text: str) -> str:
    """The smallest leading whitespace of the non-blank lines of ``text``."""
    lines = [line for line in text.split("\n") if line.strip()]
    return min((line[:len(line) - len(line.lstrip())] for line in lines), key=len, default="")


def changed_answers(regions: dict[str, list[str]], *changes) -> dict[str, list[str]]:
    """Solution regions with catalogue changes applied; errors name the change at fault."""
    answers = {k: list(v) for k, v in regions.items()}
    for change in changes:
        if change.cell not in answers:
            raise KeyError(f"{change.name}: no answer cell {change.cell!r}")
        cell = answers[change.cell]
        for region, code in change.regions.items():
            if region >= len(cell):
                raise IndexError(f"{change.name}: cell {change.cell!r} has {len(cell)} regions")
            indent = indentation(cell[region])
            cell[region] = textwrap.indent(textwrap.dedent(code).strip("\n"), indent, lambda line: True)
        for old, new in change.edits:
            # Each region is followed by a line break in the master.
            hits = [k for k, text in enumerate(cell) if old in text + "\n"]
            if not hits:
                raise ValueError(f"{change.name}: {old!r} is not in the solution of {change.cell!r}")
            edited = (cell[hits[0]] + "\n").replace(old, new, 1)
            cell[hits[0]] = edited[:-1] if edited.endswith("\n") else edited
    return answers
