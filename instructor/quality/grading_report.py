"""``make grading-report``: how often the autograder's verdicts are right.

For each assignment it autogrades, through nbgrader, the reference solution, every mutant
(wrong answer) and every variant (legitimate answer) of ``catalogue``, and the
reference again under ``--seeds`` values of ``VAE_TEST_SEED``. It prints, per assignment
and in total: mutants caught in the right question (naming the others), variants given
full marks, false-failure runs of the reference, whether two gradings of the same
submission agree, and the wall time.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from instructor.course import REPO, assignment_names
from instructor.quality.verdicts import by_question, catalogue_submissions, grade_many, judge_full_marks, judge_mutant
from catalogue import load


def report(assignment: str, jobs: int, seeds: int, workdir: Path, catalogue_too: bool = True) -> dict:
    start = time.perf_counter()
    catalogue = load(assignment)
    subs = catalogue_submissions(catalogue, include=None if catalogue_too else set())
    notebooks = {name: nb for name, (_, _, nb) in subs.items()}
    notebooks["reference-again"] = subs["reference"][2]
    grades = grade_many(assignment, notebooks, jobs=jobs, workdir=workdir / assignment / "catalogue")
    mutants, variants = [], []
    for name, (kind, change, _) in subs.items():
        scores = by_question(grades[name], catalogue.questions)
        if kind == "mutant":
            mutants.append(judge_mutant(change.name, change.questions, scores))
        elif kind == "variant":
            variants.append(judge_full_marks(change.name, scores))
    same = {k: g.score for k, g in grades["reference"].items()} == \
        {k: g.score for k, g in grades["reference-again"].items()}
    false_failures = []
    if seeds:
        ref = subs["reference"][2]
        seeded = {f"seed-{k:02d}": ref for k in range(1, seeds + 1)}
        by_seed = grade_many(assignment, seeded, jobs=jobs, workdir=workdir / assignment / "seeds",
                             seed_of=lambda student: int(student.split("-")[1]) * 1000)
        for student, g in sorted(by_seed.items()):
            verdict = judge_full_marks(student, by_question(g, catalogue.questions))
            if not verdict.ok:
                false_failures.append(f"{student}: {verdict.detail}")
    return {"assignment": assignment, "mutants": mutants, "variants": variants,
            "false_failures": false_failures, "seed_runs": seeds, "deterministic": same,
            "catalogue": catalogue_too,
            "seconds": time.perf_counter() - start}


def print_report(results: list[dict]) -> bool:
    ok = True
    totals = {"caught": 0, "mutants": 0, "accepted": 0, "variants": 0, "ff": 0, "runs": 0, "s": 0.0}
    print(f"{'assignment':14s} {'mutants caught':>15s} {'variants accepted':>18s} "
          f"{'false failures':>15s} {'repeatable':>10s} {'wall time':>10s}")
    for r in results:
        caught = sum(v.ok for v in r["mutants"])
        accepted = sum(v.ok for v in r["variants"])
        if r["catalogue"]:
            mutants_col = f"{caught:>7d}/{len(r['mutants']):<7d}"
            variants_col = f"{accepted:>9d}/{len(r['variants']):<8d}"
        else:  # --seeds-only: the catalogue was not graded in this run
            mutants_col, variants_col = f"{'(not run)':>15s}", f"{'(not run)':>18s}"
        print(f"{r['assignment']:14s} {mutants_col} {variants_col} "
              f"{len(r['false_failures']):>7d}/{r['seed_runs']:<7d} {'yes' if r['deterministic'] else 'NO':>10s} "
              f"{r['seconds']:>9.0f}s")
        for v in r["mutants"] + r["variants"]:
            if not v.ok:
                print(f"    {v.name}: {v.detail}")
        for line in r["false_failures"]:
            print(f"    {line}")
        ok &= caught == len(r["mutants"]) and accepted == len(r["variants"]) \
            and not r["false_failures"] and r["deterministic"]
        for key, value in (("caught", caught), ("mutants", len(r["mutants"])), ("accepted", accepted),
                           ("variants", len(r["variants"])), ("ff", len(r["false_failures"])),
                           ("runs", r["seed_runs"]), ("s", r["seconds"])):
            totals[key] += value
    ran = any(r["catalogue"] for r in results)
    mutants_col = f"{totals['caught']:>7d}/{totals['mutants']:<7d}" if ran else f"{'(not run)':>15s}"
    variants_col = f"{totals['accepted']:>9d}/{totals['variants']:<8d}" if ran else f"{'(not run)':>18s}"
    print(f"{'total':14s} {mutants_col} {variants_col} "
          f"{totals['ff']:>7d}/{totals['runs']:<7d} {'':>10s} {totals['s']:>9.0f}s")
    return ok


def mutation_report(assignment: str, jobs: int, workdir: Path, limit: int | None = None) -> dict:
    """Grade the generated mutants of ``assignment`` (:mod:`instructor.quality.mutants`; a seeded
    sample of ``limit`` when given) and return, per question, how many were killed (lost
    points anywhere) among those graded, and the survivors that are not explained as
    equivalent in the catalogue's ``EQUIVALENT``."""
    from instructor.quality import mutants as generator
    from instructor.quality.verdicts import apply
    from instructor import notebooks as nbs
    start = time.perf_counter()
    catalogue = load(assignment)
    generated = generator.generate(catalogue)
    if limit is not None:
        generated = generator.sample(generated, limit)
    source = nbs.read(REPO / "source" / assignment / f"{assignment}.ipynb")
    release = nbs.read(REPO / "release" / assignment / f"{assignment}.ipynb")
    regions = nbs.solution_regions(source)
    submissions = {m.name: apply(source, release, regions, m) for m in generated}
    grades = grade_many(assignment, submissions, jobs=jobs, workdir=workdir / assignment / "generated")
    explained = getattr(catalogue, "equivalent", {})
    per_question: dict[str, list[int]] = {}
    survivors = []
    for m in generated:
        scores = by_question(grades[m.name], catalogue.questions)
        killed = any(score < top - 1e-9 for score, top in scores.values())
        for q in m.questions:
            counts = per_question.setdefault(q, [0, 0, 0])
            if killed:
                counts[0] += 1
            elif m.name in explained:
                counts[2] += 1
            counts[1] += 1
        if not killed and m.name not in explained:
            survivors.append(m)
    return {"assignment": assignment, "per_question": per_question, "survivors": survivors,
            "graded": len(generated), "seconds": time.perf_counter() - start}


