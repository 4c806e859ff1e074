"""Feedback that students can read without seeing the hidden tests (nbgrader issue #917).

nbgrader's feedback shows each graded cell as it ran, hidden tests included, and each
error's full traceback, which quotes the lines around the failing one. This
preprocessor, configured for ``GenerateFeedback`` in ``nbgrader_config.py``:

- removes the ``### BEGIN HIDDEN TESTS`` regions from test cells (a one-line note stands
  in for them);
- shortens each error to one line. When the failing line was in a hidden region, the
  line says so and gives the assertion's message as the hint
  (``Hidden test failed (its code is not shown). Hint: <what is wrong>``); otherwise it is
  ``AssertionError: <what is wrong>`` under the visible test code it came from.

The points of each graded cell, the visible test code and outputs (figures included)
are kept as nbgrader renders them; long lines wrap and errors are shaded
(``FEEDBACK_CSS``, so it must run after ``CSSHTMLHeaderPreprocessor``).
"""
from __future__ import annotations

import re

from nbgrader.preprocessors import NbGraderPreprocessor

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
NOTE = "# (hidden tests ran here)"
HIDDEN_FAILED = "Hidden test failed (its code is not shown)."
# Added to nbgrader's feedback page: long lines wrap instead of running off the panel,
# and errors (the tests' messages) stand out.
FEEDBACK_CSS = """
div.input_area pre, div.output_area pre { white-space: pre-wrap; overflow-wrap: anywhere; }
div.output_subarea.output_error pre {
  background: #fdecea; border-left: 4px solid #c9302c; padding: 0.4em 0.6em; color: #5a1a1a;
}
"""
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def hidden_lines(source: str) -> set[int]:
    """Line numbers (from 1) of ``source`` inside hidden-test regions, markers included."""
    lines, hidden = set(), False
    for number, line in enumerate(source.split("\n"), start=1):
        if BEGIN in line:
            hidden = True
        if hidden:
            lines.add(number)
        if END in line:
            hidden = False
    return lines


def failing_line(output, execution_count) -> int | None:
    """The line of the cell where ``output`` (an error) was raised, from IPython's
    traceback (``Cell In[12], line 30``); None when the traceback does not say."""
    text = ANSI.sub("", "\n".join(output.get("traceback", [])))
    if execution_count is not None:
        found = re.search(rf"Cell In\[{execution_count}\], line (\d+)", text)
    else:
        found = re.search(r"Cell In\[\d+\], line (\d+)", text)
    if not found:  # IPython < 8: "<ipython-input-12-...> in <module>" and "---> 30"
        found = re.search(r"^-+> ?(\d+)", text, re.M)
    return int(found.group(1)) if found else None


def summary(output, in_hidden: bool) -> str:
    """One line for an error: the test's message, marked when a hidden test failed."""
    name, value = output.get("ename", "Error"), str(output.get("evalue", "")).strip()
    if not in_hidden:
        return f"{name}: {value}" if value else name
    if name == "AssertionError":
        hint = value or "the test has no message; re-read the question's instructions."
        return f"AssertionError: {HIDDEN_FAILED} Hint: {hint}"
    return f"{name}: {HIDDEN_FAILED} It stopped with {name}" + (f": {value}" if value else "")


class HideHiddenTests(NbGraderPreprocessor):
    def preprocess(self, nb, resources):
        nb, resources = super().preprocess(nb, resources)
        # After CSSHTMLHeaderPreprocessor, which sets the page's inline CSS.
        resources.setdefault("inlining", {}).setdefault("css", []).append(FEEDBACK_CSS)
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        meta = cell.metadata.get("nbgrader", {})
        hidden = hidden_lines(cell.source) if meta.get("grade") and BEGIN in cell.source else set()
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                line = failing_line(output, cell.get("execution_count"))
                output["traceback"] = [summary(output, line in hidden)]
        if hidden:
            kept = []
            for number, line in enumerate(cell.source.split("\n"), start=1):
                if BEGIN in line:
                    kept.append(line[:len(line) - len(line.lstrip())] + NOTE)
                elif number not in hidden:
                    kept.append(line)
            cell.source = "\n".join(kept)
        return cell, resources
