"""Versions fixtures: the sync layer in process against the fake, into DuckDB or PostgreSQL."""

from __future__ import annotations

import pytest
from versions_helpers import Org

from poelis_pipelines.fake_api import FakePoelisServer


@pytest.fixture
def duckdb_org(fake_api: FakePoelisServer, duckdb_url: str) -> Org:
    return Org(fake_api, duckdb_url, "poelis")


@pytest.fixture
def postgres_org(fake_api: FakePoelisServer, postgres_url: str, postgres_schema: str) -> Org:
    return Org(fake_api, postgres_url, postgres_schema)


@pytest.fixture(params=["duckdb", "postgres"])
def org(request: pytest.FixtureRequest) -> Org:
    return request.getfixturevalue(f"{request.param}_org")  # type: ignore[no-any-return]
