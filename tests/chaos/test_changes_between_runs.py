"""Users change the organization between two nightly syncs: every change lands once, with its history."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from chaos_helpers import Cli

pytestmark = pytest.mark.chaos


def versions_by_id(history: pd.DataFrame) -> dict[str, list[str]]:
    """Each id's `_change` sequence, oldest first."""
    ordered = history.sort_values("_valid_from")
    return {str(row_id): list(group["_change"]) for row_id, group in ordered.groupby("id")}


def test_each_change_between_runs_lands_once_with_one_history_row(duckdb_cli: Cli) -> None:
    duckdb_cli.sync()
    mutation = duckdb_cli.server.mutate(seed=5)
    assert mutation.updated_properties
    assert mutation.removed_properties
    assert mutation.soft_deleted_items

    second = duckdb_cli.sync("--full")

    assert "resuming" not in second.stdout  # the first sync succeeded: nothing to resume
    duckdb_cli.assert_matches_fake()
    duckdb_cli.assert_history_consistent()
    with duckdb_cli.warehouse() as warehouse:
        properties = warehouse.read_table("properties").set_index("id")
        items = warehouse.read_table("items").set_index("id")
        property_versions = versions_by_id(warehouse.read_table("properties_history"))
        item_versions = versions_by_id(warehouse.read_table("items_history"))
    for property_id in mutation.updated_properties:
        assert property_versions[property_id] == ["insert", "update"]
    for property_id in mutation.removed_properties:
        assert property_versions[property_id] == ["insert", "remove"]
        assert pd.notna(properties.loc[property_id, "_removed_at"])
    for item_id in mutation.soft_deleted_items:
        assert item_versions[item_id] == ["insert", "delete"]
        assert bool(items.loc[item_id, "deleted"])
    for property_id in mutation.added_properties:
        assert property_versions[property_id] == ["insert"]
    for item_id in mutation.added_items:
        assert item_versions[item_id] == ["insert"]
    for record_id in mutation.records_with_new_field:
        table, versions = (
            (properties, property_versions) if record_id in properties.index else (items, item_versions)
        )
        assert versions[record_id] == ["insert", "update"]
        assert mutation.new_field in json.loads(table.loc[record_id, "_extra"])
    untouched = set(property_versions) - mutation.changed_ids
    assert untouched
    assert all(property_versions[property_id] == ["insert"] for property_id in untouched)
    duckdb_cli.assert_key_absent()
