"""``make marking``: mark one written question across the class, on one page.

For a manually graded answer cell (a markdown cell with nbgrader ``"solution": true,
"grade": true``) the page shows, at the top, the question as students saw it (the release
notebook), the model answer and the mark scheme (the master in ``source/``, never
released), then every student's answer from ``autograded/<student>/<assignment>/``, each
with a points box. Saving writes each mark into nbgrader's gradebook as the formgrader
does (``Grade.manual_score``; ``needs_manual_grade`` cleared), so ``nbgrader export``,
``generate_feedback`` and the formgrader see the same marks: there is no second store.
A mark that a re-autograde flagged again (``needs_manual_grade``) shows as needing
confirmation; a save writes only the rows changed on the page, and refuses a changed row
whose mark changed in the gradebook since the page was opened.

Student text is untrusted: it is rendered from markdown with raw HTML escaped (mistune,
``escape=True``), so a ``<script>`` in an answer shows as text. Only the answer cell and the
question's text reach the page, never a test cell. The server listens on 127.0.0.1, asks
for the token it prints, checks tornado's XSRF cookie on every save, and sends a
Content-Security-Policy that allows no script and no remote image.

Run ``python -m instructor.marking <assignment> [--question <grade_id>]`` from the course
root (``make marking ASSIGNMENT=<a> [QUESTION=<grade_id>]``).
"""
from __future__ import annotations

import argparse
import html
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import mistune

from instructor import notebooks
from instructor.course import REPO

SCHEME = re.compile(r"\*\*Mark scheme")
# A part of a mark scheme: a list item opening with its points, "- **0.5**: what earns them".
PART = re.compile(r"^- \*\*(\d+(?:\.\d+)?)\*\*:", re.M)


class MarkingError(ValueError):
    """A question, student or mark that the gradebook cannot take; the message says why."""


@dataclass
class Question:
    """One written question of an assignment: its answer cell's ``grade_id``, the notebook
    it is in (without ``.ipynb``), its points, and three markdown texts: the ``prompt`` from
    the release, the ``model_answer`` and the ``mark_scheme`` from the master."""
    grade_id: str
    notebook: str
    points: float
    prompt: str
    model_answer: str
    mark_scheme: str


@dataclass
class Answer:
    """One student's answer to a question: the markdown they wrote (``None`` when the
    autograded notebook or its answer cell is missing), its points in the gradebook (the
    manual score, else nbgrader's automatic 0 for an answer left as released; ``None``: not
    marked yet) and the question's maximum. ``needs_mark``: the gradebook asks for a mark
    (nbgrader sets ``needs_manual_grade`` again on every re-autograde, keeping the earlier
    ``manual_score``, which then needs confirming)."""
    student: str
    text: str | None
    score: float | None
    max_score: float
    needs_mark: bool = False

    @property
    def marked(self) -> bool:
        return self.score is not None and not self.needs_mark


def written_questions(assignment: str, root: Path = REPO) -> list[Question]:
    """The manually graded written questions of ``assignment``, in the notebook's order.

    Raises :class:`MarkingError` when ``source/<assignment>/`` has no master notebook, or
    when an answer cell's master text carries no ``**Mark scheme`` paragraph.
    """
    root = Path(root)
    masters = sorted((root / "source" / assignment).glob("*.ipynb"))
    if not masters:
        known = sorted(p.name for p in (root / "source").iterdir() if p.is_dir()) if (root / "source").is_dir() else []
        raise MarkingError(f"no master notebook in {root / 'source' / assignment}: "
                           f"choose one of {', '.join(known) or '(none found)'}")
    found = []
    for master_path in masters:
        master = notebooks.read(master_path)
        release_path = root / "release" / assignment / master_path.name
        release = notebooks.read(release_path) if release_path.exists() else master
        prompts = _prompts(release)
        for cell in master.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "markdown" or not (meta.get("solution") and meta.get("grade")):
                continue
            gid = meta["grade_id"]
            text = cell.source.replace(notebooks.BEGIN, "").replace(notebooks.END, "")
            parts = SCHEME.split(text, maxsplit=1)
            if len(parts) != 2:
                raise MarkingError(f"{master_path}: answer cell {gid} has no **Mark scheme paragraph; "
                                   "add one after the model answer")
            found.append(Question(gid, master_path.stem, float(meta.get("points", 0)), prompts.get(gid, ""),
                                  parts[0].replace("**Model answer.**", "").strip(),
                                  ("**Mark scheme" + parts[1]).strip()))
    return found


