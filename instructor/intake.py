"""What happens to a submitted notebook before nbgrader grades it.

:class:`OverwriteCells` replaces nbgrader's preprocessor of that name in
``c.Autograde.sanitize_preprocessors`` (``nbgrader_config.py``).
"""
from __future__ import annotations

from nbgrader.preprocessors import OverwriteCells as NbgraderOverwriteCells


class OverwriteCells(NbgraderOverwriteCells):
    """nbgrader's ``OverwriteCells``, which survives cells that the master does not have.

    nbgrader 0.9.6 deletes only the ``grade_id`` of a cell whose ``grade_id`` is not in the
    gradebook (a cell from an older release, such as the introduction's names cell, which was
    locked before, or one a student made up), and leaves the rest of its nbgrader metadata.
    Its own ``add_missing_cells`` then raises ``KeyError: 'grade_id'`` and the whole
    submission goes ungraded. Here such a cell loses all its nbgrader metadata: it becomes an
    ordinary cell, worth nothing, which is what it is. Every other cell is handled by
    nbgrader unchanged (``c.OverwriteCells`` settings apply to this class too).
    """

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        meta = cell.metadata.get("nbgrader")
        if meta is not None and "grade_id" not in meta:
            del cell.metadata["nbgrader"]
        return cell, resources
