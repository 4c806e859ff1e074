"""The class report on a class of 200+ submissions: how long it takes to write.

The class is made from one assignment's catalogue (default ``fashion_vae``, the quickest to
grade): the reference, the blank release, every mutant, every variant alone and every
variant bundle, the seeded sample of generated mutants that ``make test`` grades, more
generated mutants up to ``--size``, and three copies of variant bundles (two with renamed
variables, one with reordered statements, :mod:`instructor.quality.copies`); a variant
alone and the bundle that holds it are one answer twice, not independent ones. It is
autograded with ``--jobs`` workers (each its own scratch course), then
:mod:`instructor.class_report` reads the workers' courses as one class; the figures printed
are the grading time, the report's time (gathering, figures, similarity, page) and what the
report found.

    python -m bench.class_report [--assignment fashion_vae] [--size 210] [--jobs 2]
                                 [--graded DIR]   # report on a class graded before
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from catalogue import load
from instructor import class_report, notebooks
from instructor.course import REPO
from instructor.quality import mutants as gen
from instructor.quality.copies import copied_class
from instructor.quality.verdicts import apply, catalogue_submissions, grade_many


def build_class(assignment: str, size: int) -> tuple[dict, set, set]:
    """``(submissions, copied pairs, pairs of a variant and the bundle that holds it)``."""
    catalogue = load(assignment)
    subs, copies = copied_class(catalogue)
    held = {frozenset((f"variant-{v.name}", name))
            for name, (kind, bundle, _) in catalogue_submissions(catalogue, bundle_variants=True).items()
            if kind == "variants" for v in bundle}
    for pair in list(copies):  # a copy of a bundle holds its variants too
        copy_, original = sorted(pair, key=lambda name: not name.startswith("copy-"))
        held |= {frozenset((copy_, *(p - {original}))) for p in held if original in p}
    source = notebooks.read(REPO / "source" / assignment / f"{assignment}.ipynb")
    release = notebooks.read(REPO / "release" / assignment / f"{assignment}.ipynb")
    regions = notebooks.solution_regions(source)
    subs["blank"] = release
    for v in catalogue.variants:
        subs[f"variant-{v.name}"] = apply(source, release, regions, v)
    generated = gen.generate(catalogue)
    for m in gen.sample(generated, max(0, size - len(subs)), seed=0):
        subs[m.name] = apply(source, release, regions, m)
    return subs, copies, held


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="fashion_vae")
    parser.add_argument("--size", type=int, default=210)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--graded", help="a folder of worker courses graded by an earlier run: report only")
    args = parser.parse_args(argv)
    subs, copies, held = build_class(args.assignment, args.size)
    if args.graded:
        work = Path(args.graded)
    else:
        work = Path(tempfile.mkdtemp(prefix="vae-class-"))
        print(f"class: {len(subs)} submissions of {args.assignment}; grading with {args.jobs} "
              f"worker(s) in {work} ...", flush=True)
        start = time.perf_counter()
        grade_many(args.assignment, subs, jobs=args.jobs, workdir=work)
        print(f"graded in {(time.perf_counter() - start) / 60:.1f} min", flush=True)
    roots = sorted(p for p in work.glob("worker*") if p.is_dir())
    start = time.perf_counter()
    data = class_report.gather(roots, args.assignment)
    gathered = time.perf_counter() - start
    page = class_report.build(data, work / "report")
    took = time.perf_counter() - start
    text = page.read_text()
    flagged = {frozenset(p.split("|")) for p in __import__("re").findall(r"data-pair='([^']+)'", text)}
    print(f"class report: {len(data.students)} submissions ({len(data.graded)} graded), "
          f"{took:.1f} s ({gathered:.1f} s reading the gradebooks, notebooks and audit), "
          f"{len(text) / 1e6:.1f} MB: {page}")
    others = sorted(" and ".join(sorted(p)) for p in flagged - copies - held)
    print(f"similarity: {len(flagged)} pair(s) flagged; copies caught {len(copies & flagged)}/{len(copies)}; "
          f"a variant and the bundle that holds it: {len(flagged & held)} of {len(held)}; "
          f"other pairs: {len(others)}" + "".join(f"\n  {p}" for p in others))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
