"""Materialization metadata as the Dagster UI shows it, read back from the instance's event log: each
workspace partition reports its own workspace; the row count is the whole table's, however the sync ran."""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

from sync_helpers import SyncTarget, asset_key

from poelis_pipelines import PoelisSyncSettings, settings
from poelis_pipelines.cli.runner import (
    LEVELS_PER_WORKSPACE,
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
)
from poelis_pipelines.defs.poelis.metadata import readable_preview
from poelis_pipelines.sync import LevelResult
from poelis_pipelines.warehouse import TableCounts

PAGE_SIZE = 200
PREVIEW_HEADERS = {
    "workspaces": ["id", "readable_id", "name"],
    "products": ["name", "readable_id", "status_name"],
    "items": ["name", "readable_id", "parent_item"],
    "properties": ["item", "name", "type", "value"],
}


def _materializations(target: SyncTarget, table: str, run_id: str) -> dict[str | None, dict[str, Any]]:
    """The run's materializations of a table, by partition, as metadata values; exactly one per partition."""
    records = target.instance.fetch_materializations(asset_key(table), limit=1000).records
    events = [record.asset_materialization for record in records if record.run_id == run_id]
    partitions = Counter(event.partition for event in events if event is not None)
    assert all(count == 1 for count in partitions.values()), partitions
    return {
        event.partition: {name: value.value for name, value in event.metadata.items()}
        for event in events
        if event is not None
    }


def _pages(records: int) -> int:
    """Requests for one complete listing: the API sends no total, so a full page asks for the next one."""
    return records // PAGE_SIZE + 1


def _expected_figures(dataset: Any, workspace_id: str) -> dict[str, dict[str, int]]:
    """What syncing one workspace into an empty warehouse must report per level, from the fake's records."""
    products = [product["id"] for product in dataset.products if product["workspace_id"] == workspace_id]
    items_of = {
        product: [item for item in dataset.items if item["product_id"] == product] for product in products
    }
    items = [item["id"] for product_items in items_of.values() for item in product_items]
    properties_of = Counter(prop["item_id"] for prop in dataset.properties)
    return {
        "products": {
            "records_from_api": len(products),
            "scopes_synced": 1,
            "http_requests": _pages(len(products)),
        },
        "items": {
            "records_from_api": len(items),
            "scopes_synced": len(products),
            "http_requests": sum(_pages(len(product_items)) for product_items in items_of.values()),
        },
        "properties": {  # a first incremental sync lists every item as new, a unit of items at a time
            "records_from_api": sum(properties_of[item] for item in items),
            "scopes_synced": sum(
                math.ceil(len(product_items) / settings.SYNC_ITEMS_PER_FETCH)
                for product_items in items_of.values()
            ),
            "http_requests": sum(_pages(properties_of[item]) for item in items),
            "items_listed_new": len(items),
            "items_listed_hint": 0,
            "items_listed_rotation": 0,
            "rotation_items_changed": 0,
            "backlog_items": 0,
            "never_listed_items": 0,
            "live_items": sum(
                1 for product_items in items_of.values() for item in product_items if not item.get("deleted")
            ),
        },
    }


def _preview_table(markdown: str) -> tuple[list[str], list[dict[str, str]]]:
    lines = markdown.strip().splitlines()
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = [
        dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True))
        for line in lines[2:]
    ]
    return header, rows


def _labels(records: list[dict[str, Any]]) -> set[str]:
    return {record["name"] or record["readable_id"] for record in records}


def _assert_preview_is_of(workspace_id: str, table: str, markdown: str, dataset: Any) -> None:
    """The preview's columns, and rows that are that workspace's (named as people name them)."""
    header, rows = _preview_table(markdown)
    assert header == PREVIEW_HEADERS[table]
    products = [product for product in dataset.products if product["workspace_id"] == workspace_id]
    items = [item for item in dataset.items if item["product_id"] in {product["id"] for product in products}]
    if table == "products":
        assert len(rows) == min(5, len(products))
        assert {row["name"] for row in rows} <= _labels(products)
    elif table == "items":
        assert len(rows) == 5
        assert {row["name"] for row in rows} <= _labels(items)
        assert {row["parent_item"] for row in rows} - {""} <= _labels(items)
    else:
        assert len(rows) == 5
        assert {row["item"] for row in rows} <= _labels(items), "properties of this workspace, by item name"
        assert all(row["value"] for row in rows)


def _expected_value(record: dict[str, Any]) -> str:
    """A property's value as the preview must show it, from the API record: text as received (a formula's
    result carries its unit), a number or matrix with its display unit, a date as ISO."""
    value, unit = record["value"], record.get("display_unit")
    if value is None:
        return ""
    if record["type"] == "numeric":
        value = f"{float(value):.10g}"
    elif record["type"] == "matrix":
        value = json.dumps(json.loads(value) if isinstance(value, str) else value, separators=(",", ":"))
    else:
        return str(value)
    return f"{value} {unit}" if unit else value


