"""Column-wise conversion of raw API values into typed pandas arrays.

Each converter takes one column's raw values (a Python sequence, one per record) and returns the typed array
plus the positions whose value did not fit the type; the caller keeps those raw values in `_extra`, so a
surprising value never crashes a sync and is never lost. Type checks use exact `type()` membership because
pyarrow would silently truncate `1.5` to an integer and turn `True` into `1.0`.

Cost matters here (a sync normalizes every record it fetches): per value, only C-level work where possible
(`map(type, ...)` for the type check, pyarrow for the conversion, `__from_arrow__` for the pandas array) and
Python-level work only for the values that need it (rejected values, JSON of nested values).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from json.encoder import encode_basestring
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
_STRINGS = _ACCEPTED_TYPES["text"]
ARROW_TYPES: dict[LogicalType, pa.DataType] = {
    "text": pa.large_string(),
    "json": pa.large_string(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
}
"""The Arrow type behind each pandas dtype (`string[pyarrow]` holds `large_string`)."""


def from_arrow(array: pa.Array, logical: LogicalType) -> Any:
    """The pandas array of the declared dtype holding an Arrow array of `ARROW_TYPES[logical]`."""
    return DTYPES[logical].__from_arrow__(array)


def nulls(size: int, logical: LogicalType) -> Any:
    """A fresh all-null pandas array of the declared dtype."""
    return from_arrow(pa.nulls(size, ARROW_TYPES[logical]), logical)


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


def _float_json(value: float) -> str:
    return float.__repr__(value) if math.isfinite(value) else encode_basestring(_NON_FINITE[repr(value)])


def _container_json(value: list[Any] | dict[str, Any]) -> str | None:
    if not value:
        return "[]" if type(value) is list else "{}"
    return json_text(value)


_SCALAR_JSON: dict[type, Callable[[Any], str | None]] = {
    str: encode_basestring,  # what `_JSON.encode` returns for a str
    int: int.__repr__,
    float: _float_json,
    list: _container_json,
    dict: _container_json,
}
"""`json_text` of the exact types a JSON parser returns, without the encoder's per-call set-up."""


def _typed(values: Sequence[Any], logical: LogicalType) -> Converted:
    accepted = _ACCEPTED_TYPES[logical]
    rejected: list[int] = []
    if not accepted.issuperset(map(type, values)):
        rejected = [position for position, value in enumerate(values) if type(value) not in accepted]
        values = list(values)
        for position in rejected:
            values[position] = None
    return from_arrow(pa.array(values, type=ARROW_TYPES[logical]), logical), rejected


def _json(values: Sequence[Any], logical: LogicalType) -> Converted:
    texts = [_SCALAR_JSON.get(type(value), json_text)(value) for value in values]
    return from_arrow(pa.array(texts, type=ARROW_TYPES[logical]), logical), []


def parse_datetimes(values: Sequence[Any], logical: LogicalType) -> Converted:
    """ISO 8601 strings to UTC timestamps or to dates (`logical`); values of another kind are rejected.

    pandas' ISO 8601 parser defines what is accepted. Arrow's stricter parser accepts a subset of those
    strings, parses them to the same instants, and costs a tenth as much per call: it does the common case
    and refuses the whole column (a string without a zone, an invalid date, nanoseconds) back to pandas.
    """
    all_strings = _STRINGS.issuperset(map(type, values))
    if all_strings:
        try:
            parsed_by_arrow = pc.cast(pa.array(values, type=pa.large_string()), ARROW_TYPES[logical])
        except pa.ArrowInvalid:
            pass
        else:
            return from_arrow(parsed_by_arrow, logical), []
    strings = values if all_strings else [value if type(value) is str else None for value in values]
    if logical == "timestamp":
        parsed = pd.to_datetime(pd.Series(strings, dtype=object), utc=True, format="ISO8601", errors="coerce")
        array: Any = parsed.astype(DTYPES["timestamp"]).array
    else:
        parsed = pd.to_datetime(pd.Series(strings, dtype=object), format="%Y-%m-%d", errors="coerce")
        array = from_arrow(pa.Array.from_pandas(parsed).cast(pa.date32()), "date")
    missing = np.flatnonzero(parsed.isna().to_numpy()).tolist()
    rejected = [position for position in missing if values[position] is not None]
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
