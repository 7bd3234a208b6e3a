"""normalize(): SPEC payloads, legacy shapes, typed property values, misfits kept in `_extra`, errors."""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
import warnings
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from poelis_pipelines import settings
from poelis_pipelines.normalize import (
    NormalizationError,
    UnknownPropertyTypeWarning,
    matrix_text,
    normalize,
    parse_formula_result,
)
from poelis_pipelines.tables import PANDAS_DTYPES, TABLES

EXAMPLES = Path(__file__).resolve().parent / "spec_examples"
LINEAGE = {
    "workspaces": {},
    "products": {},
    "items": {"workspace_id": "ws-1"},
    "properties": {"product_id": "prod-1", "workspace_id": "ws-1"},
}


def examples(name: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads((EXAMPLES / f"{name}.json").read_text())["items"]
    return records


def normalized(table: str, records: list[dict[str, Any]]) -> pd.DataFrame:
    return normalize(table, records, endpoint=f"/v1/public/{table}", **LINEAGE[table])


def by_id(frame: pd.DataFrame, record_id: str) -> dict[str, Any]:
    rows = frame[frame["id"] == record_id]
    assert len(rows) == 1
    return rows.iloc[0].to_dict()


@pytest.mark.parametrize("table_name", list(TABLES))
def test_spec_examples_give_exactly_the_declared_columns_and_dtypes(table_name: str) -> None:
    records = examples(table_name)
    frame = normalized(table_name, records)
    table = TABLES[table_name]
    assert list(frame.columns) == list(table.column_names)
    for column in table.columns:
        assert frame[column.name].dtype == pd.api.types.pandas_dtype(PANDAS_DTYPES[column.type]), column.name
    assert frame["id"].tolist() == [record["id"] for record in records]
    assert frame["_extra"].isna().all()  # the examples hold no field the schema does not know


def test_products_flatten_users_status_and_lists_and_missing_keys_become_null() -> None:
    frame = normalized("products", examples("products"))
    full = by_id(frame, "660e8400-e29b-41d4-a716-446655440000")
    assert full["status_name"] == "In Progress"
    assert full["status_color"] == "#3b82f6"
    assert full["status_group_key"] == "started"
    assert full["excluded_status_ids"] == "[]"
    assert full["owner_name"] == "Jane Doe"
    assert full["created_by_id"] == "auth0|550e8400-e29b-41d4-a716-446655440000"
    assert full["baseline_version_number"] == 5
    assert full["created_at"] == pd.Timestamp("2026-01-10T09:00:00Z")
    sparse = by_id(frame, "660e8400-e29b-41d4-a716-446655440001")
    for missing in ("archived", "status_id", "excluded_status_ids", "baseline_version_number", "updated_at"):
        assert pd.isna(sparse[missing]), missing


def test_items_carry_workspace_lineage_and_a_missing_updated_by_is_null() -> None:
    frame = normalized("items", examples("items"))
    assert set(frame["workspace_id"]) == {"ws-1"}
    combustor = by_id(frame, "770e8400-e29b-41d4-a716-446655440002")
    assert pd.isna(combustor["updated_by_id"])
    assert pd.isna(combustor["updated_at"])
    assert combustor["parent_item_id"] == "770e8400-e29b-41d4-a716-446655440000"


def test_every_property_type_of_the_spec_gets_its_typed_value() -> None:
    frame = normalized("properties", examples("properties")).set_index("readable_id")
    assert frame.loc["max_power", "value_number"] == 150.5
    assert frame.loc["max_power", "value_unit"] == "kW"
    assert frame.loc["max_power", "value"] == "150.5"
    assert frame.loc["max_power", "references"] == (
        '[{"item_document_id":"990e8400-e29b-41d4-a716-446655440000","page":42}]'
    )
    assert frame.loc["pressure_map", "value_matrix"] == "[[1.0,1.2],[1.4,1.6]]"
    assert frame.loc["pressure_map", "value_unit"] == "bar"
    assert frame.loc["pressure_map", "value"] == '"[[1.0,1.2],[1.4,1.6]]"'
    assert frame.loc["power_to_mass", "value_number"] == 0.34
    assert frame.loc["power_to_mass", "value_unit"] == "kW/kg"
    assert frame.loc["power_to_mass", "value_text"] == "0.34 kW/kg"
    assert frame.loc["material", "value_text"] == "Ti-6Al-4V"
    assert frame.loc["design_freeze", "value_date"] == date(2025, 1, 29)
    assert frame.loc["review_state", "value_text"] == "Under Review"
    assert set(frame["product_id"]) == {"prod-1"}


def test_legacy_fields_are_accepted_and_a_string_owner_goes_to_owner_text() -> None:
    legacy = {
        "id": "p-legacy",
        "readable_id": "max-power",
        "item_id": "i-1",
        "name": "Max Power",
        "type": "numeric",
        "value": 3,
        "deleted": False,
        "category": "Performance",
        "display_unit": "kW",
        "position": 2,
        "has_changes": True,
        "owner": "Engineering Team",
        "has_formula_dependency_changes": None,
    }
    current_owner = {
        **legacy,
        "id": "p-current",
        "owner": {"id": "auth0|u", "userName": "Jane", "imageUrl": None},
    }
    frame = normalized("properties", [legacy, current_owner])
    old, new = by_id(frame, "p-legacy"), by_id(frame, "p-current")
    assert old["owner_text"] == "Engineering Team"
    assert pd.isna(old["owner_id"])
    assert old["position"] == 2.0
    assert old["has_changes"] is True
    assert old["value_number"] == 3.0
    assert pd.isna(old["_extra"])
    assert new["owner_id"] == "auth0|u"
    assert new["owner_name"] == "Jane"
    assert pd.isna(new["owner_text"])


def test_unknown_fields_and_values_that_do_not_fit_are_kept_in_extra() -> None:
    record = copy.deepcopy(examples("products")[0])
    record["orgId"] = "org-9"
    record["createdAt"] = "not a timestamp"
    record["baseline_version_number"] = 1.5
    record["status"] = {**record["status"], "order": 3}
    frame = normalized("products", [record])
    row = frame.iloc[0]
    assert pd.isna(row["created_at"])
    assert pd.isna(row["baseline_version_number"])
    assert row["status_name"] == "In Progress"
    extra = json.loads(row["_extra"])
    assert extra["orgId"] == "org-9"
    assert extra["createdAt"] == "not a timestamp"
    assert extra["baseline_version_number"] == 1.5
    assert extra["status"]["order"] == 3


EXTRA_TEXT_SCRIPT = """
import json, sys
from poelis_pipelines.normalize import normalize
record = json.loads(sys.stdin.read())
print(normalize("products", [record], endpoint="test")["_extra"].iloc[0])
"""


def test_extra_keeps_unknown_keys_in_the_records_order_in_every_process() -> None:
    """The merge compares `_extra` as text: if its key order followed string hashing (random per process),
    every sync would see a change, update the row and write a history version."""
    record = copy.deepcopy(examples("products")[0])
    unknown = {f"field_{name}": index for index, name in enumerate("zyxwvutsrq")}
    record.update(unknown)
    texts = {
        subprocess.run(
            [sys.executable, "-c", EXTRA_TEXT_SCRIPT],
            input=json.dumps(record),
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
        ).stdout.strip()
        for seed in (1, 2, 3)
    }
    assert len(texts) == 1
    assert list(json.loads(texts.pop())) == list(unknown)


@pytest.mark.parametrize(
    ("raw", "number", "json_value"),
    [
        (float("nan"), "nan", '"NaN"'),
        (float("inf"), math.inf, '"Infinity"'),
        (float("-inf"), -math.inf, '"-Infinity"'),
    ],
)
def test_non_finite_numbers_stay_ieee_in_value_number_and_strict_json_in_value(
    raw: float, number: float | str, json_value: str
) -> None:
    record = {"id": "p", "item_id": "i", "type": "numeric", "value": raw, "display_unit": "kW"}
    row = normalized("properties", [record]).iloc[0]
    assert row["value"] == json_value
    if number == "nan":
        assert math.isnan(row["value_number"])
    else:
        assert row["value_number"] == number


@pytest.mark.parametrize(
    "matrix",
    ["[[1,2],[3", "[1,2,3]", "[[1,2],[3]]", '[["a"]]', "[[]", "42", "[[true]]", "{}"],
)
def test_a_malformed_matrix_keeps_value_and_leaves_value_matrix_null(matrix: str) -> None:
    record = {"id": "m", "item_id": "i", "type": "matrix", "value": matrix, "display_unit": "bar"}
    row = normalized("properties", [record]).iloc[0]
    assert pd.isna(row["value_matrix"])
    assert json.loads(row["value"]) == matrix


@pytest.mark.parametrize("empty", ["[]", " [ ] ", []])
def test_an_empty_matrix_reads_as_an_empty_array_not_as_malformed(empty: str | list[Any]) -> None:
    record = {"id": "m", "item_id": "i", "type": "matrix", "value": empty, "display_unit": "bar"}
    row = normalized("properties", [record]).iloc[0]
    assert row["value_matrix"] == "[]"
    assert (row["value_unit"], row["si_unit"]) == ("bar", "Pa")
    assert pd.isna(row["value_si"])
    assert matrix_text("[[]]") == "[[]]"  # one empty row is rectangular too


def test_matrix_text_accepts_the_write_shape_and_nulls() -> None:
    assert matrix_text([[1, None], [2.5, 3]]) == "[[1,null],[2.5,3]]"
    assert matrix_text(" [[1, 2]] ") == "[[1,2]]"


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ("10 kg", (10.0, "kg")),
        ("0.34 kW/kg", (0.34, "kW/kg")),
        ("-1.5e3 Pa", (-1500.0, "Pa")),
        ("42", (42.0, None)),
        ("  7 °C ", (7.0, "°C")),
        ("abc", (None, None)),
        ("", (None, None)),
    ],
)
def test_formula_results_split_into_number_and_unit(
    result: str, expected: tuple[float | None, str | None]
) -> None:
    assert parse_formula_result(result) == expected


