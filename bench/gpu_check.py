"""The GPU check: the demo class autograded on a GPU inside the sandbox, against the CPU.

For each assignment (default: all three), the three demo submissions (reference, blank,
typical mistakes) are autograded twice by the instructor's command (``python -m
instructor.autograde <a> --jobs 1``, the bubblewrap sandbox on, which passes the NVIDIA device
nodes in), each time in a fresh scratch course:

1. on the GPU (``CUDA_VISIBLE_DEVICES`` as this machine has it; ``helpers.choose_device()``
   picks ``cuda`` in the kernel);
2. on the CPU (``CUDA_VISIBLE_DEVICES=-1``).

It records, in ``--out`` (JSON) and on the terminal, each run's wall time, every training
run's time per epoch read from the autograded notebooks (the progress line's ``... in 2.1 s |
epoch 3/3 | ...``), the device the kernels saw, and every test cell's score; the grades must be
identical on both devices (exit status 1 if not). Without a usable CUDA GPU it stops at once
with exit status 2 and says so: it never reports a CPU run as a GPU's.

    python -m bench.gpu_check [fashion_vae ...] [--out gpu-check.json]

It takes a few minutes (nine submissions on each device).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from instructor import names
from instructor.course import REPO, Course
from instructor.demo import demo_submissions
from tests.conftest import cell_scores

ASSIGNMENTS = ("vae_cvae", "kl_annealing", "fashion_vae")
EPOCHS = re.compile(r"in ([\d.]+) s \| epoch (\d+)/(\d+)")


def gpu() -> str | None:
    """The name of the first usable CUDA GPU, or None."""
    if not any(Path("/dev").glob("nvidia*")):
        return None
    import torch
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def epoch_times(course: Course, assignment: str) -> dict[str, list[float]]:
    """``{student: [seconds per epoch of each training run]}`` from the autograded notebooks."""
    out: dict[str, list[float]] = {}
    for path in sorted((course.root / "autograded").glob(f"*/{assignment}/{assignment}.ipynb")):
        times = []
        for cell in json.loads(path.read_text())["cells"]:
            for output in cell.get("outputs", []):
                text = output.get("text") or "".join(output.get("data", {}).get("text/plain", ""))
                text = "".join(text) if isinstance(text, list) else text
                times += [round(float(s) / int(e), 3) for s, e, _ in EPOCHS.findall(text) if int(e)]
        out[path.parent.parent.name] = times
    return out


def grade(work: Path, assignment: str, cuda: str | None) -> dict:
    course = Course.scratch(work, [assignment])
    demos = demo_submissions(assignment)
    for student, nb in demos.items():
        course.submit(student, assignment, nb)
    env = {k: v for k, v in os.environ.items() if k != names.NBGRADER_DB_URL}
    env[names.SANDBOX] = "on"
    if cuda is not None:
        env["CUDA_VISIBLE_DEVICES"] = cuda
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "instructor.autograde", assignment, "--root",
                             str(course.root), "--jobs", "1"], cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"autograding {assignment} failed ({result.returncode}):\n{result.stdout[-3000:]}"
                         f"{result.stderr[-2000:]}")
    students = sorted(demos)
    return {"seconds": round(seconds, 1), "epoch_s": epoch_times(course, assignment),
            "grades": cell_scores(course, assignment, students)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", default=list(ASSIGNMENTS))
    parser.add_argument("--out", default="gpu-check.json", help="where the figures go (JSON)")
    args = parser.parse_args(argv)
    name = gpu()
    if name is None:
        print("error: no usable CUDA GPU here (no /dev/nvidia* device or torch.cuda.is_available() is "
              "False): run this on a GPU machine; nothing was measured")
        return 2
    work = Path(tempfile.mkdtemp(prefix="vae-gpu-check-"))
    record = {"gpu": name, "assignments": {}}
    same = True
    for a in args.assignments:
        on_gpu = grade(work / f"{a}-gpu", a, None)
        on_cpu = grade(work / f"{a}-cpu", a, "-1")
        identical = on_gpu["grades"] == on_cpu["grades"]
        same &= identical
        record["assignments"][a] = {"gpu": on_gpu, "cpu": on_cpu, "identical_grades": identical}
        for device, run in (("GPU", on_gpu), ("CPU", on_cpu)):
            epochs = [t for times in run["epoch_s"].values() for t in times]
            print(f"{a} on the {device}: 3 submissions in {run['seconds']} s; seconds per epoch "
                  f"{', '.join(f'{t:.2f}' for t in epochs) or 'none found'}", flush=True)
        print(f"{a}: grades {'identical' if identical else 'DIFFERENT'} on the GPU ({name}) and the CPU",
              flush=True)
    shutil.rmtree(work, ignore_errors=True)
    Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
    print(f"figures: {args.out}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
