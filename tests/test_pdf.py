"""`make pdf` / `python -m helpers.pdf`: an executed notebook printed by headless Chromium.

A small notebook is executed (markdown, a very long code line, a long unbroken string, long
outputs and three figures, each filled with its own solid colour), printed through the
command line, and the PDF is checked the way a reader sees it: its pages are rendered to
PNG with ``pdftoppm`` and must not be blank, every figure must be an image in the PDF and
its colour must show on a rendered page, and the text (``pdftotext -bbox``) must hold every
long line whole and inside the page. The PDF and the page with the figures are saved in
``artifacts/``. A real submission saved by Colab (``../shared/cases/real-world``, when present)
must print too (more editors: ``tests/test_editors.py``).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from PIL import Image

from helpers import pdf
from helpers.system import ensure_program
from instructor.course import REPO

ARTIFACTS = REPO / "artifacts"
# Figure colours (RGB in [0, 1]); each fills the axes of one figure.
COLOURS = {"red": (0.9, 0.1, 0.3), "green": (0.2, 0.7, 0.3), "blue": (0.0, 0.5, 0.8)}
LONG_CODE = "values = [" + ", ".join(f"'word{i:03d}'" for i in range(60)) + "]  # LONGCODEEND"
UNBROKEN = "token = '" + "x" * 300 + "UNBROKENEND'"
FIGURES = f"""%matplotlib inline
import matplotlib.pyplot as plt
for name, colour in {list(COLOURS.items())!r}:
    fig, ax = plt.subplots(figsize=(4, 2.5))
    ax.imshow([[colour]], aspect="auto")
    ax.set(title=f"solid {{name}}", xlabel="x", ylabel="y")
    plt.show()"""


def poppler(program: str) -> str:
    return ensure_program(program, "poppler-utils", "to check the printed PDF")


def build_notebook(folder: Path) -> Path:
    """An executed notebook with long lines, long outputs and three figures."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# PDF check\n\nSome *markdown* text: MARKDOWNMARK."),
        nbformat.v4.new_code_cell(LONG_CODE + "\nprint(' '.join(values), 'OUTPUTEND')"),
        nbformat.v4.new_code_cell(UNBROKEN + "\nprint(token)"),
        nbformat.v4.new_code_cell(FIGURES),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    path = folder / "check.ipynb"
    nbformat.write(nb, str(path))
    return path


