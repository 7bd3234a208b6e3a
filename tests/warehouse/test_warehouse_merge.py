"""Merge semantics on DuckDB, PostgreSQL and SQLite: round trips, history, reruns, removal, crash safety."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from poelis_pipelines import settings
from poelis_pipelines.normalize import normalize
from poelis_pipelines.tables import TABLES, all_tables
from poelis_pipelines.warehouse import Batch, BatchError, TableCounts, Warehouse
from poelis_pipelines.warehouse import warehouse as warehouse_module

T1 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
T2, T3, T4 = (T1 + timedelta(days=days) for days in (1, 2, 3))


def items_batch(records: list[dict[str, Any]], product_id: str = "prod-1") -> Batch:
    frame = normalize("items", records, endpoint="/v1/public/items", workspace_id="ws-1")
    return Batch("items", frame, {"product_id": product_id})


def item(item_id: str, name: str, *, product_id: str = "prod-1", deleted: bool = False) -> dict[str, Any]:
    return {"id": item_id, "readable_id": item_id, "product_id": product_id, "name": name, "deleted": deleted}


def properties_batch(records: list[dict[str, Any]], product_id: str = "prod-1") -> Batch:
    frame = normalize(
        "properties", records, endpoint="/v1/public/properties", product_id=product_id, workspace_id="ws-1"
    )
    return Batch("properties", frame, {"product_id": product_id})


def history(warehouse: Warehouse, table: str) -> list[tuple[Any, ...]]:
    frame = warehouse.read_table(f"{table}_history")
    rows = [
        (
            row["id"],
            row["_change"],
            row["_valid_from"],
            None if pd.isna(row["_valid_to"]) else row["_valid_to"],
        )
        for _, row in frame.iterrows()
    ]
    return sorted(rows, key=lambda row: (row[0], row[2]))


def snapshot(warehouse: Warehouse) -> dict[str, pd.DataFrame]:
    return {table.name: warehouse.read_table(table.name) for table in all_tables()}


def assert_same_snapshot(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> None:
    for name, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[name], obj=name)


def test_insert_update_remove_reappear_and_soft_delete_write_exact_history(warehouse: Warehouse) -> None:
    other_product = items_batch([item("z", "Other product's item", product_id="prod-2")], "prod-2")
    first = warehouse.merge([items_batch([item("a", "A"), item("b", "B")]), other_product], synced_at=T1)
    assert first.tables["items"] == TableCounts(inserted=3)

    again = warehouse.merge([items_batch([item("a", "A"), item("b", "B")])], synced_at=T2)
    assert again.tables["items"] == TableCounts(unchanged=2)
    assert len(history(warehouse, "items")) == 3

    changed = warehouse.merge([items_batch([item("a", "A renamed"), item("c", "C")])], synced_at=T3)
    assert changed.tables["items"] == TableCounts(inserted=1, updated=1, removed=1)

    back = warehouse.merge(
        [items_batch([item("a", "A renamed", deleted=True), item("b", "B"), item("c", "C")])], synced_at=T4
    )
    assert back.tables["items"] == TableCounts(inserted=1, updated=1, unchanged=1)

    assert history(warehouse, "items") == [
        ("a", "insert", T1, T3),
        ("a", "update", T3, T4),
        ("a", "delete", T4, None),
        ("b", "insert", T1, T3),
        ("b", "remove", T3, T4),
        ("b", "insert", T4, None),
        ("c", "insert", T3, None),
        ("z", "insert", T1, None),
    ]
    current = warehouse.read_table("items").set_index("id")
    assert bool(current.loc["a", "deleted"]) is True
    assert current.loc["a", "name"] == "A renamed"
    assert pd.isna(current.loc["b", "_removed_at"])
    assert current.loc["b", "_synced_at"] == T4
    assert pd.isna(current.loc["z", "_removed_at"]), "another product's rows are outside the scope"
    assert current.loc["z", "_synced_at"] == T1
    removed_version = warehouse.read_table("items_history").query("id == 'b' and _change == 'remove'")
    assert removed_version["_removed_at"].tolist() == [T3]


def test_a_row_that_moves_to_another_scope_is_updated_or_reappears_never_duplicated(
    warehouse: Warehouse,
) -> None:
    warehouse.merge([items_batch([item("a", "A"), item("m", "M")])], synced_at=T1)
    moved = warehouse.merge([items_batch([item("m", "M", product_id="prod-2")], "prod-2")], synced_at=T2)
    assert moved.tables["items"] == TableCounts(updated=1)
    old_scope = warehouse.merge([items_batch([item("a", "A")])], synced_at=T2)
    assert old_scope.tables["items"] == TableCounts(unchanged=1), "the moved row left the old scope"

    # Back to prod-1, this time the scope it leaves is merged first: removed there, then reappears.
    left = warehouse.merge([items_batch([], "prod-2")], synced_at=T3)
    assert left.tables["items"] == TableCounts(removed=1)
    back = warehouse.merge([items_batch([item("a", "A"), item("m", "M")])], synced_at=T4)
    assert back.tables["items"] == TableCounts(inserted=1, unchanged=1)

    assert [row for row in history(warehouse, "items") if row[0] == "m"] == [
        ("m", "insert", T1, T2),
        ("m", "update", T2, T3),
        ("m", "remove", T3, T4),
        ("m", "insert", T4, None),
    ]
    current = warehouse.read_table("items").set_index("id")
    assert sorted(current.index) == ["a", "m"]
    assert current.loc["m", "product_id"] == "prod-1"
    assert pd.isna(current.loc["m", "_removed_at"])


def test_every_property_type_round_trips_with_unicode_nan_long_text_dates_and_json(
    warehouse: Warehouse,
) -> None:
    long_text = "Grüße 🚀 名前 'quoted' \"double\" , ; \\ \n" * 2_600  # ~100 KB
    records: list[dict[str, Any]] = [
        {
            "id": "n1",
            "item_id": "i1",
            "type": "numeric",
            "value": 150.5,
            "display_unit": "kW",
            "category": "POWER",
        },
        {"id": "n2", "item_id": "i1", "type": "numeric", "value": float("nan"), "display_unit": "kW"},
        {"id": "n3", "item_id": "i1", "type": "numeric", "value": float("inf"), "display_unit": "kW"},
        {"id": "n4", "item_id": "i1", "type": "numeric", "value": -1e308, "display_unit": "kW"},
        {"id": "t1", "item_id": "i1", "type": "text", "value": long_text, "name": "Größe"},
        {"id": "t2", "item_id": "i1", "type": "text", "value": ""},
        {"id": "t3", "item_id": "i1", "type": "text", "value": None},
        {"id": "d1", "item_id": "i1", "type": "date", "value": "2025-01-29"},
        {"id": "s1", "item_id": "i1", "type": "status", "value": "Under Review"},
        {
            "id": "m1",
            "item_id": "i1",
            "type": "matrix",
            "value": "[[1.0,1.2],[1.4,1.6]]",
            "display_unit": "bar",
        },
        {"id": "m2", "item_id": "i1", "type": "matrix", "value": "[[1,2],[3", "display_unit": "bar"},
        {"id": "f1", "item_id": "i1", "type": "formula", "value": "10 kg", "formula_expression": "@{a} * 2"},
        {
            "id": "j1",
            "item_id": "i1",
            "type": "numeric",
            "value": 1,
            "references": [{"item_document_id": "doc", "page": 4}],
            "createdAt": "2026-01-12T09:00:00.123Z",
            "createdBy": {"id": "auth0|ü", "userName": "Zoë", "imageUrl": None},
            "futureField": {"nested": ["x", 1]},
        },
    ]
    batch = properties_batch(records)
    warehouse.merge([batch], synced_at=T1)
    stored = warehouse.read_table("properties").set_index("id").sort_index()
    expected = batch.frame.set_index("id").sort_index().drop(columns=["_synced_at"])
    if warehouse.dialect == "generic":  # SQLite stores NaN as NULL
        expected.loc["n2", ["value_number", "value_si"]] = None
    pd.testing.assert_frame_equal(stored.drop(columns=["_synced_at"]), expected)
    assert (stored["_synced_at"] == T1).all()
    assert stored.loc["t1", "value_text"] == long_text
    assert stored.loc["t2", "value_text"] == ""
    assert stored.loc["n3", "value_number"] == math.inf
    assert json.loads(stored.loc["j1", "_extra"]) == {"futureField": {"nested": ["x", 1]}}
    assert stored.loc["j1", "created_at"] == pd.Timestamp("2026-01-12T09:00:00.123Z")
    if warehouse.dialect != "generic":
        assert math.isnan(stored.loc["n2", "value_number"])
        assert math.isnan(stored.loc["n2", "value_si"])

    rerun = warehouse.merge([batch], synced_at=T2)
    assert rerun.tables["properties"] == TableCounts(unchanged=len(records)), "NaN and '' must compare equal"


def test_scopes_merged_together_are_counted_and_recorded_each_on_its_own(warehouse: Warehouse) -> None:
    """One merge of two products: a change, a removal and a move across them, each counted in its scope."""
    warehouse.merge(
        [
            items_batch([item("a", "A"), item("b", "B"), item("m", "M")], "prod-1"),
            items_batch([item("x", "X", product_id="prod-2")], "prod-2"),
        ],
        synced_at=T1,
        run_id="r1",
    )
    report = warehouse.merge(
        [
            items_batch([item("a", "A changed")], "prod-1"),
            items_batch([item("x", "X", product_id="prod-2"), item("m", "M", product_id="prod-2")], "prod-2"),
        ],
        synced_at=T2,
        run_id="r2",
    )
    assert report.tables["items"] == TableCounts(updated=2, unchanged=1, removed=1)
    assert report.scopes["items"] == {
        "prod-1": TableCounts(updated=1, removed=1),
        "prod-2": TableCounts(updated=1, unchanged=1),
    }
    runs = warehouse.read_table("sync_runs").set_index(["run_id", "scope"])
    counted = ["rows_inserted", "rows_updated", "rows_unchanged", "rows_removed"]
    assert runs.loc[("r1", "prod-1"), counted].tolist() == [3, 0, 0, 0]
    assert runs.loc[("r2", "prod-1"), counted].tolist() == [0, 1, 0, 1]
    assert runs.loc[("r2", "prod-2"), counted].tolist() == [0, 1, 1, 0]
    current = warehouse.read_table("items").set_index("id")
    assert current.loc["m", "product_id"] == "prod-2"
    assert current.loc["b", "_removed_at"] == T2
    assert pd.isna(current.loc["m", "_removed_at"])
    assert [row for row in history(warehouse, "items") if row[0] == "m"] == [
        ("m", "insert", T1, T2),
        ("m", "update", T2, None),
    ]


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (items_batch([item("b", "B")], "prod-1"), "same scope"),
        (items_batch([item("a", "A", product_id="prod-2")], "prod-2"), "repeat ids"),
    ],
)
def test_one_merge_refuses_a_scope_or_an_id_listed_twice(
    warehouse: Warehouse, second: Batch, message: str
) -> None:
    with pytest.raises(BatchError, match=message):
        warehouse.merge([items_batch([item("a", "A")], "prod-1"), second], synced_at=T1, run_id="r")
    assert warehouse.row_count("items") == 0
    assert warehouse.row_count("sync_runs") == 0


def test_rerunning_the_same_data_changes_nothing_but_synced_at(warehouse: Warehouse) -> None:
    batches = [
        items_batch([item("a", "A"), item("b", "B")]),
        properties_batch([{"id": "p", "item_id": "a", "type": "text", "value": "x"}]),
    ]
    warehouse.merge(batches, synced_at=T1)
    before = snapshot(warehouse)
    report = warehouse.merge(batches, synced_at=T2)
    assert report.tables == {"items": TableCounts(unchanged=2), "properties": TableCounts(unchanged=1)}
    after = snapshot(warehouse)
    for name in ("items", "properties"):
        assert (after[name]["_synced_at"] == T2).all()
        after[name]["_synced_at"] = before[name]["_synced_at"]
    assert_same_snapshot(before, after)


def _fail_in_sql(warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> list[Batch]:
    """A second batch that the database rejects mid-merge (NOT NULL item_id), after the first was applied."""
    bad = properties_batch([{"id": "p2", "item_id": "a", "type": "text", "value": "y"}])
    bad.frame.loc[0, "item_id"] = None
    return [items_batch([item("a", "A changed"), item("c", "C")]), bad]


def _fail_in_python(warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> list[Batch]:
    """An exception raised between two batches, after the first one's writes and history."""
    real_merge = warehouse_module.merge_frame
    calls: list[str] = []

    def merge_then_crash(*args: Any, **kwargs: Any) -> dict[str | None, TableCounts]:
        calls.append("merge")
        if len(calls) == 2:
            raise RuntimeError("injected crash")
        return real_merge(*args, **kwargs)

    monkeypatch.setattr(warehouse_module, "merge_frame", merge_then_crash)
    good_properties = properties_batch([{"id": "p2", "item_id": "a", "type": "text", "value": "y"}])
    return [items_batch([item("a", "A changed"), item("c", "C")]), good_properties]


