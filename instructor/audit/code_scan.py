"""Reading a student's code, outside the kernel, for what could subvert in-process tests.

:func:`tampering` finds constructs that rebind or patch what the tests rely on, dynamic code
that could hide them, and imports of the grader-only package; :func:`outside_access` finds
attempts to reach paths or the network outside the sandbox. Each finding is one line,
``"line N: <code>  (why)"``, for the incident report (:mod:`instructor.audit.incidents`).
"""
from __future__ import annotations

import ast

from instructor import syntax

# What the tests rely on, and so what student code must not rebind or patch: the modules and
# names the notebooks import (torch, numpy, the course's helpers, ...), builtins and
# AssertionError, IPython's execution machinery and sys.modules. A module's name alone, a
# read of globals(), or the line-magic calls that notebook tools write is not tampering.
RELIED_ON = {"torch", "np", "numpy", "nn", "F", "helpers", "math", "plt", "matplotlib", "d2l",
             "scipy", "builtins", "__builtins__", "IPython", "ipykernel", "sys", "Normal",
             "kl_divergence", "kstest"}
# Module attributes that students legitimately set: plotting and determinism settings.
HARMLESS_SETTINGS = ("plt.rcParams", "matplotlib.rcParams", "mpl.rcParams", "torch.backends.",
                     "os.environ", "np.set_printoptions", "pd.options", "warnings.filters",
                     "torch.set_printoptions")
GRADER_ONLY = "grading"  # the package of reference answers (grading/), never released
# Code that can run anything, and so hide any of the constructs below.
DYNAMIC_CODE = {"exec", "eval", "compile", "__import__", "breakpoint"}
# Attributes that reach or rewrite the interpreter's machinery: frames and tracing, function
# internals, IPython's cell execution and error display, the garbage collector's object lists.
MACHINERY = {"_getframe", "currentframe", "settrace", "setprofile", "f_globals", "f_locals",
             "f_back", "excepthook", "displayhook", "get_referrers", "get_objects",
             "__globals__", "__code__", "__closure__", "__defaults__", "__kwdefaults__",
             "__builtins__", "__subclasses__", "run_cell", "run_cell_async", "run_ast_nodes",
             "run_code", "showtraceback", "_showtraceback", "set_custom_exc", "events",
             "input_transformers_post", "input_transformers_cleanup", "ast_transformers"}
# What notebook editors write for magics (VS Code, jupytext, nbconvert --to script).
MAGIC_CALLS = {"run_line_magic", "run_cell_magic", "magic", "system", "getoutput"}
# Methods that only read a mapping such as sys.modules or globals().
READING = {"get", "keys", "values", "items", "copy", "__contains__", "__getitem__"}


def tampering(source: str) -> list[str]:
    """Constructs in ``source`` that rebind or patch what the tests rely on, as
    ``"line N: <code>  (why)"``, one per construct.

    Reported: assigning to, deleting or ``setattr`` on an attribute or item of a module or
    name the tests use (``torch.allclose = ...``, ``helpers.checks.quietly = ...``,
    ``builtins.AssertionError = ...``); rebinding ``AssertionError`` or ``__builtins__``;
    changing ``sys.modules`` or writing through ``globals()``; IPython's execution machinery
    (``get_ipython().run_cell``, ``events``), frames and tracing, function internals
    (``__code__``, ``__globals__``), the garbage collector's object lists; dynamic code
    (``exec``, ``eval``, ``__import__``), which could hide any of these; and imports of the
    grader-only package ``grading``. Not reported: ordinary model code (``setattr(self, ...)``),
    importing a module by name (``gc``, ``inspect``, ``importlib``), ``gc.collect()``,
    ``importlib.reload``, ``inspect.signature``, reading ``globals()``, magics and the
    ``get_ipython().run_line_magic(...)`` calls that editors write for them.
    """
    try:
        tree = syntax.parse(_strip_magics(source))
    except SyntaxError:
        return []
    modules = set(RELIED_ON)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules |= {a.asname or a.name for a in node.names}  # may be submodules
    lines = source.splitlines()
    found: list[str] = []

    def root(node) -> str | None:
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        return node.id if isinstance(node, ast.Name) else None

    def is_call_of(node, name: str) -> bool:
        return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name

    def base_call(node):
        """The call at the root of ``node`` (``globals()`` in ``globals()["x"]``), if any."""
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        return node if isinstance(node, ast.Call) else None

    def hit(node, why: str) -> None:
        text = lines[node.lineno - 1].strip() if 0 < node.lineno <= len(lines) else ""
        found.append(f"line {node.lineno}: {text}  ({why})")

    def sys_modules(node) -> bool:
        return isinstance(node, ast.Attribute) and node.attr == "modules" and root(node) == "sys"

    for node in ast.walk(tree):
        targets = []
        if isinstance(node, (ast.Assign, ast.Delete)):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            for t in (target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]):
                if not isinstance(t, (ast.Attribute, ast.Subscript)):
                    continue
                text = ast.unparse(t)
                call = base_call(t)
                if root(t) in modules and not text.startswith(HARMLESS_SETTINGS):
                    hit(node, f"changes {text}")
                elif call is not None and (is_call_of(call, "globals") or is_call_of(call, "get_ipython")
                                           or is_call_of(call, "vars")):
                    hit(node, f"changes {text}")
                elif isinstance(t, ast.Attribute) and t.attr in MACHINERY:
                    hit(node, f"changes {text}")
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else (func.attr if isinstance(func, ast.Attribute) else None)
            if name in {"setattr", "delattr"} and isinstance(func, ast.Name) and node.args and (
                    root(node.args[0]) in modules or base_call(node.args[0]) is not None):
                hit(node, f"{name} on {ast.unparse(node.args[0])}")
            elif name in DYNAMIC_CODE and isinstance(func, ast.Name):
                hit(node, f"runs dynamic code with {name}()")
            elif isinstance(func, ast.Attribute) and func.attr not in READING and (
                    sys_modules(func.value) or is_call_of(func.value, "globals")):
                hit(node, f"changes {ast.unparse(func.value)} with .{func.attr}()")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for n in names:
                if n.split(".")[0] == GRADER_ONLY and getattr(node, "level", 0) == 0:
                    hit(node, f"imports the grader-only package {n} (the reference answers)")
        if isinstance(node, ast.Attribute) and node.attr in MACHINERY:
            hit(node, f"uses .{node.attr}")
        if isinstance(node, ast.Name) and node.id in {"__builtins__", "AssertionError"} and \
                isinstance(node.ctx, (ast.Store, ast.Del)):
            hit(node, f"rebinds {node.id}")
    return list(dict.fromkeys(found))


def outside_access(source: str) -> list[str]:
    """What ``source`` tries to reach outside its own folder: paths (absolute or with
    ``..``) and the network. Harmless in the sandbox, where they do not exist, but worth
    the instructor's attention."""
    try:
        tree = syntax.parse(_strip_magics(source))
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            value = node.value
            if (value.startswith("/") and value.count("/") > 1 and not value.startswith("/dev/null")) \
                    or value.startswith("../") or "/../" in value:
                found.append(f"the path {value[:80]!r}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                if name.split(".")[0] in {"socket", "urllib", "http", "requests", "ftplib",
                                          "smtplib", "subprocess"}:
                    found.append(f"the module {name}")
    return list(dict.fromkeys(found))


def _strip_magics(source: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())
