"""The start of an nbgrader process, and what jsonschema 4.25+ would add to it.

Every ``nbgrader`` command (generate_assignment, autograde, generate_feedback, validate, ...)
is a fresh Python process, and ``make test`` starts several hundred. From 4.25,
jsonschema's ``format-nongpl`` extra (asked for by jupyter-events and jupyterlab-server)
installs rfc3987-syntax, and ``jsonschema._format`` imports it, which compiles about forty
Earley parsers; requirements.txt keeps jsonschema below 4.25 for that reason.

This times, alternating, ``--repeats`` times each: ``nbgrader --version`` (the whole start:
interpreter, imports, configuration), the import of nbgrader's apps alone, and, where
rfc3987-syntax is installed (a venv made before the pin keeps it), the same import with
rfc3987-syntax imported first: what every nbgrader start costs with jsonschema 4.25+. Prints
the medians in seconds and the difference.

    python -m bench.process_start [--repeats 7]
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import time
from pathlib import Path


def seconds(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time an nbgrader process start (see the module docstring).")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    python = sys.executable
    runs = {"nbgrader --version": [str(Path(python).parent / "nbgrader"), "--version"],
            "import nbgrader.apps": [python, "-c", "import nbgrader.apps"]}
    if importlib.util.find_spec("rfc3987_syntax"):
        runs["import rfc3987_syntax, nbgrader.apps"] = [python, "-c", "import rfc3987_syntax, nbgrader.apps"]
    else:
        print("rfc3987-syntax is not installed here: no figure for what jsonschema 4.25+ adds")
    from importlib.metadata import version
    print(f"jsonschema {version('jsonschema')}; medians of {args.repeats}, alternating:")
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, cmd in runs.items():
            times[name].append(seconds(cmd))
    median = {name: statistics.median(t) for name, t in times.items()}
    for name, m in median.items():
        print(f"  {name:40s} {m:6.2f} s")
    if "import rfc3987_syntax, nbgrader.apps" in median:
        extra = median["import rfc3987_syntax, nbgrader.apps"] - median["import nbgrader.apps"]
        print(f"  rfc3987-syntax adds {extra:.2f} s to every nbgrader start")
    return 0


if __name__ == "__main__":
    sys.exit(main())
