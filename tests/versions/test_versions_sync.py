"""Published versions land exactly, once: a complete version never costs a request again, discovery finds a
newly published version at the next day's probe, bad input warns and the sync goes on, a spent budget stops
cleanly with nothing half-stored marked complete."""

from __future__ import annotations

import json

import pytest
from versions_helpers import DAY_ONE, PROPERTIES_ROUTE, Org, a_day_later

from poelis_pipelines import settings
from poelis_pipelines.fake_api.store import RecordStore
from poelis_pipelines.versions import VersionsResult


def test_every_version_lands_exactly_and_costs_nothing_on_the_next_run(org: Org) -> None:
    org.sync_draft()
    first = org.sync_versions(settings.VERSIONS_ALL)

    org.assert_versions_exact()
    assert set(first.completed) == set(org.fake_versions())
    assert first.warnings == []
    assert first.pending == first.backlog == 0
    assert first.complete == len(org.fake_versions())

    second = org.requests_during(lambda: org.sync_versions(settings.VERSIONS_ALL, a_day_later(DAY_ONE, 0.5)))
    assert second == 0  # complete versions and products probed within the day cost nothing
    org.assert_versions_exact()


def test_baseline_mode_stores_each_products_baseline_and_records_the_others(duckdb_org: Org) -> None:
    duckdb_org.sync_draft()
    result = duckdb_org.sync_versions(settings.VERSIONS_BASELINE)

    baselines = {
        (product["id"], product["baseline_version_number"])
        for product in duckdb_org.server.dataset.products
        if product.get("baseline_version_number")
    }
    assert baselines
    duckdb_org.assert_versions_exact(baselines)
    assert set(result.completed) == baselines
    assert result.backlog == 0
    assert result.pending == len(set(duckdb_org.fake_versions()) - baselines) > 0
    rows = duckdb_org.read("product_versions")
    others = set(duckdb_org.fake_versions()) - baselines
    pending = rows[rows["status"] == "pending"]
    assert set(zip(pending["product_id"], pending["version_number"].astype(int), strict=True)) == others
    baseline_rows = rows[rows["is_baseline"].fillna(False).astype(bool)]
    assert set(
        zip(baseline_rows["product_id"], baseline_rows["version_number"].astype(int), strict=True)
    ) == (baselines)

    nothing = duckdb_org.sync_versions(settings.VERSIONS_NONE)
    assert nothing.requests == 0
    assert nothing.completed == []


def test_a_version_published_between_runs_is_found_at_the_next_days_probe_and_not_before(
    duckdb_org: Org,
) -> None:
    duckdb_org.sync_draft()
    duckdb_org.sync_versions(settings.VERSIONS_ALL, DAY_ONE)
    mutation = duckdb_org.server.mutate(seed=1)
    [published] = mutation.published_versions  # seed 1 publishes a version on this fake
    duckdb_org.sync_draft(run_key="after-mutation")

    later_that_day = duckdb_org.sync_versions(settings.VERSIONS_ALL, a_day_later(DAY_ONE, 0.9))
    assert later_that_day.requests == 0
    assert published not in later_that_day.discovered
    rows = duckdb_org.read("product_versions")
    assert (rows["status"] == "complete").sum() == len(duckdb_org.fake_versions()) - 1

    next_day = duckdb_org.sync_versions(settings.VERSIONS_ALL, a_day_later(DAY_ONE))
    assert next_day.discovered == [published]
    assert next_day.completed == [published]
    duckdb_org.assert_versions_exact()


def test_a_baseline_pointing_at_a_missing_version_warns_and_the_sync_goes_on(
    duckdb_org: Org, caplog: pytest.LogCaptureFixture
) -> None:
    dataset = duckdb_org.server.dataset
    product_id = next(product_id for product_id, numbers in dataset.versions.items() if numbers)
    record = json.loads(dataset.product_store.get(product_id).body)  # type: ignore[union-attr]
    record["baseline_version_number"] = 9
    dataset.product_store.replace(record)
    dataset.baselines[product_id] = 9
    duckdb_org.sync_draft()

    with caplog.at_level("WARNING", logger="poelis_pipelines.versions"):
        result = duckdb_org.sync_versions(settings.VERSIONS_ALL)

    [warning] = result.warnings
    assert f"product {product_id}: the baseline version 9 does not exist" in warning
    assert warning in caplog.text
    rows = duckdb_org.read("product_versions").set_index(["product_id", "version_number"])
    assert rows.loc[(product_id, 9), "status"] == "missing"
    assert bool(rows.loc[(product_id, 9), "is_baseline"])
    duckdb_org.assert_versions_exact()  # every version that exists, this product's included

    again = duckdb_org.sync_versions(settings.VERSIONS_ALL, a_day_later(DAY_ONE, 0.5))
    assert again.requests == 0  # asked again only a day later
    assert again.warnings == []


