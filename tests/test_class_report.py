"""The class report (instructor.class_report) and the similarity check (instructor.similarity).

The report is tested on classes CI grades anyway: each assignment's catalogue (the
``graded`` fixture, whose workers' courses the report reads as one class) and the demo's
three students (``demo_run``). The similarity check is tested on a class made from the
catalogue without grading: every mutant and variant bundle, plus two renamed copies and
one reordered copy of variant bundles.
"""
from __future__ import annotations

import html as html_lib
import re
import time

import nbformat
import pytest

from catalogue import load
from instructor import class_report, notebooks, similarity
from instructor.course import REPO, Course, assignment_names
from instructor.quality.copies import copied_class, renamed, reordered
from instructor.quality.verdicts import apply
from tests.conftest import hidden_code, question_scores

ASSIGNMENTS = assignment_names()
FIGURES = {"scores-per-question.png", "scores-total.png", "grading-time.png", "incidents.png",
           "manual-grading.png"}
# Catalogue variants that are not independent answers: written from one template of the
# catalogue (vae_cvae's PLOT_CVAE), they differ only in the tick arguments.
NOT_INDEPENDENT = {frozenset({"variant-plot_cvae_extent", "variant-plot_cvae_pixel_ticks"})}



def page_text(page: str) -> str:
    page = re.sub(r'src="data:[^"]+"', "", page)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", page))


def failed_students(page: str) -> dict[str, set[str]]:
    """``{test cell: students}`` from the most-failed-checks table."""
    out: dict[str, set[str]] = {}
    for row in re.findall(r"<tr class='failed-check'>(.*?)</tr>", page, re.S):
        cells = re.findall(r"<td>(.*?)</td>", row, re.S)
        who = re.search(r"</summary>(.*?)</details>", row, re.S).group(1)
        out.setdefault(html_lib.unescape(cells[1]), set()).update(
            html_lib.unescape(w) for w in who.split(", ") if w)
    return out


def test_a_notebook_without_answer_cells_leaves_only_itself_out_of_the_comparison(demo_run, tmp_path):
    """One autograded notebook that shares no answer cell with the release (another
    assignment's, say) is named as not compared; the report is still written."""
    import shutil
    root, _ = demo_run("fashion_vae")
    copy = tmp_path / "course"
    shutil.copytree(root, copy, symlinks=True)
    odd = copy / "autograded" / "demo-blank" / "fashion_vae" / "fashion_vae.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), str(odd))
    page = class_report.write([copy], "fashion_vae", tmp_path / "report").read_text()
    assert "Not compared: demo-blank (the notebook has none of the release&#x27;s answer cells" in page
    assert '<span data-count="similar-pairs">1</span>' in page


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_class_report_of_the_catalogue_class_matches_the_gradebooks(graded, assignment, tmp_path):
    catalogue, subs, grades, work = graded(assignment)
    roots = sorted(work.glob("worker*"))
    start = time.perf_counter()
    path = class_report.build(class_report.gather(roots, assignment), tmp_path)
    took = time.perf_counter() - start
    print(f"\n{assignment}: class report of {len(grades)} submissions in {took:.1f} s")
    page = path.read_text()
    assert {p.name for p in tmp_path.glob("*.png")} == FIGURES
    assert page.count('src="data:image/png;base64,') == len(FIGURES)
    assert f'<span data-count="submissions">{len(grades)}</span>' in page
    # Every student's autograded total, as the gradebook has it.
    for student, cells in grades.items():
        total = sum(s for s, _ in question_scores(catalogue, cells).values())
        assert f"<tr data-student='{html_lib.escape(student)}'>" in page
        assert re.search(rf"<tr data-student='{re.escape(html_lib.escape(student))}'>.*?"
                         rf"<td data-total='{total:g}'>", page), student
    # A test cell's failing students are exactly those who lost its points.
    failed = failed_students(page)
    for cell in (c for cs in catalogue.questions.values() for c in cs):
        lost = {s for s, cs in grades.items() if cs[cell].score is not None
                and cs[cell].score < cs[cell].max_score - 1e-9}
        assert failed.get(cell, set()) == lost, cell
    # Hints, never the hidden tests' code.
    text = page_text(page)
    leaks = [line for line in hidden_code(assignment) if line in text]
    assert not leaks, f"the class report shows hidden test code: {leaks[:3]}"
    assert "Traceback" not in text and "### BEGIN HIDDEN TESTS" not in page
    # The reference and its copy graded twice have no code apart: never a similar pair.
    assert "data-pair='reference|reference-again'" not in page


