"""Grading speed: one complete submission, and a class graded by parallel workers.

1. One complete submission (the reference solutions) of every assignment, autograded by
   ``nbgrader autograde`` in grading mode, against executing the same notebooks in full
   student mode (nbclient, no ``NBGRADER_EXECUTION``, the training budgets students run).
2. A class of ``--class-size`` demo submissions (reference, blank and typical mistakes,
   dealt over the assignments) autograded with ``make autograde``'s machinery at JOBS=1 and
   at JOBS=2, each in a fresh scratch course, and the throughput ratio. The grades of the
   two runs are compared too.

3. ``--floor``: the per-notebook floor. For each assignment, a notebook of only the master's
   cells up to its imports cell (``import helpers``: kernel start, torch, torchvision,
   matplotlib, d2l) is released and autograded by the same ``nbgrader autograde`` in the same
   sandbox as the reference submission, alternating, ``--repeats`` times each; the medians,
   and the ratio of the full grading time to its floor.

4. ``--sandbox``: the sandbox's overhead. The reference submission of each assignment,
   autograded ``--repeats`` times with ``SANDBOX=on`` and ``SANDBOX=off``, alternating, in
   one scratch course; the median seconds per submission and the difference.

5. ``--font-cache``: matplotlib's prebuilt font list
   (:mod:`instructor.sandbox.fontcache`). A notebook's first figure (import
   ``matplotlib.pyplot``, draw a titled plot) in a sandboxed kernel, ``--repeats`` times
   with ``SandboxProvisioner.font_cache`` False and True, alternating; the median seconds of
   the cell (the kernel's own timestamps) and the difference: what every graded notebook
   saves.

6. ``--catalogue``: what grading the test suite's catalogue classes costs at least on this
   machine. For each assignment, in one scratch course with one CPU thread per kernel (what a
   catalogue worker gets in CI: ``JOBS=3`` on 2 cores), ``nbgrader autograde`` of one and of
   two copies of the reference submission, and of one and two floor notebooks, alternating,
   ``--repeats`` times: the second notebook's wall and CPU seconds are the cost of one more
   notebook in a run. CPU seconds are the whole machine's busy time (``/proc/stat``: the
   sandboxed kernels run in their own pid namespace and are not all reaped where
   ``getrusage`` would count them), so run it on an otherwise idle machine. Times the size
   of the catalogue class (:func:`tests.conftest.catalogue_class`) and divided by the CPUs,
   that is the least wall time the catalogue can take here with a fresh kernel per
   notebook: the floor's figure is a bound (every catalogue notebook starts a kernel and
   runs the imports cell), the reference's an estimate (a mutant does about the reference's
   work).

Everything runs on scratch copies of the course; the repository's gradebook is not touched.

    python -m bench.grading [--class-size 24] [--skip-student-mode] [--floor | --sandbox | --font-cache | --catalogue] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from instructor.autograde import autograde_class
from instructor import names
from instructor.course import REPO, Course, assignment_names
from instructor.demo import demo_submissions
from instructor.preflight import preflight


def machine() -> str:
    gpu = "no GPU"
    try:
        import torch
        if torch.cuda.is_available():
            gpu = ", ".join(torch.cuda.get_device_name(k) for k in range(torch.cuda.device_count()))
    except ImportError:
        pass
    return f"{platform.node()}: {os.cpu_count()} CPU cores, {gpu}"


def data_used() -> str:
    fallback = os.environ.get(names.DATA_FALLBACK)
    return f"${names.DATA}={os.environ.get(names.DATA, 'data/')}, offline fallback {fallback or 'none'}"


def reference(assignment: str):
    return demo_submissions(assignment)["demo-reference"]


def one_submission(work: Path, assignments: list[str]) -> dict[str, float]:
    """Seconds of ``nbgrader autograde`` of the reference submission, per assignment."""
    course = Course.scratch(work / "one", assignments)
    out = {}
    for a in assignments:
        course.release(a)
        course.submit("reference", a, reference(a))
        start = time.perf_counter()
        course.autograde(a, "reference")
        out[a] = time.perf_counter() - start
        got = course.grades(a)["reference"]
        auto = [g for g in got.values() if g.auto]
        if sum(g.score or 0 for g in auto) != sum(g.max_score for g in auto):
            raise SystemExit(f"{a}: the reference lost points while benchmarking; fix that first")
    return out


def student_mode(work: Path, assignments: list[str]) -> dict[str, float]:
    """Seconds to execute the reference notebook as a student does (full training)."""
    from nbclient import NotebookClient
    env_before = os.environ.pop(names.NBGRADER_EXECUTION, None)
    out = {}
    try:
        for a in assignments:
            folder = work / "student" / a
            shutil.copytree(REPO / "release" / a, folder)
            nb = reference(a)
            start = time.perf_counter()
            NotebookClient(nb, timeout=1200, kernel_name="python3",
                           resources={"metadata": {"path": str(folder)}}).execute()
            out[a] = time.perf_counter() - start
            nbformat.write(nb, str(folder / f"{a}.ipynb"))
    finally:
        if env_before is not None:
            os.environ[names.NBGRADER_EXECUTION] = env_before
    return out


def class_run(work: Path, assignments: list[str], size: int, jobs: int) -> tuple[float, dict]:
    """Autograde ``size`` demo submissions dealt over ``assignments`` with ``jobs`` workers."""
    course = Course.scratch(work / f"class-jobs{jobs}", assignments)
    per = {a: [] for a in assignments}
    for k in range(size):
        per[assignments[k % len(assignments)]].append(k)
    for a in assignments:
        course.release(a)
        demos = list(demo_submissions(a, course.root).values())
        for k in per[a]:
            course.submit(f"student{k:03d}", a, demos[k % len(demos)])
    for a in assignments:  # the pre-flight check (once per process) is not grading time
        preflight(course.root, a)
    start = time.perf_counter()
    for a in assignments:
        runs = autograde_class(course, a, jobs=jobs, log=lambda *args, **kw: None)
        failed = [r.error for r in runs if r.error]
        if failed:
            raise SystemExit(f"autograde failed at JOBS={jobs}:\n" + "\n".join(failed))
    seconds = time.perf_counter() - start
    grades = {(a, s): {c: g.score for c, g in cells.items()}
              for a in assignments for s, cells in course.grades(a).items()}
    return seconds, grades


def floor_notebook(master: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The master's cells up to and including its imports cell, without nbgrader metadata:
    what every graded notebook of the assignment runs before its first question."""
    cells = []
    for cell in master.cells:
        cell = nbformat.from_dict(dict(cell))
        cell.metadata.pop("nbgrader", None)
        cells.append(cell)
        if cell.cell_type == "code" and "import helpers" in cell.source:
            break
    else:
        raise ValueError("the master has no imports cell (a code cell with `import helpers`)")
    nb = nbformat.v4.new_notebook(metadata=master.metadata)
    nb.cells = cells
    return nb


