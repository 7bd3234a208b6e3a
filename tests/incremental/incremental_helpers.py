"""The sync layer run in process (no Dagster) against the fake API, and the proofs incremental tests share."""

from __future__ import annotations

import sys
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pandas as pd

from poelis_pipelines import settings
from poelis_pipelines.client import PoelisClient
from poelis_pipelines.fake_api import FakePoelisServer
from poelis_pipelines.incremental import IncrementalSettings
from poelis_pipelines.sync import LevelResult, sync_items, sync_products, sync_properties, sync_workspaces
from poelis_pipelines.tables import TABLES
from poelis_pipelines.warehouse import Warehouse
from poelis_pipelines.warehouse.inspection import live_ids

# The comparison the Dagster-layer and chaos tests use, so every suite agrees on what "identical" means.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "defs"))
from sync_helpers import comparable, expected_frames

PROPERTIES_ROUTE = "/v1/public/properties"
EVERY_ITEM_DUE = IncrementalSettings(max_staleness=timedelta(0))


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
            sync_workspaces(client, warehouse, run_key=run_key)
            workspace_ids = live_ids(warehouse, "workspaces")
            sync_products(client, warehouse, workspace_ids, run_key=run_key)
            sync_items(client, warehouse, workspace_ids, run_key=run_key)
        return workspace_ids

    def sync(
        self,
        incremental: IncrementalSettings | None = None,
        *,
        run_key: str | None = None,
        client_options: dict[str, object] | None = None,
    ) -> LevelResult:
        """One run: the parents, then properties (full, or incremental with `incremental`)."""
        run_key = run_key or f"run-{uuid.uuid4()}"
        workspace_ids = self.list_parents(run_key)
        return self.sync_properties(
            workspace_ids, incremental, run_key=run_key, client_options=client_options
        )

    def sync_properties(
        self,
        workspace_ids: list[str],
        incremental: IncrementalSettings | None,
        *,
        run_key: str,
        client_options: dict[str, object] | None = None,
    ) -> LevelResult:
        with self.client(**(client_options or {})) as client, self.warehouse() as warehouse:
            return sync_properties(client, warehouse, workspace_ids, run_key=run_key, incremental=incremental)

    def listing_requests(self, item_ids: Iterable[str]) -> int:
        """What listing these items' properties costs: one page of 200 per item, one more per full page."""
        counts = Counter(prop["item_id"] for prop in self.server.dataset.properties)
        return sum(1 + counts[item_id] // settings.MAX_PAGE_SIZE for item_id in item_ids)

    def properties_requests(self) -> int:
        return sum(
            count for (route, _status), count in self.server.counters.items() if route == PROPERTIES_ROUTE
        )

    def mismatched_tables(self) -> list[str]:
        """The synced tables whose live rows differ from the fake's records."""
        expected = expected_frames(self.server.dataset)
        differing = []
        with self.warehouse() as warehouse:
            for table in TABLES:
                stored = warehouse.read_table(table)
                live = stored[stored["_removed_at"].isna()]
                try:
                    pd.testing.assert_frame_equal(
                        comparable(live, table), comparable(expected[table], table), check_dtype=False
                    )
                except AssertionError:
                    differing.append(table)
        return differing

    def assert_history_consistent(self) -> None:
        """No duplicate keys; one open version per id, matching the current rows; versions never overlap."""
        with self.warehouse() as warehouse:
            for table in TABLES.values():
                current = warehouse.read_table(table.name)
                assert not current["id"].duplicated().any(), f"{table.name} repeats a primary key"
                history = warehouse.read_table(table.history_name)
                open_versions = history[history["_valid_to"].isna()]
                assert not open_versions["id"].duplicated().any(), f"{table.history_name}: two open versions"
                assert set(open_versions["id"]) == set(current["id"]), f"{table.history_name} != {table.name}"

    def changes_of(self, table: str) -> dict[str, list[str]]:
        """Each id's `_change` sequence in `<table>_history`, oldest first."""
        with self.warehouse() as warehouse:
            history = warehouse.read_table(f"{table}_history").sort_values(["_valid_from", "_valid_to"])
        return {str(row_id): list(group["_change"]) for row_id, group in history.groupby("id")}

    def state(self) -> pd.DataFrame:
        with self.warehouse() as warehouse:
            return warehouse.read_table("item_sync_state").set_index("item_id")
