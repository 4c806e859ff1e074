"""Submissions that look copied: what students wrote, compared pair by pair.

Only the students' own code is compared: in each autograded answer cell, the lines that
are not in the release (the stubs' replacements and any line a student added). The given
code, the template and the test cells never count. The comparison is copydetect's
(k-gram fingerprints of the token stream, the method of MOSS; variable and
function names, comments and whitespace are normalised away), so renamed variables and
reordered statements still match.

Code that many students share is not evidence of copying (MOSS's ``-m``): a fingerprint
found in more than ``common`` submissions is ignored, like the template. In a class graded
from one reference (the catalogue's mutants and variants) that removes the reference's
code and leaves what each submission has of its own.
"""
from __future__ import annotations

import difflib
import html
import io
from dataclasses import dataclass, field
from itertools import combinations

from nbgrader.utils import is_solution

THRESHOLD = 0.5  # share of a submission's own code that matches the other's
# And at least this much matching code (characters of the normalised code, about four
# lines): two short answers that happen to agree are not evidence of copying.
MIN_MATCH = 200
NOISE = 25  # k: fingerprints are hashes of 25-character k-grams of the normalised code
# Every k-gram is kept (winnowing window 1): copydetect hashes with Python's hash(), which
# changes from one process to the next, so a wider window would keep other fingerprints,
# and report other figures, at each run. The answers are small enough to keep them all.
WINDOW = 1


@dataclass
class Answers:
    """One student's own code: ``cells`` maps an answer cell's grade_id to its new lines."""
    student: str
    cells: dict[str, str]
    text: str = ""  # the cells joined, what is fingerprinted
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)  # cell -> [start, end) in text


@dataclass
class Pair:
    a: str
    b: str
    similarity: float  # the larger of the two shares, 0..1
    share_a: float
    share_b: float
    matches_a: list[tuple[int, int]]  # [start, end) of matching regions in a's text
    matches_b: list[tuple[int, int]]


def own_code(submission, release) -> dict[str, str]:
    """``{grade_id: code}``: for each code answer cell of ``submission`` (a notebook), the
    lines that the release's cell of the same grade_id does not have, in order.

    Raises ValueError when the two notebooks share no answer cell (another assignment's
    notebook, or metadata an editor cleared: grade it first, the intake repairs that)."""
    given = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in release.cells
             if c.cell_type == "code" and is_solution(c)}
    out = {}
    for cell in submission.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type != "code" or gid not in given:
            continue
        old, new = given[gid].split("\n"), cell.source.split("\n")
        lines = []
        for op, _, _, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
            if op in ("replace", "insert"):
                lines += new[j1:j2]
        code = "\n".join(lines)
        if code.strip():
            out[gid] = code
    if given and not any(c.get("metadata", {}).get("nbgrader", {}).get("grade_id") in given
                         for c in submission.cells):
        raise ValueError("the notebook has none of the release's answer cells: is it this "
                         "assignment's notebook, graded (the intake restores cleared metadata)?")
    return out


def answers_of(student: str, cells: dict[str, str]) -> Answers:
    parts, spans, at = [], {}, 0
    for gid, code in cells.items():
        block = code.rstrip() + "\n\n"
        spans[gid] = (at, at + len(block))
        parts.append(block)
        at += len(block)
    return Answers(student, cells, "".join(parts), spans)


def _fingerprint(answers: Answers, boilerplate=None):
    """copydetect's fingerprint of ``answers`` (tokens normalised, Python's lexer)."""
    from copydetect import CodeFingerprint
    import numpy as np
    return CodeFingerprint("answers.py", NOISE, WINDOW,
                           boilerplate=np.array(sorted(boilerplate or ()), dtype=np.int64),
                           filter=True, fp=io.StringIO(answers.text))