def _prompts(release) -> dict[str, str]:
    """``{answer grade_id: the question's text}``: the last markdown cell above the answer
    cell (code cells in between, such as a run to look at, are skipped)."""
    out, previous = {}, ""
    for cell in release.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "markdown":
            continue
        if meta.get("solution") and meta.get("grade"):
            out[meta["grade_id"]], previous = previous, ""
        else:
            previous = cell.source
    return out


def question(assignment: str, grade_id: str, root: Path = REPO) -> Question:
    """The written question ``grade_id``; :class:`MarkingError` lists the valid ones."""
    questions = written_questions(assignment, root)
    for q in questions:
        if q.grade_id == grade_id:
            return q
    raise MarkingError(f"{assignment} has no written question {grade_id!r}: choose one of "
                       f"{', '.join(q.grade_id for q in questions)}")


def answers(gradebook, assignment: str, q: Question, root: Path = REPO) -> list[Answer]:
    """Every submission's answer to ``q``, sorted by student id, with the gradebook's
    manual score. ``gradebook`` is an open :class:`nbgrader.api.Gradebook`."""
    from nbgrader.api import MissingEntry
    out = []
    for submission in sorted(gradebook.assignment_submissions(assignment), key=lambda s: s.student_id):
        try:
            grade = gradebook.find_grade(q.grade_id, q.notebook, assignment, submission.student_id)
        except MissingEntry:
            continue
        path = Path(root) / "autograded" / submission.student_id / assignment / f"{q.notebook}.ipynb"
        text = None
        if path.exists():
            cell = next((c for c in notebooks.read(path).cells if notebooks.grade_id(c) == q.grade_id), None)
            text = cell.source if cell is not None else None
        # A TA's mark, else nbgrader's: autograde gives 0 to an answer left as released.
        score = grade.manual_score if grade.manual_score is not None else grade.auto_score
        out.append(Answer(submission.student_id, text, score, float(grade.max_score), bool(grade.needs_manual_grade)))
    return out


def record(gradebook, assignment: str, q: Question, student: str, score: float | None) -> None:
    """Write ``student``'s mark for ``q`` into the gradebook (points, 0 to ``q.points``;
    ``None`` clears it), as nbgrader's formgrader does, and commit.

    Raises :class:`MarkingError` for a mark out of range or a student without a submission.
    """
    from nbgrader.api import MissingEntry
    if score is not None and not 0 <= score <= q.points:
        raise MarkingError(f"{student}: {score:g} is not a mark for {q.grade_id}: give 0 to {q.points:g} points")
    try:
        grade = gradebook.find_grade(q.grade_id, q.notebook, assignment, student)
    except MissingEntry:
        raise MarkingError(f"{student} has no graded submission of {assignment}: autograde it first") from None
    grade.manual_score = score
    grade.needs_manual_grade = score is None and grade.auto_score is None
    gradebook.db.commit()


# ---------------------------------------------------------------- pages
_trusted = mistune.create_markdown(escape=False)
_untrusted = mistune.create_markdown(escape=True)  # raw HTML in a student's answer shows as text

STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;line-height:1.45}
.key{background:#f4f7fb;border:1px solid #c9d6e8;border-radius:6px;padding:.5rem 1rem;margin-bottom:1rem}
.answer{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:.8rem 0}
.answer h3{margin:.2rem 0;font-size:1rem}.missing{color:#a00}.unmarked{border-left:4px solid #e0a000}
.marked{border-left:4px solid #2a2}.confirm{color:#8a5a00}.notice{background:#eef9ee;padding:.4rem .8rem}.error{background:#fdecec;padding:.4rem .8rem}
input[type=number]{width:5rem}"""
# No script, no remote image (a student's answer may link one), styles only inline.
CSP = ("default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; script-src 'none'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


def _points(points: float) -> str:
    return f"{points:g} point" + ("" if points == 1 else "s")


def render_question(assignment: str, q: Question, rows: list[Answer], xsrf_html: str,
                    notice: str = "", error: str = "") -> str:
    """The marking page of one question (HTML): key at the top, then one form row per answer."""
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(assignment)} {e(q.grade_id)}: marking</title>"
             f"<style>{STYLE}</style></head><body>",
             f"<p><a href='/'>All questions of {e(assignment)}</a></p>",
             f"<h1>{e(assignment)}: <code>{e(q.grade_id)}</code> ({_points(q.points)})</h1>"]
    if notice:
        parts.append(f"<p class='notice' id='notice'>{e(notice)}</p>")
    if error:
        parts.append(f"<p class='error' id='error'>{e(error)}</p>")
    parts += [f"<section class='key' id='prompt'><h2>Question</h2>{_trusted(q.prompt)}</section>",
              f"<section class='key' id='model-answer'><h2>Model answer</h2>{_trusted(q.model_answer)}</section>",
              f"<section class='key' id='mark-scheme'><h2>Mark scheme</h2>{_trusted(q.mark_scheme)}</section>",
              f"<form method='post' id='marks'>{xsrf_html}"]
    marked = sum(a.marked for a in rows)
    parts.append(f"<h2>Answers ({marked} of {len(rows)} marked)</h2>")
    for i, a in enumerate(rows):
        state = "marked" if a.marked else "unmarked"
        confirm = ("<p class='confirm'>Autograded again since this mark was given: save to confirm "
                   "it (or change it).</p>" if a.needs_mark and a.score is not None else "")
        body = (_untrusted(a.text) if a.text and a.text.strip()
                else "<p class='missing'>(no answer cell found in the autograded notebook)</p>" if a.text is None
                else "<p class='missing'>(empty answer)</p>")
        value = _shown(a.score)
        parts.append(
            f"<div class='answer {state}' data-student='{e(a.student, quote=True)}'>"
            f"<h3>{e(a.student)}</h3><div class='text'>{body}</div>{confirm}"
            f"<input type='hidden' name='student:{i}' value='{e(a.student, quote=True)}'>"
            f"<input type='hidden' name='was:{i}' value='{value}'>"
            f"<label>points <input type='number' min='0' max='{q.points:g}' step='0.25' "
            f"name='score:{i}' value='{value}'></label> / {q.points:g}</div>")
    parts.append("<p><button type='submit' id='save'>Save marks to the gradebook</button></p></form></body></html>")
    return "\n".join(parts)


def _shown(score: float | None) -> str:
    return "" if score is None else f"{score:g}"


def _number(raw: str) -> float | None:
    """A points box's value: ``None`` when empty; ``ValueError`` names what is wrong."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a number of points") from None


def render_index(assignment: str, summary: list[tuple[Question, int, int]]) -> str:
    """The list of written questions with how many answers are marked."""
    e = html.escape
    rows = "".join(f"<li><a href='/question/{e(q.grade_id, quote=True)}'>{e(q.grade_id)}</a> "
                   f"({_points(q.points)}): {done} of {total} marked</li>" for q, done, total in summary)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{e(assignment)}: marking</title>"
            f"<style>{STYLE}</style></head><body><h1>{e(assignment)}: written questions</h1><ul>{rows}</ul></body></html>")


def make_app(assignment: str, root: Path, db_url: str, token: str):
    """The tornado application serving the marking pages (see the module's docstring)."""
    import tornado.web
    from nbgrader.api import Gradebook

    questions = written_questions(assignment, root)
    by_id = {q.grade_id: q for q in questions}

    class Base(tornado.web.RequestHandler):
        def set_default_headers(self):
            # Students' answers may link remote images: none load in the TA's browser, and
            # the pages run no script at all.
            self.set_header("Content-Security-Policy", CSP)

        def prepare(self):
            given = self.get_query_argument("token", None)
            # Bytes: compare_digest raises TypeError on a str that is not ASCII.
            if given is not None and secrets.compare_digest(given.encode(), token.encode()):
                self.set_secure_cookie("marking", "ok", httponly=True, samesite="Strict")
                return
            if self.get_secure_cookie("marking") != b"ok":
                raise tornado.web.HTTPError(403, "open the address with ?token= that `make marking` printed")

    class Index(Base):
        def get(self):
            with Gradebook(db_url) as gb:
                summary = []
                for q in questions:
                    rows = answers(gb, assignment, q, root)
                    summary.append((q, sum(a.marked for a in rows), len(rows)))
            self.write(render_index(assignment, summary))

    class Page(Base):
        def _question(self, grade_id: str) -> Question:
            if grade_id not in by_id:
                raise tornado.web.HTTPError(404, f"no written question {grade_id}")
            return by_id[grade_id]

        def get(self, grade_id: str):
            q = self._question(grade_id)
            with Gradebook(db_url) as gb:
                rows = answers(gb, assignment, q, root)
            saved = self.get_query_argument("saved", "")
            self.write(render_question(assignment, q, rows, self.xsrf_form_html(),
                                       notice=f"Saved {int(saved)} mark(s) to the gradebook."
                                       if saved.isascii() and saved.isdigit() else ""))

        def post(self, grade_id: str):
            q = self._question(grade_id)
            saved, errors = 0, []
            with Gradebook(db_url) as gb:
                current = {a.student: a for a in answers(gb, assignment, q, root)}
                # Rows are keyed by their index: tornado decodes field names as latin-1 but
                # values as UTF-8, so the student id travels as a value.
                rows = sorted(int(n[len("student:"):]) for n in self.request.body_arguments
                              if n.startswith("student:") and n[len("student:"):].isascii()
                              and n[len("student:"):].isdigit())
                for i in rows:
                    student = self.get_body_argument(f"student:{i}")
                    if student not in current:
                        errors.append(f"{student} has no submission of {assignment}")
                        continue
                    now = current[student]
                    try:
                        score = _number(self.get_body_argument(f"score:{i}", ""))
                        shown = _number(self.get_body_argument(f"was:{i}", _shown(now.score)))
                    except ValueError as err:
                        errors.append(f"{student}: {err}")
                        continue
                    if score == shown and not (now.needs_mark and score is not None):
                        continue  # not changed on this page (a blank row that needs a mark stays so)
                    if now.score != shown:
                        errors.append(f"{student}: the gradebook changed since this page was opened "
                                      f"(now {_shown(now.score) or 'no mark'}); reload the page and mark again")
                        continue
                    if score == now.score and not now.needs_mark:
                        continue
                    try:
                        record(gb, assignment, q, student, score)
                        saved += 1
                    except MarkingError as err:
                        errors.append(str(err))
                if errors:
                    rows = answers(gb, assignment, q, root)
                    self.set_status(400)
                    self.write(render_question(assignment, q, rows, self.xsrf_form_html(),
                                               notice=f"Saved {saved} mark(s)." if saved else "",
                                               error="Not saved: " + "; ".join(errors)))
                    return
            self.redirect(f"/question/{grade_id}?saved={saved}")

    return tornado.web.Application([(r"/", Index), (r"/question/([A-Za-z0-9_.-]+)", Page)],
                                   cookie_secret=secrets.token_hex(32), xsrf_cookies=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--question", help="open this answer cell's page (its grade_id, e.g. answer_10_6h)")
    parser.add_argument("--root", default=str(REPO), help="course root (default: this repository)")
    parser.add_argument("--db-url", help="gradebook (default: <root>/gradebook.db)")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    db_url = args.db_url or f"sqlite:///{root / 'gradebook.db'}"
    if not args.db_url and not (root / "gradebook.db").exists():
        parser.error(f"no gradebook at {root / 'gradebook.db'}: autograde the submissions first "
                     "(make autograde ASSIGNMENT=...)")
    try:
        if args.question:
            question(args.assignment, args.question, root)
        app = make_app(args.assignment, root, db_url, token := secrets.token_urlsafe(24))
    except MarkingError as err:
        parser.error(str(err))
    import tornado.httpserver
    import tornado.ioloop
    import tornado.netutil
    sockets = tornado.netutil.bind_sockets(args.port, address="127.0.0.1")
    tornado.httpserver.HTTPServer(app).add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    page = f"question/{args.question}" if args.question else ""
    print(f"Marking {args.assignment}: open http://127.0.0.1:{port}/{page}?token={token}  (Ctrl-C stops)", flush=True)
    try:
        tornado.ioloop.IOLoop.current().start()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
