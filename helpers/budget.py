"""The training budget: full size for students, small and fixed while nbgrader grades.

nbgrader sets ``NBGRADER_EXECUTION`` ("autograde" or "validate") while it executes a
notebook. Under it, training cells use a small budget so that grading a submission takes
seconds; the tests judge behaviour (for example, that the loss goes down), not luck.
"""
from __future__ import annotations

import os

from .environment import NBGRADER_EXECUTION


def grading_mode() -> bool:
    """True while nbgrader validates or autogrades this notebook."""
    return bool(os.environ.get(NBGRADER_EXECUTION))


def scaled(student: int | None, grading: int | None) -> int | None:
    """``student`` normally, ``grading`` while nbgrader grades: a number of epochs or of
    images (``None`` where the caller reads it as "no limit"). The one idiom for the
    grading budget in every notebook: ``helpers.scaled(8, grading=1)``."""
    return grading if grading_mode() else student
