"""Sandboxed grading kernels: every submission's kernel runs inside bubblewrap.

nbgrader runs student code with the grader's rights. Here each kernel that nbgrader starts
(through :class:`GuardedExecute`, nbgrader's ``Execute`` in ``nbgrader_config.py``, whose
kernel manager's spec names the sandbox's kernel provisioner) is wrapped in ``bwrap``:

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
  size, and wall time (the grader kills it when its time is up), set in
  ``nbgrader_config.py`` as :class:`SandboxLimits`'s traits (``c.SandboxLimits.memory_gb``);
- on a GPU host it keeps the NVIDIA devices.

What happened to each kernel (wall time, exit status, limit hits) is written beside the
autograded notebook as ``.sandbox.json``; :mod:`instructor.audit.incidents` turns it into the
grading report's lines.

``SANDBOX=off`` runs kernels without isolation, with a warning on every run. When the
sandbox cannot be set up, grading stops with a message saying what to install.

The package, by job:

- :mod:`.availability` -- is the sandbox on (``SANDBOX``), can bubblewrap run here, and the
  announcement before grading;
- :mod:`.limits` -- memory, processes, file size and wall time (the configurable
  :class:`SandboxLimits`), and the ``pids`` cgroup;
- :mod:`.command` -- the ``bwrap`` command: mounts, the kernel's environment, the limits;
- :mod:`.provisioner` -- jupyter_client's kernel provisioner that launches each kernel
  through that command, stops it at its wall time, records what happened to it and removes
  what it made (registered in ``pyproject.toml``);
- :mod:`.fontcache` -- matplotlib's font list, built once per grader process and copied into
  each kernel's scratch folder;
- :mod:`.kernel` -- the kernel manager whose kernel spec names that provisioner;
- :mod:`.execute` -- nbgrader's ``Execute`` preprocessor with each kernel sandboxed, and a
  kernel's death costing only the cells it did not run.
"""
from .availability import WARNING, SandboxUnavailable, announce, check, enabled
from .command import GRADING, HELPERS, PASSED_ENV, PASSED_PREFIXES, kernel_env, readonly_paths, wrap
from .execute import GuardedExecute, describe_death
from .kernel import MANAGER, SandboxKernelManager
from .limits import GIB, Limits, SandboxLimits, course_limits, legacy_variables
from .provisioner import RECORD, Record, SandboxProvisioner

__all__ = ["GIB", "GRADING", "HELPERS", "MANAGER", "PASSED_ENV", "PASSED_PREFIXES", "RECORD", "WARNING",
           "GuardedExecute", "Limits", "Record", "SandboxKernelManager", "SandboxLimits",
           "SandboxProvisioner", "SandboxUnavailable", "announce", "check", "course_limits",
           "describe_death", "enabled", "kernel_env", "legacy_variables", "readonly_paths", "wrap"]