@pytest.mark.parametrize("inject", [_fail_in_sql, _fail_in_python])
def test_an_exception_mid_merge_leaves_every_table_exactly_as_before(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch, inject: Any
) -> None:
    warehouse.merge(
        [
            items_batch([item("a", "A"), item("b", "B")]),
            properties_batch([{"id": "p1", "item_id": "a", "type": "text", "value": "x"}]),
        ],
        synced_at=T1,
        run_id="run-1",
    )
    before = snapshot(warehouse)
    batches = inject(warehouse, monkeypatch)
    with pytest.raises(Exception, match=r"(?i)null|injected crash") as raised:
        warehouse.merge(batches, synced_at=T2, run_id="run-2")
    assert not isinstance(raised.value, BatchError), "the failure must happen inside the transaction"
    assert_same_snapshot(before, snapshot(warehouse))
    assert warehouse.completed_scopes("run-2", "items") == set()
    monkeypatch.undo()
    fixed = properties_batch([{"id": "p2", "item_id": "a", "type": "text", "value": "y"}])
    report = warehouse.merge([batches[0], fixed], synced_at=T2, run_id="run-2")
    assert report.tables["items"] == TableCounts(inserted=1, updated=1, removed=1)
    assert warehouse.completed_scopes("run-2", "items") == {"prod-1"}


