# planstats — two commands on a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install install-dev run airflow workspace test e2e lint bench bench-postgres clean-demo

DEV_STAMP := $(VENV)/.installed-dev
PIP := $(BIN)/pip install --quiet --disable-pip-version-check

$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt -c constraints.txt
	$(PIP) --no-deps -e .
	touch $(STAMP)

# Tests and linters on top of the runtime (the production image has the runtime only).
$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(PIP) -r requirements-dev.txt -c constraints.txt
	touch $(DEV_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

run: install
	scripts/demo.sh

test: install-dev
	scripts/ensure-postgres.sh
	scripts/ensure-office.sh
	scripts/ensure-redis.sh
	scripts/ensure-browser.sh
	$(BIN)/ruff check planstats dags plugins tests bench
	$(BIN)/pytest -m "not topology"
	$(MAKE) --no-print-directory e2e

# The production topology (docker-compose.yml's services as plain processes), faults included.
e2e: install-dev
	scripts/ensure-postgres.sh
	scripts/ensure-redis.sh
	$(BIN)/pytest -m topology tests/topology

# Local Airflow UI: `airflow standalone` with the project's DAGs, plugins and settings.
airflow: install
	scripts/airflow-standalone.sh

# the reviewer workspace (Airflow standalone with the planstats plugin) over `make run`'s data
workspace: install
	scripts/workspace.sh

lint: install-dev
	$(BIN)/ruff check planstats dags plugins tests bench

bench: install
	$(BIN)/python bench/run.py
	$(BIN)/python bench/pages.py

# the pipeline on a throwaway PostgreSQL beside SQLite (the tests' cluster: dev install)
bench-postgres: install-dev
	scripts/ensure-postgres.sh
	$(BIN)/python bench/postgres.py

clean-demo:
	rm -rf data/demo
