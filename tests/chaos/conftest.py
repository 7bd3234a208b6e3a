"""Chaos fixtures: a fake API per test and a CLI aimed at a DuckDB file or a PostgreSQL schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from chaos_helpers import Cli, cli_environment

from poelis_pipelines import settings
from poelis_pipelines.fake_api import FakePoelisServer


@pytest.fixture
def server() -> Iterator[FakePoelisServer]:
    """A tiny organization of its own per test (tests mutate and corrupt it)."""
    with FakePoelisServer(seed=11, scale="tiny") as fake:
        yield fake


@pytest.fixture
def duckdb_cli(server: FakePoelisServer, tmp_path: Path) -> Cli:
    url = f"duckdb:///{tmp_path}/warehouse.duckdb"
    return Cli(server, tmp_path, cli_environment(server, tmp_path, url, settings.DEFAULT_WAREHOUSE_SCHEMA))


@pytest.fixture
def postgres_cli(server: FakePoelisServer, tmp_path: Path, postgres_url: str, postgres_schema: str) -> Cli:
    return Cli(server, tmp_path, cli_environment(server, tmp_path, postgres_url, postgres_schema))
