"""Rerun every test cell of an autograded notebook under many ``VAE_TEST_SEED`` values.

``VAE_TEST_SEED`` seeds every random draw of every test cell (``helpers.checks.test_seed``):
the samples of the statistical checks, the inputs of the exact checks, the small reference
models and datasets the loop tests train. A check that passes the reference only for a
lucky seed shows up as a lost point under another seed.

``make grading-report`` autogrades the reference through nbgrader once per seed (a fresh
kernel each time). This module is the same check at a fraction of the cost, for the test
suite: one kernel runs the notebook once, top to bottom, in grading mode, exactly as
nbgrader would; then, for each seed, it sets ``VAE_TEST_SEED`` inside that kernel and runs
every test cell again, in notebook order, scoring each run with nbgrader's own
``determine_grade`` (an error or anything on stderr costs the cell's points).

That is honest for the reference because its test cells do not depend on each other's
side effects or on the trained models: every test cell builds its own inputs, seeds its
own generators and restores what it patches. ``tests/test_seeds.py`` checks the shortcut
against nbgrader's verdicts (a mutant loses the same cells both ways).

    python -m instructor.quality.seed_sweep vae_cvae --seeds 30
"""
from __future__ import annotations

import argparse
import copy
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from instructor import names, notebooks
from instructor.course import REPO
from instructor.notebooks import is_test_cell

#: The seeds the sweep uses by default: k * 1000 for k = 1..n, as ``make grading-report`` does.
def default_seeds(n: int) -> list[int]:
    return [k * 1000 for k in range(1, n + 1)]


def autograded_form(assignment: str, submission: NotebookNode) -> NotebookNode:
    """``submission`` with every test cell replaced by the master's (hidden tests included),
    which is what nbgrader's autograde executes."""
    source = notebooks.read(REPO / "source" / assignment / f"{assignment}.ipynb")
    masters = {notebooks.grade_id(c): c for c in source.cells if is_test_cell(c)}
    nb = copy.deepcopy(submission)
    present = set()
    for k, cell in enumerate(nb.cells):
        gid = notebooks.grade_id(cell)
        if gid in masters:
            nb.cells[k] = copy.deepcopy(masters[gid])
            present.add(gid)
    missing = sorted(set(masters) - present)
    if missing:
        raise ValueError(f"{assignment}: the submission has no test cell(s) {', '.join(missing)}")
    return nb


def reference(assignment: str) -> NotebookNode:
    source = notebooks.read(REPO / "source" / assignment / f"{assignment}.ipynb")
    release = notebooks.read(REPO / "release" / assignment / f"{assignment}.ipynb")
    return notebooks.reference_submission(source, release)


@dataclass
class SweepResult:
    assignment: str
    seeds: list[int]
    test_cells: list[str]
    #: ``{seed: {grade_id: (score, max)}}``, seed ``None`` for the first run (no VAE_TEST_SEED set).
    scores: dict = field(default_factory=dict)
    #: ``{seed: {grade_id: the first error line or stderr text}}`` for every cell that lost points.
    reasons: dict = field(default_factory=dict)
    seconds: float = 0.0
    first_run_seconds: float = 0.0
    #: ``{grade_id: seconds}`` summed over the reruns.
    cell_seconds: dict = field(default_factory=dict)

    def lost(self, seed) -> list[str]:
        return [gid for gid, (s, m) in self.scores[seed].items() if (s or 0.0) < m - 1e-9]

    def failing_seeds(self) -> list[int]:
        return [s for s in self.seeds if self.lost(s)]


def _reason(cell: NotebookNode) -> str:
    for out in cell.outputs:
        if out.output_type == "error":
            return f"{out.ename}: {out.evalue}".strip()[:300]
        if out.output_type == "stream" and out.name == "stderr":
            return "stderr: " + out.text.strip()[:300]
    return "partial credit"


