"""The whole asset graph against the fake API, into real DuckDB files and real PostgreSQL schemas."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sync_helpers import SyncTarget, asset_key, comparable, expected_frames

from poelis_pipelines import PoelisSyncSettings
from poelis_pipelines.tables import TABLES


def test_full_sync_holds_exactly_the_fakes_data_and_a_rerun_changes_nothing(
    sync_target: SyncTarget, api_environment: object
) -> None:
    first = sync_target.sync()
    assert first.succeeded, first.failures

    expected = expected_frames(api_environment.dataset)  # type: ignore[attr-defined]
    with sync_target.warehouse() as warehouse:
        history_before = {table: warehouse.row_count(TABLES[table].history_name) for table in TABLES}
        for table in TABLES:
            actual = comparable(warehouse.read_table(table), table)
            pd.testing.assert_frame_equal(actual, comparable(expected[table], table), check_dtype=False)
            assert first.tables[table]["inserted"] == len(expected[table])

    second = sync_target.sync(sync_settings=PoelisSyncSettings(full=True))
    assert second.succeeded, second.failures
    for table in TABLES:
        totals = second.tables[table]
        assert (totals["inserted"], totals["updated"], totals["removed"]) == (0, 0, 0), table
        assert totals["unchanged"] == len(expected[table])
    with sync_target.warehouse() as warehouse:
        assert {table: warehouse.row_count(TABLES[table].history_name) for table in TABLES} == history_before


def materialization_metadata(target: SyncTarget, table: str, partition: str) -> dict[str, Any]:
    event = target.instance.get_latest_materialization_event(asset_key(table))
    assert event is not None
    assert event.asset_materialization is not None
    assert event.asset_materialization.partition == partition
    return dict(event.asset_materialization.metadata)


def test_a_subset_of_workspace_partitions_touches_only_those_workspaces(
    duckdb_target: SyncTarget, api_environment: object
) -> None:
    dataset = api_environment.dataset  # type: ignore[attr-defined]
    chosen = dataset.workspaces[0]["id"]
    summary = duckdb_target.sync(only=[chosen])
    assert summary.succeeded, summary.failures
    assert summary.workspaces == [chosen]

    metadata = materialization_metadata(duckdb_target, "items", partition=chosen)
    assert metadata["dagster/table_name"].value == "poelis.items"
    assert metadata["dagster/row_count"].value == summary.tables["items"]["inserted"]
    column_names = [column.name for column in metadata["dagster/column_schema"].value.columns]
    assert column_names == [column.name for column in TABLES["items"].columns]
    assert metadata["http_requests"].value == summary.tables["items"]["http_requests"] > 0
    assert "|" in metadata["preview"].value, "the preview is a Markdown table"

    expected = expected_frames(dataset, {chosen})
    with duckdb_target.warehouse() as warehouse:
        assert set(warehouse.read_table("products")["workspace_id"]) == {chosen}
        assert set(warehouse.read_table("items")["workspace_id"]) == {chosen}
        for table in ("products", "items", "properties"):
            actual = comparable(warehouse.read_table(table), table)
            pd.testing.assert_frame_equal(actual, comparable(expected[table], table), check_dtype=False)


def test_an_unknown_workspace_id_is_a_configuration_error(duckdb_target: SyncTarget) -> None:
    summary = duckdb_target.sync(only=["00000000-0000-0000-0000-000000000000"])
    assert [failure.kind for failure in summary.failures] == ["configuration"]
    assert "unknown workspace id" in summary.failures[0].message


# Rows no API listing owns: the merge marks them removed but keeps them, so only the checks can object.
CORRUPTIONS = {
    "required_columns_present": (
        "INSERT INTO {schema}.items SELECT * REPLACE ('bogus-item' AS id, NULL AS name) "
        "FROM {schema}.items ORDER BY id LIMIT 1"
    ),
    "foreign_keys_resolve": (
        "INSERT INTO {schema}.items SELECT * REPLACE ('bogus-item' AS id, 'no-such-item' AS parent_item_id) "
        "FROM {schema}.items ORDER BY id LIMIT 1"
    ),
}


@pytest.mark.parametrize("check_name", sorted(CORRUPTIONS))
def test_blocking_checks_fail_on_a_corrupted_table_and_stop_downstream(
    duckdb_target: SyncTarget, check_name: str
) -> None:
    assert duckdb_target.sync().succeeded
    duckdb_target.execute(CORRUPTIONS[check_name])

    summary = duckdb_target.sync()
    assert not summary.succeeded
    assert f"poelis/items:{check_name}" in summary.failed_checks
    assert "properties" not in summary.tables, "a blocking check failure must stop downstream assets"
