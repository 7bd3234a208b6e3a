"""normalize() against a plain record-by-record reference of its column rules.

normalize() is columnar and takes shortcuts for speed (one pass over the records, bulk type checks, Arrow's
timestamp parser for the common case). The reference below states the rules one record and one value at a
time, from `tables.py`; on the fake's data and on a list of odd records both must give the same frame:
values, dtypes, NA against NaN, `_extra` text and the Arrow types behind the columns.
"""

from __future__ import annotations

import json
import math
import warnings
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from poelis_pipelines.fake_api import generate_organization
from poelis_pipelines.normalize import normalize, parse_formula_result
from poelis_pipelines.normalize.units import si_conversion, si_unit_of_category
from poelis_pipelines.tables import EXTRA, PANDAS_DTYPES, TABLES, Column, LogicalType, Table

ACCEPTED: dict[LogicalType, tuple[type, ...]] = {
    "text": (str,),
    "bigint": (int,),
    "double": (int, float),
    "boolean": (bool,),
}


def json_text(value: Any) -> str | None:
    def strict(item: Any) -> Any:
        if isinstance(item, float) and not math.isfinite(item):
            return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[repr(item)]
        if isinstance(item, dict):
            return {key: strict(inner) for key, inner in item.items()}
        if isinstance(item, list | tuple):
            return [strict(inner) for inner in item]
        return item

    return None if value is None else json.dumps(strict(value), ensure_ascii=False, separators=(",", ":"))


def parsed(value: Any, logical: LogicalType) -> Any:
    """A timestamp or date as pandas' own parser reads one string, or None."""
    if type(value) is not str:
        return None
    if logical == "timestamp":
        stamp = pd.to_datetime(value, utc=True, format="ISO8601", errors="coerce")
        return None if pd.isna(stamp) else stamp
    day = pd.to_datetime(value, format="%Y-%m-%d", errors="coerce")
    return None if pd.isna(day) else day.date()


def cell(value: Any, logical: LogicalType) -> tuple[Any, bool]:
    """(the column's value, whether the raw value was rejected into `_extra`)."""
    if value is None:
        return None, False
    if logical == "json":
        return json_text(value), False
    if logical in ("timestamp", "date"):
        result = parsed(value, logical)
        return result, result is None
    if type(value) not in ACCEPTED[logical]:
        return None, True
    return (float(value) if logical == "double" else value), False


def matrix(value: Any) -> str | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if value == []:
        return "[]"
    rows_ok = isinstance(value, list) and value and all(isinstance(row, list) for row in value)
    if not rows_ok or len({len(row) for row in value}) != 1:
        return None
    cells = [item for row in value for item in row]
    if not all(item is None or type(item) in (int, float) for item in cells):
        return None
    if not all(math.isfinite(item) for item in cells if type(item) is float):
        return None
    return json.dumps(value, separators=(",", ":"))


def typed(kind: Any, value: Any, unit: Any, category: Any) -> dict[str, Any]:
    """SPEC section 6: the typed value columns of one property; SI values by the cached conversion per (unit,
    category) (its exactness is tested in test_units.py), applied here value by value."""
    out: dict[str, Any] = dict.fromkeys(
        ("value_number", "value_unit", "value_si", "si_unit", "value_text", "value_date", "value_matrix")
    )
    text = value if type(value) is str else None
    if kind == "numeric":
        out["value_number"] = float(value) if type(value) in (int, float) else None
        out["value_unit"] = unit if type(unit) is str else None
    elif kind in ("text", "status"):
        out["value_text"] = text
    elif kind == "formula" and text is not None:
        out["value_text"] = text
        out["value_number"], out["value_unit"] = parse_formula_result(text)
    elif kind == "date":
        out["value_date"] = parsed(value, "date")
    elif kind == "matrix":
        out["value_matrix"] = matrix(value)
        out["value_unit"] = unit if type(unit) is str else None
    category_si_unit = si_unit_of_category(category if type(category) is str else None)
    conversion = si_conversion(out["value_unit"], category_si_unit) if out["value_unit"] is not None else None
    if conversion is not None:
        out["si_unit"] = conversion.unit
        if out["value_number"] is not None:
            out["value_si"] = out["value_number"] * conversion.factor + conversion.offset
    return out


