"""Column-wise conversion of raw API values into typed pandas arrays.

Each converter takes one column's raw values (a Python list, one per record) and returns the typed array plus
the positions whose value did not fit the type; the caller keeps those raw values in `_extra`, so a surprising
value never crashes a sync and is never lost. Type checks use exact `type()` membership because pyarrow would
silently truncate `1.5` to an integer and turn `True` into `1.0`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import pyarrow as pa

from poelis_pipelines.tables import PANDAS_DTYPES, LogicalType

Converted = tuple[Any, list[int]]
"""(pandas array of the declared dtype, positions of rejected values)"""

DTYPES: dict[LogicalType, Any] = {
    logical: pd.api.types.pandas_dtype(name) for logical, name in PANDAS_DTYPES.items()
}
"""`tables.PANDAS_DTYPES` resolved to dtype objects."""
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
_ACCEPTED_TYPES: dict[LogicalType, frozenset[type]] = {
    "text": frozenset({str, type(None)}),
    "bigint": frozenset({int, type(None)}),
    "double": frozenset({int, float, type(None)}),
    "boolean": frozenset({bool, type(None)}),
}
_ARROW_TYPES: dict[LogicalType, pa.DataType] = {
    "text": pa.string(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
}


def _without_non_finite(value: Any) -> Any:
    """Strict JSON has no NaN/Infinity: they become the strings Python's json module would have parsed."""
    if isinstance(value, float) and not math.isfinite(value):
        return _NON_FINITE[repr(value)]
    if isinstance(value, dict):
        return {key: _without_non_finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_without_non_finite(item) for item in value]
    return value


def json_text(value: Any) -> str | None:
    """Compact, strict JSON text of a value as received (key order kept); None stays SQL NULL."""
    if value is None:
        return None
    try:
        return _JSON.encode(value)
    except ValueError:
        return _JSON.encode(_without_non_finite(value))


def _typed(values: Sequence[Any], logical: LogicalType) -> Converted:
    accepted = _ACCEPTED_TYPES[logical]
    rejected = [position for position, value in enumerate(values) if type(value) not in accepted]
    if rejected:
        values = list(values)
        for position in rejected:
            values[position] = None
    array = pa.array(values, type=_ARROW_TYPES[logical])
    return pd.array(pd.arrays.ArrowExtensionArray(array), dtype=DTYPES[logical]), rejected


def _json(values: Sequence[Any], logical: LogicalType) -> Converted:
    return pd.array([json_text(value) for value in values], dtype=DTYPES[logical]), []


def parse_datetimes(values: Sequence[Any], logical: LogicalType) -> Converted:
    """ISO 8601 strings to UTC timestamps or to dates (`logical`); values of another kind are rejected."""
    strings = [value if type(value) is str else None for value in values]
    if logical == "timestamp":
        parsed = pd.to_datetime(pd.Series(strings, dtype=object), utc=True, format="ISO8601", errors="coerce")
        array: Any = parsed.astype(DTYPES["timestamp"]).array
    else:
        parsed = pd.to_datetime(pd.Series(strings, dtype=object), format="%Y-%m-%d", errors="coerce")
        array = pd.arrays.ArrowExtensionArray(pa.Array.from_pandas(parsed).cast(pa.date32()))
    missing = parsed.isna().to_numpy()
    rejected = [position for position, value in enumerate(values) if value is not None and missing[position]]
    return array, rejected


CONVERTERS: dict[LogicalType, Callable[[Sequence[Any], LogicalType], Converted]] = {
    "text": _typed,
    "bigint": _typed,
    "double": _typed,
    "boolean": _typed,
    "json": _json,
    "timestamp": parse_datetimes,
    "date": parse_datetimes,
}


def convert(values: Sequence[Any], logical: LogicalType) -> Converted:
    """Typed array of `values` as the declared logical type, and the positions that did not fit."""
    return CONVERTERS[logical](values, logical)
