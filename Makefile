# One command per task, the same locally and in CI.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM ?= /usr/bin/chromium
PIP := $(BIN)/python -m pip install -q -c constraints.txt
AXE := $(VENV)/share/axe-core-4.14.1/axe.min.js

.PHONY: run test test-fast lint bench soak docker-smoke install install-test system-deps clean

# The virtualenv, created when missing and refreshed when the project's requirements change.
$(BIN)/python:
	$(PY) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) --upgrade pip
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) -e '.[test,lint]'
	touch $@

# axe-core for the accessibility checks of the browser tests, from the npm registry, integrity checked.
$(AXE): | $(VENV)/.installed-test
	$(BIN)/python -m tests.support.axe

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test $(AXE) system-deps

# Debian's Chromium for the browser tests (playwright cannot download its own browser here), the
# libatomic that playwright's bundled node needs, nginx for the scale-out test, Node.js for the page's
# unit tests (tests/js, Node 18 or later), iproute2 (ip, tc) for the slow-link test, redis-server (and openssl,
# for its TLS test's certificate) for the room across replicas (tests/support/redis_server.py): apt-get, when missing.
system-deps:
	@missing=""; \
	[ -x $(CHROMIUM) ] || missing="$$missing chromium fonts-dejavu-core"; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	ldconfig -p 2>/dev/null | grep -q 'libatomic.so.1 ' || missing="$$missing libatomic1"; \
	command -v tc >/dev/null 2>&1 || [ -x /usr/sbin/tc ] || missing="$$missing iproute2"; \
	command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing="$$missing redis-server"; \
	command -v openssl >/dev/null 2>&1 || missing="$$missing openssl"; \
	if [ -n "$$missing" ]; then \
		echo "installing with apt-get:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi

run: install
	@echo "Label Smoothing Explorer: open http://$(HOST):$(PORT)"
	$(BIN)/python -m app serve --host $(HOST) --port $(PORT)

# The page's pure modules first (Node's built-in runner, no npm packages), then everything in Python.
test: install-test
	node --test tests/js/*.test.mjs
	$(BIN)/python -m pytest

test-fast: install-test
	$(BIN)/python -m pytest -m "not e2e and not slow"

lint: install-test
	$(BIN)/ruff check app tests bench
	$(BIN)/mypy
	$(BIN)/pip-audit --strict --skip-editable --progress-spinner off || echo "pip-audit could not audit every package (it needs PyPI's JSON API and OSV; see docs/reliability.md)"

bench: install-test
	$(BIN)/python -m bench.all

# The long reliability runs (1,000 connect/disconnect cycles, stalled readers, a vanished client).
soak: install-test
	$(BIN)/python -m pytest tests/soak -m slow -p no:cacheprovider

# Builds the image, runs it with compose, one WebSocket session through the published port, then down.
docker-smoke:
	bash deploy/docker-smoke.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
