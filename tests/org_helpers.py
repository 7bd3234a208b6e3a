"""The fake organization and the warehouse a test syncs it into (in process, no Dagster), its fixtures, and
the proofs every suite ends with: live rows equal the fake's records, `*_history` tables are consistent.

Importable from every test folder: pytest puts tests/ on sys.path for the root conftest.py.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from poelis_pipelines.client import PoelisClient
from poelis_pipelines.fake_api import FakePoelisServer
from poelis_pipelines.levels import level
from poelis_pipelines.tables import TABLES
from poelis_pipelines.warehouse import Warehouse
from poelis_pipelines.warehouse.inspection import live_ids

# The comparison the Dagster-layer tests use, so every suite agrees on what "identical" means.
sys.path.insert(0, str(Path(__file__).resolve().parent / "defs"))
from sync_helpers import comparable, expected_frames


@dataclass
class Org:
    """The fake organization and the warehouse a test syncs it into."""

    server: FakePoelisServer
    url: str
    schema: str

    def warehouse(self) -> Warehouse:
        return Warehouse(self.url, self.schema)

    def client(self, **options: object) -> PoelisClient:
        return PoelisClient(self.server.api_key, self.server.base_url, **options)  # type: ignore[arg-type]

    def list_parents(self, run_key: str) -> list[str]:
        """Workspaces, products and items, as every run lists them; returns the workspace ids."""
        with self.client() as client, self.warehouse() as warehouse:
            warehouse.ensure()
            level("workspaces").run(client, warehouse, run_key=run_key)
            workspace_ids = live_ids(warehouse, "workspaces")
            level("products").run(client, warehouse, workspace_ids, run_key=run_key)
            level("items").run(client, warehouse, workspace_ids, run_key=run_key)
        return workspace_ids


# The fixtures of a folder whose conftest imports them and says, in `org_type`, which Org it tests.


@pytest.fixture
def duckdb_org(org_type: type[Org], fake_api: FakePoelisServer, duckdb_url: str) -> Org:
    return org_type(fake_api, duckdb_url, "poelis")


@pytest.fixture
def postgres_org(
    org_type: type[Org], fake_api: FakePoelisServer, postgres_url: str, postgres_schema: str
) -> Org:
    return org_type(fake_api, postgres_url, postgres_schema)


@pytest.fixture(params=["duckdb", "postgres"])
def org(request: pytest.FixtureRequest) -> Org:
    return request.getfixturevalue(f"{request.param}_org")  # type: ignore[no-any-return]


def live_and_expected(
    warehouse: Warehouse, dataset: Any, workspace_ids: set[str] | None = None
) -> Iterator[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """Per synced table: its live rows and the fake's records (of these workspaces), both comparable."""
    expected = expected_frames(dataset, workspace_ids)
    for table in TABLES:
        stored = warehouse.read_table(table)
        live = stored[stored["_removed_at"].isna()]
        yield table, comparable(live, table), comparable(expected[table], table)


def assert_history_consistent(warehouse: Warehouse) -> None:
    """No duplicate keys; per id one open version (the current row) and no overlapping versions."""
    for table in TABLES.values():
        current = warehouse.read_table(table.name)
        assert not current["id"].duplicated().any(), f"{table.name} repeats a primary key"
        history = warehouse.read_table(table.history_name)
        open_versions = history[history["_valid_to"].isna()]
        assert not open_versions["id"].duplicated().any(), f"{table.history_name}: two open versions"
        assert set(open_versions["id"]) == set(current["id"]), f"{table.history_name} != {table.name}"
        for row_id, versions in history.groupby("id"):
            ordered = versions.sort_values("_valid_from")
            ends = ordered["_valid_to"].iloc[:-1].to_numpy()
            starts = ordered["_valid_from"].iloc[1:].to_numpy()
            assert (ends <= starts).all(), f"{table.history_name} {row_id}: overlapping versions"
            assert ordered["_valid_to"].iloc[:-1].notna().all(), f"{row_id}: an older version is open"
