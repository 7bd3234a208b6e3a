"""Shared fixtures: the real fake API on loopback, real DuckDB files and a real PostgreSQL schema per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from poelis_pipelines import settings

DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The SQLAlchemy URL of a reachable PostgreSQL; skips with the reason elsewhere, fails in CI."""
    import sqlalchemy as sa

    url = os.environ.get(settings.ENV_TEST_POSTGRES_URL) or DEFAULT_TEST_POSTGRES_URL
    try:
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        engine.dispose()
    except Exception as error:  # any refusal means "no usable server here"
        reason = f"PostgreSQL at {url} is not usable ({type(error).__name__}: {str(error).splitlines()[0]})"
        if _in_ci():
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)
    return url


@pytest.fixture
def postgres_schema(postgres_url: str) -> Iterator[str]:
    """A fresh schema name in the test database, dropped afterwards, so tests never see each other's rows."""
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield schema
    engine = sa.create_engine(postgres_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()


@pytest.fixture
def duckdb_url(tmp_path: object) -> str:
    """A real DuckDB file in the test's temporary directory."""
    return f"duckdb:///{tmp_path}/warehouse.duckdb"


@pytest.fixture(autouse=True)
def fresh_rate_limiters() -> None:
    """Each test's fakes are new servers, often on a port an earlier test's fake used: clients must not
    inherit pacing learnt from another server (a process talking to one real API keeps it, by design)."""
    from poelis_pipelines.client.ratelimit import forget_shared_limiters

    forget_shared_limiters()


@pytest.fixture
def fake_api() -> Iterator[object]:
    """The project's fake Poelis API, tiny scale, on a free loopback port, with no rate limit or faults."""
    from poelis_pipelines.fake_api import FakePoelisServer

    with FakePoelisServer(seed=7, scale="tiny") as server:
        yield server
