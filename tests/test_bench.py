"""The training benchmark runs end to end, and its verdicts agree with the figures it prints.

A smoke run on 256 training images: the figures mean nothing about the real recipes (see
the README's "Speed" for those), but every part of the script runs, and each "met / NOT met"
is checked against the numbers on its own line.
"""
from __future__ import annotations

import contextlib
import io
import math
import re

import pytest


def run_bench(*argv: str) -> str:
    from bench import training
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert training.main(list(argv)) == 0
    return out.getvalue()


def test_training_bench_prints_both_recipes_and_consistent_verdicts():
    text = run_bench("--seeds", "0", "1", "--limit-train", "256",
                     "--student-recipe", "64", "3e-3", "2", "--warmup", "4")
    assert "data: MNIST" in text
    assert re.search(r"^device: (cpu|cuda|mps)", text, re.M), "the output should name the device"
    assert "'warmup': 4" in text, "the printed student recipe should name its warm-up"
    for model in ("VAE", "CVAE"):
        for recipe in ("seed", "student"):
            runs = re.findall(rf"^{model}\s+{recipe}\s+seed (\d): .*test loss\s+([\d.]+)\s+recon\s+([\d.]+)\s+KL\s+([\d.]+)",
                              text, re.M)
            assert [r[0] for r in runs] == ["0", "1"], f"{model} {recipe}: one line per seed"
            for _, loss, recon, kl in runs:
                assert math.isfinite(float(loss)) and float(loss) == pytest.approx(float(recon) + float(kl), abs=0.11)
        verdict = re.search(rf"^{model}\s+time ratio ([\d.]+) <= 0.33: (met|NOT met); median loss ([\d.]+) <= "
                            rf"seed's ([\d.]+): (met|NOT met); min KL ([\d.]+) > 1 nat: (met|NOT met)$", text, re.M)
        assert verdict, f"no verdict line for {model}"
        ratio, t_ok, loss, seed_loss, l_ok, min_kl, k_ok = verdict.groups()
        # The figures are printed rounded; a value within rounding of its bound can go either way.
        if abs(float(ratio) - 1 / 3) > 0.005:
            assert (t_ok == "met") == (float(ratio) <= 1 / 3)
        if abs(float(loss) - float(seed_loss)) > 0.1:
            assert (l_ok == "met") == (float(loss) <= float(seed_loss))
        if abs(float(min_kl) - 1.0) > 0.005:
            assert (k_ok == "met") == (float(min_kl) > 1.0)


def test_training_bench_refuses_a_warmup_without_a_recipe():
    with pytest.raises(SystemExit):
        run_bench("--warmup", "100")


def test_device_tests_run_a_master_and_report_every_test_cell():
    """bench/device_tests.py (the check for a GPU host without nbgrader) on the CPU."""
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "bench.device_tests", "kl_annealing", "--seeds", "1"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("  test_")]
    assert len(lines) == 13 and all("passed 2/2" in line for line in lines), lines
    assert "every test cell passed every run" in result.stdout


def test_device_tests_count_an_error_or_stderr_as_a_failure():
    from bench.device_tests import run_cell
    assert run_cell("ok", "x = 1", {}) is None
    assert "AssertionError: wrong" in run_cell("bad", "assert False, 'wrong'", {})
    assert run_cell("noisy", "import sys; sys.stderr.write('a warning')", {}).startswith("stderr")


def test_the_floor_notebook_is_the_masters_cells_up_to_the_imports():
    from bench.grading import floor_notebook
    from instructor.course import REPO
    from instructor import notebooks
    for assignment in ("vae_cvae", "kl_annealing", "fashion_vae"):
        master = notebooks.read(REPO / "source" / assignment / f"{assignment}.ipynb")
        floor = floor_notebook(master)
        assert "import helpers" in floor.cells[-1].source
        assert [c.source for c in floor.cells] == [c.source for c in master.cells[:len(floor.cells)]]
        assert not any("nbgrader" in c.metadata for c in floor.cells)
        assert any(notebooks.is_test_cell(c) for c in master.cells[len(floor.cells):])


def test_the_catalogue_bound_is_notebooks_times_cpu_over_cores(capsys):
    """bench.grading --catalogue: the bound is the floors' CPU summed over the catalogue
    classes, shared by the cores; the estimate the same with the reference's CPU."""
    from bench.grading import catalogue_table
    catalogue_table({"a": {"notebooks": 100, "full": (9.0, 8.0), "floor": (5.0, 4.5)},
                     "b": {"notebooks": 50, "full": (12.0, 11.0), "floor": (6.0, 6.0)}}, 2)
    out = capsys.readouterr().out
    assert "(150 notebooks) on 2 cores: at least 375 s" in out  # (100 * 4.5 + 50 * 6) / 2
    assert "about 675 s" in out  # (100 * 8 + 50 * 11) / 2


def test_busy_seconds_counts_user_nice_system_and_interrupts_only():
    from bench.grading import busy_seconds
    # user nice system idle iowait irq softirq steal guest guest_nice
    assert busy_seconds("cpu  1000 100 200 5000 300 10 20 400 50 0", 100) == 13.3


def test_cell_times_sums_each_cells_recorded_run_time(tmp_path):
    """bench.cell_times reads nbgrader's per-cell timestamps: two notebooks, the means per
    cell and their shares, largest first."""
    import json

    from bench import cell_times

    def cell(name, start, end):
        return {"cell_type": "code", "source": f"# {name}\nx = 1", "outputs": [],
                "metadata": {"nbgrader": {"grade_id": name} if name != "plain" else {},
                             "execution": {"iopub.execute_input": f"2026-11-30T10:00:{start:06.3f}Z",
                                           "shell.execute_reply": f"2026-11-30T10:00:{end:06.3f}Z"}}}

    for student, extra in (("a", 1.0), ("b", 3.0)):
        folder = tmp_path / "worker0" / "autograded" / student / "kl"
        folder.mkdir(parents=True)
        nb = {"cells": [cell("imports", 0, 4), cell("plain", 4, 4 + extra),
                        {"cell_type": "markdown", "source": "text", "metadata": {}}]}
        (folder / "kl.ipynb").write_text(json.dumps(nb))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cell_times.main([str(tmp_path)]) == 0
    lines = out.getvalue().splitlines()
    assert lines[0] == "kl: 2 notebooks, 6.00 s of cells per notebook"
    assert re.fullmatch(r"\s+4\.00 s\s+66\.7%\s+imports", lines[1])
    assert re.fullmatch(r"\s+2\.00 s\s+33\.3%\s+# plain", lines[2])
    with pytest.raises(SystemExit, match="no autograded notebooks"):
        cell_times.main([str(tmp_path / "empty")])


def test_process_start_bench_prints_a_median_for_each_start():
    from bench import process_start
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert process_start.main(["--repeats", "1"]) == 0
    text = out.getvalue()
    assert re.search(r"^jsonschema 4\.\d+\.\d+; medians of 1", text, re.M), text
    for start in ("nbgrader --version", "import nbgrader.apps"):
        assert re.search(rf"^  {re.escape(start)} +\d+\.\d\d s$", text, re.M), text
