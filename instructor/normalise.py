"""Submissions saved by other editors (Colab, VS Code, Notebook 7, JupyterLab 3 and 4) in the
format nbgrader and nbconvert expect: nbformat 4.5, with cell ids, without editor metadata
and without widget state nbconvert cannot render (:func:`helpers.notebook_format.normalise`).

``NormaliseNotebook`` comes first in ``c.Autograde.sanitize_preprocessors`` (so the
autograded notebook is already normal) and in ``c.GenerateFeedback.preprocessors`` (for
notebooks autograded before it was configured: Colab's widget state otherwise stops
feedback with ``KeyError: 'state'``).
"""
from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor

from helpers.notebook_format import NotebookFormatError, normalise


class NormaliseNotebook(NbGraderPreprocessor):
    """Normalises the notebook in place and logs each change at info level. A notebook that
    cannot be repaired is passed on unchanged, with a one-sentence warning."""

    def preprocess(self, nb, resources):
        name = resources.get("unique_key") or resources.get("metadata", {}).get("name", "notebook")
        try:
            changes = normalise(nb)
        except NotebookFormatError as err:
            self.log.warning("%s left as it is: %s.", name, err)
            return nb, resources
        for change in changes:
            self.log.info("%s: %s", name, change)
        return nb, resources
