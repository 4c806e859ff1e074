# The VAE course workbook. `make demo` and `make test` set everything up from nothing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
D2L := d2l==1.0.3
# Offline copy of MNIST used when torchvision cannot download (see helpers/data.py).
SHARED_MNIST := $(abspath ../shared/data/MNIST-10k)
export VAE_DATA_FALLBACK ?= $(if $(wildcard $(SHARED_MNIST)/MNIST/raw),$(SHARED_MNIST))
export PATH := $(abspath $(BIN)):$(PATH)
export PYTHONDONTWRITEBYTECODE := 1
# Grading kernels run in the bubblewrap sandbox; SANDBOX=off opts out (with a warning).
export SANDBOX ?= on
JOBS ?= 2
# ENGINE=slurm grades the class as one Slurm job array (docs/scaling-out.md): TASKS array
# tasks of CPUS CPUs and MEM memory each, on PARTITION, within TIME_LIMIT, with GRES (gpu:1).
ENGINE ?= local
TASKS ?=
CPUS ?= 2
MEM ?= 8G
PARTITION ?=
TIME_LIMIT ?=
GRES ?=
RESUME ?=
ASSIGNMENT ?=
REPORT_ARGS ?=
NOTEBOOK ?=
STUDENT ?=
QUESTION ?=
LMS ?=

.PHONY: help venv release demo autograde class-report test test-browser lab marking lms-export pdf grading-report clean

help:
	@echo "make demo            generate the releases and autograde the demo submissions"
	@echo "make test            run the test suite"
	@echo "make test-browser    the student's path in JupyterLab, driven in headless Chromium (screenshots in artifacts/)"
	@echo "make release         regenerate release/ from source/"
	@echo "make autograde ASSIGNMENT=vae_cvae JOBS=2"
	@echo "                     autograde every submission in submitted/ with JOBS workers"
	@echo "make autograde ASSIGNMENT=a STUDENT=s [NOTEBOOK=file.ipynb]"
	@echo "                     grade one student again [grading another notebook of the submission]"
	@echo "make autograde ASSIGNMENT=a ENGINE=slurm [TASKS=n CPUS=2 MEM=8G PARTITION=p TIME_LIMIT=02:00:00 GRES=gpu:1]"
	@echo "                     grade the class as one Slurm job array (PostgreSQL gradebook in NBGRADER_DB_URL)"
	@echo "make autograde ASSIGNMENT=a RESUME=1 [ENGINE=slurm]"
	@echo "                     grade only the students with no complete grade (after a failed or killed run)"
	@echo "make class-report ASSIGNMENT=vae_cvae"
	@echo "                     after grading: scores, most-failed checks, incidents, grading time, manual"
	@echo "                     grading, similar submissions (reports/<assignment>/class-report.html)"
	@echo "make lab             open the course in JupyterLab"
	@echo "make marking ASSIGNMENT=vae_cvae [QUESTION=answer_10_6h]"
	@echo "                     mark one written question across the class, with its mark scheme (docs/marking.md)"
	@echo "make lms-export LMS=brightspace|canvas|moodle [ASSIGNMENT=a]"
	@echo "                     grades per question and in total, in the LMS's import CSV (grades-<LMS>.csv)"
	@echo "make pdf NOTEBOOK=path/to/notebook.ipynb"
	@echo "                     print an executed notebook to PDF with headless Chromium (for submission)"
	@echo "make grading-report  grade the mutant/variant catalogue, the reference under 30 seeds, and print the verdicts"
	@echo "                     (REPORT_ARGS=--seeds-only: only the reference runs)"

venv: $(STAMP)

