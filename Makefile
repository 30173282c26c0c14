# ConvScope developer commands (`make help` lists them). Every install is pinned:
# requirements.lock for Python, tests/js/package-lock.json for the JavaScript tools.
SHELL := /bin/bash
# The first of these that is CPython 3.11 or newer; set PYTHON=... to choose another.
PYTHON ?= $(shell for p in python3.11 python3 python; do \
  "$$p" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 \
  && { command -v "$$p"; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM ?= /usr/bin/chromium
JS := tests/js
NODE_BIN := $(JS)/node_modules/.bin
# make test runs pytest on both cores; WORKERS=0 runs it in one process
WORKERS ?= 2
PYTEST := CONVSCOPE_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -p no:cacheprovider
FAST := -m "not browser and not fuzz and not slow" \
  --ignore=tests/browser --ignore=tests/api/test_schemathesis.py
# make repeat: every browser and streaming test N times in a row
N ?= 20
REPEAT_TESTS ?= tests/browser tests/api/test_train.py tests/core/test_learn.py

.PHONY: help run test test-fast test-js repeat lint lint-js format check-browser deploy-deps bench lock clean
.DEFAULT_GOAL := help

## help: list the targets
help:
	@sed -n 's/^## \([a-z-]*\): /\1\t/p' $(MAKEFILE_LIST) | awk -F'\t' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/activate:
	@if [ -z "$(PYTHON)" ]; then \
	  echo "error: ConvScope needs CPython 3.11 or newer; found: $$(python3 --version 2>&1 || echo no python3)." >&2; \
	  echo "       Install one, or point at it: make $(MAKECMDGOALS) PYTHON=/path/to/python3.12" >&2; exit 1; fi
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "error: $(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'); ConvScope needs 3.11 or newer" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/activate pyproject.toml requirements.lock
	$(BIN)/python -m pip install -q -c requirements.lock -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[test]'
	touch $@

$(JS)/node_modules/.installed: $(JS)/package.json $(JS)/package-lock.json
	npm ci --prefix $(JS) --no-audit --no-fund --loglevel=error
	touch $@

## run: set up and start the app on http://127.0.0.1:8000 (set HOST, PORT)
run: $(VENV)/.installed
	$(BIN)/convscope --host $(HOST) --port $(PORT)

## deploy-deps: make sure Debian's nginx is there for tests/test_deploy.py (installs it as root), else fail loudly
deploy-deps:
	@if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then \
	  echo "nginx not found; installing Debian's nginx package"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; fi; \
	fi
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { echo "error: no nginx; tests/test_deploy.py cannot run" >&2; exit 1; }

## check-browser: make sure Debian's Chromium is there (installs it as root), else fail loudly
check-browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  echo "Chromium not found at $(CHROMIUM); installing Debian's chromium package"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; \
	fi
	@[ -x "$(CHROMIUM)" ] || { echo "error: no Chromium at $(CHROMIUM); browser tests cannot run" >&2; exit 1; }

## lint: ruff, mypy, hadolint, and ESLint + Prettier over static/js
lint: $(VENV)/.installed-test lint-js
	$(BIN)/ruff check app tests scripts
	$(BIN)/ruff format --check app tests scripts
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

## lint-js: ESLint and Prettier (check only) over static/js and tests/js
lint-js: $(JS)/node_modules/.installed
	$(NODE_BIN)/eslint --config $(JS)/eslint.config.js static/js $(JS)
	$(NODE_BIN)/prettier --config $(JS)/prettier.config.json --check static/js '$(JS)/*.js'

## format: rewrite Python and JavaScript in the project's style (ruff format, Prettier)
format: $(VENV)/.installed-test $(JS)/node_modules/.installed
	$(BIN)/ruff format app tests scripts
	$(NODE_BIN)/prettier --config $(JS)/prettier.config.json --write static/js '$(JS)/*.js'

## test: set up everything and run the whole suite (lint, JS units, unit, API, fuzz, browser)
test: $(VENV)/.installed-test check-browser deploy-deps lint test-js
	$(PYTEST) $(if $(filter 0,$(WORKERS)),,-n $(WORKERS) --dist loadfile) \
	  --ignore=tests/api/test_schemathesis.py
	$(PYTEST) tests/api/test_schemathesis.py  # one process: schemathesis items under xdist are unverified

## test-fast: the edit loop: unit and API tests without browser, fuzzing or slow runs (< 60 s)
test-fast: $(VENV)/.installed-test
	$(PYTEST) $(if $(filter 0,$(WORKERS)),,-n $(WORKERS) --dist loadfile) $(FAST)

## test-js: unit tests of the pure static/js modules (node --test tests/js/*.test.js)
test-js:
	node --test --experimental-detect-module $(JS)/*.test.js

## repeat: every browser and streaming test N times in a row (N=20; stops at the first failure)
repeat: $(VENV)/.installed-test check-browser
	$(PYTEST) --count $(N) -x $(REPEAT_TESTS)

## bench: time the numeric core against scipy.ndimage and OpenCV, then the speed claims
bench: $(VENV)/.installed-test
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[bench]'
	$(BIN)/python scripts/bench.py
	$(BIN)/python scripts/bench.py claims

## lock: re-resolve requirements.lock from pyproject.toml (needs the registries)
lock:
	rm -rf /tmp/convscope-lock && $(PYTHON) -m venv /tmp/convscope-lock
	/tmp/convscope-lock/bin/pip install -q -e '.[test,bench]'
	/tmp/convscope-lock/bin/pip freeze --exclude-editable | grep -v '^convscope' \
	  | grep -vE '^(nvidia-|cuda-|triton==)' | sed -E 's/^(torch==[^+]*)\+cpu$$/\1/' > requirements.lock

## clean: remove the virtualenv, the JS tools and the caches
clean:
	rm -rf $(VENV) $(JS)/node_modules .mypy_cache .ruff_cache .pytest_cache .hypothesis