def test_merge_records_completed_scopes_in_the_same_transaction(warehouse: Warehouse) -> None:
    workspaces = normalize("workspaces", [{"id": "ws-1", "name": "W"}], endpoint="/v1/public/workspaces")
    warehouse.merge([Batch("workspaces", workspaces, {})], synced_at=T1, run_id="r")
    warehouse.merge([items_batch([item("a", "A")], "prod-1")], synced_at=T1, run_id="r")
    warehouse.merge([items_batch([item("b", "B", product_id="prod-2")], "prod-2")], synced_at=T1, run_id="r")
    assert warehouse.completed_scopes("r", "items") == {"prod-1", "prod-2"}
    assert warehouse.completed_scopes("r", "workspaces") == {"*"}
    assert warehouse.completed_scopes("other-run", "items") == set()
    runs = warehouse.read_table("sync_runs").set_index(["table_name", "scope"])
    assert runs.loc[("items", "prod-1"), "rows_inserted"] == 1
    assert runs.loc[("items", "prod-1"), "status"] == "success"


def test_merge_finishes_the_running_scope_row_with_the_run_columns(warehouse: Warehouse) -> None:
    started = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    warehouse.record_sync_run("r", "items", "prod-1", status="running", started_at=started)
    cost = {"requests": 7, "retries": 1, "rate_limited": 2, "seconds_waited": 0.25, "finished_at": T1}
    batch = items_batch([item("a", "A")])
    warehouse.merge([replace(batch, run_columns=cost)], synced_at=started, run_id="r")
    workspaces = normalize("workspaces", [{"id": "ws-1", "name": "W"}], endpoint="/v1/public/workspaces")
    warehouse.merge(
        [Batch("workspaces", workspaces, {}, run_columns={"started_at": T1})], synced_at=T1, run_id="r"
    )
    runs = warehouse.read_table("sync_runs").set_index(["table_name", "scope"])
    assert len(runs) == 2
    done = runs.loc[("items", "prod-1")]
    assert done["status"] == "success"
    assert (done["started_at"], done["finished_at"], done["rows_inserted"]) == (started, T1, 1)
    assert (done["requests"], done["retries"], done["rate_limited"], done["seconds_waited"]) == (
        7,
        1,
        2,
        0.25,
    )
    whole = runs.loc[("workspaces", "*")]
    assert (whole["started_at"], whole["rows_inserted"], whole["status"]) == (T1, 1, "success")
    assert pd.isna(whole["requests"])


