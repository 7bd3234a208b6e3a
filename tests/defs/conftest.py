"""Fixtures for the Dagster layer: the real definitions pointed at the fake API and a real warehouse."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest
from sync_helpers import SyncTarget

from poelis_pipelines import settings


@pytest.fixture
def api_environment(fake_api: object, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setenv(settings.ENV_API_KEY, fake_api.api_key)  # type: ignore[attr-defined]
    monkeypatch.setenv(settings.ENV_BASE_URL, fake_api.base_url)  # type: ignore[attr-defined]
    monkeypatch.delenv(settings.ENV_API_KEY_FILE, raising=False)
    return fake_api


def _target(url: str, schema: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SyncTarget]:
    monkeypatch.setenv(settings.ENV_WAREHOUSE_URL, url)
    monkeypatch.setenv(settings.ENV_WAREHOUSE_SCHEMA, schema)
    with dg.instance_for_test() as instance:
        yield SyncTarget(url, schema, instance)


@pytest.fixture
def duckdb_target(
    api_environment: object, duckdb_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SyncTarget]:
    yield from _target(duckdb_url, "poelis", monkeypatch)


@pytest.fixture
def postgres_target(
    api_environment: object, postgres_url: str, postgres_schema: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SyncTarget]:
    yield from _target(postgres_url, postgres_schema, monkeypatch)


@pytest.fixture(params=["duckdb", "postgres"])
def sync_target(request: pytest.FixtureRequest) -> SyncTarget:
    return request.getfixturevalue(f"{request.param}_target")  # type: ignore[no-any-return]
