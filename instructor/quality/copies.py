"""Copied submissions, made from a catalogue submission, to test the similarity check.

- :func:`renamed`: the same notebook with the variables that its answers introduce renamed
  (every use, in every cell, so the code still runs);
- :func:`reordered`: the same notebook with adjacent independent assignments of its
  answers swapped (neither reads or writes what the other writes; given lines stay).

:func:`copied_class` is a class of independent submissions (the reference, every mutant
and every variant bundle of the catalogue) with two renamed copies and one reordered copy
of variant bundles: the pairs that the check must flag, and only those.
"""
from __future__ import annotations

import ast
import builtins
import copy
import keyword
import re
import textwrap

from nbgrader.utils import is_solution

from instructor import notebooks, syntax


def _answer_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and is_solution(c)]


def _stored_names(code: str) -> set[str]:
    try:
        tree = syntax.parse(textwrap.dedent(code))
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def renamed(submission, release, suffix: str = "_v2"):
    """A copy of ``submission`` whose answers' own variables are renamed (``x`` ->
    ``x_v2``): the names assigned in its answer cells that the release's code never uses
    (so not a given name, a parameter, or a name the tests read), renamed everywhere."""
    given = "\n".join(c.source for c in release.cells if c.cell_type == "code")
    used = set(re.findall(r"[A-Za-z_]\w*", given))
    names = set()
    for cell in _answer_cells(submission):
        names |= _stored_names(cell.source)
    names = {n for n in names - used if not keyword.iskeyword(n) and not hasattr(builtins, n)}
    if not names:
        raise ValueError("nothing to rename: the answers introduce no variable of their own")
    pattern = re.compile(r"(?<![\w.])(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")\b")
    out = copy.deepcopy(submission)
    for cell in out.cells:
        if cell.cell_type == "code":
            cell.source = pattern.sub(lambda m: m.group(1) + suffix, cell.source)
    return out


def _effects(line: str) -> tuple[set[str], set[str]] | None:
    """(names read, names written) of one simple assignment, or None for anything else."""
    try:
        tree = syntax.parse(line.strip())
    except SyntaxError:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        return None
    stmt = tree.body[0]
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    written = {ast.unparse(t) for tgt in targets for t in ast.walk(tgt)
               if isinstance(t, (ast.Name, ast.Attribute, ast.Subscript)) and isinstance(t.ctx, ast.Store)}
    read = {n.id for n in ast.walk(stmt.value) if isinstance(n, ast.Name)} if stmt.value else set()
    read |= {ast.unparse(a) for a in ast.walk(stmt.value) if isinstance(a, ast.Attribute)} if stmt.value else set()
    if isinstance(stmt, ast.AugAssign):
        read |= written
    roots = {w.split(".")[0].split("[")[0] for w in written}
    return read, written | roots


def _swap_region(code: str, given: set[str] = frozenset()) -> tuple[str, int]:
    lines = code.split("\n")
    swaps, i = 0, 0
    while i + 1 < len(lines):
        a, b = lines[i], lines[i + 1]
        indent = lambda s: len(s) - len(s.lstrip())
        ea, eb = _effects(a), _effects(b)
        if a not in given and b not in given and \
                a.strip() and b.strip() and indent(a) == indent(b) and ea and eb and \
                not (ea[1] & (eb[0] | eb[1])) and not (eb[1] & ea[0]):
            lines[i], lines[i + 1] = b, a
            swaps += 1
            i += 2
        else:
            i += 1
    return "\n".join(lines), swaps


def reordered(submission, release):
    """A copy of ``submission`` in which adjacent independent assignments that the student
    wrote (lines the release's cell does not have) are swapped in each answer cell. Raises
    ValueError when no two statements can be swapped."""
    given = {notebooks.grade_id(c): set(c.source.split("\n")) for c in _answer_cells(release)}
    out, total = copy.deepcopy(submission), 0
    for cell in _answer_cells(out):
        new, swaps = _swap_region(cell.source, given.get(notebooks.grade_id(cell), set()))
        cell.source, total = new, total + swaps
    if not total:
        raise ValueError("no two adjacent independent assignments to swap")
    return out


def copied_class(catalogue) -> tuple[dict, set[frozenset]]:
    """``({student: notebook}, {copied pair})``: the catalogue's reference, mutants and
    variant bundles, plus ``copy-renamed-1`` and ``copy-renamed-2`` (renamed copies of the
    first two bundles) and ``copy-reordered`` (the third bundle, reordered; the first bundle
    when there are fewer)."""
    from instructor.course import REPO
    from instructor.quality.verdicts import catalogue_submissions
    a = catalogue.assignment
    release = notebooks.read(REPO / "release" / a / f"{a}.ipynb")
    subs = {k: v[2] for k, v in catalogue_submissions(catalogue, bundle_variants=True).items()}
    bundles = sorted(k for k in subs if k.startswith("variants-"))
    if not bundles:
        raise ValueError(f"the {a} catalogue has no variants to copy")
    pick = lambda k: bundles[min(k, len(bundles) - 1)]
    originals = {"copy-renamed-1": pick(0), "copy-renamed-2": pick(1), "copy-reordered": pick(2)}
    subs["copy-renamed-1"] = renamed(subs[originals["copy-renamed-1"]], release)
    subs["copy-renamed-2"] = renamed(subs[originals["copy-renamed-2"]], release, "_b")
    subs["copy-reordered"] = reordered(subs[originals["copy-reordered"]], release)
    copies = {frozenset((c, o)) for c, o in originals.items()}
    # Copies of one original are copies of each other too.
    for c1, o1 in originals.items():
        for c2, o2 in originals.items():
            if c1 < c2 and o1 == o2:
                copies.add(frozenset((c1, c2)))
    return subs, copies
