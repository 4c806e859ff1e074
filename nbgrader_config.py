"""nbgrader configuration of the VAE course (run nbgrader from this folder)."""
import os

from instructor import names

c = get_config()  # noqa: F821 (provided by nbgrader)

ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "vae-course"
c.CourseDirectory.root = ROOT
# $NBGRADER_DB_URL selects another gradebook, e.g. PostgreSQL for grading across machines.
c.CourseDirectory.db_url = os.environ.get(names.NBGRADER_DB_URL, f"sqlite:///{ROOT}/gradebook.db")
# "helpers": a submission's own copy of helpers/ is never used; grading imports the course's.
# ".sandbox.json", ".intake.json": written by the grader beside each autograded notebook; never taken from a
# submission, never copied into feedback.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "data", ".DS_Store", "helpers",
                              ".sandbox.json", ".intake.json", ".graded-notebook", "*.as-submitted"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A graded notebook runs in seconds with the grading budget; a cell that takes longer is stuck.
# ($VAE_CELL_TIMEOUT: the tests of hostile submissions use a shorter limit.)
c.ExecutePreprocessor.timeout = int(os.environ.get(names.CELL_TIMEOUT, 300))
c.Execute.timeout = int(os.environ.get(names.CELL_TIMEOUT, 300))
# Once every cell has run and its outputs are saved, stop the kernel at once: a graceful
# shutdown waits up to seconds for the kernel process to tidy up, per submission.
c.Execute.shutdown_kernel = "immediate"

# Autograding runs every kernel in the bubblewrap sandbox (instructor/sandbox/; SANDBOX=off
# opts out, with a warning) and survives kernels that die. The rest is nbgrader's own list.
c.Autograde.autograde_preprocessors = [
    "instructor.sandbox.GuardedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# The sandbox's limits for every grading kernel (instructor.sandbox.SandboxLimits; these are
# the defaults). Set one here, e.g. c.SandboxLimits.memory_gb = 8, or for one run on
# nbgrader's command line (--SandboxLimits.memory_gb=8). The variables SANDBOX_MEMORY_GB,
# SANDBOX_PROCESSES, SANDBOX_FILE_GB and SANDBOX_WALL_S are no longer read: grading stops
# while one is set.
#   c.SandboxLimits.memory_gb = 6      # GiB per kernel process (RLIMIT_DATA)
#   c.SandboxLimits.processes = 512    # processes and threads (pids cgroup as root, else RLIMIT_NPROC)
#   c.SandboxLimits.file_gb = 1        # GiB, largest file the kernel may write (RLIMIT_FSIZE)
#   c.SandboxLimits.wall_s = 900       # seconds for the whole notebook; one cell: Execute.timeout
# A submission that deleted a test cell gets it back (and its points are still graded).
c.OverwriteCells.add_missing_cells = True
# nbgrader's sanitizing steps, with DeduplicateIds and OverwriteCells that first repair the
# structure from the master (deleted, split, copied or retyped cells, lost metadata; see
# instructor/intake.py): nbgrader 0.9.6 left such submissions ungraded.
# First, notebooks saved by Colab, VS Code or older Jupyter become nbformat 4.5 without the
# editors' metadata (instructor/normalise.py).
c.Autograde.sanitize_preprocessors = [
    "instructor.normalise.NormaliseNotebook",
    "nbgrader.preprocessors.ClearOutput",
    "instructor.intake.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "instructor.intake.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Feedback shows points, visible test output, the failing test's message (a hint when a
# hidden test failed) and the figures, but not the hidden test code (instructor/feedback.py).
# NormaliseNotebook first: nbconvert cannot render Colab's widget state (KeyError: 'state').
c.GenerateFeedback.preprocessors = [
    "instructor.normalise.NormaliseNotebook",
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "instructor.feedback.HideHiddenTests",  # after the CSS header: it adds its own CSS
]

# `nbgrader export` writes a status per submission: a submission the grader could not grade is
# "not graded" with an empty score, never a 0 that looks like a blank one (instructor/export.py).
c.ExportApp.plugin_class = "instructor.export.CsvExportPlugin"
