# KIM Casework: `make run` and `make test` are the two commands of the README.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export KIM_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: run test lint typecheck unit clean bench

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/kim init-db
	$(BIN)/kim deploy processes
	$(BIN)/kim run

lint: $(STAMP)
	$(BIN)/ruff check engine webapp tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/history.py
	$(BIN)/python bench/overhead.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
