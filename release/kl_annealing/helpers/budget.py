"""The training budget: full size for students, small and fixed while nbgrader grades.

nbgrader sets ``NBGRADER_EXECUTION`` ("autograde" or "validate") while it executes a
notebook. Under it, training cells use a small budget so that grading a submission takes
seconds; the tests judge behaviour (for example, that the loss goes down), not luck.
"""
from __future__ import annotations

import os


def grading_mode() -> bool:
    """True while nbgrader validates or autogrades this notebook."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def scaled(student: int, grading: int) -> int:
    """``student`` normally, ``grading`` while nbgrader grades (e.g. epochs or images)."""
    return grading if grading_mode() else student
