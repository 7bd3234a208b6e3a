"""The table declarations are internally consistent (keys, scopes, references, history, docs metadata)."""

from __future__ import annotations

import pytest

from poelis_pipelines.tables import (
    BOOKKEEPING,
    PANDAS_DTYPES,
    SYNC_RUNS,
    TABLES,
    Table,
    all_tables,
    history_table,
)


@pytest.mark.parametrize("table", list(TABLES.values()), ids=list(TABLES))
def test_synced_tables_have_keys_scopes_references_and_bookkeeping(table: Table) -> None:
    names = table.column_names
    assert len(set(names)) == len(names)
    assert table.primary_key == ("id",)
    assert not table.column("id").nullable
    assert names[-len(BOOKKEEPING) :] == tuple(column.name for column in BOOKKEEPING)
    if table.scope_column:
        assert not table.column(table.scope_column).nullable, "removal is decided per scope value"
    for reference in table.foreign_keys:
        assert reference.column in names
        assert reference.ref_column in TABLES[reference.ref_table].column_names
    for column in table.columns:
        assert column.type in PANDAS_DTYPES
        assert column.description.strip()
        assert (column.origin == "api") == bool(column.path)


def test_the_requested_foreign_keys_are_declared() -> None:
    declared = {
        (table.name, reference.column, reference.ref_table)
        for table in TABLES.values()
        for reference in table.foreign_keys
    }
    assert declared == {
        ("products", "workspace_id", "workspaces"),
        ("items", "product_id", "products"),
        ("items", "parent_item_id", "items"),
        ("properties", "item_id", "items"),
    }


def test_describe_yields_name_type_and_description_for_dagster_metadata() -> None:
    described = list(TABLES["items"].describe())
    assert described[0] == ("id", "text", "The API's stable UUID of the record.")
    assert [name for name, _, _ in described] == list(TABLES["items"].column_names)


def test_history_tables_drop_synced_at_and_add_validity() -> None:
    history = history_table(TABLES["properties"])
    assert history.name == "properties_history"
    assert "_synced_at" not in history.column_names
    assert history.column_names[-3:] == ("_valid_from", "_valid_to", "_change")
    assert {"_removed_at", "_extra", "value"} <= set(history.column_names)
    assert [table.name for table in all_tables()][-1] == SYNC_RUNS.name
    assert len({table.name for table in all_tables()}) == 15  # with users, item_sync_state and versions
