# KIM Casework: `make run` and `make test` are the two commands of the README.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export KIM_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: install assets browser run test lint typecheck clean bench
VENDOR := webapp/static/vendor/bpmn-js

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Browser assets from npm (no CDN): bpmn-js (case diagrams, modeler), dmn-js (decision tables),
# Chart.js (supervisor dashboard). Copied into webapp/static/vendor, which the app serves.
ASSETS_STAMP := webapp/static/vendor/.stamp
$(ASSETS_STAMP): package.json package-lock.json Makefile
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR) webapp/static/vendor/dmn-js webapp/static/vendor/chart.js webapp/static/vendor/axe-core
	cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js node_modules/bpmn-js/dist/bpmn-modeler.production.min.js $(VENDOR)/
	cp -r node_modules/bpmn-js/dist/assets/. $(VENDOR)/
	cp node_modules/dmn-js/dist/dmn-modeler.production.min.js webapp/static/vendor/dmn-js/
	cp -r node_modules/dmn-js/dist/assets/. webapp/static/vendor/dmn-js/
	cp node_modules/chart.js/dist/chart.umd.min.js webapp/static/vendor/chart.js/
	cp node_modules/axe-core/axe.min.js webapp/static/vendor/axe-core/
	touch $@

assets: $(ASSETS_STAMP)

# Browser tests drive Debian's Chromium (test tools cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: run 'sudo apt-get install chromium'"; exit 1; fi; }

run: $(STAMP) assets
	$(BIN)/kim init-db
	$(BIN)/kim deploy processes
	$(BIN)/kim demo
	$(BIN)/kim run

lint: $(STAMP)
	$(BIN)/ruff check engine webapp tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# The fast loop (plain `pytest`) deselects tests marked slow; `make test` runs every test.
test: lint typecheck browser assets
	$(BIN)/pytest -q -m "slow or not slow"

bench: $(STAMP)
	$(BIN)/python bench/history.py
	$(BIN)/python bench/overhead.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache test-artifacts node_modules webapp/static/vendor
