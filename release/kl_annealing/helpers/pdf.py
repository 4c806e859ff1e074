"""A PDF of an executed notebook for your submission, printed by headless Chromium (the
engine of a browser's *File → Print*).

    python -m helpers.pdf vae_cvae.ipynb                # writes vae_cvae.pdf beside it
    python -m helpers.pdf vae_cvae.ipynb -o mine.pdf
    make pdf NOTEBOOK=release/vae_cvae/vae_cvae.ipynb   # in the course repository

Run all cells and save the notebook first: the PDF shows the outputs saved in the file.
A notebook saved by Colab, VS Code or an older Jupyter is first brought to nbformat 4.5
(:mod:`helpers.notebook_format`; Colab's widget state, which nbconvert cannot render, goes).
nbconvert renders the notebook as HTML in JupyterLab's style with its images embedded;
print CSS wraps long code lines and outputs (instead of cutting them at the page edge) and
scales figures to the page width; Chromium prints it with ``--print-to-pdf``. Chromium is
looked up as ``$CHROMIUM``, then ``chromium``, ``chromium-browser``, ``google-chrome`` and
the macOS apps, and otherwise installed from Debian (``apt-get install chromium``) when
this process may do so. Formulas are typeset by MathJax, from its CDN or, when Debian's
``libjs-mathjax`` is installed, offline.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .system import MissingProgram, ensure_program

# Added after nbconvert's own styles. JupyterLab's styles clip long code lines and outputs
# (overflow: hidden, white-space: pre); on paper they must wrap instead.
PRINT_CSS = """
<style type="text/css">
/* helpers.pdf: print layout */
@page { size: A4; margin: 12mm; }
body { margin: 0; padding: 0; }
pre, code, .highlight pre, .jp-RenderedText pre, .jp-OutputArea-output pre {
  white-space: pre-wrap !important;
  overflow-wrap: anywhere !important;
  word-break: normal !important;
}
.jp-InputArea, .jp-InputArea-editor, .jp-Cell-inputWrapper, .jp-Cell-outputWrapper,
.jp-OutputArea, .jp-OutputArea-child, .jp-OutputArea-output, .jp-RenderedText,
.jp-RenderedHTMLCommon, .cm-editor, .highlight {
  overflow: visible !important;
  min-width: 0 !important;
  max-width: 100% !important;
}
img, svg, canvas, video { max-width: 100% !important; height: auto !important; }
.jp-RenderedImage, .jp-RenderedImage img { break-inside: avoid; page-break-inside: avoid; }
.jp-RenderedHTMLCommon table { max-width: 100%; table-layout: auto; }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th { overflow-wrap: anywhere; }
</style>
"""

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
MAC_APPS = ("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
            "/Applications/Chromium.app/Contents/MacOS/Chromium")
# MathJax comes from a CDN unless Debian's libjs-mathjax is installed (then offline too).
LOCAL_MATHJAX = Path("/usr/share/javascript/mathjax/MathJax.js")
BY_HAND = "or print from JupyterLab instead: File → Print, then Save as PDF"


class PdfError(RuntimeError):
    """The notebook could not be turned into a PDF; the message says what to do."""


def read_notebook(path: Path):
    """The notebook at ``path`` as valid nbformat 4.5, whichever editor saved it
    (:func:`helpers.notebook_format.normalise`), or :class:`PdfError` saying what is wrong."""
    import nbformat

    from .notebook_format import NotebookFormatError, normalise

    if not path.is_file():
        raise PdfError(f"{path} does not exist: give the path of your saved .ipynb file "
                       f"(in JupyterLab: right-click the notebook → Copy Path).")
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        json.loads(text)
    except json.JSONDecodeError as err:
        raise PdfError(f"{path} is not a valid notebook: it is not valid JSON ({err}). If it "
                       f"is still open in JupyterLab, save it again (File → Save Notebook); "
                       f"otherwise restore the last good copy from .ipynb_checkpoints/ beside "
                       f"it.") from err
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as err:  # nbformat raises several types for JSON that is no notebook
        raise PdfError(f"{path} is JSON but not a Jupyter notebook ({err}). Give the path of "
                       f"the .ipynb file you work in.") from err
    try:  # another editor's format (Colab, VS Code, older Jupyter) as nbconvert expects it
        normalise(nb)
    except NotebookFormatError as err:
        raise PdfError(f"{path} cannot be printed because {err}; open it in JupyterLab, save "
                       f"it (File → Save Notebook) and run this command again, {BY_HAND}.") from err
    return nb


def notebook_html(nb, folder: Path, name: str) -> str:
    """The notebook as one self-contained HTML page (JupyterLab style, images embedded);
    :class:`PdfError` when nbconvert cannot render it."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", embed_images=True)
    if LOCAL_MATHJAX.is_file():  # Debian's libjs-mathjax: formulas typeset offline too
        exporter.mathjax_url = f"{LOCAL_MATHJAX.as_uri()}?config=TeX-AMS_CHTML-full,Safe"
    try:
        html, _ = exporter.from_notebook_node(
            nb, resources={"metadata": {"name": name, "path": str(folder)}})
    except Exception as err:  # nbconvert's templates and filters raise all kinds
        raise PdfError(f"nbconvert could not render {name}.ipynb as a page "
                       f"({type(err).__name__}: {err}); {BY_HAND}.") from err
    head_end = html.find("</head>")
    if head_end < 0:
        return PRINT_CSS + html
    return html[:head_end] + PRINT_CSS + html[head_end:]