def image_outputs(path: Path) -> int:
    nb = nbformat.read(str(path), as_version=4)
    return sum("image/png" in out.get("data", {})
               for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs)


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """(notebook, PDF, stdout of the command) from ``python -m helpers.pdf``."""
    folder = tmp_path_factory.mktemp("pdf")
    notebook = build_notebook(folder)
    out = folder / "printed" / "submission.pdf"
    out.parent.mkdir()
    result = subprocess.run([sys.executable, "-m", "helpers.pdf", str(notebook), "-o", str(out)],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return notebook, out, result.stdout


def pages(pdf_path: Path, dpi: int = 50) -> list[np.ndarray]:
    """The PDF's pages as RGB arrays, rendered by pdftoppm."""
    folder = pdf_path.parent / f"pages-{dpi}"
    folder.mkdir(exist_ok=True)
    subprocess.run([poppler("pdftoppm"), "-png", "-r", str(dpi), str(pdf_path), str(folder / "page")],
                   check=True, capture_output=True, timeout=120)
    files = sorted(folder.glob("page-*.png"), key=lambda p: int(re.findall(r"\d+", p.stem)[-1]))
    return [np.asarray(Image.open(f).convert("RGB")).astype(int) for f in files]


def colour_pixels(page: np.ndarray, colour, tolerance: int = 12) -> int:
    target = np.array([round(255 * c) for c in colour])
    return int((np.abs(page - target).max(axis=2) <= tolerance).sum())


def test_pdf_carries_text_outputs_and_every_figure(printed):
    notebook, out, stdout = printed
    assert f"wrote {out}" in stdout
    assert out.read_bytes()[:5] == b"%PDF-"
    assert not list(out.parent.glob("pdf-print-*")), "the work folder beside the PDF is removed"

    rendered = pages(out)
    assert rendered, "pdftoppm rendered no page"
    for k, page in enumerate(rendered, start=1):
        ink = (page.min(axis=2) < 200).mean()
        assert ink > 0.01 and page.std() > 10, f"page {k} of the PDF is blank (ink {ink:.4f})"

    figures = image_outputs(notebook)
    assert figures == len(COLOURS)
    listed = subprocess.run([poppler("pdfimages"), "-list", str(out)], check=True,
                            capture_output=True, text=True, timeout=60).stdout.splitlines()[2:]
    assert len(listed) >= figures, f"the PDF holds {len(listed)} images, the notebook {figures} figures"
    figure_page = None
    for name, colour in COLOURS.items():
        counts = [colour_pixels(page, colour) for page in rendered]
        # A 4 x 2.5 inch figure shown at about 280 x 190 pt: its axes cover over 8,000 pixels at 50 dpi.
        assert max(counts) > 2000, f"the {name} figure does not show on any page: {counts} pixels"
        figure_page = figure_page or counts.index(max(counts)) + 1

    bbox = subprocess.run([poppler("pdftotext"), "-bbox", str(out), "-"], check=True,
                          capture_output=True, text=True, timeout=60).stdout
    width = float(re.search(r'<page width="([\d.]+)"', bbox).group(1))
    words = [(float(a), float(b), w) for a, b, w in
             re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">(.*?)</word>', bbox)]
    outside = [w for x0, x1, w in words if x0 < 0 or x1 > width]
    assert not outside, f"text runs past the page edge (width {width:.0f} pt): {outside[:5]}"
    import html
    text = "".join(html.unescape(" ".join(w for _, _, w in words)).split())
    for line in (LONG_CODE, UNBROKEN):
        assert "".join(line.split()) in text, f"a long code line is cut: {line[:40]}...{line[-20:]}"
    assert "MARKDOWNMARK" in text and "word059OUTPUTEND" in text and "x" * 300 + "UNBROKENEND" in text

    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(out, ARTIFACTS / "pdf-submission.pdf")
    subprocess.run([poppler("pdftoppm"), "-png", "-r", "80", "-f", str(figure_page), "-l", str(figure_page),
                    "-singlefile", str(out), str(ARTIFACTS / "pdf-page-with-figure")],
                   check=True, capture_output=True, timeout=60)
    assert (ARTIFACTS / "pdf-page-with-figure.png").stat().st_size > 10_000


def test_corrupt_or_missing_notebook_gives_a_clear_error_and_writes_nothing(tmp_path, capsys):
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [{"cell_type": "code", "source": "print(1)"')  # cut short
    assert pdf.main([str(broken)]) == 1
    err = capsys.readouterr().err
    assert "is not a valid notebook: it is not valid JSON" in err and "save it again" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.ipynb"], "nothing is written"

    assert pdf.main([str(tmp_path / "missing.ipynb")]) == 1
    assert "does not exist: give the path of your saved .ipynb file" in capsys.readouterr().err

    not_a_notebook = tmp_path / "list.ipynb"
    not_a_notebook.write_text("[1, 2, 3]")
    assert pdf.main([str(not_a_notebook)]) == 1
    assert "is JSON but not a Jupyter notebook" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.ipynb", "list.ipynb"]


def test_chromium_missing_or_failing_is_explained(tmp_path, monkeypatch):
    notebook = tmp_path / "tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# tiny")]), str(notebook))

    # Chromium fails: the message carries the end of its output and what to do.
    fake = tmp_path / "fake-chromium"
    fake.write_text("#!/bin/sh\necho 'starting' >&2\necho 'FATAL: fake crash in the GPU process' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("CHROMIUM", str(fake))
    with pytest.raises(pdf.PdfError) as failed:
        pdf.notebook_to_pdf(notebook)
    message = str(failed.value)
    assert "could not print" in message and "exit 3" in message
    assert "FATAL: fake crash in the GPU process" in message and "File → Print" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake-chromium", "tiny.ipynb"]

    # No Chromium and no way to install it: say how to install it.
    monkeypatch.delenv("CHROMIUM")
    monkeypatch.setattr(pdf.shutil, "which", lambda name: None)
    monkeypatch.setattr(pdf, "MAC_APPS", ())
    monkeypatch.setattr("helpers.system._can_install", lambda: False)
    with pytest.raises(pdf.PdfError, match=r"sudo apt-get install chromium.*File → Print"):
        pdf.notebook_to_pdf(notebook)
    assert not (tmp_path / "tiny.pdf").exists()


REAL_COLAB = REPO.parent / "shared" / "cases" / "real-world" / "c05_colab_format" / "for_pdf.ipynb"


@pytest.mark.skipif(not REAL_COLAB.is_file(), reason="needs ../shared/cases/real-world")
def test_a_real_colab_notebook_prints(tmp_path):
    """A submission saved by Colab (nbformat 4.0, no cell ids, Colab's widget state, on which
    nbconvert stopped with KeyError: 'state') prints with every cell and output."""
    notebook = tmp_path / REAL_COLAB.name
    shutil.copy(REAL_COLAB, notebook)
    result = subprocess.run([sys.executable, "-m", "helpers.pdf", str(notebook)], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stdout + result.stderr
    out = notebook.with_suffix(".pdf")
    assert f"wrote {out}" in result.stdout and out.read_bytes()[:5] == b"%PDF-"
    assert all((page.min(axis=2) < 200).mean() > 0.01 for page in pages(out)), "a blank page"

    text = "".join(subprocess.run([poppler("pdftotext"), str(out), "-"], check=True, capture_output=True,
                                  text=True, timeout=60).stdout.split())
    nb = nbformat.read(str(REAL_COLAB), as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    for line in ("Computing on: cuda",                             # an output
                 "self.conv1 = nn.Conv2d(1, c1, kernel_size=k)",  # the student's code
                 "A convolutional VAE on Fashion-MNIST"):         # the heading
        assert "".join(line.split()) in text, f"{line!r} is missing from the PDF"
    figures = sum("image/png" in o.get("data", {}) for o in outputs)
    listed = subprocess.run([poppler("pdfimages"), "-list", str(out)], check=True, capture_output=True,
                            text=True, timeout=60).stdout.splitlines()[2:]
    assert figures and sum(row.split()[2] == "image" for row in listed) == figures  # not masks
