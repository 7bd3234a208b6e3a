"""API records -> a pandas frame with exactly the declared columns and dtypes of one warehouse table.

Reads every record once (its fields transposed into columns in C), then works column by column: one
vectorised type check and conversion per column, Python-level work only for the values that need it.
Nothing is dropped: fields the schema does not know and values that do not fit their column go to `_extra`
as JSON.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress, count, repeat
from operator import not_
from typing import Any

import pandas as pd

from poelis_pipelines.normalize.errors import NormalizationError, UnknownPropertyTypeWarning
from poelis_pipelines.normalize.property_values import typed_values
from poelis_pipelines.normalize.units import si_columns
from poelis_pipelines.normalize.values import convert, from_arrow, json_text, nulls, parse_datetimes
from poelis_pipelines.redaction import scrub
from poelis_pipelines.tables import EXTRA, Column, Table, merged_tables

_NO_FIELDS: dict[str, Any] = {}
"""Read (never written) in place of a nested value that is not an object, so `dict.get` gives None."""
UNMODELLED_NESTED_FIELDS = frozenset({"imageUrl"})
"""Documented nested fields deliberately not given a column (a user's avatar URL); they are not kept."""
LEGACY_TEXT_OWNER = "owner_text"


def _checked_records(records: Iterable[Mapping[str, Any]], endpoint: str) -> list[dict[str, Any]]:
    """Plain dicts (cheap exact type checks later) with a usable id, or an error naming the position."""
    checked: list[dict[str, Any]] = []
    for position, record in enumerate(records):
        if type(record) is not dict:
            if not isinstance(record, Mapping):
                raise NormalizationError(
                    f"expected a JSON object, got {type(record).__name__}",
                    endpoint=endpoint,
                    position=position,
                )
            record = dict(record)
        record_id = record.get("id")
        if not isinstance(record_id, str) or not record_id:
            raise NormalizationError(
                f"has no usable 'id' (got {record_id!r})", endpoint=endpoint, position=position
            )
        checked.append(record)
    return checked


def _checked_lineage(table: Table, lineage: Mapping[str, str], endpoint: str) -> dict[str, str]:
    expected = {column.name for column in table.columns if column.origin == "lineage"}
    if set(lineage) != expected:
        raise NormalizationError(
            f"table {table.name!r} needs lineage {sorted(expected)}, got {sorted(lineage)}", endpoint=endpoint
        )
    for name, value in lineage.items():
        if not isinstance(value, str) or not value:
            raise NormalizationError(f"lineage {name}={value!r} is not an id", endpoint=endpoint)
    return dict(lineage)


class _Extras:
    """Per-record fields to keep in `_extra`: unknown keys and raw values that did not fit their column."""

    def __init__(self, size: int) -> None:
        self._by_position: dict[int, dict[str, Any]] = {}
        self._size = size

    def keep(self, position: int, key: str, raw: Any) -> None:
        self._by_position.setdefault(position, {})[key] = raw

    def column(self) -> list[str | None]:
        texts: list[str | None] = [None] * self._size
        for position, fields in self._by_position.items():
            texts[position] = json_text(fields)
        return texts


@dataclass(frozen=True)
class _Layout:
    """Where a table's API columns sit in a record, worked out once per table."""

    keys: tuple[str, ...]
    """The top-level keys the columns read, each once."""
    flat: tuple[Column, ...]
    """Columns read from a top-level key."""
    nested: tuple[tuple[str, tuple[Column, ...]], ...]
    """Each nested object's key and the columns read from inside it."""

    @property
    def columns(self) -> tuple[Column, ...]:
        """Every API column, flat ones first: the order misfits are added to `_extra`."""
        return self.flat + tuple(column for _key, columns in self.nested for column in columns)


@functools.cache
def _layout(table_name: str) -> _Layout:
    api = [column for column in merged_tables()[table_name].columns if column.origin == "api"]
    nested: dict[str, list[Column]] = {}
    for column in api:
        if len(column.path) > 1:
            nested.setdefault(column.path[0], []).append(column)
    return _Layout(
        keys=tuple(dict.fromkeys(column.path[0] for column in api)),
        flat=tuple(column for column in api if len(column.path) == 1),
        nested=tuple((key, tuple(columns)) for key, columns in nested.items()),
    )


def _api_values(records: list[dict[str, Any]], table: Table, extras: _Extras) -> dict[str, Sequence[Any]]:
    """The raw value of every API column (and of `owner_text`) for every record.

    One pass reads every key of every record (the rows are transposed to columns in C). A nested object
    (user, status) of the wrong shape, or with keys the schema does not know, is kept whole in `_extra`; a
    legacy string `owner` is expected where the table has `owner_text`. Unknown top-level keys go to `_extra`.
    """
    layout = _layout(table.name)
    size = len(records)
    rows = [tuple(map(record.get, layout.keys)) for record in records]
    columns_of_rows = zip(*rows, strict=True) if rows else [()] * len(layout.keys)
    by_key: dict[str, Sequence[Any]] = dict(zip(layout.keys, columns_of_rows, strict=True))
    raw = {column.name: by_key[column.path[0]] for column in layout.flat}
    for key, columns in layout.nested:
        parents = by_key[key]
        objects = [parent if type(parent) is dict else _NO_FIELDS for parent in parents]
        for column in columns:
            raw[column.name] = list(map(dict.get, objects, repeat(column.path[1], size)))
        known = UNMODELLED_NESTED_FIELDS | {column.path[1] for column in columns}
        # positions to keep whole: objects with unknown keys, and values of a kind the key never holds
        misfits = set(compress(count(), map(not_, map(known.issuperset, objects))))
        fitting_kinds = {dict, type(None)}
        if key == "owner" and LEGACY_TEXT_OWNER in table.column_names:
            fitting_kinds.add(str)
        odd_kinds = set(map(type, parents)) - fitting_kinds
        if odd_kinds:
            misfits.update(compress(count(), (type(parent) in odd_kinds for parent in parents)))
        for position in misfits:
            extras.keep(position, key, parents[position])
    known_keys = frozenset(layout.keys)
    for position in compress(count(), map(not_, map(known_keys.issuperset, records))):
        record = records[position]
        for key in record:  # in the record's order: a set's order changes per process and would read as
            if key not in known_keys:  # a change of `_extra`, an update and a history row, on every sync
                extras.keep(position, key, record[key])
    if LEGACY_TEXT_OWNER in table.column_names:
        raw[LEGACY_TEXT_OWNER] = [o if isinstance(o, str) else None for o in by_key["owner"]]
    return raw


def normalize(
    table_name: str, records: Iterable[Mapping[str, Any]], *, endpoint: str, **lineage: str
) -> pd.DataFrame:
    """Records exactly as the API returns them -> a frame with `TABLES[table_name]`'s columns and dtypes.

    `lineage` supplies the ids the records do not carry: `workspace_id=` for items, `product_id=` and
    `workspace_id=` for properties. Bookkeeping columns are null (`_synced_at` is set by the warehouse).
    Raises `NormalizationError` for a record that is not an object or has no id; warns
    `UnknownPropertyTypeWarning` for property types it does not know (the rows are kept).
    """
    table = merged_tables().get(table_name)
    if table is None:
        raise NormalizationError(
            f"unknown table {table_name!r}; expected one of {sorted(merged_tables())}", endpoint=endpoint
        )
    rows = _checked_records(records, endpoint)
    lineage_ids = _checked_lineage(table, lineage, endpoint)
    size = len(rows)
    extras = _Extras(size)
    raw = _api_values(rows, table, extras)

    data: dict[str, Any] = {}
    for column in _layout(table.name).columns:
        values = raw[column.name]
        data[column.name], rejected = convert(values, column.type)
        for position in rejected:
            extras.keep(position, column.source, values[position])
    if LEGACY_TEXT_OWNER in raw:
        data[LEGACY_TEXT_OWNER] = convert(raw[LEGACY_TEXT_OWNER], "text")[0]
    unknown_types: dict[str, int] = {}
    if table.name == "properties":
        unknown_types = _add_typed_values(data, raw, table, endpoint)
    for name, value in lineage_ids.items():
        data[name] = convert([value] * size, "text")[0]
    data[EXTRA] = convert(extras.column(), "text")[0]

    columns = {  # _synced_at and _removed_at stay null: the warehouse sets them
        column.name: data[column.name] if column.name in data else nulls(size, column.type)
        for column in table.columns
    }
    frame = pd.DataFrame(columns, copy=False)  # every array is fresh and held by no one else
    frame = _last_of_duplicate_ids(frame, raw["id"], endpoint)
    if unknown_types:
        frame.attrs["unknown_property_types"] = unknown_types
    return frame


def _add_typed_values(
    data: dict[str, Any], raw: dict[str, Sequence[Any]], table: Table, endpoint: str
) -> dict[str, int]:
    """Add the typed `value_*` columns of properties (and `value_si`, `si_unit`); warn about, and return the
    counts of, unknown types."""
    derived, unknown_types = typed_values(raw["type"], raw["value"], raw["display_unit"])
    for name, values in derived.items():
        if name == "value_date":
            data[name] = parse_datetimes(values, "date")[0]
        else:  # value_matrix arrives as JSON text already: store it as text, not re-encoded
            logical = table.column(name).type
            data[name] = convert(values, "text" if logical == "json" else logical)[0]
    value_si, si_unit = si_columns(derived["value_number"], derived["value_unit"], data["category"])
    data["value_si"], data["si_unit"] = from_arrow(value_si, "double"), from_arrow(si_unit, "text")
    if unknown_types:
        warnings.warn(
            scrub(
                f"{endpoint}: kept {sum(unknown_types.values())} properties of unknown type "
                f"{sorted(unknown_types)} with empty typed value columns"
            ),
            UnknownPropertyTypeWarning,
            stacklevel=3,
        )
    return dict(unknown_types)


def _last_of_duplicate_ids(frame: pd.DataFrame, ids: Sequence[str], endpoint: str) -> pd.DataFrame:
    """A listing that shifted while paging can repeat a record: keep its last (newest) copy.

    `ids` are the records' ids: a set of them rules out repeats at a fraction of pandas' cost.
    """
    if len(set(ids)) == len(ids):
        return frame
    duplicated = frame["id"].duplicated(keep="last")
    warnings.warn(
        scrub(f"{endpoint}: {int(duplicated.sum())} records repeated an id; kept the last copy of each"),
        stacklevel=3,
    )
    return frame.loc[~duplicated].reset_index(drop=True)