def floor_assignment(course: Course, assignment: str) -> tuple[str, nbformat.NotebookNode]:
    """Adds ``floor_<assignment>`` (:func:`floor_notebook` of its master) to ``course``,
    releases it, and returns its name and its released notebook (what a student submits)."""
    name = f"floor_{assignment}"
    folder = course.root / "source" / name
    folder.mkdir(parents=True)
    master = nbformat.read(str(REPO / "source" / assignment / f"{assignment}.ipynb"), as_version=4)
    nbformat.write(floor_notebook(master), str(folder / f"{name}.ipynb"))
    return name, nbformat.read(str(course.release(name) / f"{name}.ipynb"), as_version=4)


def floor(work: Path, assignments: list[str], repeats: int) -> dict[str, tuple[float, float]]:
    """Median seconds of ``nbgrader autograde`` of the reference submission and of its floor
    (:func:`floor_notebook`), per assignment, alternating in one scratch course."""
    import statistics
    course = Course.scratch(work / "floor", assignments)
    out = {}
    for a in assignments:
        name, blank_floor = floor_assignment(course, a)
        course.release(a)
        course.submit("reference", a, reference(a))
        course.submit("reference", name, blank_floor)
        times = {a: [], name: []}
        for _ in range(repeats):
            for which in (a, name):
                start = time.perf_counter()
                course.autograde(which, "reference")
                times[which].append(time.perf_counter() - start)
        out[a] = (statistics.median(times[a]), statistics.median(times[name]))
    return out