def test_a_sync_over_a_partition_range_gives_each_partition_its_own_workspace(
    sync_target: SyncTarget, api_environment: Any
) -> None:
    """The CLI syncs every workspace in one run over a partition range: each partition's materialization
    still carries that workspace's counts, cost, name and preview, and the whole table's row count."""
    dataset = api_environment.dataset
    summary = sync_target.sync()
    assert summary.succeeded, summary.failures
    workspaces = sorted(workspace["id"] for workspace in dataset.workspaces)
    assert len(workspaces) > 1
    range_run = sync_target.instance.get_run_by_id(summary.run_ids[1])
    assert range_run is not None
    assert {range_run.tags[PARTITION_RANGE_START_TAG], range_run.tags[PARTITION_RANGE_END_TAG]} == set(
        workspaces
    )

    with sync_target.warehouse() as warehouse:
        table_rows = {table: warehouse.row_count(table) for table in PREVIEW_HEADERS}
        values_by_type = {
            (workspace_id, kind): readable_preview(
                warehouse, "properties", workspace_id=workspace_id, type=kind
            )["value"]
            for workspace_id in workspaces
            for kind in {prop["type"] for prop in dataset.properties}
        }

    for table in LEVELS_PER_WORKSPACE:
        by_partition = _materializations(sync_target, table, range_run.run_id)
        assert sorted(by_partition) == workspaces
        for workspace_id in workspaces:
            metadata = by_partition[workspace_id]
            expected = _expected_figures(dataset, workspace_id)[table]
            assert {name: metadata[name] for name in expected} == expected, (table, workspace_id)
            records = expected["records_from_api"]
            counts = (metadata["inserted"], metadata["updated"], metadata["unchanged"], metadata["removed"])
            assert counts == (records, 0, 0, 0), (table, workspace_id)
            assert (metadata["scopes_resumed"], metadata["http_429s"]) == (0, 0)
            assert metadata["dagster/row_count"] == table_rows[table]
            workspace = next(workspace for workspace in dataset.workspaces if workspace["id"] == workspace_id)
            assert metadata["workspace"] == f"{workspace['name']} ({workspace['readable_id']})"
            _assert_preview_is_of(workspace_id, table, metadata["preview"], dataset)
        for name in ("inserted", "http_requests"):  # the CLI's summary adds the partitions up
            assert summary.tables[table][name] == sum(metadata[name] for metadata in by_partition.values())

    for (workspace_id, kind), shown in values_by_type.items():
        product_ids = {
            product["id"] for product in dataset.products if product["workspace_id"] == workspace_id
        }
        workspace_items = {item["id"] for item in dataset.items if item["product_id"] in product_ids}
        records = sorted(
            (
                prop
                for prop in dataset.properties
                if prop["type"] == kind and prop["item_id"] in workspace_items
            ),
            key=lambda prop: prop["id"],
        )
        assert list(shown) == [_expected_value(record) for record in records[:5]], kind


def test_a_one_workspace_run_reports_that_workspace_and_the_whole_tables_row_count(
    duckdb_target: SyncTarget, api_environment: Any
) -> None:
    """A backfill of one partition after a full sync: its figures are that workspace's, its row count still
    the table's (not the workspace's rows), and `workspaces` describes the whole list."""
    dataset = api_environment.dataset
    assert duckdb_target.sync().succeeded
    chosen = sorted(workspace["id"] for workspace in dataset.workspaces)[-1]
    summary = duckdb_target.sync(only=[chosen], sync_settings=PoelisSyncSettings(full=True))
    assert summary.succeeded, summary.failures

    with duckdb_target.warehouse() as warehouse:
        table_rows = {table: warehouse.row_count(table) for table in PREVIEW_HEADERS}
    for table in LEVELS_PER_WORKSPACE:
        by_partition = _materializations(duckdb_target, table, summary.run_ids[1])
        assert list(by_partition) == [chosen]
        metadata = by_partition[chosen]
        records = _expected_figures(dataset, chosen)[table]["records_from_api"]
        assert metadata["records_from_api"] == records < table_rows[table]
        counts = (metadata["inserted"], metadata["updated"], metadata["unchanged"], metadata["removed"])
        assert counts == (0, 0, records, 0), table
        assert metadata["dagster/row_count"] == table_rows[table]

    workspaces = _materializations(duckdb_target, "workspaces", summary.run_ids[0])
    assert list(workspaces) == [None]
    metadata = workspaces[None]
    assert metadata["records_from_api"] == metadata["unchanged"] == len(dataset.workspaces)
    assert metadata["dagster/row_count"] == table_rows["workspaces"] == len(dataset.workspaces)
    assert metadata["http_requests"] == _pages(len(dataset.workspaces))
    assert "workspace" not in metadata
    header, rows = _preview_table(metadata["preview"])
    assert header == PREVIEW_HEADERS["workspaces"]
    assert sorted(row["id"] for row in rows) == sorted(workspace["id"] for workspace in dataset.workspaces)


def test_a_levels_figures_are_kept_per_workspace_and_add_up_to_its_totals() -> None:
    result = LevelResult("items")
    cost = {"requests": 2, "retries": {"server_error": 1}, "rate_limited": 1, "seconds_waited": 0.5}
    result.add_merged("p1", 3, TableCounts(inserted=2, unchanged=1), cost, "ws-a")
    result.add_merged("p2", 4, TableCounts(updated=4), cost, "ws-a")
    result.add_merged("p3", 1, TableCounts(removed=1, unchanged=1), cost, "ws-b")
    result.add_resumed("p4", "ws-b")

    ws_a, ws_b = result.for_workspace("ws-a"), result.for_workspace("ws-b")
    assert (ws_a.records_from_api, ws_a.inserted, ws_a.updated, ws_a.unchanged) == (7, 2, 4, 1)
    assert ws_a.http == {
        "requests": 4,
        "retries": {"server_error": 2},
        "rate_limited": 2,
        "seconds_waited": 1.0,
    }
    assert (ws_b.scopes_synced, ws_b.scopes_resumed, ws_b.removed) == (["p3"], ["p4"], 1)
    assert (result.records_from_api, result.scopes_synced, result.scopes_resumed) == (
        8,
        ["p1", "p2", "p3"],
        ["p4"],
    )
    assert result.http == {}, "the level's own cost is measured around it, not summed here"
    assert result.for_workspace("ws-without-products") == LevelResult("items")
