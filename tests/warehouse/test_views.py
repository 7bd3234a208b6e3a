"""The views: exactly the columns `tables.VIEWS` declares (so docs/tables.md cannot drift); live rows only."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from warehouse_helpers import PRODUCT_ID, spec_batches, spec_examples

from poelis_pipelines.tables import VIEWS, LogicalType
from poelis_pipelines.warehouse import Warehouse
from poelis_pipelines.warehouse.ddl import DOCS_FILE
from poelis_pipelines.warehouse.statements import FINGERPRINT_TABLE, SQL_DIR

# information_schema's spelling of each logical type (JSON is text in both warehouses)
REPORTED_TYPES: dict[str, dict[str, LogicalType]] = {
    "duckdb": {
        "VARCHAR": "text",
        "BIGINT": "bigint",
        "DOUBLE": "double",
        "BOOLEAN": "boolean",
        "TIMESTAMP WITH TIME ZONE": "timestamp",
        "DATE": "date",
    },
    "postgresql": {
        "text": "text",
        "bigint": "bigint",
        "double precision": "double",
        "boolean": "boolean",
        "timestamp with time zone": "timestamp",
        "date": "date",
    },
}
FIRST_SYNC = datetime(2026, 3, 1, tzinfo=UTC)
SECOND_SYNC = datetime(2026, 3, 2, tzinfo=UTC)


def columns_of(warehouse: Warehouse, relation: str) -> list[tuple[str, str]]:
    frame = warehouse.query(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = :schema AND table_name = :relation ORDER BY ordinal_position",
        {"schema": warehouse.schema, "relation": relation},
    )
    return list(frame.itertuples(index=False, name=None))


def test_every_view_file_is_declared() -> None:
    assert sorted(VIEWS) == sorted(path.stem for path in (SQL_DIR / "views").glob("*.sql"))


def test_each_view_has_exactly_the_declared_columns_and_types(view_warehouse: Warehouse) -> None:
    view_warehouse.create_views()
    reported = REPORTED_TYPES[view_warehouse.dialect]
    for view in VIEWS.values():
        actual = [
            (name, reported.get(data_type, data_type))
            for name, data_type in columns_of(view_warehouse, view.name)
        ]
        declared = [
            (column.name, "text" if column.type == "json" else column.type) for column in view.columns
        ]
        assert actual == declared, (
            f"{view.name}: declare its columns in tables.VIEWS, then regenerate the docs"
        )


def test_the_fingerprint_table_is_documented(view_warehouse: Warehouse) -> None:
    docs = DOCS_FILE.read_text(encoding="utf-8")
    section = docs.split(f"## `{FINGERPRINT_TABLE}`")[1].split("\n## ")[0].split("\n# ")[0]
    columns = columns_of(view_warehouse, FINGERPRINT_TABLE)
    assert columns
    for name, _type in columns:
        assert f"| `{name}` |" in section


@pytest.mark.parametrize("how", ["deleted", "removed"])
def test_property_values_leaves_out_the_properties_of_a_gone_item(
    view_warehouse: Warehouse, how: str
) -> None:
    view_warehouse.merge(spec_batches(), synced_at=FIRST_SYNC)
    view_warehouse.create_views()
    live = view_warehouse.query("SELECT property_readable_id, item_id FROM {{schema}}.property_values")
    assert len(live) == 7
    (item_id,) = set(live["item_id"])
    items = spec_examples("items")
    if how == "deleted":
        items = [{**item, "deleted": True} if item["id"] == item_id else item for item in items]
    else:
        items = [item for item in items if item["id"] != item_id]
    view_warehouse.merge(spec_batches(items=items), synced_at=SECOND_SYNC)
    assert view_warehouse.row_count("properties") == 7  # the rows stay in the table ...
    assert view_warehouse.query("SELECT * FROM {{schema}}.property_values").empty  # ... but are not live
    summary = view_warehouse.query(
        "SELECT items, properties FROM {{schema}}.product_summary WHERE product_id = :product",
        {"product": PRODUCT_ID},
    )
    assert summary.values.tolist() == [[2, 0]]


def test_property_values_shows_values_in_si(view_warehouse: Warehouse) -> None:
    view_warehouse.merge(spec_batches(), synced_at=FIRST_SYNC)
    view_warehouse.create_views()
    values = view_warehouse.query(
        "SELECT property_readable_id, value_si, si_unit FROM {{schema}}.property_values "
        "WHERE si_unit IS NOT NULL ORDER BY property_readable_id"
    )
    assert values["property_readable_id"].tolist() == [
        "max_power",
        "power_to_mass",
        "pressure_map",
        "stage_mass",
    ]
    assert values["si_unit"].tolist() == ["W", "W/kg", "Pa", "kg"]
    assert values["value_si"].tolist()[:2] == [pytest.approx(150500.0), pytest.approx(340.0)]
    assert pd.isna(values["value_si"].iloc[2])  # a matrix has no single value
    assert values["value_si"].iloc[3] == 442.0
