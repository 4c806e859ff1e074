"""Per-student, per-question score tables and a CSV of the autograded points."""
from __future__ import annotations

import csv
from pathlib import Path

from instructor.course import Grade


def question_table(assignment: str, grades: dict[str, dict[str, Grade]],
                   questions: dict[str, list[str]], not_graded: set[str] = frozenset()) -> str:
    """A text table: one row per student, one column per autograded question, and the
    total; manual answers are counted as 'to grade by hand'. The students in
    ``not_graded`` get "not graded" in every column, never zeros."""
    qs = list(questions)
    header = ["student", *qs, "auto total", "by hand"]
    rows = []
    for student in sorted(set(grades) | set(not_graded)):
        if student in not_graded:
            rows.append([student, *(["not graded"] * len(qs)), "not graded", "-"])
            continue
        cells = grades[student]
        row = [student]
        total = maximum = 0.0
        for q in qs:
            score = sum(cells[c].score or 0.0 for c in questions[q])
            top = sum(cells[c].max_score for c in questions[q])
            total, maximum = total + score, maximum + top
            row.append(f"{score:g}/{top:g}")
        manual = [g for g in cells.values() if not g.auto]
        waiting = sum(g.max_score for g in manual if g.score is None)
        row += [f"{total:g}/{maximum:g}", f"{waiting:g} pts pending" if waiting else "done"]
        rows.append(row)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(v).ljust(w) for v, w in zip(r, widths))
    return "\n".join([f"== {assignment} ==", line(header), line(["-" * w for w in widths]),
                      *map(line, rows)])


def write_csv(path: Path, assignment: str, grades: dict[str, dict[str, Grade]],
              questions: dict[str, list[str]], append: bool = False) -> None:
    """Rows of (assignment, student, question, score, max_score) for autograded questions."""
    new = not (append and path.exists())
    with open(path, "a" if append else "w", newline="") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(["assignment", "student", "question", "score", "max_score"])
        for student in sorted(grades):
            for q, cells in questions.items():
                writer.writerow([assignment, student, q,
                                 sum(grades[student][c].score or 0.0 for c in cells),
                                 sum(grades[student][c].max_score for c in cells)])