def test_unicode_none_long_text_and_a_bad_date_round_trip_into_the_frame() -> None:
    long_text = "Ω≈ç√ 🚀 " * 12_800  # ~100 KB
    records = [
        {"id": "t1", "item_id": "i", "type": "text", "value": long_text, "name": "Größe 名前"},
        {"id": "t2", "item_id": "i", "type": "text", "value": None},
        {"id": "d1", "item_id": "i", "type": "date", "value": "2025-13-45"},
        {"id": "f1", "item_id": "i", "type": "formula", "value": None, "formula_expression": "@{x} / 0"},
    ]
    frame = normalized("properties", records).set_index("id")
    assert frame.loc["t1", "value_text"] == long_text
    assert frame.loc["t1", "name"] == "Größe 名前"
    assert json.loads(frame.loc["t1", "value"]) == long_text
    assert pd.isna(frame.loc["t2", "value"])
    assert pd.isna(frame.loc["t2", "value_text"])
    assert pd.isna(frame.loc["d1", "value_date"])
    assert frame.loc["d1", "value"] == '"2025-13-45"'
    assert pd.isna(frame.loc["f1", "value_number"])


def test_an_unknown_property_type_is_kept_and_reported_as_a_distinct_warning() -> None:
    records = [
        {"id": "k", "item_id": "i", "type": "numeric", "value": 1},
        {"id": "u", "item_id": "i", "type": "vector", "value": [1, 2, 3]},
    ]
    with pytest.warns(UnknownPropertyTypeWarning, match="vector"):
        frame = normalized("properties", records)
    unknown = by_id(frame, "u")
    assert unknown["type"] == "vector"
    assert unknown["value"] == "[1,2,3]"
    assert all(
        pd.isna(unknown[name]) for name in ("value_number", "value_text", "value_date", "value_matrix")
    )
    assert frame.attrs["unknown_property_types"] == {"vector": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownPropertyTypeWarning)
        with pytest.raises(UnknownPropertyTypeWarning):
            normalized("properties", records)


