# Two commands on a fresh machine: `make demo` and `make test`.
# Both build (or reuse) a local virtualenv in .venv/ from PyPI; conda users can use environment.yml.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.tierbook-installed
DEMO_COMPANY ?= data/sample/b2b_services
# Notebooks and unit tests share two cores; nbval keeps each notebook on one worker.
PYTEST_ARGS ?= -n 2 --dist loadfile

CONSTRAINTS := constraints.txt

.PHONY: demo test venv lock bench samples templates notebooks clean help

help:
	@echo "make demo   run the whole workbook on the bundled sample company"
	@echo "make test   run the full test suite (unit tests, doctests, notebooks, end to end)"
	@echo "make bench  run the benchmarks (slow; on demand)"
	@echo "make notebooks  render notebooks/ (EN) and notebooks/ru/ (RU) from notebooks/source/"
	@echo "make lock   upgrade within pyproject.toml's ranges, run the suite, then pin the versions in constraints.txt"

# Installs the versions the suite passed with (constraints.txt, kept in git), not whatever PyPI has today.
$(STAMP): pyproject.toml $(CONSTRAINTS)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tierbook needs Python 3.11 or newer; found " + sys.version.split()[0] + ". Set PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing Tierbook into $(VENV)/ (first run takes a minute) ..."
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(CONSTRAINTS) -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	@$(BIN)/tierbook run $(DEMO_COMPANY)

test: $(STAMP)
	@$(BIN)/python -m pytest $(PYTEST_ARGS) tests src/helpers notebooks --nbval-lax --nbval-current-env

# One command to move to newer libraries: constraints.txt and environment.yml change only if the suite passes.
lock: $(STAMP)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade --upgrade-strategy eager -e ".[dev]"
	@$(BIN)/python -m pytest $(PYTEST_ARGS) tests src/helpers notebooks --nbval-lax --nbval-current-env
	@$(BIN)/python scripts/lock.py

bench: $(STAMP)
	@$(BIN)/python -m benchmarks

samples: $(STAMP)
	@$(BIN)/python scripts/make_samples.py

templates: $(STAMP)
	@$(BIN)/python scripts/render_templates.py

# notebooks/*.ipynb (EN) and notebooks/ru/*.ipynb (RU) from notebooks/source/*.yml; see notebooks/README.md.
notebooks: $(STAMP)
	@$(BIN)/python scripts/render_notebooks.py

clean:
	rm -rf $(VENV) runs/.interactive
