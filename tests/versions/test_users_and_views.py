"""The users table equals the organization's users; the version views answer what the fake's data says."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
import pytest
from versions_helpers import Org

from poelis_pipelines import settings
from poelis_pipelines.levels import level
from poelis_pipelines.normalize import normalize
from poelis_pipelines.tables import USERS


def synced(org: Org) -> None:
    org.sync_draft()
    with org.client() as client, org.warehouse() as warehouse:
        level("users").run(client, warehouse, run_key="users")
        warehouse.create_views()
    org.sync_versions(settings.VERSIONS_ALL)


def test_the_users_table_is_the_organizations_users(org: Org) -> None:
    org.sync_draft()
    with org.client() as client, org.warehouse() as warehouse:
        result = level("users").run(client, warehouse, run_key="users")
        again = level("users").run(client, warehouse, run_key="users-again")
        stored = warehouse.read_table("users")
        history = warehouse.read_table("users_history")

    users = list(org.server.dataset.users)
    assert result.records_from_api == len(users) == result.inserted
    assert again.unchanged == len(users)
    data = [column.name for column in USERS.columns if column.origin != "bookkeeping"] + ["_extra"]
    expected = normalize("users", users, endpoint="expected")
    pd.testing.assert_frame_equal(
        stored[data].sort_values("id").reset_index(drop=True),
        expected[data].sort_values("id").reset_index(drop=True),
        check_dtype=False,
    )
    assert (
        json.loads(stored.set_index("id").loc[users[0]["id"], "workspace_access"])
        == users[0]["workspaceAccess"]
    )
    assert len(history) == len(users)  # an unchanged second listing writes no history


def live_baseline(org: Org) -> dict[tuple[str, str], dict[str, Any]]:
    """The fake's live properties of each product's baseline version, by (product, draft property id)."""
    dataset = org.server.dataset
    answer = {}
    for product in dataset.products:
        version = dataset.version(product["id"], "baseline")
        if version is None:
            continue
        live_items = {
            item.get("draft_item_id") or item["id"] for item in version.items if not item["deleted"]
        }
        for prop in version.properties:
            if not prop["deleted"] and prop["item_id"] in live_items:
                answer[(product["id"], prop.get("draft_property_id") or prop["id"])] = prop
    return answer


def live_draft(org: Org, products: set[str]) -> dict[tuple[str, str], dict[str, Any]]:
    dataset = org.server.dataset
    product_of = {item["id"]: item["product_id"] for item in dataset.items if not item["deleted"]}
    return {
        (product_of[prop["item_id"]], prop["id"]): prop
        for prop in dataset.properties
        if not prop["deleted"] and product_of.get(prop["item_id"]) in products
    }


def test_baseline_values_and_changes_since_the_baseline_match_the_fake(org: Org) -> None:
    synced(org)
    org.server.mutate(seed=5)  # edits the draft (and, on this fake, moves a baseline)
    org.sync_draft(run_key="after-mutation")
    org.sync_versions(settings.VERSIONS_ALL)

    with org.warehouse() as warehouse:
        baseline = warehouse.query("SELECT * FROM {{schema}}.baseline_property_values")
        changes = warehouse.query("SELECT * FROM {{schema}}.property_changes_since_baseline")

    expected_baseline = live_baseline(org)
    assert expected_baseline
    assert set(zip(baseline["product_id"], baseline["draft_property_id"], strict=True)) == set(
        expected_baseline
    )
    for row in baseline.itertuples():
        prop = expected_baseline[(row.product_id, row.draft_property_id)]
        assert row.property_id == prop["id"]
        assert row.property_name == prop["name"]

    products = {product_id for product_id, _ in expected_baseline}
    draft = live_draft(org, products)
    expected_changes: dict[tuple[str, str], str] = {}
    for key in set(draft) | set(expected_baseline):
        new, old = draft.get(key), expected_baseline.get(key)
        if old is None:
            expected_changes[key] = "added"
        elif new is None:
            expected_changes[key] = "removed"
        elif (new["value"], new["display_unit"], new["name"]) != (
            old["value"],
            old["display_unit"],
            old["name"],
        ):
            expected_changes[key] = "changed"
    got = {(row.product_id, row.draft_property_id): row.change for row in changes.itertuples()}
    assert got == expected_changes
    assert set(got.values()) == {"added", "removed", "changed"}

    numeric = changes[
        (changes["change"] == "changed")
        & changes["old_value_number"].notna()
        & changes["new_value_number"].notna()
        & (changes["old_unit"] == changes["new_unit"])
    ]
    assert len(numeric) > 0
    for row in numeric.itertuples():
        assert row.difference == pytest.approx(row.new_value_number - row.old_value_number)
        if not (pd.isna(row.old_value_si) or pd.isna(row.new_value_si)):
            assert row.difference_si == pytest.approx(row.new_value_si - row.old_value_si)
            assert isinstance(row.si_unit, str)


def test_the_tree_of_every_stored_version_matches_the_fake(duckdb_org: Org) -> None:
    synced(duckdb_org)
    with duckdb_org.warehouse() as warehouse:
        tree = warehouse.query("SELECT * FROM {{schema}}.item_version_tree")

    for (product_id, number), version in duckdb_org.fake_versions().items():
        items = list(version.items)  # type: ignore[attr-defined]
        by_draft_id = {item.get("draft_item_id") or item["id"]: item for item in items}

        def depth(item: dict[str, Any], by_draft_id: dict[str, dict[str, Any]] = by_draft_id) -> int:
            parent = by_draft_id.get(item.get("parent_item_id") or "")
            return 0 if parent is None else depth(parent) + 1

        rows = tree[(tree["product_id"] == product_id) & (tree["version_number"] == number)]
        assert sorted(rows["item_id"]) == sorted(item["id"] for item in items)  # no item lost or repeated
        depths = dict(zip(rows["item_id"], rows["depth"], strict=True))
        assert depths == {item["id"]: depth(item) for item in items}
        assert max(depths.values()) > 0
        paths = dict(zip(rows["draft_item_id"], rows["path"], strict=True))
        for item in items:
            parent_path = paths.get(item.get("parent_item_id") or "")
            expected = item["name"] if parent_path is None else f"{parent_path} / {item['name']}"
            assert paths[item.get("draft_item_id") or item["id"]] == expected


def test_views_name_the_editor_from_users_when_a_record_lacks_the_name(duckdb_org: Org) -> None:
    synced(duckdb_org)
    with duckdb_org.warehouse() as warehouse:
        warehouse.query("UPDATE {{schema}}.property_versions SET updated_by_name = NULL RETURNING 1")
        named = warehouse.query(
            "SELECT b.updated_by_name, u.name FROM {{schema}}.baseline_property_values AS b "
            "JOIN {{schema}}.property_versions AS p ON p.id = b.property_id "
            "AND p.version_number = b.baseline_version AND p.product_id = b.product_id "
            "JOIN {{schema}}.users AS u ON u.id = p.updated_by_id"
        )
    assert len(named) > 0
    assert (named["updated_by_name"] == named["name"]).all()
    assert not any(isinstance(value, float) and math.isnan(value) for value in named["updated_by_name"])