@pytest.mark.parametrize(
    ("run_id", "run_columns", "message"),
    [(None, {"requests": 1}, "need a run_id"), ("r", {"status": "failed"}, "not \\['status'\\]")],
)
def test_run_columns_are_checked_before_anything_is_written(
    warehouse: Warehouse, run_id: str | None, run_columns: dict[str, Any], message: str
) -> None:
    batch = replace(items_batch([item("a", "A")]), run_columns=run_columns)
    with pytest.raises(BatchError, match=message):
        warehouse.merge([batch], synced_at=T1, run_id=run_id)
    assert warehouse.row_count("items") == 0
    assert warehouse.row_count("sync_runs") == 0


def test_record_sync_run_upserts_and_only_success_counts_as_completed(warehouse: Warehouse) -> None:
    started = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    warehouse.record_sync_run("r", "properties", "prod-1", status="running", started_at=started, requests=3)
    warehouse.record_sync_run("r", "properties", "prod-2", status="running", started_at=started)
    assert warehouse.completed_scopes("r", "properties") == set()
    warehouse.record_sync_run(
        "r",
        "properties",
        "prod-1",
        status="success",
        finished_at=T1,
        requests=10,
        retries=2,
        rate_limited=1,
        seconds_waited=1.5,
        counts=TableCounts(inserted=4, updated=1, unchanged=0, removed=2),
    )
    warehouse.record_sync_run(
        "r", "properties", "prod-2", status="failed", finished_at=T1, error="HTTP 500 ünïcode"
    )
    assert warehouse.completed_scopes("r", "properties") == {"prod-1"}
    runs = warehouse.read_table("sync_runs").set_index("scope")
    assert len(runs) == 2
    done = runs.loc["prod-1"]
    assert (done["started_at"], done["finished_at"], done["requests"], done["retries"]) == (
        started,
        T1,
        10,
        2,
    )
    assert (done["rate_limited"], done["seconds_waited"], done["rows_inserted"], done["rows_removed"]) == (
        1,
        1.5,
        4,
        2,
    )
    assert runs.loc["prod-2", "error"] == "HTTP 500 ünïcode"
    assert runs.loc["prod-2", "status"] == "failed"


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        (Batch("items", pd.DataFrame(), {"product_id": "p"}), "missing"),
        (Batch("files", pd.DataFrame(), {}), "unknown table 'files'"),
        (Batch("workspaces", pd.DataFrame(), {"workspace_id": "w"}), r"needs scope keys \[\]"),
    ],
)
def test_malformed_batches_are_rejected_before_anything_is_written(
    warehouse: Warehouse, batch: Batch, message: str
) -> None:
    with pytest.raises(BatchError, match=message):
        warehouse.merge([items_batch([item("a", "A")]), batch], synced_at=T1)
    assert warehouse.row_count("items") == 0


