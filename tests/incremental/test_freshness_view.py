"""The `freshness` view: per product, live items, when they were listed, and the never-listed backlog."""

from __future__ import annotations

from collections import Counter

from incremental_helpers import Org


def test_the_view_counts_live_items_their_oldest_listing_and_the_backlog(org: Org) -> None:
    org.sync(run_key="full")
    mutation = org.server.mutate(seed=5)
    org.list_parents("items-only")  # the new items are in the warehouse, their properties not yet

    with org.warehouse() as warehouse:
        assert "freshness" in warehouse.create_views()
        view = warehouse.query("SELECT * FROM {{schema}}.freshness").set_index("product_id")

    dataset = org.server.dataset
    live = Counter(item["product_id"] for item in dataset.items if not item["deleted"])
    deleted = Counter(item["product_id"] for item in dataset.items if item["deleted"])
    added = Counter(item["product_id"] for item in dataset.items if item["id"] in mutation.added_items)
    assert set(view.index) == {product["id"] for product in dataset.products}
    for product_id, row in view.iterrows():
        assert row["live_items"] == live[product_id]
        assert row["soft_deleted_items"] == deleted[product_id]
        assert row["never_listed"] == added[product_id]
        assert row["listed_items"] == live[product_id] - added[product_id]
        if row["listed_items"]:
            assert row["oldest_listed_at"] <= row["newest_listed_at"]
            assert 0 <= row["max_age_hours"] < 1