def test_every_documented_property_type_is_known() -> None:
    records = [{"id": kind, "item_id": "i", "type": kind, "value": None} for kind in settings.PROPERTY_TYPES]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownPropertyTypeWarning)
        frame = normalized("properties", records)
    assert "unknown_property_types" not in frame.attrs


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([{"id": "a"}, {"name": "no id"}], r"/v1/public/workspaces record #1: has no usable 'id'"),
        ([{"id": "a"}, {"id": ""}], r"record #1: has no usable 'id'"),
        ([{"id": 7}], r"record #0: has no usable 'id'"),
        ([{"id": "a"}, ["not", "a", "dict"]], r"record #1: expected a JSON object, got list"),
    ],
)
def test_records_without_an_id_or_not_objects_are_a_clear_error(records: list[Any], message: str) -> None:
    with pytest.raises(NormalizationError, match=message) as raised:
        normalize("workspaces", records, endpoint="/v1/public/workspaces")
    assert raised.value.endpoint == "/v1/public/workspaces"


def test_wrong_lineage_or_table_is_a_clear_error() -> None:
    with pytest.raises(NormalizationError, match=r"needs lineage \['product_id', 'workspace_id'\]"):
        normalize("properties", [], endpoint="e", product_id="p")
    with pytest.raises(NormalizationError, match="unknown table 'files'"):
        normalize("files", [], endpoint="e")


def test_an_empty_listing_gives_an_empty_typed_frame() -> None:
    frame = normalized("items", [])
    assert list(frame.columns) == list(TABLES["items"].column_names)
    assert len(frame) == 0
    assert frame["created_at"].dtype == pd.api.types.pandas_dtype("datetime64[us, UTC]")


def test_a_repeated_id_keeps_the_last_copy() -> None:
    records = [{"id": "w", "name": "old"}, {"id": "x", "name": "other"}, {"id": "w", "name": "new"}]
    with pytest.warns(UserWarning, match="repeated an id"):
        frame = normalized("workspaces", records)
    assert frame.set_index("id")["name"].to_dict() == {"x": "other", "w": "new"}
