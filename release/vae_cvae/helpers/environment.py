"""The environment variables that carry settings from the grader to a notebook's kernel.

One name, one place: the student kit reads them here, and the grader (``instructor/``)
sets them through :mod:`instructor.names`, which imports them from here.
"""

# Offset added to every test cell's random seeds (helpers.checks.test_seed); an integer,
# default 0. The seed sweep and the grading report grade the reference under other values.
TEST_SEED = "VAE_TEST_SEED"
# Where torchvision downloads datasets (default: data/ in the working folder).
DATA = "VAE_DATA"
# Torchvision-layout dataset folders used when the download fails (os.pathsep-separated).
DATA_FALLBACK = "VAE_DATA_FALLBACK"
# Seconds a cell may run while nbgrader executes the notebook (nbgrader_config.py; 300).
CELL_TIMEOUT = "VAE_CELL_TIMEOUT"
# Set to "1" inside the grading sandbox.
IN_SANDBOX = "VAE_SANDBOX"
# Set by nbgrader while it executes a notebook: "validate" or "autograde". Under it the
# notebooks train on the small grading budget (helpers.budget).
NBGRADER_EXECUTION = "NBGRADER_EXECUTION"
NBGRADER_VALIDATING = "NBGRADER_VALIDATING"