def reference_row(table: Table, record: dict[str, Any], lineage: dict[str, str]) -> dict[str, Any]:
    api = [column for column in table.columns if column.origin == "api"]
    flat = [column for column in api if len(column.path) == 1]
    nested: dict[str, list[Column]] = {}
    for column in api:
        if len(column.path) == 2:
            nested.setdefault(column.path[0], []).append(column)
    extra: dict[str, Any] = {}
    for key, columns in nested.items():
        parent = record.get(key)
        known = {"imageUrl"} | {column.path[1] for column in columns}
        legacy_text = key == "owner" and "owner_text" in table.column_names and type(parent) is str
        if (
            parent is not None
            and not legacy_text
            and (type(parent) is not dict or not parent.keys() <= known)
        ):
            extra[key] = parent
    known_keys = {column.path[0] for column in api}
    for key in record:
        if key not in known_keys:
            extra[key] = record[key]
    row: dict[str, Any] = dict(lineage)
    for column in flat + [column for columns in nested.values() for column in columns]:
        parent = record if len(column.path) == 1 else record.get(column.path[0])
        raw = parent.get(column.path[-1]) if type(parent) is dict else None
        row[column.name], rejected = cell(raw, column.type)
        if rejected:
            extra[column.source] = raw
    if "owner_text" in table.column_names:
        row["owner_text"] = record["owner"] if type(record.get("owner")) is str else None
    if table.name == "properties":
        row.update(
            typed(record.get("type"), record.get("value"), record.get("display_unit"), record.get("category"))
        )
    row[EXTRA] = json_text(extra) if extra else None
    return row


def column_array(values: list[Any], logical: LogicalType) -> Any:
    if logical in ("double", "date"):  # Arrow-backed: NaN stays NaN, dates stay dates
        return pd.arrays.ArrowExtensionArray(
            pa.array(values, type=pa.float64() if logical == "double" else pa.date32())
        )
    if logical == "timestamp":
        values = [pd.NaT if value is None else value for value in values]
    return pd.Series(values, dtype=PANDAS_DTYPES[logical]).array


def reference(table_name: str, records: list[dict[str, Any]], lineage: dict[str, str]) -> pd.DataFrame:
    table = TABLES[table_name]
    rows = [reference_row(table, record, lineage) for record in records]
    frame = pd.DataFrame(
        {
            column.name: column_array([row.get(column.name) for row in rows], column.type)
            for column in table.columns
        }
    )
    return frame.drop_duplicates("id", keep="last", ignore_index=True)