def test_class_report_of_the_demo_class_of_three(demo_run):
    root, out = demo_run("fashion_vae")
    path = root / "reports" / "fashion_vae" / "class-report.html"
    assert f"Class report of fashion_vae: {path}" in out
    page = path.read_text()
    assert {p.name for p in path.parent.glob("*.png")} == FIGURES
    grades = Course(root).grades("fashion_vae")
    assert set(grades) == {"demo-reference", "demo-blank", "demo-mistakes"}
    assert '<span data-count="submissions">3</span>' in page
    # demo-mistakes is the reference with four mistakes: in a class of three nothing is
    # common code, so the two are flagged; the blank release has no code of its own.
    assert '<span data-count="similar-pairs">1</span>' in page
    assert "data-pair='demo-mistakes|demo-reference'" in page
    failed = failed_students(page)
    assert "demo-reference" not in set().union(*failed.values())
    assert any("demo-mistakes" in who for who in failed.values())
    # fashion_vae's demo mistakes include one that only a hidden test catches (G6): its hint.
    assert "Hidden test failed (its code is not shown). Hint:" in page_text(page)
    assert not [line for line in hidden_code("fashion_vae") if line in page_text(page)]
    # Manual grading: the blank release's answers have 0 from nbgrader, the others wait.
    manual = [g for cells in grades.values() for g in cells.values() if not g.auto]
    pending = sum(g.score is None for g in manual)
    assert pending == 2 * len(manual) // 3
    assert (f"<span data-manual='graded'>{len(manual) - pending}</span> of "
            f"<span data-manual='answers'>{len(manual)}</span>") in page
    assert f"<span data-manual='pending'>{pending}</span> to grade by hand" in page


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_similarity_flags_the_copies_and_no_independent_answer(assignment):
    """Two renamed copies and a reordered copy of variant bundles are flagged; no two of
    the catalogue's variants (independent correct answers) are."""
    catalogue = load(assignment)
    release = notebooks.read(REPO / "release" / assignment / f"{assignment}.ipynb")
    given = "\n".join(c.source for c in release.cells if c.cell_type == "code")

    def flagged(subs: dict) -> set[frozenset]:
        answers = [similarity.answers_of(s, similarity.own_code(nb, release)) for s, nb in subs.items()]
        return {frozenset((p.a, p.b)) for p in similarity.compare(answers, given=given)[0]}

    subs, copies = copied_class(catalogue)
    pairs = flagged(subs)
    assert copies <= pairs, f"copies not caught: {copies - pairs}"
    bundles = {p for p in pairs - copies if all(s.startswith("variants-") for s in p)}
    assert not bundles, f"independent variant bundles flagged: {bundles}"
    source = notebooks.read(REPO / "source" / assignment / f"{assignment}.ipynb")
    regions = notebooks.solution_regions(source)
    alone = {f"variant-{v.name}": apply(source, release, regions, v) for v in catalogue.variants}
    alone["reference"] = notebooks.reference_submission(source, release)
    false_positives = flagged(alone)
    print(f"\n{assignment}: {len(subs)} submissions, {len(pairs)} pairs flagged, copies caught "
          f"{len(copies & pairs)}/{len(copies)}; {len(alone)} variants alone: "
          f"{len(false_positives)} flagged")
    assert false_positives <= NOT_INDEPENDENT, false_positives - NOT_INDEPENDENT


def test_own_code_is_what_the_student_wrote_and_copies_keep_running_code():
    a = "fashion_vae"
    source = notebooks.read(REPO / "source" / a / f"{a}.ipynb")
    release = notebooks.read(REPO / "release" / a / f"{a}.ipynb")
    reference = notebooks.reference_submission(source, release)
    own = similarity.own_code(reference, release)
    regions = notebooks.solution_regions(source)
    assert set(own) == {gid for gid, parts in regions.items() if any(p.strip() for p in parts)}
    for gid, code in own.items():
        assert "# YOUR CODE HERE" not in code
        assert code.split("\n") == [line for part in regions[gid] for line in part.split("\n")], gid
    assert similarity.own_code(release, release) == {}
    with pytest.raises(ValueError, match="none of the release's answer cells"):
        similarity.own_code(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), release)
    # The copies compile, differ from the original, and the renamed one renames.
    copy = renamed(reference, release)
    moved = reordered(reference, release)
    given = [c.source for c in release.cells]
    assert [line for c in moved.cells for line in c.source.split("\n") if line in "\n".join(given)] == \
        [line for c in reference.cells for line in c.source.split("\n") if line in "\n".join(given)]
    for nb in (copy, moved):
        assert nb.cells != reference.cells
        for cell in nb.cells:
            if cell.cell_type == "code":
                compile("\n".join(l for l in cell.source.split("\n") if not l.lstrip().startswith(("%", "!"))),
                        "cell", "exec")
    assert re.search(r"\b[a-z]\w*_v2\b", "\n".join(c.source for c in copy.cells if c.cell_type == "code"))
    with pytest.raises(ValueError, match=r"threshold 0 is not in \(0, 1\]"):
        similarity.compare([], threshold=0)


def test_the_report_says_what_to_do_without_a_gradebook(tmp_path):
    Course.scratch(tmp_path, ["fashion_vae"])
    with pytest.raises(ValueError, match="no gradebook: run make autograde ASSIGNMENT=fashion_vae first"):
        class_report.gather([tmp_path], "fashion_vae")
    assert not (tmp_path / "gradebook.db").exists()
    assert class_report.main(["fashion_vae", "--root", str(tmp_path)]) == 2


def test_incident_lines_are_summed_by_kind():
    kinds = [class_report.kind_of(line) for line in (
        "not graded: no fashion_vae.ipynb in the submission (found: nothing)",
        "tampering suspected in train_vae, rebinds torch.allclose",
        "test_train_vae timed out and was interrupted",
        "deleted test cell(s) put back from the master and graded: test_embed",
        "something new")]
    assert kinds == ["not graded", "tampering suspected (points withheld)", "timed out or out of time",
                     "cells repaired at intake", "other"]
