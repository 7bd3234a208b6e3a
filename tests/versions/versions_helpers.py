"""The draft and the published versions synced in process (no Dagster) from the fake, and what the fake's
versions say the version tables must hold."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pandas as pd
from org_helpers import Org as SyncedOrg

from poelis_pipelines import settings
from poelis_pipelines.fake_api import FakePoelisServer
from poelis_pipelines.normalize import normalize
from poelis_pipelines.sync import sync_properties
from poelis_pipelines.tables import ITEM_VERSIONS, PROPERTY_VERSIONS, Table
from poelis_pipelines.versions import VersionsResult, sync_versions
from poelis_pipelines.warehouse.inspection import live_ids

DAY_ONE = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
PROPERTIES_ROUTE = "/v1/public/properties"


class Org(SyncedOrg):
    """The fake organization and the warehouse a test syncs its draft and published versions into."""

    def sync_draft(self, run_key: str = "draft") -> list[str]:
        """A full sync of the draft; returns the workspace ids."""
        workspace_ids = self.list_parents(run_key)
        with self.client() as client, self.warehouse() as warehouse:
            sync_properties(client, warehouse, workspace_ids, run_key=run_key)
        return workspace_ids

    def sync_versions(
        self, mode: str = settings.VERSIONS_ALL, now: datetime = DAY_ONE, **client_options: object
    ) -> VersionsResult:
        with self.client(**client_options) as client, self.warehouse() as warehouse:
            return sync_versions(client, warehouse, live_ids(warehouse, "workspaces"), mode=mode, now=now)

    def requests_during(self, action: object) -> int:
        self.server.reset_counters()
        action()  # type: ignore[operator]
        return self.server.total_requests

    def read(self, table: str) -> pd.DataFrame:
        with self.warehouse() as warehouse:
            return warehouse.read_table(table)

    def fake_versions(self, only: set[tuple[str, int]] | None = None) -> dict[tuple[str, int], object]:
        return {
            (product_id, number): version
            for product_id, numbers in self.server.dataset.versions.items()
            for number, version in numbers.items()
            if only is None or (product_id, number) in only
        }

    def listing_requests(self, item_ids: list[str], version: object) -> int:
        """What listing these items' properties in a version costs: one page per 200 properties, plus one."""
        counts = Counter(prop["item_id"] for prop in version.properties)  # type: ignore[attr-defined]
        draft_of = {item["id"]: item.get("draft_item_id") or item["id"] for item in version.items}  # type: ignore[attr-defined]
        return sum(1 + counts[draft_of[item_id]] // settings.MAX_PAGE_SIZE for item_id in item_ids)

    def assert_versions_exact(
        self, keys: set[tuple[str, int]] | None = None, *, partial_others: bool = False
    ) -> None:
        """`item_versions` and `property_versions` hold exactly the fake's versions (these, else all; with
        `partial_others`, other versions may be partly stored), and `product_versions` calls exactly those
        complete, with the right counts."""
        expected = expected_version_frames(self.server, keys)
        for table in (ITEM_VERSIONS, PROPERTY_VERSIONS):
            stored = self.read(table.name)
            if partial_others and keys is not None:
                stored_keys = zip(stored["product_id"], stored["version_number"].astype(int), strict=True)
                stored = stored[[key in keys for key in stored_keys]]
            pd.testing.assert_frame_equal(
                comparable(stored, table), comparable(expected[table.name], table), check_dtype=False
            )
        rows = self.read("product_versions")
        complete = rows[rows["status"] == "complete"]
        wanted = self.fake_versions(keys)
        assert set(zip(complete["product_id"], complete["version_number"].astype(int), strict=True)) == set(
            wanted
        )
        for row in complete.itertuples():
            version = wanted[(row.product_id, int(row.version_number))]
            assert int(row.item_count) == len(version.items)  # type: ignore[attr-defined]
            assert int(row.property_count) == len(version.properties)  # type: ignore[attr-defined]


def expected_version_frames(
    server: FakePoelisServer, keys: set[tuple[str, int]] | None = None
) -> dict[str, pd.DataFrame]:
    """The fake's versions normalized exactly as the sync normalizes them."""
    workspace_of = {product["id"]: product["workspace_id"] for product in server.dataset.products}
    items, properties = [], []
    for product_id, numbers in server.dataset.versions.items():
        for number, version in numbers.items():
            if keys is not None and (product_id, number) not in keys:
                continue
            lineage = {"workspace_id": workspace_of[product_id]}
            frame = normalize("items", list(version.items), endpoint="expected", **lineage)
            items.append(frame.assign(version_number=number))
            frame = normalize(
                "properties", list(version.properties), endpoint="expected", product_id=product_id, **lineage
            )
            properties.append(frame.assign(version_number=number))
    return {
        ITEM_VERSIONS.name: pd.concat(items, ignore_index=True),
        PROPERTY_VERSIONS.name: pd.concat(properties, ignore_index=True),
    }


def comparable(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """The data columns of a version table, in key order, for an exact comparison."""
    columns = [
        column.name for column in table.columns if column.origin != "bookkeeping" or column.name == "_extra"
    ]
    frame = frame[columns].copy()
    frame["version_number"] = frame["version_number"].astype("int64")
    return frame.sort_values(list(table.primary_key)).reset_index(drop=True)


def a_day_later(moment: datetime, days: float = 1) -> datetime:
    return moment + timedelta(days=days)
