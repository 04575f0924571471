# Spotilike developer entry points. Every target installs what it needs first: uv (if it
# is missing) and the locked Python environment. Prerequisites are in README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV := $(shell command -v uv 2>/dev/null || { \
	python3 -m pip install --quiet --disable-pip-version-check uv >&2 || \
	python3 -m pip install --quiet --disable-pip-version-check --user --break-system-packages uv >&2; \
	command -v uv 2>/dev/null || echo "python3 -m uv"; })
RUN := $(UV) run --frozen

.PHONY: help sync prereqs up down status test test-unit test-web test-integration lint format bench snapshot

help:
	@echo "make up      start the whole platform (Ctrl-C stops it), seeding a demo catalog once"
	@echo "make down    stop it"
	@echo "make test    lint + every test tier (unit, integration, e2e)"
	@echo "make lint    ruff, formatting, mypy, import-linter"
	@echo "make bench   benchmarks (results go to docs/benchmarks.md by hand)"

sync:
	@test -n "$(UV)" || { echo "uv is missing and could not be installed with pip" >&2; exit 1; }
	$(UV) sync --frozen

# Kafka runs on a JDK and is resolved by Maven: installed from the OS's packages when
# missing and we may (root on Debian/Ubuntu), otherwise a message that says what to install.
prereqs:
	@if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jdk-headless maven; \
		else \
			echo "Java 17+ and Maven are missing: install them (Debian/Ubuntu: sudo apt-get install default-jdk-headless maven)" >&2; exit 1; \
		fi; \
	fi

up: sync prereqs
	$(RUN) spotilike up

down: sync
	$(RUN) spotilike down

status: sync
	$(RUN) spotilike status

lint: sync
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy libs/kit/src libs/contracts/src tools/src $(wildcard services/*/src)
	$(RUN) lint-imports

format: sync
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

test-unit: sync
	$(RUN) pytest -m unit -q

test-integration: sync
	$(RUN) pytest -m "integration or e2e" -q

test-web:
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 20+ for the web player's tests" >&2; exit 1; }
	cd web && npm ci --no-audit --no-fund && NO_COLOR=1 npm test

test: lint test-unit test-web test-integration

snapshot: sync
	$(RUN) spotilike contracts snapshot

bench: sync
	$(RUN) spotilike stack up
	$(RUN) python bench/outbox_relay.py