def busy_seconds(stat_line: str, tick: int) -> float:
    """CPU seconds the machine was busy, from the ``cpu`` line of ``/proc/stat`` (all CPUs, in
    ``tick`` clock ticks a second): user, nice, system, irq and softirq time. Not idle, iowait
    or steal; guest time is already inside user (proc(5))."""
    fields = [int(x) for x in stat_line.split()[1:]]
    return sum(fields[k] for k in (0, 1, 2, 5, 6)) / tick


def catalogue_cost(work: Path, assignments: list[str], repeats: int) -> dict[str, dict]:
    """Per assignment: ``{"notebooks": catalogue class size, "full": (wall, cpu), "floor":
    (wall, cpu)}``: the seconds that one more reference (floor) notebook adds to an
    ``nbgrader autograde`` run, with one CPU thread per kernel. Medians over ``repeats``,
    except the floor's CPU: the least, so that the bound made from it stays a bound.

    CPU seconds are the machine's busy time over the run (:func:`busy_seconds`), so
    everything else running on the machine counts too.

    Raises SystemExit if a reference loses points or a floor notebook has an error output
    (then the figures would be those of a failing notebook)."""
    import statistics

    from tests.conftest import catalogue_class

    tick = os.sysconf("SC_CLK_TCK")

    def cpu() -> float:
        return busy_seconds(Path("/proc/stat").read_text().split("\n", 1)[0], tick)

    course = Course.scratch(work / "catalogue", assignments, threads=1)
    out = {}
    for a in assignments:
        name, blank_floor = floor_assignment(course, a)
        course.release(a)
        for student in ("one", "two"):
            course.submit(student, a, reference(a))
            course.submit(student, name, blank_floor)
        extra = {a: [], name: []}
        for _ in range(repeats):
            for which in (a, name):
                spent = {}
                for student in ("one", None):  # one notebook, then both
                    wall, used = time.perf_counter(), cpu()
                    course.autograde(which, student)
                    spent[student] = (time.perf_counter() - wall, cpu() - used)
                extra[which].append(tuple(spent[None][k] - spent["one"][k] for k in (0, 1)))
        for student, cells in course.grades(a).items():
            auto = [g for g in cells.values() if g.auto]
            if sum(g.score or 0 for g in auto) != sum(g.max_score for g in auto):
                raise SystemExit(f"{a}: the reference ({student}) lost points while benchmarking; fix that first")
        for student in ("one", "two"):
            graded = nbformat.read(str(course.root / "autograded" / student / name / f"{name}.ipynb"), as_version=4)
            errors = [o for c in graded.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
            if errors:
                raise SystemExit(f"{name}: the floor notebook failed ({errors[0].get('ename')}); fix that first")
        _, subs = catalogue_class(a)
        out[a] = {"notebooks": len(subs),
                  "full": tuple(statistics.median(x[k] for x in extra[a]) for k in (0, 1)),
                  "floor": (statistics.median(x[0] for x in extra[name]), min(x[1] for x in extra[name]))}
    return out


def catalogue_table(rows: dict[str, dict], cores: int) -> None:
    """Print :func:`catalogue_cost`'s figures and the catalogue's least time on ``cores``."""
    print(f"{'assignment':14s} {'notebooks':>9s} {'one more: wall':>15s} {'cpu':>7s} "
          f"{'floor: wall':>12s} {'cpu':>7s} {'class cpu':>10s} {'floor cpu':>10s}")
    total = {"full": 0.0, "floor": 0.0}
    for a, r in rows.items():
        n = r["notebooks"]
        total["full"] += n * r["full"][1]
        total["floor"] += n * r["floor"][1]
        print(f"{a:14s} {n:>9d} {r['full'][0]:>14.2f}s {r['full'][1]:>6.2f}s {r['floor'][0]:>11.2f}s "
              f"{r['floor'][1]:>6.2f}s {n * r['full'][1]:>9.0f}s {n * r['floor'][1]:>9.0f}s")
    print(f"the catalogue classes ({sum(r['notebooks'] for r in rows.values())} notebooks) on "
          f"{cores} cores: at least {total['floor'] / cores:.0f} s (their floors alone: a bound, as "
          f"measured), about {total['full'] / cores:.0f} s (each notebook at the reference's CPU "
          "cost), with perfect parallelism and nothing else running")


def sandbox_overhead(work: Path, assignments: list[str], repeats: int) -> dict[str, tuple]:
    """Median seconds of one autograde with the sandbox on and off, per assignment."""
    import statistics
    course = Course.scratch(work / "sandbox", assignments)
    out = {}
    for a in assignments:
        course.release(a)
        course.submit("reference", a, reference(a))
        times = {"on": [], "off": []}
        for _ in range(repeats):
            for mode in ("on", "off"):
                start = time.perf_counter()
                course.autograde(a, "reference", env={names.SANDBOX: mode})
                times[mode].append(time.perf_counter() - start)
        out[a] = (statistics.median(times["on"]), statistics.median(times["off"]))
    return out


FIRST_FIGURE = ("import matplotlib.pyplot as plt\n"
                "fig = plt.figure()\nplt.plot([0, 1], [0, 1])\nplt.title('loss')\nfig.canvas.draw()")


def font_cache(work: Path, repeats: int) -> dict[str, tuple]:
    """Median seconds of a notebook's first figure (import matplotlib.pyplot, draw a titled
    line plot: where matplotlib reads or builds its font list), timed by the kernel's own
    cell timestamps, in a sandboxed kernel started by nbgrader's executor
    (:class:`instructor.sandbox.GuardedExecute`) without the prebuilt font list and with it,
    alternating. The list itself is built once before timing, as once per grader process."""
    import statistics
    import sys
    from datetime import datetime

    from traitlets.config import Config

    from instructor.sandbox import GuardedExecute, fontcache

    def stamp(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    fontcache.font_list(sys.executable)
    times = {True: [], False: []}
    for k in range(repeats):
        for on in (False, True):
            folder = work / "font-cache" / f"{k}-{on}"
            folder.mkdir(parents=True)
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FIRST_FIGURE)])
            nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
            ep = GuardedExecute(config=Config({"SandboxProvisioner": {"font_cache": on},
                                               "Execute": {"timeout": 120}}))
            out, _ = ep.preprocess(nb, {"metadata": {"path": str(folder)}})
            cell = out.cells[0]
            if any(o.get("output_type") == "error" for o in cell.outputs):
                raise SystemExit(f"the first-figure cell failed: {cell.outputs}")
            execution = cell.metadata["execution"]
            times[on].append((stamp(execution["shell.execute_reply"])
                              - stamp(execution["iopub.execute_input"])).total_seconds())
    return {"first figure": (statistics.median(times[False]), statistics.median(times[True]))}


