"""Where a graded notebook's time goes: the cells' own run times, read from autograded notebooks.

nbgrader's executor records each code cell's start (``iopub.execute_input``) and end
(``shell.execute_reply``) in ``metadata.execution``. This sums them over every autograded
notebook under the folders given (a course's ``autograded/``, or a scratch folder of
``instructor.quality.verdicts.grade_many``) and prints, per assignment, the mean seconds per
notebook of each cell (named by its nbgrader ``grade_id``, else its first line) and its share
of the cells' total, largest first. Kernel start-up before the first cell is not in it.

    python -m bench.cell_times FOLDER [FOLDER ...] [--top 12]
"""
from __future__ import annotations

import argparse
import collections
import json
from datetime import datetime
from pathlib import Path


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def cell_seconds(path: Path) -> list[tuple[str, float]]:
    """``[(cell name, seconds)]`` of one executed notebook's code cells that carry both
    timestamps (seconds of wall time)."""
    nb = json.loads(path.read_text())
    out = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        execution = cell.get("metadata", {}).get("execution", {})
        start, end = execution.get("iopub.execute_input"), execution.get("shell.execute_reply")
        if not (start and end):
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        name = (cell["metadata"].get("nbgrader", {}).get("grade_id")
                or (source.strip().splitlines() or [""])[0][:50])
        out.append((name, (_time(end) - _time(start)).total_seconds()))
    return out


def summary(folders: list[Path]) -> dict[str, tuple[int, collections.Counter]]:
    """``{assignment: (notebooks, Counter(cell name -> seconds summed))}`` over every
    ``<folder>/**/autograded/<student>/<assignment>/<assignment>.ipynb``."""
    out: dict[str, tuple[int, collections.Counter]] = {}
    for folder in folders:
        for path in sorted(folder.glob("**/autograded/*/*/*.ipynb")):
            assignment = path.parent.name
            if path.stem != assignment:
                continue
            count, seconds = out.get(assignment, (0, collections.Counter()))
            for name, s in cell_seconds(path):
                seconds[name] += s
            out[assignment] = (count + 1, seconds)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args(argv)
    found = summary(args.folders)
    if not found:
        raise SystemExit("no autograded notebooks (autograded/<student>/<assignment>/<assignment>.ipynb) "
                         f"under {', '.join(map(str, args.folders))}")
    for assignment, (count, seconds) in sorted(found.items()):
        total = sum(seconds.values())
        print(f"{assignment}: {count} notebooks, {total / count:.2f} s of cells per notebook")
        for name, s in seconds.most_common(args.top):
            print(f"  {s / count:7.2f} s {100 * s / total:5.1f}%  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
