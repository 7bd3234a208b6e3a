"""A properties batch scoped by item: each listed item is complete on its own, the rest of the product is not
touched; and the batch shapes the merge refuses before writing anything."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from poelis_pipelines.incremental import ListedItem, state_rows
from poelis_pipelines.normalize import normalize
from poelis_pipelines.warehouse import Batch, BatchError, Warehouse

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def properties(*pairs: tuple[str, str], value: float = 1.0) -> pd.DataFrame:
    """Numeric properties `(id, item_id)` of product p."""
    records = [
        {
            "id": prop,
            "readable_id": prop,
            "item_id": item,
            "name": prop,
            "type": "numeric",
            "value": value,
            "deleted": False,
        }
        for prop, item in pairs
    ]
    return normalize("properties", records, endpoint="test", product_id="p", workspace_id="w")


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    with Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") as opened:
        opened.ensure()
        opened.merge(
            [
                Batch(
                    "properties",
                    properties(("a1", "a"), ("a2", "a"), ("b1", "b"), ("c1", "c")),
                    {"product_id": "p"},
                )
            ],
            synced_at=T0,
        )
        yield opened


def test_an_item_scoped_batch_removes_only_what_its_items_no_longer_list(warehouse: Warehouse) -> None:
    """Items a and b are listed again: a lost a2, b has no property left; c is not listed and keeps c1."""
    report = warehouse.merge(
        [Batch("properties", properties(("a1", "a"), value=2.0), {"item_id": ["a", "b"]}, run_scope="unit")],
        synced_at=T0 + timedelta(hours=1),
        run_id="run",
    )

    counts = report.tables["properties"]
    assert (counts.updated, counts.removed, counts.inserted) == (1, 2, 0)
    rows = warehouse.read_table("properties").set_index("id")
    assert rows["_removed_at"].notna().to_dict() == {"a1": False, "a2": True, "b1": True, "c1": False}
    history = warehouse.read_table("properties_history")
    assert sorted(history.loc[history["_change"] == "remove", "id"]) == ["a2", "b1"]
    runs = warehouse.read_table("sync_runs")
    assert runs[["scope", "rows_updated", "rows_removed"]].values.tolist() == [["unit", 1, 2]]


def test_the_item_state_commits_with_the_merge(warehouse: Warehouse) -> None:
    item = ListedItem("a", "p", "w", T0, "A", None, False)
    warehouse.merge(
        [Batch("properties", properties(("a1", "a")), {"item_id": "a"})],
        synced_at=T0 + timedelta(hours=1),
        upserts={"item_sync_state": state_rows([(item, T0 + timedelta(hours=1), 1)], run_key="run")},
    )
    warehouse.merge(
        [], synced_at=T0, upserts={"item_sync_state": state_rows([(item, T0, 1)], run_key="again")}
    )
    state = warehouse.read_table("item_sync_state")
    assert state[["item_id", "properties_listed_at", "run_id"]].values.tolist() == [
        ["a", pd.Timestamp(T0), "again"]
    ]


@pytest.mark.parametrize(
    ("batches", "message"),
    [
        (
            [
                Batch("properties", properties(("a1", "a")), {"item_id": "a"}),
                Batch("properties", properties(("c1", "c")), {"product_id": "p"}),
            ],
            "share a scope column",
        ),
        ([Batch("properties", properties(("a1", "a")), {"item_id": ["b"]})], "outside the batch scope"),
        ([Batch("properties", properties(("a1", "a")), {"parent_item_id": "x"})], "one scope key of"),
        ([Batch("properties", properties(("a1", "a")), {"item_id": []})], "one or more ids"),
        ([Batch("properties", properties(("a1", "a")), {"item_id": ["a", "b"]})], "needs a run_scope"),
        (
            [
                Batch("properties", properties(("a1", "a")), {"item_id": "a"}, run_scope="x"),
                Batch("properties", properties(), {"item_id": ["b", "a"]}, run_scope="y"),
            ],
            "same scope",
        ),
    ],
)
def test_a_malformed_item_scoped_merge_writes_nothing(
    warehouse: Warehouse, batches: list[Batch], message: str
) -> None:
    before = warehouse.read_table("properties")
    with pytest.raises(BatchError, match=message):
        warehouse.merge(batches, synced_at=T0 + timedelta(hours=1), run_id="run")
    pd.testing.assert_frame_equal(warehouse.read_table("properties"), before)


def test_upserts_only_reach_bookkeeping_tables(warehouse: Warehouse) -> None:
    with pytest.raises(BatchError, match="upserts may write"):
        warehouse.merge([], synced_at=T0, upserts={"properties": properties(("a1", "a"))})