def compare(students: list[Answers], threshold: float = THRESHOLD,
            common: int | None = None, given: str = "",
            min_match: int = MIN_MATCH) -> tuple[list[Pair], dict]:
    """Every pair of ``students`` whose own code matches above ``threshold`` (0..1: the
    larger of the two shares of matched code) over at least ``min_match`` characters of
    normalised code in each, most similar first, and figures:
    ``{"students", "pairs_compared", "ignored_fingerprints", "common"}``.

    ``common``: fingerprints found in more than this many submissions are ignored (default:
    a tenth of the class, at least 5). ``given``: code handed out (the release), whose
    fingerprints are ignored too. A student with no code of their own matches nobody.
    Raises ValueError for a threshold outside (0, 1].
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold {threshold} is not in (0, 1]: give the share of matching code, e.g. 0.5")
    if common is None:
        common = max(5, len(students) // 10)
    base = set()
    if given.strip():
        base = set(map(int, _fingerprint(Answers("given", {}, given)).hashes))
    first = {s.student: set(map(int, _fingerprint(s).hashes)) - base
             for s in students if s.text.strip()}
    counts: dict[int, int] = {}
    for hashes in first.values():
        for h in hashes:
            counts[h] = counts.get(h, 0) + 1
    ignored = base | {h for h, n in counts.items() if n > common}
    prints = {s.student: _fingerprint(s, ignored) for s in students if s.text.strip()}
    own = {name: set(map(int, fp.hashes)) for name, fp in prints.items()}
    from copydetect import compare_files
    pairs = []
    for a, b in combinations(sorted(prints), 2):
        fa, fb = prints[a], prints[b]
        if own[a].isdisjoint(own[b]):  # most pairs: nothing in common, nothing to compare
            continue
        _, (sa, sb), (slices_a, slices_b) = compare_files(fa, fb)
        ra, rb = _ranges(slices_a), _ranges(slices_b)
        size = min(sum(e - s for s, e in ra), sum(e - s for s, e in rb))
        if max(sa, sb) >= threshold and size >= min_match:
            pairs.append(Pair(a, b, float(max(sa, sb)), float(sa), float(sb), ra, rb))
    pairs.sort(key=lambda p: (-p.similarity, p.a, p.b))
    return pairs, {"students": len(students), "pairs_compared": len(prints) * (len(prints) - 1) // 2,
                   "ignored_fingerprints": len(ignored), "common": common}


def _ranges(slices) -> list[tuple[int, int]]:
    return [(int(s), int(e)) for s, e in zip(slices[0], slices[1])] if len(slices) else []


def side_by_side(pair: Pair, answers: dict[str, Answers]) -> str:
    """HTML: for each answer cell with a match, the two students' code in two columns,
    matching regions marked (``<mark>``)."""
    a, b = answers[pair.a], answers[pair.b]
    rows = []
    for gid in [g for g in a.cells if g in b.cells or _touches(a, g, pair.matches_a)] + \
               [g for g in b.cells if g not in a.cells]:
        if not (_touches(a, gid, pair.matches_a) or _touches(b, gid, pair.matches_b)):
            continue
        rows.append(f"<tr><th colspan='2'>{html.escape(gid)}</th></tr><tr>"
                    f"<td><pre>{_marked(a, gid, pair.matches_a)}</pre></td>"
                    f"<td><pre>{_marked(b, gid, pair.matches_b)}</pre></td></tr>")
    head = f"<tr><th>{html.escape(pair.a)} ({pair.share_a:.0%} matched)</th>" \
           f"<th>{html.escape(pair.b)} ({pair.share_b:.0%} matched)</th></tr>"
    return f"<table class='side'>{head}{''.join(rows)}</table>"


def _touches(ans: Answers, gid: str, ranges) -> bool:
    if gid not in ans.spans:
        return False
    lo, hi = ans.spans[gid]
    return any(s < hi and e > lo for s, e in ranges)


def _marked(ans: Answers, gid: str, ranges) -> str:
    if gid not in ans.spans:
        return "<i>(no code of their own here)</i>"
    lo, hi = ans.spans[gid]
    text = ans.text[lo:hi].rstrip()
    hi = lo + len(text)
    out, at = [], lo
    for s, e in sorted(ranges):
        s, e = max(s, at), min(e, hi)
        if s >= e:
            continue
        out.append(html.escape(ans.text[at:s]))
        out.append(f"<mark>{html.escape(ans.text[s:e])}</mark>")
        at = e
    out.append(html.escape(ans.text[at:hi]))
    return "".join(out)
