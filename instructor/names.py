"""Names that cross a process boundary on the grader's side, each written once.

- Environment variables: the kernel's (imported from :mod:`helpers.environment`, the kit
  reads them) and the grader's own (the sandbox's limits, the gradebook's URL).
- Error names: the sandbox writes them into a cell's output when a kernel dies
  (:mod:`instructor.sandbox`), and the incident report matches them
  (:mod:`instructor.audit.incidents`).
"""
from helpers.environment import (CELL_TIMEOUT, DATA, DATA_FALLBACK, IN_SANDBOX,  # noqa: F401
                                 NBGRADER_EXECUTION, NBGRADER_VALIDATING, TEST_SEED)

# The sandbox: "on" (default) or "off" (trusted notebooks only, with a warning).
SANDBOX = "SANDBOX"
# Its limits are set in nbgrader_config.py (c.SandboxLimits.memory_gb = 8;
# instructor.sandbox.SandboxLimits). These variables set them before: they are no longer
# read, and grading stops with a sentence saying what to write instead while one is set.
SANDBOX_MEMORY_GB = "SANDBOX_MEMORY_GB"
SANDBOX_PROCESSES = "SANDBOX_PROCESSES"
SANDBOX_FILE_GB = "SANDBOX_FILE_GB"
SANDBOX_WALL_S = "SANDBOX_WALL_S"
# The name under which pyproject.toml registers the sandbox's kernel provisioner (entry point
# group jupyter_client.kernel_provisioners), and which the grading kernels' spec names.
SANDBOX_PROVISIONER = "vae-sandbox"
# The gradebook's database URL (nbgrader_config.py); SQLite in the course folder otherwise.
NBGRADER_DB_URL = "NBGRADER_DB_URL"

# The ename of the error output the sandbox gives a cell: the kernel died while it ran, or
# it was not run because the kernel had died in an earlier cell.
KERNEL_DIED = "KernelDied"
NOT_RUN = "NotRun"

# Where a class is graded: workers on this machine, or the tasks of a Slurm job array
# (instructor.autograde --engine, make autograde ENGINE=...).
ENGINE_LOCAL = "local"
ENGINE_SLURM = "slurm"
ENGINES = (ENGINE_LOCAL, ENGINE_SLURM)
# Set by Slurm in a task's environment: its CPUs (the workers share them out), its index in
# the job array, and where clients find the cluster's configuration.
SLURM_CPUS_PER_TASK = "SLURM_CPUS_PER_TASK"
SLURM_ARRAY_TASK_ID = "SLURM_ARRAY_TASK_ID"
SLURM_CONF = "SLURM_CONF"
