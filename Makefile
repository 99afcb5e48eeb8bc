# KIM Casework: `make run` and `make test` are the two commands of the README.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export KIM_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: install browser run test lint typecheck clean bench

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Browser tests drive Debian's Chromium (test tools cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: run 'sudo apt-get install chromium'"; exit 1; fi; }

run: $(STAMP)
	$(BIN)/kim init-db
	$(BIN)/kim deploy processes
	$(BIN)/kim demo
	$(BIN)/kim run

lint: $(STAMP)
	$(BIN)/ruff check engine webapp tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck browser
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/history.py
	$(BIN)/python bench/overhead.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache test-artifacts
