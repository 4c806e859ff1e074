"""Run every master's reference answers and all its test cells on one device, in one process.

The GUIDE asks for device-aware tests: a correct answer keeps every point on a CPU or a GPU.
On a GPU host without the course's Jupyter stack (nbgrader, a kernel, the sandbox), this
script is that check. For each assignment it executes the master notebook's code cells in
order in one namespace (the solutions and the hidden tests are in the master), in grading
mode (``NBGRADER_EXECUTION=autograde``), on the device that ``helpers.choose_device()``
picks; then it reruns every test cell under further ``VAE_TEST_SEED`` values, as
``instructor.quality.seed_sweep`` does in a kernel. A test cell passes a run when it raises nothing
and writes nothing to stderr (nbgrader's rule).

    python -m bench.device_tests --seeds 5            # first run, then seeds 1000..5000
    python -m bench.device_tests kl_annealing --seeds 0

It prints the device, each assignment's first-run time (seconds, training included) and one
line per test cell with the runs it passed, and exits with status 1 if any test cell failed
a run. It is not the sandboxed autograde: `make test` grades through nbgrader, on the CPU.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
import traceback
from pathlib import Path

from instructor import names

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENTS = ("vae_cvae", "kl_annealing", "fashion_vae")


def code_cells(assignment: str) -> list[tuple[str, bool, str]]:
    """``(name, is_test_cell, python)`` for each code cell of the master, magics removed."""
    nb = json.loads((REPO / "source" / assignment / f"{assignment}.ipynb").read_text())
    out = []
    for k, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        source = "".join(cell["source"])
        python = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))
        is_test = bool(meta.get("grade")) and not meta.get("solution")
        out.append((meta.get("grade_id") or f"cell {k + 1}", is_test, python))
    return out


def run_cell(name: str, python: str, namespace: dict) -> str | None:
    """Execute one cell; ``None`` if it passed, else the reason (the error, or its stderr)."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            exec(compile(python, name, "exec"), namespace)
    except Exception as error:  # the cell's own failure is the result
        last = traceback.format_exception_only(type(error), error)[-1].strip()
        return last[:300]
    if err.getvalue().strip():
        return "stderr: " + err.getvalue().strip().splitlines()[-1][:300]
    return None


def check(assignment: str, seeds: list[int]) -> tuple[dict[str, list[str]], float, bool]:
    """``({test cell: [failure per run, or ""]}, first-run seconds, setup ok)``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.show = lambda *args, **kwargs: plt.close("all")  # as the inline backend: draw, then close
    os.environ.pop(names.TEST_SEED, None)
    namespace: dict = {"__name__": "__main__"}
    results: dict[str, list[str]] = {}
    start = time.perf_counter()
    for name, is_test, python in code_cells(assignment):
        reason = run_cell(name, python, namespace)
        if is_test:
            results[name] = [reason or ""]
        elif reason and not reason.startswith("stderr"):
            print(f"  {assignment}: the given cell {name} failed ({reason}); its tests cannot run")
            return results, time.perf_counter() - start, False
    first = time.perf_counter() - start
    tests = [(n, p) for n, t, p in code_cells(assignment) if t]
    for seed in seeds:
        os.environ[names.TEST_SEED] = str(seed)
        for name, python in tests:
            results[name].append(run_cell(name, python, namespace) or "")
    os.environ.pop(names.TEST_SEED, None)
    return results, first, True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", default=list(ASSIGNMENTS))
    parser.add_argument("--seeds", type=int, default=3,
                        help="reruns of the test cells after the first run, with VAE_TEST_SEED = 1000, 2000, ...")
    args = parser.parse_args(argv)
    os.environ.setdefault(names.NBGRADER_EXECUTION, "autograde")
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.path.insert(0, str(REPO))
    import torch

    import helpers
    device = helpers.choose_device()
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else str(device)
    print(f"device: {device} ({name}), torch {torch.__version__}; first run + {args.seeds} seeds per test cell")
    seeds = [1000 * k for k in range(1, args.seeds + 1)]
    failed = 0
    for assignment in args.assignments:
        results, first, ok = check(assignment, seeds)
        failed += not ok
        print(f"{assignment}: first run {first:.1f} s")
        for cell, runs in results.items():
            bad = [(label, why) for label, why in zip(["first"] + [str(s) for s in seeds], runs) if why]
            failed += bool(bad)
            verdict = f"passed {len(runs) - len(bad)}/{len(runs)}"
            print(f"  {cell:32s} {verdict}" + (f"  FAILED at {bad[0][0]}: {bad[0][1]}" if bad else ""))
    print("every test cell passed every run" if not failed else f"{failed} test cell(s) or set-ups failed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
