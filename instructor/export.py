"""``nbgrader export`` with a status per submission (``c.ExportApp.plugin_class`` in
``nbgrader_config.py``).

nbgrader's CSV export writes a score of 0 both for a blank submission and for one the grader
could not grade. This plugin writes nbgrader's columns plus ``status``:

- ``graded``: every point is in;
- ``withheld pending review``: the autograded points were withheld (suspected tampering,
  :func:`instructor.audit.incidents.withhold`) until an instructor reviews the submission;
- ``needs manual grading``: written answers still wait for a grader (the score so far);
- ``not graded``: the grader could not grade it (:func:`instructor.audit.incidents.mark_not_graded`
  flagged it); ``score`` and ``raw_score`` are left empty, never 0, and ``reason`` says why;
- ``no submission``: nothing was handed in (score 0, as nbgrader gives).

Written with the :mod:`csv` module, so names and reasons with commas stay in their column.
"""
from __future__ import annotations

import csv

from nbgrader.api import MissingEntry
from nbgrader.plugins import CsvExportPlugin as NbgraderCsvExportPlugin

COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
           "raw_score", "late_submission_penalty", "score", "max_score", "status", "reason"]


def submission_status(submission) -> tuple[str, str]:
    """(status, reason) of a gradebook submission (see the module's docstring)."""
    from instructor.audit.incidents import NOT_GRADED, WITHHELD
    for notebook in submission.notebooks:
        if notebook.flagged and all(g.auto_score is None and g.manual_score is None for g in notebook.grades):
            reason = next((c.manual_comment for c in notebook.comments
                           if (c.manual_comment or "").startswith(NOT_GRADED)), "")
            return "not graded", reason[len(NOT_GRADED) + 2:] if reason else ""
    withheld = [c.manual_comment for n in submission.notebooks for c in n.comments
                if (c.manual_comment or "").startswith(WITHHELD)]
    if withheld:
        return "withheld pending review", withheld[0][:300]
    if submission.needs_manual_grade:
        return "needs manual grading", ""
    return "graded", ""


class CsvExportPlugin(NbgraderCsvExportPlugin):
    """nbgrader's CSV export with ``status`` and ``reason`` columns (module docstring)."""

    def export(self, gradebook) -> None:
        dest = self.to or "grades.csv"
        students = {str(s) for s in self.student}
        assignments = {str(a) for a in self.assignment}
        with open(dest, "w", newline="") as fh:
            writer = csv.DictWriter(fh, COLUMNS)
            writer.writeheader()
            for assignment in gradebook.assignments:
                if assignments and assignment.name not in assignments:
                    continue
                for student in gradebook.students:
                    if students and student.id not in students:
                        continue
                    row = {"assignment": assignment.name, "duedate": assignment.duedate or "",
                           "student_id": student.id, "last_name": student.last_name or "",
                           "first_name": student.first_name or "", "email": student.email or "",
                           "max_score": assignment.max_score}
                    try:
                        submission = gradebook.find_submission(assignment.name, student.id)
                    except MissingEntry:
                        row.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0, score=0.0,
                                   status="no submission", reason="")
                    else:
                        status, reason = submission_status(submission)
                        penalty = submission.late_submission_penalty or 0.0
                        row.update(timestamp=submission.timestamp or "", status=status, reason=reason,
                                   late_submission_penalty=penalty)
                        if status == "not graded":
                            row.update(raw_score="", score="")
                        else:
                            row.update(raw_score=submission.score,
                                       score=max(0.0, submission.score - penalty))
                    writer.writerow(row)
