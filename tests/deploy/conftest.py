"""Deployment fixtures: a user's environment for the fake API, a DuckDB file and a DAGSTER_HOME per test."""

from process_helpers import cli_env  # noqa: F401 - the fixture, shared with the CLI tests