def sweep(assignment: str, seeds: list[int], submission: NotebookNode | None = None,
          cells: list[str] | None = None, timeout: int = 300, threads: int | None = None) -> SweepResult:
    """Run ``submission`` (default: the reference) once in grading mode, then rerun its test
    cells (or only ``cells``) under each seed in ``seeds``, in the same kernel."""
    from nbclient import NotebookClient
    from traitlets.config import Config
    from nbgrader.utils import determine_grade

    nb = autograded_form(assignment, submission if submission is not None else reference(assignment))
    tests = [(k, c) for k, c in enumerate(nb.cells) if is_test_cell(c)]
    if cells is not None:
        unknown = set(cells) - {notebooks.grade_id(c) for _, c in tests}
        if unknown:
            raise ValueError(f"{assignment} has no test cell(s) {', '.join(sorted(unknown))}")
        tests = [(k, c) for k, c in tests if notebooks.grade_id(c) in cells]
    result = SweepResult(assignment, list(seeds), [notebooks.grade_id(c) for _, c in tests])
    work = Path(tempfile.mkdtemp(prefix=f"seed-sweep-{assignment}-"))
    try:
        # The release folder's files (data pointers, images) beside the notebook, as in autograde.
        for item in (REPO / "release" / assignment).iterdir():
            if item.suffix != ".ipynb" and item.name != "helpers":
                (shutil.copytree if item.is_dir() else shutil.copy2)(item, work / item.name)
        env = {**os.environ, names.NBGRADER_EXECUTION: "autograde", "PYTHONPATH": str(REPO)}
        env.pop(names.TEST_SEED, None)
        if threads:
            env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
        # ZeroMQ over Unix sockets in the scratch folder (no TCP ports, no warning about them).
        config = Config()
        config.KernelManager.transport, config.KernelManager.ip = "ipc", str(work / "kernel-ipc")
        client = NotebookClient(nb, config=config, timeout=timeout, kernel_name="python3",
                                allow_errors=True, resources={"metadata": {"path": str(work)}})
        start = time.perf_counter()
        with client.setup_kernel(env=env):
            for k, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    client.execute_cell(cell, k)
            result.scores[None] = {notebooks.grade_id(c): determine_grade(c) for _, c in tests}
            result.reasons[None] = {notebooks.grade_id(c): _reason(c) for _, c in tests
                                    if notebooks.grade_id(c) in result.lost(None)}
            result.first_run_seconds = time.perf_counter() - start
            for seed in seeds:
                setter = nbformat.v4.new_code_cell(f"import os\nos.environ[{names.TEST_SEED!r}] = '{int(seed)}'")
                client.execute_cell(setter, 0, store_history=False)
                if any(o.output_type == "error" for o in setter.outputs):
                    raise RuntimeError(f"could not set VAE_TEST_SEED in the kernel: {_reason(setter)}")
                scores, reasons = {}, {}
                for k, cell in tests:
                    rerun = copy.deepcopy(cell)
                    rerun.outputs = []
                    gid = notebooks.grade_id(cell)
                    t0 = time.perf_counter()
                    client.execute_cell(rerun, k)
                    result.cell_seconds[gid] = result.cell_seconds.get(gid, 0.0) + time.perf_counter() - t0
                    scores[gid] = determine_grade(rerun)
                    if (scores[gid][0] or 0) < scores[gid][1]:
                        reasons[gid] = _reason(rerun)
                result.scores[seed], result.reasons[seed] = scores, reasons
        result.seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def sweep_many(assignments: list[str], seeds: list[int], jobs: int = 2) -> list[SweepResult]:
    """One process (and one kernel) per assignment, ``jobs`` at a time."""
    threads = max(1, (os.cpu_count() or 1) // max(1, min(jobs, len(assignments))))
    with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(assignments)))) as pool:
        futures = [pool.submit(sweep, a, seeds, None, None, 300, threads) for a in assignments]
        return [f.result() for f in futures]


def main(argv: list[str] | None = None) -> int:
    from instructor.course import assignment_names
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", help="default: all")
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    assignments = args.assignments or assignment_names()
    ok = True
    for r in sweep_many(assignments, default_seeds(args.seeds), args.jobs):
        failing = r.failing_seeds()
        ok &= not failing and not r.lost(None)
        print(f"{r.assignment:14s} {len(r.test_cells)} test cells x {len(r.seeds)} seeds: "
              f"{len(failing)} seed(s) lost points; first run {r.first_run_seconds:.1f} s, "
              f"all {r.seconds:.1f} s")
        for s in failing:
            for gid, why in r.reasons[s].items():
                print(f"    VAE_TEST_SEED={s}: {gid}: {why}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
