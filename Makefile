# ConvScope developer commands. Every install goes through requirements.lock.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test lint check-browser bench lock clean

$(BIN)/activate:
	@[ -n "$(PYTHON)" ] && $(PYTHON) -c "import sys; sys.exit(sys.version_info[:2] != (3, 11))" || { echo "error: Python 3.11 not found (set PYTHON=...)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/activate pyproject.toml requirements.lock
	$(BIN)/python -m pip install -q -c requirements.lock -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[test]'
	touch $@

## run: set up and start the app on http://$(HOST):$(PORT)
run: $(VENV)/.installed
	$(BIN)/convscope --host $(HOST) --port $(PORT)

## check-browser: make sure Debian's Chromium is there (installs it as root), else fail loudly
check-browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  echo "Chromium not found at $(CHROMIUM); installing Debian's chromium package"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; \
	fi
	@[ -x "$(CHROMIUM)" ] || { echo "error: no Chromium at $(CHROMIUM); browser tests cannot run" >&2; exit 1; }

## lint: ruff, mypy and hadolint
lint: $(VENV)/.installed-test
	$(BIN)/ruff check app tests scripts
	$(BIN)/ruff format --check app tests scripts
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

## test: set up everything and run the whole suite (lint, unit, API, fuzz, browser)
test: $(VENV)/.installed-test check-browser lint
	CONVSCOPE_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -p no:cacheprovider

## bench: time the numeric core against scipy.ndimage and OpenCV
bench: $(VENV)/.installed-test
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[bench]'
	$(BIN)/python scripts/bench.py

## lock: re-resolve requirements.lock from pyproject.toml (needs the registries)
lock:
	rm -rf /tmp/convscope-lock && $(PYTHON) -m venv /tmp/convscope-lock
	/tmp/convscope-lock/bin/pip install -q -e '.[test,bench]'
	/tmp/convscope-lock/bin/pip freeze --exclude-editable | grep -v '^convscope' \
	  | grep -vE '^(nvidia-|cuda-|triton==)' > requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
