"""Warehouses under test: a real DuckDB file, a real PostgreSQL schema and SQLite for the generic path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from poelis_pipelines.warehouse import Warehouse


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres), "sqlite"])
def warehouse_url_and_schema(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if request.param == "duckdb":
        return request.getfixturevalue("duckdb_url"), "poelis"
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url"), request.getfixturevalue("postgres_schema")
    return f"sqlite:///{tmp_path}/warehouse.sqlite", "poelis"


@pytest.fixture
def warehouse(warehouse_url_and_schema: tuple[str, str]) -> Iterator[Warehouse]:
    url, schema = warehouse_url_and_schema
    with Warehouse(url, schema) as created:
        created.ensure()
        yield created


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def view_warehouse(request: pytest.FixtureRequest) -> Iterator[Warehouse]:
    """The warehouses that have schemas and therefore the views."""
    if request.param == "duckdb":
        url, schema = request.getfixturevalue("duckdb_url"), "poelis"
    else:
        url, schema = request.getfixturevalue("postgres_url"), request.getfixturevalue("postgres_schema")
    with Warehouse(url, schema) as created:
        created.ensure()
        yield created
