# Two commands on a fresh machine with only python3 and make: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
POELIS_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export POELIS_TEST_POSTGRES_URL
export DAGSTER_HOME ?= $(CURDIR)/dagster_home

.PHONY: demo test lint typecheck defs-check pytest bench postgres dev clean

# Re-installs only when pyproject.toml changes, so a second `make` is near-instant.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/poelis-pipelines demo

test: $(STAMP) postgres lint typecheck defs-check pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict poelis_pipelines/client poelis_pipelines/normalize poelis_pipelines/warehouse \
		poelis_pipelines/tables.py poelis_pipelines/settings.py poelis_pipelines/redaction.py
	$(BIN)/mypy poelis_pipelines

# The definitions must load with no secret in the environment (keys are read when a run starts).
defs-check: $(STAMP)
	env -u POELIS_API_KEY -u POELIS_API_KEY_FILE $(BIN)/dg check defs

pytest: $(STAMP)
	$(BIN)/pytest

# Starts the machine's PostgreSQL cluster where there is one; harmless when it is already up or absent.
postgres:
	@if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start 2>/dev/null || true; \
	fi

# This package vs dlt, a naive script and a floor, on the fake API: writes and prints benchmarks/RESULTS.md
# (~15 min on 2 cores; `make bench BENCH_ARGS=--quick` checks the harness in ~2 min).
bench: $(STAMP) postgres
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

dev: $(STAMP)
	$(BIN)/dagster dev -w workspace.yaml

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
