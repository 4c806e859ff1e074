"""Catalogues of student answers, per assignment: wrong ones (mutants) and right ones (variants).

Each entry replaces solution region(s) of one answer cell of the reference submission.
A mutant names the question(s) that must lose points; every other question must keep
full marks. A variant is a legitimate answer and must keep every point.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Change:
    """One answer: either whole solution regions (``code``) or text edits of them (``edits``).

    ``code`` maps a region index (counting the cell's ``### BEGIN SOLUTION`` regions from 0)
    to its replacement, written at zero indentation; a plain string means region 0.
    ``edits`` is a tuple of ``(old, new)`` pairs, each replacing the first occurrence of
    ``old`` in the region that contains it (as the master's solution reads).
    """

    name: str
    cell: str
    code: dict[int, str] | str | None = None
    questions: tuple[str, ...] = ()  # mutants: the questions that must lose points
    family: str = ""
    edits: tuple[tuple[str, str], ...] = ()

    @property
    def regions(self) -> dict[int, str]:
        if self.code is None:
            return {}
        return {0: self.code} if isinstance(self.code, str) else dict(self.code)


@dataclass
class Catalogue:
    assignment: str
    questions: dict[str, list[str]]  # question label -> its test cells' grade_ids
    mutants: list[Change] = field(default_factory=list)
    variants: list[Change] = field(default_factory=list)
    demo_mistakes: list[str] = field(default_factory=list)  # mutant names, for `make demo`
    # Generated mutants (instructor/quality/mutants.py) that keep full marks for a stated reason:
    # name -> why the change does not change what the question asks (an equivalent mutant).
    equivalent: dict[str, str] = field(default_factory=dict)

    def mutant(self, name: str) -> Change:
        for m in self.mutants:
            if m.name == name:
                return m
        raise KeyError(f"No mutant {name!r} in the {self.assignment} catalogue.")


def load(assignment: str) -> Catalogue:
    return importlib.import_module(f"catalogue.{assignment}").CATALOGUE
