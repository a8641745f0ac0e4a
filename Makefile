# ChargeWatch — every target installs what it needs; `make` alone lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
# uv comes from the PATH, else from a private tools venv created on first use.
UV ?= $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN := $(UV) run --frozen
PROTO_OUT := libs/proto/src
PROTOS := $(wildcard proto/chargewatch/v1/*.proto)
service ?=
# Use the machine's Python (3.11+); never let uv download an interpreter.
export UV_PYTHON_DOWNLOADS := never
# The interpreter's real path: a pyenv shim path would make every `uv run` rebuild .venv.
export UV_PYTHON ?= $(shell $(PYTHON) -c 'import sys; print(sys.executable)')

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

.venv/.synced: .tools/bin/uv uv.lock pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml tools/*/pyproject.toml)
	$(UV) sync --frozen --all-packages
	@touch $@

.PHONY: install
install: $(if $(filter .tools/bin/uv,$(UV)),.tools/bin/uv) .venv/.synced ## Create .venv with every package and the dev tools (uv sync)

.PHONY: lock
lock: $(if $(filter .tools/bin/uv,$(UV)),.tools/bin/uv) ## Re-resolve uv.lock after changing a pyproject.toml
	$(UV) lock

.PHONY: proto
proto: install ## Regenerate the Python code and type stubs from proto/
	$(RUN) python -m tools.gen_proto $(PROTO_OUT)

.PHONY: proto-check
proto-check: install ## Fail when the generated code is stale
	$(RUN) python -m tools.gen_proto --check $(PROTO_OUT)

.PHONY: lint
lint: install proto-check ## ruff, mypy and the proto freshness check
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

.PHONY: fmt
fmt: install ## Format and autofix with ruff
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

# Two test tools come from Debian, never from a tool's own download: Chromium for the dashboard's browser
# test and promtool (package `prometheus`) for the alert-rule unit tests. When one is missing and apt is usable
# (as root, e.g. CI), they are installed in one apt run: about a minute, once per machine.
TEST_TOOLS := /usr/bin/chromium:chromium /usr/bin/promtool:prometheus
.PHONY: test-tools
test-tools: ## Install Debian's chromium and promtool for the browser and alert-rule tests when missing
	@missing=""; for pair in $(TEST_TOOLS); do [ -x "$${pair%%:*}" ] || missing="$$missing $${pair##*:}"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's$$missing for the tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
			|| echo "apt-get could not install$$missing: the tests that need them will say so"; \
	else \
		echo "missing$$missing and no apt-get as root: the tests that need them will be skipped"; \
	fi

.PHONY: test
test: install test-tools ## The whole suite: unit and integration (starts its own servers)
	$(RUN) pytest tests $(if $(service),-k $(service))

.PHONY: test-unit
test-unit: install ## Unit tests only (no network)
	$(RUN) pytest tests/unit

IMAGE_SERVICES := ocpp-gateway authz telemetry sla-engine security-monitor partner-api
IMAGE_TAG ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo dev)

.PHONY: images
images: ## Build every service image (chargewatch/<service>:<git sha>; service=) where a Docker engine runs
	@if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then \
		echo "make images: no Docker engine here (docker missing or not running); nothing built."; \
		echo "  The charts are still checked offline: make charts, make test."; exit 0; fi; \
	for svc in $(if $(service),$(service),$(IMAGE_SERVICES)); do \
		echo "building chargewatch/$$svc:$(IMAGE_TAG)"; \
		docker build -f services/$$svc/Dockerfile -t chargewatch/$$svc:$(IMAGE_TAG) . || exit 1; \
	done

.PHONY: charts
charts: install ## Pack chart dependencies, lint every chart with Helm and render it with its ci/ values
	$(RUN) pytest -q -p no:cacheprovider tests/deploy

.PHONY: run
run: install ## The whole platform locally on the embedded defaults (Ctrl-C stops it)
	$(RUN) chargewatch-dev run $(ARGS)

.PHONY: bench
bench: install ## Benchmarks; results go to bench/RESULTS.md
	$(RUN) python -m bench

.PHONY: clean
clean: ## Remove the local run state (.run/)
	rm -rf .run