def test_rows_outside_the_scope_duplicate_ids_and_naive_times_are_rejected(warehouse: Warehouse) -> None:
    with pytest.raises(BatchError, match="outside the batch scope product_id='prod-1'"):
        warehouse.merge([items_batch([item("a", "A", product_id="prod-9")])], synced_at=T1)
    duplicated = items_batch([item("a", "A")])
    duplicated = Batch("items", pd.concat([duplicated.frame, duplicated.frame]), duplicated.scope)
    with pytest.raises(BatchError, match="repeats ids"):
        warehouse.merge([duplicated], synced_at=T1)
    with pytest.raises(BatchError, match="timezone-aware"):
        warehouse.merge([items_batch([item("a", "A")])], synced_at=datetime(2026, 1, 1))
    assert warehouse.row_count("items") == 0


def test_whole_table_scope_removes_workspaces_the_api_no_longer_lists(warehouse: Warehouse) -> None:
    def workspaces(*ids: str) -> Batch:
        frame = normalize(
            "workspaces", [{"id": i, "name": i.upper()} for i in ids], endpoint="/v1/public/workspaces"
        )
        return Batch("workspaces", frame, {})

    warehouse.merge([workspaces("w1", "w2")], synced_at=T1)
    report = warehouse.merge([workspaces("w2")], synced_at=T2)
    assert report.tables["workspaces"] == TableCounts(unchanged=1, removed=1)
    assert report.scopes["workspaces"] == {settings.WAREHOUSE_SCOPE_ALL: TableCounts(unchanged=1, removed=1)}
    current = warehouse.read_table("workspaces").set_index("id")
    assert current.loc["w1", "_removed_at"] == T2
    assert set(TABLES) <= {table.name for table in all_tables()}


def test_a_session_reuses_one_connection_and_survives_a_failed_merge(warehouse: Warehouse) -> None:
    with warehouse.session():
        warehouse.merge([items_batch([item("a", "A")])], synced_at=T1)
        bad = items_batch([item("b", "B")])
        bad.frame.loc[0, "product_id"] = None
        bad = Batch("items", bad.frame, {"product_id": "prod-1"})
        with pytest.raises(BatchError):
            warehouse.merge([bad], synced_at=T2)
        broken = properties_batch([{"id": "p", "item_id": "a", "type": "text", "value": "x"}])
        broken.frame.loc[0, "item_id"] = None
        with pytest.raises(Exception, match=r"(?i)null"):
            warehouse.merge([items_batch([item("a", "A2")]), broken], synced_at=T2)
        report = warehouse.merge([items_batch([item("a", "A2")])], synced_at=T3)
        assert report.tables["items"] == TableCounts(updated=1)
    assert history(warehouse, "items") == [("a", "insert", T1, T3), ("a", "update", T3, None)]


def test_an_empty_listing_removes_every_row_of_its_scope(warehouse: Warehouse) -> None:
    warehouse.merge([items_batch([item("a", "A"), item("b", "B")])], synced_at=T1)
    report = warehouse.merge([items_batch([])], synced_at=T2)
    assert report.tables["items"] == TableCounts(removed=2)
    assert (warehouse.read_table("items")["_removed_at"] == T2).all()
