# hallvote: bootstrap everything from a fresh clone.
#   make demo   - the demo hall: Mosquitto, gateway, console, 300 simulated keypads, a scripted sitting (Ctrl-C ends)
#   make test   - virtualenv + project with dev extras + pinned npm packages, then the whole suite
#   make lint   - ruff and mypy
#   make bench  - firmware micro-benchmark on the real MicroPython interpreter
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test lint bench deps clean

deps: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "npm not found: MicroPython conformance tests will be skipped (fail under HALLVOTE_REQUIRE_ALL=1)"; \
	fi

demo: deps
	$(VENV)/bin/hallvote demo $(DEMO_ARGS)

test: deps
	$(PY) -m pytest $(PYTEST_ARGS)

lint: deps
	$(VENV)/bin/ruff check protocol firmware gateway hil tests
	$(VENV)/bin/mypy

bench: deps
	$(PY) -m hil.bench.signer

clean:
	rm -rf $(VENV) node_modules demo-data .pytest_cache .mypy_cache .ruff_cache .hypothesis build