def assert_kept_pending(org: Org, result: VersionsResult, version: tuple[str, int], problem: str) -> None:
    """The run's one warning names the version and its problem, and the version is still pending."""
    product_id, number = version
    [warning] = result.warnings
    assert f"version {number} of product {product_id}: {problem}" in warning
    rows = org.read("product_versions").set_index(["product_id", "version_number"])
    assert rows.loc[(product_id, number), "status"] == "pending"


def test_a_404_in_the_middle_of_a_version_keeps_it_pending_until_a_later_day(duckdb_org: Org) -> None:
    (product_id, number), version = max(
        duckdb_org.fake_versions().items(),
        key=lambda entry: len(entry[1].items),  # type: ignore[attr-defined]
    )
    items = list(version.items)  # type: ignore[attr-defined]
    broken = items[len(items) // 2]
    draft_ids = version._draft_item_ids  # type: ignore[attr-defined]
    kept = draft_ids.pop(broken["id"])  # its properties listing now answers 404
    duckdb_org.sync_draft()

    result = duckdb_org.sync_versions(settings.VERSIONS_ALL)

    assert_kept_pending(duckdb_org, result, (product_id, number), "an item's properties answered 404")
    others = set(duckdb_org.fake_versions()) - {(product_id, number)}
    assert set(result.completed) == others
    stored = duckdb_org.read("item_versions")
    stored = stored[(stored["product_id"] == product_id) & (stored["version_number"] == number)]
    assert 0 < len(stored) < len(items)
    assert broken["id"] not in set(stored["id"])

    draft_ids[broken["id"]] = kept
    assert duckdb_org.sync_versions(settings.VERSIONS_ALL, a_day_later(DAY_ONE, 0.5)).requests == 0
    duckdb_org.server.reset_counters()
    resumed = duckdb_org.sync_versions(settings.VERSIONS_ALL, a_day_later(DAY_ONE))
    assert resumed.completed == [(product_id, number)]
    remaining = [item["id"] for item in items if item["id"] not in set(stored["id"])]
    listings = duckdb_org.server.counters[(PROPERTIES_ROUTE, 200)]
    assert listings == duckdb_org.listing_requests(remaining, version)  # stored items are not asked again
    duckdb_org.assert_versions_exact()


def test_a_version_that_lists_no_items_is_not_marked_complete(duckdb_org: Org) -> None:
    (product_id, number), version = next(iter(duckdb_org.fake_versions().items()))
    full_store = version.item_store  # type: ignore[attr-defined]
    version.item_store = RecordStore("product_id")  # type: ignore[attr-defined]
    duckdb_org.sync_draft()

    result = duckdb_org.sync_versions(settings.VERSIONS_ALL)

    assert_kept_pending(duckdb_org, result, (product_id, number), "its item listing is empty")
    version.item_store = full_store  # type: ignore[attr-defined]
    duckdb_org.sync_versions(settings.VERSIONS_ALL, a_day_later(DAY_ONE))
    duckdb_org.assert_versions_exact()


def test_a_spent_budget_stops_cleanly_and_the_next_run_finishes_without_refetching(org: Org) -> None:
    org.sync_draft()
    org.server.reset_counters()
    whole = org.sync_versions(settings.VERSIONS_ALL)
    cost = whole.requests
    org.server.reset_counters()
    with org.warehouse() as warehouse:  # start again from a warehouse without versions
        for table in ("product_versions", "item_versions", "property_versions"):
            warehouse.query(f"DELETE FROM {{{{schema}}}}.{table} RETURNING 1")

    budget = cost // 2
    cut = org.sync_versions(settings.VERSIONS_ALL, max_requests=budget)

    assert cut.budget_exhausted
    assert cut.requests == budget
    assert cut.backlog == cut.pending > 0
    rows = org.read("product_versions")
    complete = rows[rows["status"] == "complete"]
    org.assert_versions_exact(
        set(zip(complete["product_id"], complete["version_number"].astype(int), strict=True)),
        partial_others=True,
    )
    rest = org.sync_versions(settings.VERSIONS_ALL)
    assert not rest.budget_exhausted
    org.assert_versions_exact()
    partly_stored = len(set(rest.completed) - set(cut.completed))
    assert (
        rest.requests + budget <= cost + 2 * partly_stored
    )  # at most the item listing of an unfinished version again
