"""`check_versions` passes on what a sync stored and finds each kind of damage."""

from __future__ import annotations

from versions_helpers import Org

from poelis_pipelines import settings
from poelis_pipelines.versions import VersionChecks, check_versions


def test_stored_versions_are_sound_and_damage_is_found(org: Org) -> None:
    org.sync_draft()
    org.sync_versions(settings.VERSIONS_ALL)
    with org.warehouse() as warehouse:
        assert check_versions(warehouse) == VersionChecks(0, 0, 0, 0)
        assert check_versions(warehouse).sound
        props = warehouse.query("SELECT * FROM {{schema}}.property_versions ORDER BY id LIMIT 3")
        child = warehouse.query(
            "SELECT * FROM {{schema}}.item_versions WHERE parent_item_id IS NOT NULL ORDER BY id LIMIT 1"
        )
        keys = [
            {"p": row.product_id, "n": int(row.version_number), "id": row.id}
            for row in [*props.itertuples(), *child.itertuples()]
        ]
        where = "WHERE product_id = :p AND version_number = :n AND id = :id"
        warehouse.query(f"DELETE FROM {{{{schema}}}}.property_versions {where} RETURNING 1", keys[0])
        duckdb = warehouse.dialect == "duckdb"  # PostgreSQL keeps the primary key and refuses a repeat
        if duckdb:
            warehouse.query(
                "INSERT INTO {{schema}}.property_versions "
                f"SELECT * FROM {{{{schema}}}}.property_versions {where} RETURNING 1",
                keys[1],
            )
        warehouse.query(
            f"UPDATE {{{{schema}}}}.property_versions SET item_id = 'nowhere' {where} RETURNING 1", keys[2]
        )
        warehouse.query(
            f"UPDATE {{{{schema}}}}.item_versions SET parent_item_id = 'nowhere' {where} RETURNING 1", keys[3]
        )
        found = check_versions(warehouse)
    assert found.repeated_keys == (1 if duckdb else 0)
    assert found.unresolved_items == 1
    assert found.unresolved_parents == 1
    assert found.miscounted_versions >= 1
    assert not found.sound
