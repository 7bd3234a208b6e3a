# Two commands on a fresh machine with only python3 and make: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
RUN_STAMP := $(VENV)/.installed-run-stamp
AIRFLOW_VENV := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed-stamp
LOWEST_VENV := .venv-lowest
LOWEST_STAMP := $(LOWEST_VENV)/.installed-stamp
LOWEST_PIP := $(LOWEST_VENV)/bin/python -m pip --quiet --disable-pip-version-check
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check
PACKAGE_FILES := $(shell find poelis_pipelines -type f -not -path '*/__pycache__/*')
POELIS_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export POELIS_TEST_POSTGRES_URL
export DAGSTER_HOME ?= $(CURDIR)/dagster_home

.PHONY: demo test test-fast test-lowest lint typecheck defs-check pytest airflow-test bench postgres dev \
	constraints constraints-airflow constraints-lowest clean

# Development (make test, lint, bench): the package editable, with the test and lint tools, at the exact
# versions of constraints.txt. Re-installs only when pyproject.toml or the constraints change.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Running (make demo, make dev): the package and the Dagster UI, nothing else, as a regular install (an
# editable one is for changing the code, and setuptools announces it with a warning box). Re-installed when
# the code changes; once `make test` has made the editable install, that one serves.
$(RUN_STAMP): pyproject.toml constraints.txt $(PACKAGE_FILES)
ifneq ($(wildcard $(STAMP)),)
	@$(MAKE) --no-print-directory --silent $(STAMP)
else
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -c constraints.txt '.[ui]'
endif
	touch $(RUN_STAMP)

# The Airflow provider's tests: the package with the `airflow` extra in a venv of its own, so Airflow's
# packages stay out of the Dagster one; both constraints files apply, which is what a user of the extra gets.
$(AIRFLOW_STAMP): pyproject.toml constraints.txt constraints-airflow.txt
	test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip --quiet --disable-pip-version-check install --upgrade pip
	$(AIRFLOW_VENV)/bin/python -m pip --quiet --disable-pip-version-check install \
		-c constraints.txt -c constraints-airflow.txt -e '.[airflow]' pytest pytest-timeout mypy
	touch $(AIRFLOW_STAMP)

# The lower bounds of pyproject.toml's ranges: the package (with the `postgres` extra) and the test tools at the
# versions of constraints-lowest.txt, in a venv of its own. pip has no "lowest" resolution: the file pins them.
$(LOWEST_STAMP): pyproject.toml constraints-lowest.txt
	test -x $(LOWEST_VENV)/bin/python || $(PYTHON) -m venv $(LOWEST_VENV)
	$(LOWEST_PIP) install --upgrade pip
	$(LOWEST_PIP) install -c constraints-lowest.txt -e '.[postgres]' pytest pytest-timeout requests
	touch $(LOWEST_STAMP)

demo: $(RUN_STAMP)
	$(BIN)/poelis-pipelines demo

test: $(STAMP) postgres lint typecheck defs-check pytest airflow-test test-lowest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict poelis_pipelines/client poelis_pipelines/normalize poelis_pipelines/warehouse \
		poelis_pipelines/tables.py poelis_pipelines/settings.py poelis_pipelines/redaction.py \
		poelis_pipelines/failures.py
	$(BIN)/mypy poelis_pipelines

# The definitions must load with no secret in the environment (keys are read when a run starts).
defs-check: $(STAMP)
	env -u POELIS_API_KEY -u POELIS_API_KEY_FILE $(BIN)/dg check defs

pytest: $(STAMP)
	$(BIN)/pytest

# A quicker loop while working: everything but the crash, fault, UI and fresh-project scenarios (make test
# runs them all).
test-fast: $(STAMP) postgres
	$(BIN)/pytest -m "not chaos and not ui and not slow"

# A fast subset at the oldest versions the ranges allow (CI runs it in `make test`): the client, normalize and
# warehouse layers (DuckDB and PostgreSQL) and the factory's definitions synced through Dagster. The sync,
# incremental, versions and CLI tests passed at these versions too when the bounds were chosen; they take
# minutes more.
LOWEST_TESTS ?= tests/client tests/normalize tests/warehouse tests/defs/test_factory.py
test-lowest: $(LOWEST_STAMP) postgres
	$(LOWEST_VENV)/bin/pytest -m "not chaos and not ui and not slow" $(LOWEST_TESTS)

# The provider type-checked against Airflow's own types, then `airflow dags test poelis_sync` against the
# fake API, into DuckDB and PostgreSQL (tests_airflow/).
airflow-test: $(AIRFLOW_STAMP) postgres
	$(AIRFLOW_VENV)/bin/mypy poelis_pipelines/airflow
	$(AIRFLOW_VENV)/bin/pytest tests_airflow

# Starts the machine's PostgreSQL cluster where there is one; harmless when it is already up or absent.
postgres:
	@if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start 2>/dev/null || true; \
	fi

# This package vs dlt, a naive script and a floor, on the fake API: writes and prints benchmarks/RESULTS.md
# (~15 min on 2 cores; `make bench BENCH_ARGS=--quick` checks the harness in ~2 min).
bench: $(STAMP) postgres
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

# The Dagster UI; with no POELIS_API_KEY (or _FILE) set, on the demo's fake API, warehouse and Dagster home.
dev: $(RUN_STAMP)
	$(BIN)/poelis-pipelines dev

# After changing a range in pyproject.toml and upgrading the venv: record the exact versions it now holds.
constraints: $(STAMP)
	{ sed -n '1,2p' constraints.txt; $(BIN)/python -m pip freeze --exclude poelis-pipelines; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

# The same for the `airflow` extra: what .venv-airflow holds beyond constraints.txt.
constraints-airflow: $(AIRFLOW_STAMP)
	{ sed -n '1,2p' constraints-airflow.txt; \
		$(AIRFLOW_VENV)/bin/python -m pip freeze --exclude poelis-pipelines | grep -vxFf constraints.txt; \
	} > constraints-airflow.txt.new
	mv constraints-airflow.txt.new constraints-airflow.txt

# After moving a lower bound in pyproject.toml and on its line in constraints-lowest.txt: record what the
# lowest venv then resolves to.
constraints-lowest: $(LOWEST_STAMP)
	{ sed -n '1,2p' constraints-lowest.txt; $(LOWEST_VENV)/bin/python -m pip freeze --exclude poelis-pipelines; } \
		> constraints-lowest.txt.new
	mv constraints-lowest.txt.new constraints-lowest.txt

clean:
	rm -rf $(VENV) $(AIRFLOW_VENV) $(LOWEST_VENV) build data .pytest_cache .mypy_cache .ruff_cache
