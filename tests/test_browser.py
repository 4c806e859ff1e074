"""The student's path in a real browser: JupyterLab, the release notebook, a run, Validate.

A JupyterLab server (token, free port on localhost, temporary HOME and Jupyter dirs) serves
a scratch copy of ``release/fashion_vae/`` plus a copy of the notebook filled with the
master's solutions. Headless Debian Chromium, driven by Playwright, then

- opens the release notebook and checks that its instructions and every ``# YOUR CODE
  HERE`` / ``YOUR ANSWER HERE`` cell render, then presses nbgrader's *Validate* and reads
  the failure verdict;
- runs the reference copy with *Run All Cells* in grading mode and checks every cell ran,
  with the expected outputs, figures, the loss curve and the progress line, and no error
  or stderr output; *Validate* must then report success;
- runs a small loop with :class:`helpers.progress.LossPlot` and ``ProgressLine`` and sees
  the figure and the progress line change while the cell runs.

Screenshots go to ``artifacts/`` and are checked: right size, not blank, and the region of
the element they are meant to show has content. Select these tests with ``-m browser``
(``make test-browser``).
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from helpers.system import MissingProgram, ensure_program
from instructor import notebooks
from instructor.course import REPO

pytestmark = pytest.mark.browser

ASSIGNMENT = "fashion_vae"  # the cheapest assignment to run (seconds in grading mode)
ARTIFACTS = REPO / "artifacts"
VIEWPORT = {"width": 1400, "height": 900}
# Headless Chromium in a container: no sandbox (root), no GPU, and no background network
# lookups (without these it hangs on DNS where there is no network).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
STARTUP_TIMEOUT = 90  # s, for the server to answer
RUN_TIMEOUT = 240  # s, for Run All Cells of the reference in grading mode
VALIDATE_TIMEOUT = 180  # s, for nbgrader's Validate (it runs the notebook once more)
PAGE_ERRORS: list[str] = []  # uncaught exceptions in the page, for the assertions
OPEN: dict[str, str] = {}  # the notebook open in the page
PROGRESS = re.compile(r"epoch (\d+)/(\d+) \| batch \d+/\d+ \| loss \d+\.\d \| [\d,]+ img/s")


# ---------------------------------------------------------------- server and browser
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _shared_mnist() -> str:
    """``$VAE_DATA_FALLBACK``, or the offline MNIST copy the Makefile would point it at."""
    if os.environ.get("VAE_DATA_FALLBACK"):
        return os.environ["VAE_DATA_FALLBACK"]
    shared = REPO.parent / "shared" / "data" / "MNIST-10k"
    return str(shared) if (shared / "MNIST" / "raw").is_dir() else ""


class Lab:
    """A running JupyterLab server on a scratch course folder."""

    def __init__(self, root: Path, state: Path) -> None:
        self.root, self.state = root, state
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = state / "jupyterlab.log"
        self.process: subprocess.Popen | None = None

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("JUPYTER", "IPYTHON", "NBGRADER", "MPL", "VAE_"))}
        dirs = {"HOME": "home", "JUPYTER_CONFIG_DIR": "config", "JUPYTER_DATA_DIR": "data",
                "JUPYTER_RUNTIME_DIR": "runtime", "IPYTHONDIR": "ipython",
                "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
                "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces", "MPLCONFIGDIR": "matplotlib",
                "VAE_DATA": "datasets"}
        for name, folder in dirs.items():
            env[name] = str(self.state / folder)
            (self.state / folder).mkdir(parents=True, exist_ok=True)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env["VAE_DATA_FALLBACK"] = _shared_mnist()
        env["NBGRADER_EXECUTION"] = "validate"  # the small training budget (helpers.budget)
        env["JUPYTER_PREFER_ENV_PATH"] = "0"  # the kernel spec below before the venv's
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env

    def start(self) -> None:
        env = self.environment()
        # No news toast and no update check (both would fetch from the web).
        settings = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "notification.jupyterlab-settings").write_text(
            '{"fetchNews": "false", "checkForUpdates": false}')
        # The kernels get the grading budget from their kernel spec: nbgrader's Validate
        # deletes NBGRADER_EXECUTION from the server's environment when it finishes
        # (nbgrader 0.9.6, utils.setenv), so kernels started later would not inherit it.
        spec = Path(env["JUPYTER_DATA_DIR"]) / "kernels" / "python3"
        spec.mkdir(parents=True, exist_ok=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (ipykernel)", "language": "python",
            "metadata": {"debugger": True},
            "env": {"NBGRADER_EXECUTION": env["NBGRADER_EXECUTION"]}}))
        # Build matplotlib's font cache now: building it in the kernel warns on stderr.
        subprocess.run([sys.executable, "-c", "import matplotlib.pyplot"], env=env, check=True,
                       capture_output=True, timeout=120)
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={self.port}",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.token={self.token}",
               f"--ServerApp.root_dir={self.root}", "--ServerApp.port_retries=0"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self.process = subprocess.Popen(cmd, cwd=self.root, env=env, stdin=subprocess.DEVNULL,
                                        stdout=self.log.open("w"), stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.process.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}",
                                            timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer within {STARTUP_TIMEOUT} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the server and its kernels (the whole process group it leads)."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def notebook_url(self, path: str) -> str:
        # ?reset: start from an empty workspace, whatever was open before.
        return f"{self.url}/lab/tree/{path}?token={self.token}&reset"


@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        return ensure_program("chromium", "chromium", "browser test")
    except MissingProgram as error:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test needs Debian's Chromium: {error}")
        pytest.skip(f"the browser test needs Debian's Chromium: {error}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab-course")
    folder = root / ASSIGNMENT
    shutil.copytree(REPO / "release" / ASSIGNMENT, folder)
    source = notebooks.read(REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    release = notebooks.read(folder / f"{ASSIGNMENT}.ipynb")
    nbformat.write(notebooks.reference_submission(source, release),
                   str(folder / f"{ASSIGNMENT}_reference.ipynb"))
    server = Lab(root, tmp_path_factory.mktemp("lab-state"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        # launch() gives the browser a fresh temporary profile of its own.
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS,
                                             timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def page(browser, lab):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.on("pageerror", lambda error: PAGE_ERRORS.append(str(error)))
    yield page
    context.close()


@pytest.fixture(scope="module", autouse=True)
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# ---------------------------------------------------------------- page helpers
def open_notebook(page, lab: Lab, name: str) -> None:
    """Open ``<assignment>/<name>`` in JupyterLab and wait for its kernel to be idle."""
    if OPEN.get("notebook") == name:
        return
    OPEN.clear()
    page.goto(lab.notebook_url(f"{ASSIGNMENT}/{name}"))
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    # The status bar reads "Python 3 (ipykernel) | Idle" once the kernel has started.
    page.wait_for_function("() => (document.querySelector('.jp-StatusBar-Widget') || {}).textContent"
                           "?.includes('| Idle')", timeout=STARTUP_TIMEOUT * 1000)
    OPEN["notebook"] = name


# Scroll the notebook from top to bottom and record every cell: JupyterLab attaches cells
# to the page only when they come near the view, so one look at the DOM is not enough.
COLLECT_CELLS = """async (expected) => {
  const outer = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer');
  const cells = {};
  const record = () => {
    for (const node of outer.querySelectorAll('.jp-Cell[data-windowed-list-index]')) {
      const i = Number(node.dataset.windowedListIndex);
      const kind = node.classList.contains('jp-CodeCell') ? 'code'
                 : node.classList.contains('jp-MarkdownCell') ? 'markdown' : 'raw';
      // Markdown: the rendered text (an unrendered cell has none); code: the editor's text.
      const input = node.querySelector(kind === 'markdown' ? '.jp-RenderedMarkdown' : '.jp-InputArea-editor');
      const outputs = [...node.querySelectorAll('.jp-OutputArea-output')].map(o => ({
        mime: o.dataset.mimeType || '', text: o.textContent, images: o.querySelectorAll('img').length}));
      const cell = {kind, prompt: (node.querySelector('.jp-InputPrompt') || {}).textContent || '',
                    input: input ? input.textContent : '', outputs};
      const old = cells[i];
      if (!old || cell.input.length + JSON.stringify(outputs).length >=
                  old.input.length + JSON.stringify(old.outputs).length) cells[i] = cell;
    }
  };
  const pause = () => new Promise(resolve => setTimeout(resolve, 60));
  outer.scrollTop = 0;
  let stuck = 0;
  for (let step = 0; step < 3000 && stuck < 40; step++) {
    await pause();
    record();
    const before = outer.scrollTop;
    outer.scrollTop += Math.max(100, outer.clientHeight * 0.7);
    // At the bottom, wait for cells still being attached (the list's height grows).
    stuck = outer.scrollTop === before ? stuck + 1 : 0;
    if (stuck && Object.keys(cells).length >= expected) break;
  }
  outer.scrollTop = 0;
  await pause();
  return [...Array(Math.max(expected, Object.keys(cells).length)).keys()].map(i => cells[i] || null);
}"""


def collect_cells(page, expected: int) -> list[dict]:
    """Every cell as shown: kind, prompt, input text and outputs (mime type, text, images)."""
    cells = page.evaluate(COLLECT_CELLS, expected)
    missing = [k for k, c in enumerate(cells) if c is None]
    assert not missing and len(cells) == expected, \
        f"JupyterLab shows {len(cells) - len(missing)} cells, the notebook has {expected} (missing {missing})"
    return cells


def run_all_cells(page) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def wait_until_idle(page, timeout: float, settle: float = 3.0) -> None:
    """Wait until the kernel has been idle for ``settle`` seconds without a pause."""
    indicator = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator")
    deadline, idle_since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        if indicator.get_attribute("data-status") == "idle":
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= settle:
                return
        else:
            idle_since = None
        page.wait_for_timeout(250)
    raise AssertionError(f"the kernel was still busy after {timeout:.0f} s")


def validate(page) -> tuple[str, str]:
    """Press nbgrader's Validate button; return the verdict dialog's class and text."""
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .validate-button").click()
    message = page.wait_for_selector(".jp-Dialog #validation-message",
                                     timeout=VALIDATE_TIMEOUT * 1000)
    return message.get_attribute("class") or "", page.locator(".jp-Dialog").inner_text()


def close_dialog(page) -> None:
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.wait_for_selector(".jp-Dialog", state="detached")


def screenshot(page, name: str, element=None) -> Path:
    """Save a screenshot of the page to artifacts/ and check it shows ``element``."""
    path = ARTIFACTS / name
    box = element.bounding_box() if element is not None else None
    page.screenshot(path=str(path))
    check_png(path, box)
    return path


def check_png(path: Path, box: dict | None = None) -> None:
    """A real screenshot: the viewport's size, not blank, and content inside ``box``."""
    from PIL import Image, ImageStat
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (VIEWPORT["width"], VIEWPORT["height"]), \
            f"{path.name}: expected a {VIEWPORT['width']}x{VIEWPORT['height']} PNG, got {image.format} {image.size}"
        grey = image.convert("L")
        assert ImageStat.Stat(grey).stddev[0] > 20, f"{path.name} is blank (nearly one colour)"
        assert len(grey.getcolors(256) or []) > 30, f"{path.name} has too few grey levels to show a page"
        if box is not None:
            left, top = max(0, int(box["x"])), max(0, int(box["y"]))
            right = min(image.width, int(box["x"] + box["width"]))
            bottom = min(image.height, int(box["y"] + box["height"]))
            assert right - left > 50 and bottom - top > 20, f"{path.name}: the element is not in view ({box})"
            region = grey.crop((left, top, right, bottom))
            assert ImageStat.Stat(region).stddev[0] > 15, \
                f"{path.name}: the region {left, top, right, bottom} that should show the element is blank"