def paired_table(rows: dict[str, tuple[float, float]], heads: tuple[str, str, str],
                 ratio: str | None = None) -> None:
    """Print ``{assignment: (seconds, seconds)}`` with the difference (and the ratio) and a
    mean row."""
    rows = {**rows, "mean": tuple(sum(r[k] for r in rows.values()) / len(rows) for k in (0, 1))}
    print(f"{'assignment':14s} {heads[0]:>12s} {heads[1]:>12s} {heads[2]:>12s}"
          + (f" {ratio:>11s}" if ratio else ""))
    for a, (x, y) in rows.items():
        print(f"{a:14s} {x:>11.2f}s {y:>11.2f}s {x - y:>+11.2f}s" + (f" {x / y:>11.2f}" if ratio else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--class-size", type=int, default=24)
    parser.add_argument("--skip-student-mode", action="store_true")
    parser.add_argument("--skip-class", action="store_true")
    parser.add_argument("--sandbox", action="store_true",
                        help="only measure the sandbox's overhead per submission")
    parser.add_argument("--floor", action="store_true",
                        help="only measure each assignment's grading time against its floor "
                             "(kernel start and imports)")
    parser.add_argument("--font-cache", action="store_true",
                        help="only measure the prebuilt matplotlib font list's saving per submission")
    parser.add_argument("--catalogue", action="store_true",
                        help="only measure what one more notebook costs in an nbgrader run, and "
                             "the least time the test suite's catalogue classes take here")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    assignments = assignment_names()
    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    print(f"machine: {machine()}\ndata: {data_used()}\n", flush=True)
    if args.floor:
        print(f"3. The per-notebook floor: nbgrader autograde of the reference and of the cells up to "
              f"the imports cell, median of {args.repeats}, alternating, sandboxed")
        paired_table(floor(work, assignments, args.repeats), ("full", "floor", "above floor"),
                     ratio="full/floor")
        return 0
    if args.catalogue:
        print(f"6. The catalogue's cost: one more notebook in an nbgrader autograde run (one thread per "
              f"kernel), median of {args.repeats} (the floor's CPU: the least), sandboxed; CPU is the "
              "whole machine's busy time (/proc/stat): run it on an idle machine")
        catalogue_table(catalogue_cost(work, assignments, args.repeats), len(os.sched_getaffinity(0)))
        return 0
    if args.font_cache:
        print(f"5. matplotlib's prebuilt font list: a notebook's first figure in a sandboxed kernel, "
              f"median of {args.repeats}, font_cache False and True alternating")
        paired_table(font_cache(work, args.repeats), ("own list", "prebuilt", "saved"))
        return 0
    if args.sandbox:
        print(f"4. Sandbox overhead: one reference submission, median of {args.repeats}, "
              "SANDBOX=on and off alternating")
        paired_table(sandbox_overhead(work, assignments, args.repeats),
                     ("sandbox on", "sandbox off", "overhead"))
        return 0

    graded = one_submission(work, assignments)
    student = {} if args.skip_student_mode else student_mode(work, assignments)
    print("1. One complete submission (reference solutions)")
    print(f"{'assignment':14s} {'autograde (grading mode)':>25s} {'student-mode run':>17s} {'ratio':>6s}")
    for a in assignments:
        s = student.get(a)
        print(f"{a:14s} {graded[a]:>24.1f}s {(f'{s:.1f}s' if s else '-'):>17s} "
              f"{(f'{graded[a] / s:.2f}' if s else '-'):>6s}")
    total_g, total_s = sum(graded.values()), sum(student.values())
    print(f"{'all three':14s} {total_g:>24.1f}s {(f'{total_s:.1f}s' if student else '-'):>17s} "
          f"{(f'{total_g / total_s:.2f}' if student else '-'):>6s}")
    print(f"target: at most 90 s for all three in grading mode -> "
          f"{'met' if total_g <= 90 else 'NOT met'}\n", flush=True)

    if args.skip_class:
        return 0
    n = args.class_size
    t1, g1 = class_run(work, assignments, n, 1)
    t2, g2 = class_run(work, assignments, n, 2)
    print(f"2. A class of {n} demo submissions over {len(assignments)} assignments")
    print(f"{'JOBS':>4s} {'wall time':>10s} {'submissions/min':>16s}")
    print(f"{1:>4d} {t1:>9.1f}s {n / t1 * 60:>16.2f}")
    print(f"{2:>4d} {t2:>9.1f}s {n / t2 * 60:>16.2f}")
    print(f"speed-up JOBS=2 vs JOBS=1: {t1 / t2:.2f}x (target at least 1.6x on 2 cores -> "
          f"{'met' if t1 / t2 >= 1.6 else 'NOT met'})")
    print(f"grades identical at JOBS=1 and JOBS=2: {'yes' if g1 == g2 else 'NO'}")
    return 0 if g1 == g2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
