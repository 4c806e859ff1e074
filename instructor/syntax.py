"""Parse Python source safely from the grader's worker threads.

CPython 3.11 keeps the AST constructor's recursion counter in the interpreter's shared
state. Two threads inside :func:`ast.parse` at once can interleave (building the tree
allocates objects, which can run the garbage collector and switch threads), and the
parse that finishes second then fails with ``SystemError: AST constructor recursion
depth mismatch``. It happened in this project: two :func:`instructor.quality.verdicts.grade_many`
workers released the assignment at the same time, and both read the kit's imports
(``kit_modules``). See CPython issues gh-95185 and gh-106905.

The grader runs its workers as threads (:mod:`instructor.autograde`, ``grade_many``), so
every parse in ``instructor`` goes through :func:`parse`, which lets one thread parse at
a time. A parse takes milliseconds; the lock costs nothing measurable beside grading.
"""
from __future__ import annotations

import ast
import threading

_LOCK = threading.Lock()


def parse(source: str, filename: str = "<unknown>") -> ast.Module:
    """:func:`ast.parse` of ``source``, one thread at a time.

    Raises :class:`SyntaxError` as :func:`ast.parse` does.
    """
    with _LOCK:
        return ast.parse(source, filename)
