# planstats — two commands on a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench clean-demo workspace

$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

run: install
	scripts/demo.sh

test: install
	scripts/ensure-postgres.sh
	$(BIN)/ruff check planstats dags plugins tests bench
	$(BIN)/pytest

# the reviewer workspace (Airflow standalone with the planstats plugin) over `make run`'s data
workspace: install
	scripts/workspace.sh

lint: install
	$(BIN)/ruff check planstats dags plugins tests bench

bench: install
	$(BIN)/python bench/run.py
	$(BIN)/python bench/pages.py

clean-demo:
	rm -rf data/demo