def _stub_cells(nb) -> tuple[int, int]:
    code = sum(1 for c in nb.cells if c.cell_type == "code" and "# YOUR CODE HERE" in c.source)
    text = sum(1 for c in nb.cells if c.cell_type == "markdown" and "YOUR ANSWER HERE" in c.source)
    return code, text


# ---------------------------------------------------------------- the tests
def test_release_notebook_renders_instructions_and_stubs(page, lab):
    start = time.monotonic()
    open_notebook(page, lab, f"{ASSIGNMENT}.ipynb")
    release = notebooks.read(lab.root / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    title = next(c.source for c in release.cells if c.cell_type == "markdown").splitlines()[0].lstrip("# ")
    heading = page.locator(".jp-RenderedMarkdown h1").first
    assert heading.inner_text().strip() == title, f"the notebook's title {title!r} is not rendered"
    assert page.locator(".jp-NotebookPanel-toolbar .validate-button").is_visible(), \
        "nbgrader's Validate button is missing from the notebook toolbar"
    menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    assert "Nbgrader" in menus, f"nbgrader's menu (assignment list, formgrader) is missing: {menus}"
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    items = page.locator(".lm-Menu-content .lm-Menu-itemLabel").all_inner_texts()
    page.keyboard.press("Escape")
    assert {"Assignment List", "Formgrader"} <= set(items), f"nbgrader's menu lacks its lab extensions: {items}"
    screenshot(page, "jupyterlab-release-notebook.png", heading)

    cells = collect_cells(page, len(release.cells))
    for k, (shown, cell) in enumerate(zip(cells, release.cells)):
        assert shown["kind"] == cell.cell_type, f"cell {k}: a {cell.cell_type} cell shows as {shown['kind']}"
    headings = [line.lstrip("# ").strip() for c in release.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    rendered = "\n".join(c["input"] for c in cells if c["kind"] == "markdown")
    missing = [h for h in headings if re.sub(r"[`*$\\]", "", h) not in rendered]
    assert headings and not missing, f"section headings not rendered: {missing}"
    assert "Instructions" in rendered and "Validate" in rendered, "the instructions are not rendered"
    code_stubs, text_stubs = _stub_cells(release)
    shown_code = sum("# YOUR CODE HERE" in c["input"] for c in cells if c["kind"] == "code")
    shown_text = sum("YOUR ANSWER HERE" in c["input"] for c in cells if c["kind"] == "markdown")
    assert (shown_code, shown_text) == (code_stubs, text_stubs) and code_stubs > 0, \
        (f"JupyterLab shows {shown_code} '# YOUR CODE HERE' cells and {shown_text} 'YOUR ANSWER "
         f"HERE' cells; the notebook has {code_stubs} and {text_stubs}")
    # The first exercise: its instructions and its stub, as a student first sees them.
    first = next(c.source for c in release.cells if c.cell_type == "code" and "# YOUR CODE HERE" in c.source)
    stub = page.locator(".jp-CodeCell", has_text=first.splitlines()[0]).first
    stub.evaluate("cell => cell.previousElementSibling.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    screenshot(page, "jupyterlab-release-exercise.png", stub.locator(".jp-InputArea-editor"))
    assert "# YOUR CODE HERE" in stub.locator(".jp-InputArea-editor").inner_text()
    print(f"release notebook checked in {time.monotonic() - start:.1f} s")


def validate_notebook(page, lab, name: str, png: str) -> tuple[str, str]:
    """Open ``name``, press Validate, screenshot the verdict to ``png`` and close it."""
    open_notebook(page, lab, name)
    kind, text = validate(page)
    screenshot(page, png, page.locator(".jp-Dialog .jp-Dialog-content"))
    close_dialog(page)
    return kind, text


def test_validate_on_the_blank_release_reports_failing_cells(page, lab):
    start = time.monotonic()
    kind, text = validate_notebook(page, lab, f"{ASSIGNMENT}.ipynb", "jupyterlab-validate-blank.png")
    assert "validation-failed" in kind, f"Validate should fail on the blank release: {kind}\n{text[:2000]}"
    assert "The following cell failed:" in text and "NotImplementedError" in text, text[:2000]
    print(f"Validate (blank release) answered in {time.monotonic() - start:.1f} s")


def test_reference_runs_in_grading_mode_without_errors(page, lab):
    start = time.monotonic()
    open_notebook(page, lab, f"{ASSIGNMENT}_reference.ipynb")
    run_all_cells(page)
    wait_until_idle(page, RUN_TIMEOUT)
    ran = time.monotonic() - start
    reference = notebooks.read(lab.root / ASSIGNMENT / f"{ASSIGNMENT}_reference.ipynb")
    cells = collect_cells(page, len(reference.cells))
    code = [c for c in cells if c["kind"] == "code"]
    outputs = [o for c in code for o in c["outputs"]]
    errors = [o["text"][:1500] for o in outputs
              if o["mime"] in ("application/vnd.jupyter.stderr", "application/vnd.jupyter.error")
              or "Traceback" in o["text"] or "Error displaying widget" in o["text"]]
    assert not errors, "error or stderr outputs in the reference run:\n" + "\n---\n".join(errors)
    not_run = [k for k, c in enumerate(cells) if c["kind"] == "code" and not re.search(r"\[\d+\]", c["prompt"])]
    assert not not_run, f"cells {not_run} did not run (prompts {[cells[k]['prompt'] for k in not_run]})"
    text = "\n".join(o["text"] for o in outputs)
    for expected in ("Grading mode: training uses a small budget.", "training and",
                     "Training loss [1/1]", "Test loss:", "The two dimensions with the highest variance"):
        assert expected in text, f"the reference run should print {expected!r}"
    figures = sum(o["images"] for o in outputs)
    assert figures >= 6, f"expected at least 6 figures (data, loss curve, hist2d, 3 traversals), got {figures}"

    # The training cell: its progress line and its live loss figure.
    train = page.locator(".jp-CodeCell", has=page.locator(".jp-OutputArea-output", has_text="Test loss:"))
    train.scroll_into_view_if_needed()
    lines = train.locator(".jp-OutputArea-output").all_text_contents()
    assert any(re.search(r"trained 1 epochs? in \d+\.\d s \| " + PROGRESS.pattern, t) for t in lines), \
        f"the training cell should show the progress line with epoch, loss and img/s: {lines}"
    figure = train.locator(".jp-OutputArea-output img").first
    width = figure.evaluate("img => img.naturalWidth")
    assert width >= 400, f"the loss curve should be a full-size figure, got {width} px wide"
    screenshot(page, "jupyterlab-reference-training.png", figure)
    assert not PAGE_ERRORS, f"uncaught errors in the page: {PAGE_ERRORS}"
    print(f"Run All Cells (reference, grading mode) took {ran:.1f} s")


def test_validate_on_the_reference_reports_success(page, lab):
    start = time.monotonic()
    kind, text = validate_notebook(page, lab, f"{ASSIGNMENT}_reference.ipynb", "jupyterlab-validate.png")
    assert "validation-success" in kind, f"Validate should pass on the reference: {kind}\n{text[:3000]}"
    assert "Success! Your notebook passes all the tests." in text, text[:3000]
    print(f"Validate (reference) answered in {time.monotonic() - start:.1f} s")


LIVE_CELL = """import time
from helpers.progress import LossPlot, ProgressLine
plot = LossPlot(legend=["train loss"], xlim=(1, 5), title="Live check")
progress = ProgressLine(num_epochs=5, batches_per_epoch=1, every=1)
for epoch in range(1, 6):
    progress.step(epoch, 100.0 / epoch, 64)
    plot.add(epoch, [100.0 / epoch])
    time.sleep(0.8)
progress.done("live check")"""


def test_loss_plot_and_progress_line_update_while_the_cell_runs(page, lab):
    """The helpers' live figure and progress line, seen from the browser while a loop runs."""
    open_notebook(page, lab, f"{ASSIGNMENT}_reference.ipynb")
    notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
    notebook.locator(".jp-RenderedMarkdown h1").first.click()  # the first cell; a new one above
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    page.keyboard.press("Enter")
    page.keyboard.insert_text(LIVE_CELL)
    page.keyboard.press("Shift+Enter")
    cell = notebook.locator(".jp-CodeCell", has_text="Live check").last
    images, lines = set(), []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        src = cell.locator(".jp-OutputArea-output img").evaluate_all("els => els.map(e => e.src)")
        images.update(src)
        text = cell.locator(".jp-OutputArea-output").all_text_contents()
        if text and (not lines or text[0] != lines[-1]):
            lines.append(text[0])
        if any("live check in" in t for t in text):
            break
        page.wait_for_timeout(150)
    cell.scroll_into_view_if_needed()
    screenshot(page, "jupyterlab-live-progress.png", cell.locator(".jp-OutputArea-output img").first)
    outputs = cell.locator(".jp-OutputArea-output")
    assert outputs.count() == 2, f"expected the progress line and one figure, got {outputs.count()} outputs: {lines}"
    epochs = {int(m.group(1)) for line in lines for m in [PROGRESS.search(line)] if m}
    assert len(epochs) >= 3, f"the progress line should update in place while the loop runs; saw {lines}"
    assert len(images) >= 3, f"the loss figure should be redrawn while the loop runs; saw {len(images)} versions"
    assert re.search(r"live check in \d+\.\d s \| epoch 5/5 .* img/s", lines[-1]), lines[-1]


# ---------------------------------------------------------------- the marking view
# A TA's path through `make marking` (instructor/marking.py) on a copy of the demo's graded
# fashion_vae course: its own server, page and helpers, so that it runs without JupyterLab.
MARKING_QUESTION = "answer_traverse"
HOSTILE_ANSWER = ('Smooth rows.<script>window.__marked_xss = 1</script>'
                  '<img src="x" onerror="window.__marked_xss = 2">')


def _marking_course(demo_run, tmp_path_factory) -> Path:
    """A copy of the graded demo course whose demo-mistakes answer carries HTML and a script."""
    root, _ = demo_run(ASSIGNMENT)
    copy = tmp_path_factory.mktemp("marking-browser-course")
    for name in ("source", "release", "autograded", "nbgrader_config.py", "gradebook.db"):
        (shutil.copytree if (root / name).is_dir() else shutil.copy)(root / name, copy / name)
    path = copy / "autograded" / "demo-mistakes" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = notebooks.read(path)
    next(c for c in nb.cells if notebooks.grade_id(c) == MARKING_QUESTION).source = HOSTILE_ANSWER
    nbformat.write(nb, str(path))
    return copy


def _start_marking_server(root: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """``python -m instructor.marking`` on ``root``; returns the process and the URL it prints."""
    process = subprocess.Popen([sys.executable, "-m", "instructor.marking", ASSIGNMENT, "--root", str(root),
                                "--question", MARKING_QUESTION], stdout=log.open("w"), stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        found = re.search(r"open (http://127\.0\.0\.1:\d+/\S+)", log.read_text())
        if found:
            return process, found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.3)
    os.killpg(process.pid, signal.SIGTERM)
    raise RuntimeError(f"the marking server did not start:\n{log.read_text()[-3000:]}")


def _gradebook_mark(root: Path, student: str):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        grade = gb.find_grade(MARKING_QUESTION, ASSIGNMENT, ASSIGNMENT, student)
        return grade.manual_score, grade.needs_manual_grade


def test_marking_view_shows_the_key_and_answers_and_saves_a_mark(browser, demo_run, tmp_path_factory):
    from html import escape as html_escape

    from instructor import marking
    root = _marking_course(demo_run, tmp_path_factory)
    process, url = _start_marking_server(root, tmp_path_factory.mktemp("marking-log") / "marking.log")
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url)
        question = marking.question(ASSIGNMENT, MARKING_QUESTION, root)
        assert page.locator("h1").inner_text() == f"{ASSIGNMENT}: {MARKING_QUESTION} (1 point)"
        assert "Do the images change consistently" in page.locator("#prompt").inner_text()
        assert "Yes: along each row the images morph smoothly" in page.locator("#model-answer").inner_text()
        scheme = page.locator("#mark-scheme")
        assert scheme.locator("li").count() == len(marking.PART.findall(question.mark_scheme)) == 3, \
            "the scheme's three parts show as a list"
        assert "0.25" in scheme.inner_text() and "what the first dimension controls" in scheme.inner_text()
        students = page.locator(".answer").evaluate_all("els => els.map(e => e.dataset.student)")
        assert students == ["demo-blank", "demo-mistakes", "demo-reference"]
        assert page.locator(".answer.unmarked").count() == 2
        blank = page.locator(".answer[data-student='demo-blank']")
        assert "YOUR ANSWER HERE" in blank.inner_text() and blank.locator("input[type=number]").input_value() == "0", \
            "nbgrader's 0 for an answer left as released shows in its box"
        # The student's HTML is text: shown literally, never run, no element made of it.
        hostile = page.locator(".answer[data-student='demo-mistakes'] .text").inner_text()
        assert "<script>window.__marked_xss = 1</script>" in hostile and '<img src="x"' in hostile
        assert page.locator("script").count() == 0 and page.locator(".answer img").count() == 0
        assert page.evaluate("() => window.__marked_xss") is None, "a student's script ran in the marking view"
        # Nothing of the tests: no markers, and no line of a test cell.
        text = page.content()
        master = notebooks.read(root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        test_lines = {line.strip() for c in master.cells if notebooks.is_test_cell(c)
                      for line in c.source.splitlines() if len(line.strip()) > 25}
        for marker in ("BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "END SOLUTION"):
            assert marker not in text, f"{marker!r} on the marking page"
        leaked = [line for line in test_lines if html_escape(line) in text or line in text]
        assert not leaked, f"test code on the marking page: {leaked[:3]}"
        box = page.locator(".answer[data-student='demo-reference'] input[type=number]")
        box.fill("0.75")
        screenshot(page, "marking-view.png", scheme)
        page.locator("#save").click()
        page.wait_for_selector("#notice")
        assert page.locator("#notice").inner_text() == "Saved 1 mark(s) to the gradebook."
        assert page.locator(".answer[data-student='demo-reference'] input[type=number]").input_value() == "0.75"
        assert page.locator(".answer.marked").count() == 2
        assert _gradebook_mark(root, "demo-reference") == (0.75, False), "the mark is not in nbgrader's gradebook"
        # A mark above the question's points is refused by the form, and nothing is saved.
        box = page.locator(".answer[data-student='demo-blank'] input[type=number]")
        box.fill("3")
        assert box.evaluate("e => e.validity.rangeOverflow")
        page.locator("#save").click()
        page.wait_for_timeout(500)
        assert _gradebook_mark(root, "demo-blank") == (None, False), "a refused mark reached the gradebook"
        assert "saved" in page.url and page.locator(".answer[data-student='demo-blank'] input[type=number]").input_value() == "3", \
            "the form should not have been sent"
        assert not errors, f"uncaught errors in the marking page: {errors}"
    finally:
        context.close()
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)


# ---------------------------------------------------------------- the class report
def _class_report_gradebook(root: Path, assignment: str) -> dict[str, tuple[float, dict[str, bool]]]:
    """``{student: (autograded total, {test cell: lost points})}`` from the gradebook."""
    from instructor.course import Course, questions
    tests = [c for cells in questions(assignment, root).values() for c in cells]
    out = {}
    for student, cells in Course(root).grades(assignment).items():
        out[student] = (sum(cells[c].score or 0.0 for c in tests),
                        {c: (cells[c].score or 0.0) < cells[c].max_score - 1e-9 for c in tests})
    return out


def test_class_report_in_the_browser_shows_figures_gradebook_counts_and_no_hidden_code(browser, demo_run):
    """The demo's class report (``make demo`` ends by writing it), opened in Chromium: its
    five figures are drawn, its counts are the gradebook's, and its text, collapsed parts
    included, holds no line of the hidden tests."""
    from tests.conftest import hidden_code
    assignment = "fashion_vae"
    root, _ = demo_run(assignment)
    report = root / "reports" / assignment / "class-report.html"
    gradebook = _class_report_gradebook(root, assignment)
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(report.as_uri())
        figures = page.locator("img.figure")
        assert figures.count() == 5
        sizes = figures.evaluate_all("els => els.map(e => [e.complete, e.naturalWidth, e.naturalHeight])")
        assert all(done and w > 200 and h > 50 for done, w, h in sizes), sizes
        shot = ARTIFACTS / "class-report.png"
        figures.first.scroll_into_view_if_needed()
        page.screenshot(path=str(shot))
        check_png(shot, figures.first.bounding_box())
        # Counts: submissions, each student's total, and who failed each test cell.
        assert page.locator('[data-count="submissions"]').inner_text() == str(len(gradebook))
        for student, (total, _) in gradebook.items():
            row = page.locator(f"tr[data-student='{student}']")
            assert row.locator("td[data-total]").get_attribute("data-total") == f"{total:g}", student
        failed: dict[str, set[str]] = {}
        for row in page.locator("tr.failed-check").all():
            cells = row.locator("td").all_inner_texts()
            who = row.locator("details").text_content().split("student(s)", 1)[1]
            failed.setdefault(cells[1], set()).update(w.strip() for w in who.split(",") if w.strip())
            assert int(cells[3]) == len([w for w in who.split(",") if w.strip()])
        for cell in {c for _, lost in gradebook.values() for c in lost}:
            assert failed.get(cell, set()) == {s for s, (_, lost) in gradebook.items() if lost[cell]}, cell
        assert "demo-mistakes" in set().union(*failed.values())
        # Hints only: no hidden test code anywhere in the page's text.
        text = page.evaluate("document.documentElement.textContent")
        assert "Hint:" in text
        leaks = [line for line in hidden_code(assignment) if line in text]
        assert not leaks, f"the class report shows hidden test code: {leaks[:3]}"
        assert not errors, errors
    finally:
        context.close()