def find_chromium() -> str:
    """A Chromium (or Chrome) executable; installs Debian's ``chromium`` when allowed."""
    chosen = os.environ.get("CHROMIUM")
    if chosen:
        found = shutil.which(chosen)
        if not found:
            raise PdfError(f"$CHROMIUM is set to {chosen!r}, which is not an executable: "
                           f"point it at Chromium or Chrome, or unset it.")
        return found
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    for app in MAC_APPS:
        if os.access(app, os.X_OK):
            return app
    try:
        return ensure_program("chromium", "chromium", "to print the notebook to PDF")
    except MissingProgram as err:
        raise PdfError(f"{err}; or install Google Chrome and set CHROMIUM=/path/to/chrome; "
                       f"{BY_HAND}.") from err


def headless_flags(profile: Path) -> list[str]:
    """Chromium's options for a quiet headless run with a fresh profile folder ``profile``:
    no sandbox (it fails as root and in containers), no GPU, no first-run, sync or update
    lookups (offline they stall the run), and time for scripts such as MathJax to finish
    (``--virtual-time-budget``) before the page is printed or captured."""
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-extensions", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
            "--virtual-time-budget=5000", "--run-all-compositor-stages-before-draw"]


def print_html(chromium: str, html: Path, pdf: Path, timeout: float = 300) -> None:
    """Print the page ``html`` to ``pdf`` with headless Chromium."""
    profile = html.parent / "profile"
    command = [chromium, *headless_flags(profile), "--no-pdf-header-footer",
               "--print-to-pdf-no-header", f"--print-to-pdf={pdf}", html.as_uri()]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as err:
        raise PdfError(f"Chromium did not finish printing within {timeout:.0f} s. Close other "
                       f"Chromium windows and try again, {BY_HAND}.") from err
    except OSError as err:
        raise PdfError(f"Chromium ({chromium}) could not be started: {err}. Reinstall it "
                       f"(sudo apt-get install chromium), {BY_HAND}.") from err
    ok = pdf.is_file() and pdf.stat().st_size > 0 and pdf.read_bytes()[:5] == b"%PDF-"
    if result.returncode != 0 or not ok:
        lines = (result.stderr or result.stdout or "").strip().splitlines()
        tail = "\n  ".join(lines[-8:]) or "(no output)"
        raise PdfError(f"Chromium ({chromium}) could not print the notebook (exit "
                       f"{result.returncode}{'' if ok else ', no PDF written'}). The end of "
                       f"its output:\n  {tail}\nTry again; if it keeps failing, {BY_HAND}.")


def notebook_to_pdf(notebook: str | Path, output: str | Path | None = None) -> Path:
    """Print ``notebook`` to ``output`` (default: the same path with ``.pdf``); returns it.

    Nothing is written unless the whole print succeeds.
    """
    notebook = Path(notebook).expanduser().resolve()
    out = Path(output).expanduser().resolve() if output else notebook.with_suffix(".pdf")
    if out == notebook:
        raise PdfError(f"the output {out} would overwrite the notebook: give a .pdf path.")
    nb = read_notebook(notebook)
    if not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"):
        print(f"warning: {notebook.name} has no outputs; run all cells (Kernel → Restart Kernel "
              f"and Run All Cells) and save before printing.", file=sys.stderr)
    if not out.parent.is_dir():
        raise PdfError(f"the folder {out.parent} does not exist: create it or choose another "
                       f"output path with -o.")
    html = notebook_html(nb, notebook.parent, notebook.stem)
    chromium = find_chromium()
    # The work folder sits beside the output, not hidden: a snap-packaged Chromium (Ubuntu)
    # can read neither another process's /tmp nor dot-folders in $HOME. It is removed
    # afterwards, whatever happens.
    with tempfile.TemporaryDirectory(prefix="pdf-print-", dir=out.parent) as work:
        page = Path(work) / f"{notebook.stem}.html"
        page.write_text(html, encoding="utf-8")
        printed = Path(work) / "print.pdf"
        print_html(chromium, page, printed)
        os.replace(printed, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.pdf",
        description="Print an executed notebook to PDF with headless Chromium (for submission).")
    parser.add_argument("notebook", help="the saved, executed .ipynb file")
    parser.add_argument("-o", "--output", help="the PDF to write (default: the notebook's path "
                                               "with .pdf)")
    args = parser.parse_args(argv)
    try:
        out = notebook_to_pdf(args.notebook, args.output)
    except PdfError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
