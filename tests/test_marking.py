"""Marking written answers: the mark schemes, and the per-question marking view
(:mod:`instructor.marking`) on a copy of the demo's graded course, reading from and writing
to nbgrader's gradebook."""
from __future__ import annotations

import re
import shutil

import pytest
from nbgrader.api import Gradebook

from instructor import marking, notebooks
from instructor.course import REPO, assignment_names



def written_cells(assignment):
    master = notebooks.read(REPO / "source" / assignment / f"{assignment}.ipynb")
    return [c for c in master.cells if c.cell_type == "markdown"
            and c.metadata.get("nbgrader", {}).get("solution") and c.metadata["nbgrader"].get("grade")]


@pytest.mark.parametrize("assignment", assignment_names())
def test_every_mark_scheme_names_what_earns_each_part(assignment):
    """Each written question's scheme lists its parts (``- **points**: what earns them``),
    the parts add up to the question's points, and partial credit below a part is spelled
    out, so a TA need not guess."""
    for q in marking.written_questions(assignment):
        parts = [float(p) for p in marking.PART.findall(q.mark_scheme)]
        assert len(parts) >= 2, f"{q.grade_id}: the mark scheme should list its parts as '- **0.5**: ...'"
        assert sum(parts) == q.points, f"{q.grade_id}: the parts add up to {sum(parts)}, not {q.points:g} points"
        partial = re.findall(r"\*\*(0\.25)\*\* (?:for|if|in all)", q.mark_scheme)
        assert partial, f"{q.grade_id}: say what earns less than a whole part (e.g. '**0.25** for ...')"
        assert q.prompt.strip() and q.model_answer.strip(), f"{q.grade_id}: question or model answer missing"


def test_a_bare_verdict_earns_nothing_in_10_6h():
    q = marking.question("vae_cvae", "answer_10_6h")
    assert 'a bare "no" (or "yes") gets 0' in q.mark_scheme


@pytest.mark.parametrize("assignment", assignment_names())
def test_mark_schemes_stay_out_of_the_release(assignment):
    released = (REPO / "release" / assignment / f"{assignment}.ipynb").read_text()
    for cell in written_cells(assignment):
        scheme = cell.source.split("**Mark scheme", 1)[1]
        for line in scheme.splitlines():
            if len(line.strip()) > 30:
                assert line.strip() not in released, f"release/{assignment} leaks its mark scheme: {line.strip()}"


@pytest.fixture(scope="module")
def course(demo_run, tmp_path_factory):
    """A copy of the demo's graded fashion_vae course (marks written here stay here)."""
    root, _ = demo_run("fashion_vae")
    copy = tmp_path_factory.mktemp("marking-course")
    for name in ("source", "release", "autograded", "nbgrader_config.py", "gradebook.db"):
        (shutil.copytree if (root / name).is_dir() else shutil.copy)(root / name, copy / name)
    return copy


def db(root):
    return f"sqlite:///{root / 'gradebook.db'}"


