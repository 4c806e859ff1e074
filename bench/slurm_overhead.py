"""Slurm's overhead: the same class graded locally with two workers and through a Slurm job array.

A class of ``--class-size`` demo submissions of one assignment (reference, blank and typical
mistakes, dealt in turn) is graded twice, each time in a fresh scratch course, by the
instructor's command as a subprocess, timed from start to exit:

1. locally: ``python -m instructor.autograde <a> --jobs 2`` (``make autograde JOBS=2``), with
   the SQLite gradebook;
2. on Slurm: ``python -m instructor.autograde <a> --engine slurm --tasks 2 --cpus-per-task 1``
   on a one-node cluster with two CPUs started on this machine from Debian's packages, with a
   PostgreSQL gradebook (:mod:`tests.services`, which installs them when missing).

It prints both wall times, their ratio, and whether the grades are identical (exit status 1
if not). Run it on a quiet machine: it uses both CPUs for a few minutes.

    python -m bench.slurm_overhead [--assignment fashion_vae] [--class-size 6]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from instructor import names
from instructor.course import REPO, Course
from instructor.demo import demo_submissions
from tests import services
from tests.conftest import cell_scores


def make_class(root: Path, assignment: str, size: int) -> Course:
    course = Course.scratch(root, [assignment])
    demos = list(demo_submissions(assignment).values())
    for k in range(size):
        course.submit(f"student{k:03d}", assignment, demos[k % len(demos)])
    return course


def timed(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", default="fashion_vae")
    parser.add_argument("--class-size", type=int, default=6)
    args = parser.parse_args(argv)
    a = args.assignment
    work = Path(tempfile.mkdtemp(prefix="vae-slurm-bench-"))
    env = {k: v for k, v in os.environ.items() if k not in (names.NBGRADER_DB_URL, "CUDA_VISIBLE_DEVICES")}
    base = [sys.executable, "-m", "instructor.autograde", a]

    local = make_class(work / "local-run", a, args.class_size)
    local_s = timed([*base, "--root", str(local.root), "--jobs", "2"], env)
    print(f"local, JOBS=2: {args.class_size} submissions of {a} in {local_s:.1f} s", flush=True)

    with services.slurm_cluster(cpus=2) as cluster, services.postgres_server() as url:
        on_slurm = make_class(work / "slurm-run", a, args.class_size)
        on_slurm.db_url = url
        slurm_s = timed([*base, "--root", str(on_slurm.root), "--engine", names.ENGINE_SLURM, "--tasks", "2",
                         "--cpus-per-task", "1", "--mem", "3G", "--poll", "1"],
                        {**env, **cluster.env, names.NBGRADER_DB_URL: url})
        students = sorted(cell_scores(local, a, [f"student{k:03d}" for k in range(args.class_size)]))
        same = cell_scores(on_slurm, a, students) == cell_scores(local, a, students)
        print(f"Slurm ({cluster.version}, one node, 2 CPUs, 2 tasks of 1 CPU): {args.class_size} "
              f"submissions in {slurm_s:.1f} s (cluster started in {cluster.start_s:.1f} s, not counted)")
    shutil.rmtree(work, ignore_errors=True)
    print(f"overhead: Slurm / local JOBS=2 = {slurm_s / local_s:.2f} ({slurm_s - local_s:+.1f} s); "
          f"grades {'identical' if same else 'DIFFERENT'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
