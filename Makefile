# obsgen: `make generate` regenerates every committed output; `make test` checks it with the real tools.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The suite mostly waits on containers and subprocesses, so more workers than cores still pays on 2 cores.
TEST_WORKERS ?= 4
# The project file (obsgen.yaml) names the catalogs and outputs; `make generate CATALOGS=dir` overrides the folder.
CATALOGS ?=
OBSGEN_ARGS := $(if $(CATALOGS),--catalogs $(CATALOGS))

.PHONY: help venv generate check validate test test-deps fuzz lint lock bench up down clean

help:  ## List targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

# Every Python package, runtime and test, comes from requirements.lock (exact versions and hashes);
# pyproject.toml keeps the compatible ranges for people who install obsgen as a library.
$(BIN)/obsgen: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

venv: $(BIN)/obsgen  ## Create the virtual environment and install obsgen

generate: $(BIN)/obsgen  ## Regenerate what obsgen.yaml selects (rules, tests, runbooks, dashboards, stack, load tests)
	$(BIN)/obsgen generate $(OBSGEN_ARGS)

check: $(BIN)/obsgen  ## Drift check: fail if committed outputs differ from the catalogs
	$(BIN)/obsgen generate $(OBSGEN_ARGS) --check

validate: $(BIN)/obsgen  ## Validate catalogs only
	$(BIN)/obsgen validate $(OBSGEN_ARGS)

test-deps: $(BIN)/obsgen  ## Install what the tests need (promtool, amtool, k6, compose, tsc...)
	bash scripts/install-test-deps.sh

test: test-deps  ## Run the whole suite with the real tools (scripts/run-tests.sh: the timing tests beside the rest, then the engine-wide ones)
	VENV=$(VENV) TEST_WORKERS=$(TEST_WORKERS) bash scripts/run-tests.sh

fuzz: test-deps  ## The property tests with many more examples (valid catalogs in, valid output out; mutations never crash)
	OBSGEN_FUZZ=1 $(BIN)/python -m pytest -q tests/test_valid_catalogs.py tests/test_loader_hypothesis.py

lint: $(BIN)/obsgen  ## ruff on the package and tests
	$(BIN)/ruff check generator tests bench

lock:  ## Refresh requirements.lock from pyproject.toml (pip-tools, with hashes); commit the result
	test -x .cache/pip-tools/bin/pip-compile || { $(PYTHON) -m venv .cache/pip-tools && .cache/pip-tools/bin/pip install --quiet 'pip-tools==7.6.2'; }
	.cache/pip-tools/bin/pip-compile --quiet --upgrade --extra test --extra demo --extra check --all-build-deps --allow-unsafe \
	  --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

bench: $(BIN)/obsgen  ## Generation benchmark (10/100/1000 services)
	$(BIN)/python bench/generate_bench.py

up:  ## Start the local stack (the first run creates compose/.env with a random Grafana admin password; docs/stack.md)
	@bash scripts/stack-env.sh compose
	cd compose && docker compose up -d

down:  ## Stop the local stack (keeps its data volumes; `cd compose && docker compose down -v` drops them)
	cd compose && docker compose down

clean:  ## Remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .hypothesis
