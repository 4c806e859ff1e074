"""Sandboxed grading kernels: every submission's kernel runs inside bubblewrap.

nbgrader runs student code with the grader's rights. Here each kernel that nbgrader starts
(``Execute.kernel_manager_class``, set by :meth:`instructor.course.Course.autograde`) is
wrapped in ``bwrap``:

- its file system holds only read-only system and library paths (``/usr``, the Python
  installation, the virtual environment, the course's ``helpers/``, the grader's oracles in
  ``grading/`` (the hidden tests import them) and the datasets) and a
  private, writable *scratch copy* of its own working folder. ``source/``, ``release/``,
  other submissions, the gradebook and ``nbgrader_config.py`` do not exist inside it, and
  what the kernel writes is thrown away with the scratch copy;
- it has no network (a network namespace with only a loopback device) and talks to the
  grader over Unix sockets in a private folder (ZeroMQ's ``ipc`` transport);
- it runs with a clean environment (no database URL, no tokens), without capabilities, in
  its own PID namespace, and, when the grader is root, as an unprivileged user;
- it has limits: memory (``RLIMIT_DATA``), processes and threads (``RLIMIT_NPROC``), file
  size, and wall time (the grader kills it when its time is up);
- on a GPU host it keeps the NVIDIA devices.

What happened to each kernel (wall time, exit status, limit hits) is written beside the
autograded notebook as ``.sandbox.json``; :mod:`instructor.audit.incidents` turns it into the
grading report's lines.

``SANDBOX=off`` runs kernels without isolation, with a warning on every run. When the
sandbox cannot be set up, grading stops with a message saying what to install.

The package, by job:

- :mod:`.availability` -- is the sandbox on (``SANDBOX``), can bubblewrap run here, and the
  announcement before grading;
- :mod:`.limits` -- memory, processes, file size and wall time, and the ``pids`` cgroup;
- :mod:`.command` -- the ``bwrap`` command: mounts, the kernel's environment, the limits;
- :mod:`.kernel` -- the kernel manager that launches each kernel through that command, and
  the record of what happened to it;
- :mod:`.execute` -- nbgrader's ``Execute`` preprocessor with each kernel sandboxed, and a
  kernel's death costing only the cells it did not run.
"""
from .availability import WARNING, SandboxUnavailable, announce, check, enabled
from .command import GRADING, HELPERS, PASSED_ENV, PASSED_PREFIXES, kernel_env, readonly_paths, wrap
from .execute import GuardedExecute, describe_death
from .kernel import MANAGER, RECORD, Record, SandboxKernelManager
from .limits import GIB, Limits

__all__ = ["GIB", "GRADING", "HELPERS", "MANAGER", "PASSED_ENV", "PASSED_PREFIXES", "RECORD", "WARNING",
           "GuardedExecute", "Limits", "Record", "SandboxKernelManager", "SandboxUnavailable",
           "announce", "check", "describe_death", "enabled", "kernel_env", "readonly_paths", "wrap"]
