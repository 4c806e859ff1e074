"""Feedback that students can read without seeing the hidden tests (nbgrader issue #917).

nbgrader's feedback shows each graded cell as it ran, hidden tests included. This
preprocessor, configured for ``GenerateFeedback`` in ``nbgrader_config.py``, removes the
``### BEGIN HIDDEN TESTS`` regions from test cells and shortens each error to its last
line (``AssertionError: <what is wrong>``), so the student sees the hint in the test's
message but neither the hidden code nor a traceback quoting it.
"""
from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
NOTE = "# (hidden tests ran here)"


class HideHiddenTests(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and BEGIN in cell.source:
            lines, hidden = [], False
            for line in cell.source.split("\n"):
                if BEGIN in line:
                    hidden = True
                    lines.append(line[:len(line) - len(line.lstrip())] + NOTE)
                elif END in line:
                    hidden = False
                elif not hidden:
                    lines.append(line)
            cell.source = "\n".join(lines)
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    message = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".rstrip(": ")
                    output["traceback"] = [message]
        return cell, resources
