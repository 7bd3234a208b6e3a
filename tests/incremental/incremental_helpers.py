"""The sync layer run in process (no Dagster) against the fake API, and the proofs incremental tests share."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pandas as pd
from org_helpers import Org as SyncedOrg
from org_helpers import assert_history_consistent, live_and_expected

from poelis_pipelines import settings
from poelis_pipelines.incremental import IncrementalSettings, Selection, item_catalog, select_items
from poelis_pipelines.sync import LevelResult, sync_properties

PROPERTIES_ROUTE = "/v1/public/properties"
EVERY_ITEM_DUE = IncrementalSettings(max_staleness=timedelta(0))


class Org(SyncedOrg):
    """The fake organization and the warehouse a test syncs it into, run by run, incrementally or not."""

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
        differing = []
        with self.warehouse() as warehouse:
            for table, live, expected in live_and_expected(warehouse, self.server.dataset):
                try:
                    pd.testing.assert_frame_equal(live, expected, check_dtype=False)
                except AssertionError:
                    differing.append(table)
        return differing

    def assert_history_consistent(self) -> None:
        with self.warehouse() as warehouse:
            assert_history_consistent(warehouse)

    def due_now(self, workspace_ids: list[str], run_key: str) -> Selection:
        """The items a run under `run_key` would list now, every item being due."""
        with self.warehouse() as warehouse:
            return select_items(
                item_catalog(warehouse, workspace_ids), datetime.now(UTC), EVERY_ITEM_DUE, run_key=run_key
            )

    def listed_by(self, run_key: str) -> set[str]:
        """The items whose properties the run `run_key` listed completely (and committed)."""
        state = self.state()
        return set(state.index[(state["run_id"] == run_key) & state["properties_listed_at"].notna()])

    def assert_rerun_lists_only_the_rest(
        self, workspace_ids: list[str], due: Selection, run_key: str
    ) -> None:
        """The run `run_key` stopped part-way (some due items committed, not all); its rerun lists only the
        rest, counts the committed ones as resumed, and leaves the warehouse exact."""
        committed = self.listed_by(run_key)
        assert 0 < len(committed) < len(due.items)
        before = self.properties_requests()
        rerun = self.sync_properties(workspace_ids, EVERY_ITEM_DUE, run_key=run_key)
        remaining = [
            selected.item.item_id for selected in due.items if selected.item.item_id not in committed
        ]
        assert self.properties_requests() - before == self.listing_requests(remaining)
        assert rerun.incremental is not None
        assert rerun.incremental.resumed == len(committed)
        assert self.mismatched_tables() == []
        self.assert_history_consistent()

    def changes_of(self, table: str) -> dict[str, list[str]]:
        """Each id's `_change` sequence in `<table>_history`, oldest first."""
        with self.warehouse() as warehouse:
            history = warehouse.read_table(f"{table}_history").sort_values(["_valid_from", "_valid_to"])
        return {str(row_id): list(group["_change"]) for row_id, group in history.groupby("id")}

    def state(self) -> pd.DataFrame:
        with self.warehouse() as warehouse:
            return warehouse.read_table("item_sync_state").set_index("item_id")
