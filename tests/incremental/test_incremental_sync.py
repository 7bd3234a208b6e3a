"""Incremental properties against the real fake API and real warehouses: exact after a run that lists every
item due, new items in one run, every change caught within the rotation's bound, hard deletes per item."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pandas as pd
from incremental_helpers import EVERY_ITEM_DUE, Org

from poelis_pipelines.incremental import IncrementalSettings


def test_a_full_sync_records_when_every_items_properties_were_listed(duckdb_org: Org) -> None:
    result = duckdb_org.sync(run_key="full")

    dataset = duckdb_org.server.dataset
    state = duckdb_org.state()
    assert set(state.index) == {item["id"] for item in dataset.items}
    assert state["properties_listed_at"].notna().all()
    assert (state["run_id"] == "full").all()
    expected_counts = pd.Series([prop["item_id"] for prop in dataset.properties]).value_counts()
    assert state["properties_count"].to_dict() == {
        item_id: int(expected_counts.get(item_id, 0)) for item_id in state.index
    }
    deleted = {item["id"]: bool(item["deleted"]) for item in dataset.items}
    assert state["deleted_when_listed"].astype(bool).to_dict() == deleted
    assert result.incremental is None


def test_an_incremental_run_with_every_item_due_leaves_the_warehouse_exact(org: Org) -> None:
    org.sync(run_key="full")
    mutation = org.server.mutate(seed=5)

    result = org.sync(EVERY_ITEM_DUE)

    assert org.mismatched_tables() == []
    org.assert_history_consistent()
    report = result.incremental
    assert report is not None
    assert report.selected["new"] == len(mutation.added_items)
    assert report.selected["hint"] == len(mutation.soft_deleted_items)  # the deleted flag changed
    assert report.listed == report.selected
    assert report.freshness is not None
    assert report.freshness.never_listed == 0
    assert sum(report.freshness.backlog.values()) == 0
    properties = org.changes_of("properties")
    for property_id in mutation.updated_properties:
        assert properties[property_id] == ["insert", "update"]
    for property_id in mutation.removed_properties:  # hard deleted: caught by its item's listing
        assert properties[property_id] == ["insert", "remove"]
    for property_id in mutation.added_properties:
        assert properties[property_id] == ["insert"]


def test_a_second_run_leaves_a_soft_deleted_item_alone(duckdb_org: Org) -> None:
    duckdb_org.sync(run_key="full")
    mutation = duckdb_org.server.mutate(seed=5)
    duckdb_org.sync(EVERY_ITEM_DUE)
    soft_deleted = sum(1 for item in duckdb_org.server.dataset.items if item["deleted"])

    before = duckdb_org.properties_requests()
    second = duckdb_org.sync(EVERY_ITEM_DUE, run_key="second")

    live = len(duckdb_org.server.dataset.items) - soft_deleted
    assert second.incremental is not None
    assert second.incremental.selected == {"new": 0, "hint": 0, "rotation": live}
    live_ids = [item["id"] for item in duckdb_org.server.dataset.items if not item["deleted"]]
    assert duckdb_org.properties_requests() - before == duckdb_org.listing_requests(live_ids)
    state = duckdb_org.state()
    for item_id in mutation.soft_deleted_items:
        assert state.loc[item_id, "run_id"] != "second"
        assert bool(state.loc[item_id, "deleted_when_listed"])


def test_new_items_properties_land_in_the_first_run_that_lists_them(duckdb_org: Org) -> None:
    duckdb_org.sync(run_key="full")
    mutation = duckdb_org.server.mutate(seed=5)
    before = duckdb_org.properties_requests()

    result = duckdb_org.sync(IncrementalSettings(max_staleness=timedelta(hours=24), max_items=10))

    assert result.incremental is not None
    assert result.incremental.selected == {
        "new": len(mutation.added_items),
        "hint": len(mutation.soft_deleted_items),
        "rotation": 0,  # everything was listed moments ago, well inside the bound
    }
    assert duckdb_org.properties_requests() - before == len(mutation.added_items) + len(
        mutation.soft_deleted_items
    )
    with duckdb_org.warehouse() as warehouse:
        properties = warehouse.read_table("properties")
    new_item_properties = properties[properties["item_id"].isin(mutation.added_items)]
    expected = [
        prop["id"] for prop in duckdb_org.server.dataset.properties if prop["item_id"] in mutation.added_items
    ]
    assert sorted(new_item_properties["id"]) == sorted(expected)
    assert len(expected) > 0


def test_every_property_change_is_caught_within_the_rotation_bound(duckdb_org: Org) -> None:
    """Edits that leave their item untouched (no hint) are found by the rotation alone, within
    ceil(live items / rotation per run) runs of a fixed item budget, and no run lists more than its budget."""
    duckdb_org.sync(run_key="full")
    mutation = duckdb_org.server.mutate(seed=5)
    budget = IncrementalSettings(max_staleness=timedelta(0), max_items=40, rotation_floor=0.5)
    live_items = sum(1 for item in duckdb_org.server.dataset.items if not item["deleted"])
    bound = math.ceil(live_items / math.floor(budget.rotation_floor * 40))
    assert mutation.updated_properties

    mutated_at = datetime.now(UTC)
    runs_until_exact = None
    for run in range(1, bound + 1):
        result = duckdb_org.sync(budget)
        assert result.incremental is not None
        assert sum(result.incremental.listed.values()) == 40
        assert result.incremental.selected["rotation"] >= 20
        if runs_until_exact is None and duckdb_org.mismatched_tables() == []:
            runs_until_exact = run
    assert runs_until_exact is not None, f"still stale after {bound} runs"
    print(f"exact after {runs_until_exact} runs of 40 items (bound {bound}, {live_items} live items)")
    state = duckdb_org.state()
    live = [item["id"] for item in duckdb_org.server.dataset.items if not item["deleted"]]
    assert (state.loc[live, "properties_listed_at"] > mutated_at).all()  # every live item re-listed
    assert duckdb_org.mismatched_tables() == []
    duckdb_org.assert_history_consistent()


def test_an_item_that_vanished_has_its_properties_removed_without_a_request(org: Org) -> None:
    org.sync(run_key="full")
    dataset = org.server.dataset
    item = next(
        item
        for item in dataset.items
        if not item["deleted"]
        and not any(other["parent_item_id"] == item["id"] for other in dataset.items)
        and any(prop["item_id"] == item["id"] for prop in dataset.properties)
    )
    its_properties = [prop["id"] for prop in dataset.properties if prop["item_id"] == item["id"]]
    with dataset.lock:
        for property_id in its_properties:
            dataset.property_store.remove(property_id)
        dataset.item_store.remove(item["id"])

    before = org.properties_requests()
    result = org.sync(IncrementalSettings(max_staleness=timedelta(hours=24)))

    assert result.incremental is not None
    assert result.incremental.vanished_items == 1
    assert org.properties_requests() - before == 0  # nothing else was due
    assert org.mismatched_tables() == []
    properties = org.changes_of("properties")
    assert all(properties[property_id] == ["insert", "remove"] for property_id in its_properties)
    assert pd.isna(org.state().loc[item["id"], "properties_listed_at"])