def print_mutation_report(results: list[dict]) -> bool:
    """The mutation score per question: killed / (graded - explained equivalents)."""
    print(f"{'assignment':14s} {'question':24s} {'killed':>8s} {'graded':>7s} {'equivalent':>10s} {'score':>7s}")
    for r in results:
        for q, (killed, graded, equivalent) in sorted(r["per_question"].items()):
            changing = graded - equivalent
            score = f"{100 * killed / changing:.0f}%" if changing else "-"
            print(f"{r['assignment']:14s} {q:24s} {killed:>8d} {graded:>7d} {equivalent:>10d} {score:>7s}")
        for m in r["survivors"]:
            print(f"    survived, not explained: {m.name} ({m.family}) in {m.cell}: {m.regions}")
        print(f"{r['assignment']:14s} {r['graded']} generated mutants graded in {r['seconds']:.0f} s")
    return not any(r["survivors"] for r in results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=30, help="reference runs under other VAE_TEST_SEED values")
    parser.add_argument("--seeds-only", action="store_true",
                        help="skip the mutants and variants (make test grades them): only the "
                             "reference, twice, and under --seeds seeds")
    parser.add_argument("--generated", default="all", metavar="N|all|none",
                        help="grade the mutants generated by operator (instructor/quality/mutants.py): all of "
                             "them (default), a seeded sample of N, or none")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="grading-report-"))
    results = []
    for assignment in args.assignments or assignment_names():
        print(f"grading the {assignment} catalogue ...", flush=True)
        results.append(report(assignment, args.jobs, args.seeds, workdir, not args.seeds_only))
    ok = print_report(results)
    if args.generated != "none" and not args.seeds_only:
        limit = None if args.generated == "all" else int(args.generated)
        generated = []
        for assignment in args.assignments or assignment_names():
            print(f"grading the {assignment} generated mutants ...", flush=True)
            generated.append(mutation_report(assignment, args.jobs, workdir, limit))
        ok &= print_mutation_report(generated)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