def test_the_page_shows_key_and_every_answer_and_escapes_student_html(course):
    q = marking.question("fashion_vae", "answer_traverse", course)
    path = course / "autograded" / "demo-mistakes" / "fashion_vae" / "fashion_vae.ipynb"
    nb = notebooks.read(path)
    cell = next(c for c in nb.cells if notebooks.grade_id(c) == q.grade_id)
    cell.source = 'They change smoothly.<script>alert("x")</script> <img src=x onerror="alert(1)">'
    import nbformat
    nbformat.write(nb, str(path))
    with Gradebook(db(course)) as gb:
        rows = marking.answers(gb, "fashion_vae", q, course)
    assert [a.student for a in rows] == ["demo-blank", "demo-mistakes", "demo-reference"]
    assert [a.score for a in rows] == [0, None, None], \
        "nbgrader gives 0 to the answer left as released; the others wait for a mark"
    page = marking.render_question("fashion_vae", q, rows, "<input type='hidden' name='_xsrf' value='t'>")
    assert "Mark scheme" in page and "Model answer" in page and "Do the images change consistently" in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page and "<script" not in page
    assert "<img" not in page, "a student's HTML must show as text"
    assert "YOUR ANSWER HERE" in page, "the blank submission's stub is shown as its answer"
    for marker in ("BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "assert ", "def test"):
        assert marker not in page, f"test or solution code on the marking page: {marker!r}"


def test_a_mark_goes_into_the_gradebook_and_bad_marks_are_refused(course):
    q = marking.question("fashion_vae", "answer_hist2d", course)
    with Gradebook(db(course)) as gb:
        marking.record(gb, "fashion_vae", q, "demo-reference", 0.75)
        with pytest.raises(marking.MarkingError, match="give 0 to 1 points"):
            marking.record(gb, "fashion_vae", q, "demo-reference", 1.5)
        with pytest.raises(marking.MarkingError, match="no graded submission"):
            marking.record(gb, "fashion_vae", q, "nobody", 1)
    with Gradebook(db(course)) as gb:  # a fresh connection: the mark was committed
        grade = gb.find_grade("answer_hist2d", "fashion_vae", "fashion_vae", "demo-reference")
        assert (grade.manual_score, grade.needs_manual_grade, grade.score) == (0.75, False, 0.75)
        marking.record(gb, "fashion_vae", q, "demo-reference", None)
        assert gb.find_grade("answer_hist2d", "fashion_vae", "fashion_vae", "demo-reference").needs_manual_grade


def test_unknown_question_or_assignment_says_what_to_choose(course):
    with pytest.raises(marking.MarkingError, match="choose one of answer_kl_formula"):
        marking.question("fashion_vae", "answer_nope", course)
    with pytest.raises(marking.MarkingError, match="choose one of fashion_vae"):
        marking.written_questions("no_such_assignment", course)


class Server:
    """The marking app of ``root`` served on a thread, with a browser holding its cookies."""

    def __init__(self, root, token="secret-token"):
        import asyncio
        import http.cookiejar
        import threading
        import urllib.request

        import tornado.httpserver
        import tornado.netutil
        app = marking.make_app("fashion_vae", root, db(root), token)
        sockets = tornado.netutil.bind_sockets(0, address="127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self.loop = asyncio.new_event_loop()

        def serve():
            asyncio.set_event_loop(self.loop)
            tornado.httpserver.HTTPServer(app).add_sockets(sockets)
            self.loop.run_forever()

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()
        self.browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def url(self, grade_id):
        return f"http://127.0.0.1:{self.port}/question/{grade_id}"

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def form(page, **marks):
    """The fields the page would post with ``marks`` ({student: points text}) typed in."""
    import html as html_lib
    fields = {"_xsrf": re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)}
    for i, student in re.findall(r"name='student:(\d+)' value='([^']*)'", page):
        student = html_lib.unescape(student)
        was = re.search(rf"name='was:{i}' value='([^']*)'", page).group(1)
        fields.update({f"student:{i}": student, f"was:{i}": was, f"score:{i}": marks.get(student, was)})
    return fields


def test_the_server_asks_for_the_token_and_the_xsrf_check_and_saves(course):
    """The tornado app over HTTP: no token, no page; a save without the XSRF token is
    refused; a save with it lands in the gradebook."""
    import urllib.error
    import urllib.parse
    import urllib.request

    server = Server(course)
    base = server.url("answer_selection")
    browser = server.browser
    try:
        with pytest.raises(urllib.error.HTTPError, match="403"):
            urllib.request.urlopen(base, timeout=30)
        with pytest.raises(urllib.error.HTTPError, match="403"):
            urllib.request.urlopen(base + "?token=s%C3%A9cret", timeout=30)
        reply = browser.open(f"{base}?token=secret-token", timeout=30)
        assert "img-src 'self' data:" in reply.headers["Content-Security-Policy"]
        page = reply.read().decode()
        fields = form(page, **{"demo-mistakes": "1"})
        with pytest.raises(urllib.error.HTTPError, match="403"):
            browser.open(base, urllib.parse.urlencode({k: v for k, v in fields.items() if k != "_xsrf"}).encode(),
                         timeout=30)
        reply = browser.open(base, urllib.parse.urlencode(form(page, **{"demo-mistakes": "0.5"})).encode(), timeout=30)
        assert reply.geturl().endswith("?saved=1") and "Saved 1 mark(s) to the gradebook." in reply.read().decode()
        page = browser.open(base, timeout=30).read().decode()
        with pytest.raises(urllib.error.HTTPError, match="400") as refused:
            browser.open(base, urllib.parse.urlencode(form(page, **{"demo-mistakes": "many"})).encode(), timeout=30)
        assert "&#x27;many&#x27; is not a number of points" in refused.value.read().decode()
        assert browser.open(base + "?saved=%C2%B2", timeout=30).status == 200, "a bad ?saved= is ignored"
    finally:
        server.stop()
    with Gradebook(db(course)) as gb:
        assert gb.find_grade("answer_selection", "fashion_vae", "fashion_vae", "demo-mistakes").manual_score == 0.5


def test_re_autograded_marks_need_confirming_a_stale_page_does_not_overwrite_and_ids_may_be_unicode(
        course, tmp_path):
    """nbgrader sets needs_manual_grade again on re-autograde: the page asks for the mark
    (pre-filled) and saving it unchanged clears the flag. A page opened before another TA's
    mark leaves that mark alone, and refuses a change to it. A student id outside ASCII
    (tornado reads field names as latin-1) is saved."""
    import urllib.error
    import urllib.parse
    root = tmp_path / "course"
    shutil.copytree(course, root)
    q = "answer_traverse"
    with Gradebook(db(root)) as gb:
        gb.add_student("zoë")
        gb.add_submission("fashion_vae", "zoë")
        grade = gb.find_grade(q, "fashion_vae", "fashion_vae", "demo-reference")
        grade.manual_score, grade.needs_manual_grade = 0.75, True  # as nbgrader's re-autograde leaves it
        gb.db.commit()
        rows = {a.student: a for a in marking.answers(gb, "fashion_vae", marking.question("fashion_vae", q, root),
                                                         root)}
    assert rows["demo-reference"].score == 0.75 and not rows["demo-reference"].marked
    server = Server(root)
    base = server.url(q)
    try:
        page = server.browser.open(f"{base}?token=secret-token", timeout=30).read().decode()
        assert "save to confirm" in page
        stale = server.browser.open(base, timeout=30).read().decode()
        reply = server.browser.open(base, urllib.parse.urlencode(form(page, **{"zoë": "1"})).encode(), timeout=30)
        assert reply.geturl().endswith("?saved=2"), "zoë's mark and demo-reference's confirmation"
        with Gradebook(db(root)) as gb:
            grade = gb.find_grade(q, "fashion_vae", "fashion_vae", "demo-reference")
            assert (grade.manual_score, grade.needs_manual_grade) == (0.75, False)
            assert gb.find_grade(q, "fashion_vae", "fashion_vae", "zoë").manual_score == 1
        # The stale page showed zoë blank: saving it without touching her row keeps her mark ...
        reply = server.browser.open(base, urllib.parse.urlencode(form(stale, **{"demo-mistakes": "0.5"})).encode(),
                                    timeout=30)
        assert reply.geturl().endswith("?saved=1")
        # ... and changing her row there is refused, saying why.
        with pytest.raises(urllib.error.HTTPError, match="400") as refused:
            server.browser.open(base, urllib.parse.urlencode(form(stale, **{"zoë": "0.25"})).encode(), timeout=30)
        assert "zoë: the gradebook changed since this page was opened (now 1)" in refused.value.read().decode()
    finally:
        server.stop()
    with Gradebook(db(root)) as gb:
        assert gb.find_grade(q, "fashion_vae", "fashion_vae", "zoë").manual_score == 1
        assert gb.find_grade(q, "fashion_vae", "fashion_vae", "demo-mistakes").manual_score == 0.5
