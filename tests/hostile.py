"""A corpus of broken and hostile ``fashion_vae`` submissions, built from the reference.

Each case is ``(submission, expectation)``: the submission is a notebook (or raw text for a
corrupt file), and the expectation names the report line the grader must print
(a regular expression) and whether the autograded points are withheld.
Hostile code is appended *after* a solution, so that the rest of the notebook is the
reference: any point a case keeps was earned by the reference's code, never by the attack.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import nbformat

from instructor import notebooks
from instructor.course import REPO
from instructor.demo import demo_submissions
from instructor.quality.verdicts import changed_answers
from catalogue import load

ASSIGNMENT = "fashion_vae"
WRONG_KL = "K1_seed_formula"  # a wrong KL: test_kl_formula and test_kl_properties must fail


@dataclass
class Case:
    submission: object            # NotebookNode, or str for a file that is not a notebook
    report: str                   # regex the student's incident lines must match
    withheld: bool = False        # autograded points set to 0 pending review
    must_fail: tuple[str, ...] = ()  # test cells that must score 0 (the attack must not help)


def _append(nb, cell_id: str, code: str):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == cell_id:
            cell.source = cell.source.rstrip("\n") + "\n\n" + code.strip("\n") + "\n"
            return nb
    raise KeyError(cell_id)


def _edit_cell(nb, cell_id: str, fn):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == cell_id:
            fn(cell)
            return nb
    raise KeyError(cell_id)


def _drop(nb, cell_id: str):
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != cell_id]
    return nb


def cases(course_root, port: int, other_student: str = "demo-reference") -> dict[str, Case]:
    """The corpus. ``course_root`` and ``port`` (a TCP server on the host's loopback) are
    what the attacks aim at; ``other_student`` is a classmate whose work they try to read."""
    subs = demo_submissions(ASSIGNMENT, REPO)
    ref = subs["demo-reference"]
    source = notebooks.read(REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    release = notebooks.read(REPO / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    answers = changed_answers(notebooks.solution_regions(source), load(ASSIGNMENT).mutant(WRONG_KL))
    wrong_kl = notebooks.fill(release, answers, notebooks.written_answers(source))
    root = str(course_root)
    secret_paths = [f"{root}/source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
                    f"{REPO}/source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
                    f"{root}/nbgrader_config.py", f"{root}/gradebook.db",
                    "../../../source/fashion_vae/fashion_vae.ipynb",
                    f"{root}/submitted/{other_student}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
                    f"{root}/autograded/{other_student}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
                    f"../../{other_student}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"]
    probe = f'''
import os
for path in {secret_paths!r}:
    try:
        with open(path, "rb") as f:
            data = f.read()
        print("READ", path, len(data), data[:20000])
    except OSError as err:
        print("blocked:", path, type(err).__name__)
'''
    patch_then_wrong = lambda code: _append(wrong_kl, "vae", code)  # noqa: E731
    kl_tests = ("test_kl_formula", "test_kl_properties")
    other_nb = demo_submissions("kl_annealing", REPO)["demo-reference"]

    def set_points(cell):
        cell.metadata["nbgrader"]["points"] = 100

    def gut_test(cell):
        cell.source = "# tests removed\npass\n"

    return {
        "hostile-infinite-loop": Case(_append(ref, "traverse_two", "while True:\n    pass"),
                                      r"traverse_two timed out|ran past the cell time limit"),
        "hostile-sys-exit": Case(_append(ref, "encoder", "import sys\nsys.exit(0)"),
                                 r"encoder called sys\.exit\(\)"),
        "hostile-os-exit": Case(_append(ref, "train_vae", "import os\nos._exit(1)"),
                                r"train_vae: the kernel exited with status 1",
                                must_fail=("test_train_vae", "test_embed", "test_traverse_two")),
        "hostile-segfault": Case(_append(ref, "selection", "import ctypes\nctypes.string_at(0)"),
                                 r"selection: the kernel crashed \(segmentation fault\)",
                                 # reading address 0 crashes the kernel; it patches nothing
                                 must_fail=("test_embed", "test_traverse_one")),
        "hostile-memory-bomb": Case(_append(ref, "decoder",
                                            "blocks = []\nwhile True:\n    blocks.append(bytearray(256 * 2 ** 20))"),
                                    r"decoder ran out of memory"),
        "hostile-fork-bomb": Case(_append(ref, "decoder", '''
import os, time
children = []
for _ in range(1500):
    pid = os.fork()
    if pid == 0:
        time.sleep(300)
        os._exit(0)
    children.append(pid)
'''), r"decoder hit the process limit"),
        "hostile-huge-output": Case(_append(ref, "encoder", "for _ in range(100_000):\n    print('x' * 1000)"),
                                    r"encoder printed more than 1000 lines"),
        "hostile-corrupt-json": Case('{"cells": [{"cell_type": "code", "source": "print(1)", ',
                                     r"not graded: the notebook is not a readable notebook"),
        "hostile-other-assignment": Case(other_nb, r"looks like another notebook(.|\n)*not graded"),
        "hostile-deleted-test": Case(_drop(wrong_kl, "test_kl_formula"),
                                     r"deleted test cell\(s\) put back from the master and graded: test_kl_formula",
                                     must_fail=kl_tests),
        "hostile-edited-test": Case(_edit_cell(wrong_kl, "test_kl_formula", gut_test),
                                    r"locked/test cell\(s\) that differ from the master \(edited, or from an older release\) were restored from it: test_kl_formula",
                                    must_fail=kl_tests),
        "hostile-edited-points": Case(_edit_cell(ref, "test_encoder_shapes", set_points),
                                      r"edited points restored: test_encoder_shapes \(100"),
        "hostile-patch-torch": Case(patch_then_wrong("torch.allclose = lambda *a, **k: True\n"
                                                     "torch.isclose = lambda a, b, *r, **k: torch.ones_like(a, dtype=torch.bool)"),
                                    r"tampering suspected in vae, line \d+: torch\.allclose", withheld=True,
                                    must_fail=kl_tests),
        "hostile-patch-numpy": Case(patch_then_wrong("np.allclose = lambda *a, **k: True\n"
                                                     "np.testing.assert_allclose = lambda *a, **k: None"),
                                    r"tampering suspected in vae, line \d+: np\.allclose", withheld=True,
                                    must_fail=kl_tests),
        "hostile-patch-helpers": Case(patch_then_wrong("import helpers.checks\n"
                                                       "helpers.checks.quietly = lambda *a, **k: __import__('contextlib').nullcontext()"),
                                      r"tampering suspected in vae, line \d+: helpers\.checks\.quietly", withheld=True,
                                      must_fail=kl_tests),
        "hostile-patch-assertionerror": Case(patch_then_wrong("import builtins\n"
                                                              "builtins.AssertionError = type('Quiet', (Exception,), {})"),
                                             r"tampering suspected in vae, .*builtins", withheld=True,
                                             must_fail=kl_tests),
        "hostile-patch-run-cell": Case(patch_then_wrong(
            "_run = get_ipython().run_cell\n"
            "get_ipython().run_cell = lambda cell, *a, **k: _run('pass' if 'assert' in cell else cell, *a, **k)"),
            r"tampering suspected in vae, .*run_cell", withheld=True, must_fail=kl_tests),
        "hostile-read-hidden-tests": Case(_append(ref, "encoder", probe),
                                          r"encoder tries to reach outside its folder .*fashion_vae\.ipynb"),
        "hostile-write-gradebook": Case(_append(ref, "encoder", f'''
import sqlite3
for path in ["../../evil.txt", "/dev/shm/evil", "/evil", "{root}/evil.txt"]:
    try:
        with open(path, "w") as f:
            f.write("evil")
        print("WROTE", path)
    except OSError as err:
        print("blocked:", path, type(err).__name__)
for path in ["{root}/gradebook.db", "../../../gradebook.db"]:
    try:
        with open(path, "r+b") as f:
            f.write(b"garbage" * 1000)
        print("WROTE", path)
    except OSError as err:
        print("blocked:", path, type(err).__name__)
    try:
        con = sqlite3.connect(path)
        con.execute("UPDATE grade SET auto_score = 100")
        con.commit()
        print("UPDATED", path)
    except sqlite3.Error as err:
        print("blocked:", path, type(err).__name__)
'''), r"encoder tries to reach outside its folder .*gradebook\.db"),
        "hostile-read-other-student": Case(_append(ref, "decoder", probe),
                                           r"decoder tries to reach outside its folder .*demo-reference"),
        "hostile-network": Case(_append(ref, "encoder", f'''
import socket
for host, port in [("127.0.0.1", {port}), ("10.0.0.1", 80), ("pypi.org", 443)]:
    try:
        socket.create_connection((host, port), timeout=3).close()
        print("CONNECTED", host, port)
    except OSError as err:
        print("blocked:", host, port, type(err).__name__)
'''), r"encoder tries to reach outside its folder .*the module socket"),
    }


def write(case: Case, path) -> None:
    if isinstance(case.submission, str):
        path.write_text(case.submission)
    else:
        nbformat.write(case.submission, str(path))
