"""Warehouses under test: a real DuckDB file, a real PostgreSQL schema and SQLite for the generic path."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

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


@pytest.fixture
def postgres_database_url(postgres_url: str) -> Iterator[str]:
    """A fresh, empty database on the test server, dropped afterwards: room for the default schema `poelis`,
    which the shipped queries name literally, without touching other tests' schemas."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield sa.make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def default_schema_url(request: pytest.FixtureRequest) -> str:
    """A warehouse URL whose schema `poelis` belongs to this test alone (DuckDB file, fresh PG database)."""
    if request.param == "duckdb":
        return str(request.getfixturevalue("duckdb_url"))
    return str(request.getfixturevalue("postgres_database_url"))
