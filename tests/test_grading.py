"""Autograding through nbgrader: reference, blank, mutants and variants of each assignment."""
from __future__ import annotations

import json

import pytest

from instructor.course import assignment_names
from instructor.quality.verdicts import judge_full_marks, judge_mutant
from tests.conftest import question_scores

ASSIGNMENTS = assignment_names()
# vae_cvae: digits, 2 training curves, latent grid and scatter, CVAE grids for 4 and 8, CVAE scatter.
MIN_FIGURES = {"vae_cvae": 8}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_gets_every_autograded_point(graded, assignment):
    catalogue, _, grades, _ = graded(assignment)
    verdict = judge_full_marks("reference", question_scores(catalogue, grades["reference"]))
    assert verdict.ok, verdict.detail


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_same_submission_graded_twice_gets_identical_scores(graded, assignment):
    """The reference is graded twice, by different workers (names are dealt round-robin)."""
    _, _, grades, work = graded(assignment)
    first = {cell: g.score for cell, g in grades["reference"].items()}
    again = {cell: g.score for cell, g in grades["reference-again"].items()}
    assert first and first == again
    workers = {p.parts[-3] for p in work.glob("worker*/autograded/reference*/")}
    assert len(workers) == min(2, len(list(work.glob("worker*")))), workers


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_blank_release_gets_zero(graded, assignment):
    catalogue, _, grades, _ = graded(assignment)
    scores = question_scores(catalogue, grades["blank"])
    assert all(s == 0 for s, _ in scores.values()), scores
    assert all(g.score in (None, 0) for g in grades["blank"].values())


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_mutant_loses_points_in_its_own_question_only(graded, assignment):
    catalogue, subs, grades, _ = graded(assignment)
    failures = []
    for name, (kind, change, _) in subs.items():
        if kind == "mutant":
            verdict = judge_mutant(name, change.questions, question_scores(catalogue, grades[name]))
            if not verdict.ok:
                failures.append(f"{name}: {verdict.detail}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_variant_keeps_full_marks(graded, assignment):
    """Variants are graded in bundles (at most one per answer cell, applied together); a
    failing bundle names its variants (`make grading-report` grades them one by one)."""
    catalogue, subs, grades, _ = graded(assignment)
    failures = []
    graded_variants = set()
    for name, (kind, bundle, _) in subs.items():
        if kind == "variants":
            graded_variants.update(v.name for v in bundle)
            verdict = judge_full_marks(name, question_scores(catalogue, grades[name]))
            if not verdict.ok:
                failures.append(f"{name} ({', '.join(v.name for v in bundle)}): {verdict.detail}")
    assert graded_variants == {v.name for v in catalogue.variants}
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_runs_top_to_bottom_quietly_in_grading_mode(graded, assignment):
    """The autograded reference notebook has no error and nothing on stderr, in any cell."""
    _, _, _, work = graded(assignment)
    paths = list(work.glob(f"worker*/autograded/reference/{assignment}/{assignment}.ipynb"))
    assert len(paths) == 1
    nb = json.loads(paths[0].read_text())
    problems = []
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            if out["output_type"] == "error" or (out["output_type"] == "stream" and out["name"] == "stderr"):
                problems.append(f"cell {i}: {out.get('ename') or ''} {''.join(out.get('text', ''))[:200]}")
    assert not problems, "\n".join(problems)
    figures = sum(1 for c in nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
    expected = MIN_FIGURES.get(assignment, 1)
    assert figures >= expected, f"expected at least {expected} figures in the graded reference, got {figures}"