def assert_same(table_name: str, records: list[dict[str, Any]], lineage: dict[str, str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        actual = normalize(table_name, records, endpoint=table_name, **lineage)
    expected = reference(table_name, records, lineage)
    pd.testing.assert_frame_equal(actual, expected, check_dtype=True, check_exact=True)
    for name in actual.columns:
        got, want = actual[name].array, expected[name].array
        assert type(got) is type(want), name
        if isinstance(got, pd.arrays.ArrowExtensionArray):
            got_arrow, want_arrow = pa.array(got), pa.array(want)
            assert got_arrow.type == want_arrow.type, name
            assert [repr(value) for value in got_arrow.to_pylist()] == [
                repr(value) for value in want_arrow.to_pylist()
            ], name  # NaN apart from null


LINEAGE = {
    "workspaces": {},
    "products": {},
    "items": {"workspace_id": "ws-1"},
    "properties": {"product_id": "prod-1", "workspace_id": "ws-1"},
}
ODD_RECORDS: list[dict[str, Any]] = [
    {
        "id": "a",
        "item_id": "i",
        "type": "numeric",
        "value": float("nan"),
        "display_unit": 3,
        "deleted": "yes",
    },
    {
        "id": "b",
        "item_id": 5,
        "type": "numeric",
        "value": True,
        "createdAt": "2024-01-01",
        "updatedAt": 12,
        "createdBy": {"id": 3},
    },
    {"id": "c", "item_id": "i", "type": "formula", "value": "1e400 kg", "owner": "Team", "createdBy": "bob"},
    {
        "id": "d",
        "item_id": "i",
        "type": "formula",
        "value": "nan",
        "owner": {"id": "u", "userName": "n", "x": 1},
    },
    {"id": "e", "item_id": "i", "type": "date", "value": 20240101, "updatedBy": [1], "createdBy": {"id": 3}},
    {"id": "f", "item_id": "i", "type": "date", "value": "2024-02-30", "references": [{"x": float("inf")}]},
    {"id": "g", "item_id": "i", "type": "date", "value": "2024-02-03T00:00:00Z", "position": True},
    {"id": "h", "item_id": "i", "type": "matrix", "value": [[1, None], [2.5, 3]], "display_unit": "bar"},
    {"id": "i", "item_id": "i", "type": "matrix", "value": "[[NaN]]", "has_changes": 1},
    {"id": "i2", "item_id": "i", "type": "matrix", "value": "[]", "display_unit": "psi"},
    {"id": "i3", "item_id": "i", "type": "numeric", "value": 68, "display_unit": "°F"},
    {"id": "i4", "item_id": "i", "type": "numeric", "value": float("-inf"), "display_unit": "my-unit"},
    {"id": "i5", "item_id": "i", "type": "formula", "value": "0.34 kW/kg"},
    {"id": "j", "item_id": "i", "type": None, "value": None, "zzz": {"a": [1, float("-inf")]}},
    {"id": "k", "item_id": "i", "type": 7, "value": {"k": 1}, "position": 2**40},
    {"id": "l", "item_id": "i", "type": "text", "value": 5, "createdAt": "2024-01-01T10:00:00+02:00"},
    {
        "id": "m",
        "item_id": "i",
        "type": "status",
        "value": "x",
        "createdAt": "2024-01-01 10:00:00",
        "position": 3,
    },
    {"id": "n", "item_id": "i", "type": "text", "value": "x", "createdAt": "2024-01-01T10:00:00.123456789Z"},
    {"id": "o", "item_id": "i", "type": "numeric", "value": -0.0, "position": float("nan"), "updatedAt": ""},
    {
        "id": "p",
        "item_id": "i",
        "type": "date",
        "value": "2024-1-2",
        "createdAt": "2024-06-01T10:00:00.5+0530",
    },
    {"id": "q", "item_id": "i", "type": "date", "value": "0001-01-01", "createdAt": "2024-01-01T23:59:60Z"},
    {"id": "a", "item_id": "i", "type": "numeric", "value": 2**70, "status": "s", "archived": 0},
    {"id": "r", "excludedStatusIds": ["x"], "baseline_version_number": 2.0, "status": {"id": "s", "name": 1}},
]


@pytest.mark.parametrize("table_name", list(TABLES))
def test_fake_organization_normalizes_like_the_reference(table_name: str) -> None:
    dataset = generate_organization(seed=0, scale="tiny")
    records = {
        "workspaces": dataset.workspaces,
        "products": dataset.products,
        "items": dataset.items,
        "properties": dataset.properties,
    }[table_name]
    assert_same(table_name, list(records), LINEAGE[table_name])


@pytest.mark.parametrize("table_name", list(TABLES))
def test_odd_records_normalize_like_the_reference(table_name: str) -> None:
    assert_same(table_name, ODD_RECORDS, LINEAGE[table_name])
    for record in ODD_RECORDS:  # alone too: a column of one kind takes other paths than a mixed one
        assert_same(table_name, [record], LINEAGE[table_name])
    assert_same(table_name, [], LINEAGE[table_name])