# The course as an editable project (pyproject.toml): requirements.txt (what a student
# installs) plus the grader's and the test suite's extras, then d2l without its stale pins
# (d2l 1.0.3 pins numpy 1.23.5, which cannot install on Python 3.12+ and would downgrade
# numpy; what d2l really imports is listed in requirements.txt). The editable install puts
# this checkout's packages on the venv's path, so notebooks anywhere in the course import
# `helpers`; a venv made by an older Makefile loses its vae_course.pth, which pointed at
# one checkout whatever the venv.
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -c "import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()['purelib'], 'vae_course.pth').unlink(missing_ok=True)"
	$(BIN)/python -m pip install --quiet -e '.[grader,dev]'
	$(BIN)/python -m pip install --quiet --no-deps $(D2L)
	$(BIN)/python -c "import torch, torchvision, d2l.torch, nbgrader, numpy; print('environment ready: torch', torch.__version__, '| torchvision', torchvision.__version__, '| numpy', numpy.__version__, '| nbgrader', nbgrader.__version__)"
	$(BIN)/python -c "import helpers, pathlib; here = pathlib.Path('$(CURDIR)').resolve(); got = pathlib.Path(helpers.__file__).resolve().parent.parent; assert got == here, f'this venv imports the course from {got}, not {here}: remove $(VENV) and run make again'"
	touch $(STAMP)

release: venv
	$(BIN)/python -m instructor.release $(ASSIGNMENT)

demo: venv
	$(BIN)/python -m instructor.demo $(ASSIGNMENT)

autograde: venv
	@test -n "$(ASSIGNMENT)" || { echo "usage: make autograde ASSIGNMENT=<one of: $(notdir $(wildcard source/*))> [JOBS=N]"; exit 2; }
ifeq ($(ENGINE),slurm)
	$(BIN)/python -m instructor.autograde $(ASSIGNMENT) --engine slurm --cpus-per-task $(CPUS) --mem $(MEM) $(if $(TASKS),--tasks $(TASKS)) $(if $(PARTITION),--partition $(PARTITION)) $(if $(TIME_LIMIT),--time $(TIME_LIMIT)) $(if $(GRES),--gres $(GRES)) $(if $(STUDENT),--student $(STUDENT)) $(if $(RESUME),--resume)
else
	$(BIN)/python -m instructor.autograde $(ASSIGNMENT) --jobs $(JOBS) $(if $(STUDENT),--student $(STUDENT)) $(if $(NOTEBOOK),--notebook $(NOTEBOOK)) $(if $(RESUME),--resume)
endif

class-report: venv
	@test -n "$(ASSIGNMENT)" || { echo "usage: make class-report ASSIGNMENT=<one of: $(notdir $(wildcard source/*))>"; exit 2; }
	$(BIN)/python -m instructor.class_report $(ASSIGNMENT)

test: venv
	$(BIN)/python -m pytest tests -q -p no:cacheprovider -m "not browser" --durations=30

# JupyterLab in headless Chromium (installs Debian's chromium when missing and allowed).
test-browser: venv
	$(BIN)/python -m pytest tests/test_browser.py -m browser -q -p no:cacheprovider

# From the course root, so that nbgrader's formgrader finds nbgrader_config.py; as root
# (a container), JupyterLab refuses to start without --allow-root.
lab: venv
	$(BIN)/jupyter lab --notebook-dir=$(CURDIR) $(if $(filter 0,$(shell id -u)),--allow-root)

# The marking view: every answer to one written question on one page, marks into the gradebook.
marking: venv
	@test -n "$(ASSIGNMENT)" || { echo "usage: make marking ASSIGNMENT=<one of: $(notdir $(wildcard source/*))> [QUESTION=<answer cell's grade_id>]"; exit 2; }
	$(BIN)/python -m instructor.marking $(ASSIGNMENT) $(if $(QUESTION),--question $(QUESTION))

lms-export: venv
	@test -n "$(LMS)" || { echo "usage: make lms-export LMS=<brightspace|canvas|moodle> [ASSIGNMENT=<a>]"; exit 2; }
	$(BIN)/python -m instructor.lms_export $(LMS) $(ASSIGNMENT)

# The PDF goes beside the notebook (same name, .pdf); see helpers/pdf.py.
pdf: venv
	@test -n "$(NOTEBOOK)" || { echo "usage: make pdf NOTEBOOK=path/to/notebook.ipynb (run all cells and save it first)"; exit 2; }
	$(BIN)/python -m helpers.pdf "$(NOTEBOOK)"

grading-report: venv
	$(BIN)/python -m instructor.quality.grading_report --jobs $(JOBS) $(REPORT_ARGS) $(ASSIGNMENT)

clean:
	rm -rf submitted autograded/*/ feedback gradebook.db grades.csv gradebook.csv grades-brightspace.csv grades-canvas.csv grades-moodle.csv reports
