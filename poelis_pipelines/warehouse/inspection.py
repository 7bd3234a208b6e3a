"""Reads for the orchestration layer: live ids per scope, counts, previews and the data-quality checks.

The checks are derived from the table declarations (primary key, required columns, foreign keys), so a
new declaration gets its checks without code here. Filters are column names checked against the
declaration and values bound as parameters: nothing from the API is formatted into SQL text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from poelis_pipelines.tables import REMOVED_AT, TABLES, Table, merged_tables
from poelis_pipelines.warehouse.errors import WarehouseConfigError
from poelis_pipelines.warehouse.identifiers import quote
from poelis_pipelines.warehouse.statements import qualified
from poelis_pipelines.warehouse.warehouse import Warehouse


@dataclass(frozen=True)
class TableQuality:
    """What the blocking checks look at: duplicate keys, dangling parents, missing required values."""

    duplicate_keys: int
    orphans: dict[str, int] = field(default_factory=dict)
    nulls_in_required: dict[str, int] = field(default_factory=dict)


def _table(name: str) -> Table:
    try:
        return merged_tables()[name]
    except KeyError:
        raise WarehouseConfigError(
            f"unknown warehouse table {name!r}; expected one of {sorted(merged_tables())}"
        ) from None


def _where(table: Table, filters: Mapping[str, str], *, live_only: bool) -> tuple[str, dict[str, str]]:
    clauses, params = [], {}
    for index, (column, value) in enumerate(sorted(filters.items())):
        table.column(column)  # raises KeyError for an undeclared column
        clauses.append(f"{quote(column)} = :filter_{index}")
        params[f"filter_{index}"] = value
    if live_only:
        clauses.append(f"{quote(REMOVED_AT)} IS NULL")
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def live_ids(warehouse: Warehouse, table_name: str, **filters: str) -> list[str]:
    """Ids the API still lists (soft-deleted included, removed excluded), in id order."""
    table = _table(table_name)
    where, params = _where(table, filters, live_only=True)
    relation = qualified(warehouse.schema, table.name, warehouse.dialect)
    frame = warehouse.query(f"SELECT id FROM {relation}{where} ORDER BY id", params)
    return [str(value) for value in frame["id"]]


def count_rows(warehouse: Warehouse, table_name: str, **filters: str) -> int:
    table = _table(table_name)
    where, params = _where(table, filters, live_only=False)
    relation = qualified(warehouse.schema, table.name, warehouse.dialect)
    return int(warehouse.query(f"SELECT COUNT(*) AS n FROM {relation}{where}", params)["n"].iloc[0])


def preview(warehouse: Warehouse, relation_name: str, limit: int, **filters: str) -> pd.DataFrame:
    """The first rows of a table (filtered by declared columns) or of a view, for humans to glance at."""
    relation = qualified(warehouse.schema, relation_name, warehouse.dialect)
    if relation_name in TABLES:
        where, params = _where(TABLES[relation_name], filters, live_only=False)
        order = " ORDER BY id"
    else:
        where, params, order = "", {}, ""
    return warehouse.query(f"SELECT * FROM {relation}{where}{order} LIMIT {int(limit)}", params)


def readable_rows(
    warehouse: Warehouse, table_name: str, columns: Sequence[str], limit: int, **filters: str
) -> pd.DataFrame:
    """The first live rows (by id) of a table, `columns` only, as a person reads them: a foreign key among
    them shows the name of the row it references (else its readable id, else the key itself), under the
    key's name without `_id` (`item_id` -> `item`)."""
    table = _table(table_name)
    where, params = _where(table, filters, live_only=True)
    references = {foreign_key.column: foreign_key for foreign_key in table.foreign_keys}
    selected, joins = [], []
    for index, name in enumerate(columns):
        table.column(name)  # raises KeyError for an undeclared column
        foreign_key = references.get(name)
        if foreign_key is None:
            selected.append(f"t.{quote(name)}")
            continue
        parent, alias = _table(foreign_key.ref_table), f"ref_{index}"
        labels = [
            f"{alias}.{quote(label)}" for label in ("name", "readable_id") if label in parent.column_names
        ]
        selected.append(
            f"COALESCE({', '.join([*labels, f't.{quote(name)}'])}) AS {quote(name.removesuffix('_id'))}"
        )
        joins.append(
            f" LEFT JOIN {qualified(warehouse.schema, parent.name, warehouse.dialect)} AS {alias} "
            f"ON {alias}.{quote(foreign_key.ref_column)} = t.{quote(name)}"
        )
    relation = qualified(warehouse.schema, table.name, warehouse.dialect)
    # The rows first, then their parents' names: a join over the whole table would read all of it.
    rows = f"(SELECT * FROM {relation}{where} ORDER BY id LIMIT {int(limit)}) AS t"
    return warehouse.query(f"SELECT {', '.join(selected)} FROM {rows}{''.join(joins)} ORDER BY t.id", params)


def inspect_table(warehouse: Warehouse, table_name: str) -> TableQuality:
    """Evaluate the declared constraints over the whole table as it stands."""
    table = _table(table_name)
    relation = qualified(warehouse.schema, table.name, warehouse.dialect)
    key = ", ".join(quote(column) for column in table.primary_key)
    duplicates = warehouse.query(
        f"SELECT COUNT(*) AS n FROM (SELECT {key} FROM {relation} GROUP BY {key} HAVING COUNT(*) > 1) AS d"
    )
    orphans = {}
    for foreign_key in table.foreign_keys:
        parent = qualified(warehouse.schema, foreign_key.ref_table, warehouse.dialect)
        column, ref = quote(foreign_key.column), quote(foreign_key.ref_column)
        orphans[f"{foreign_key.column} -> {foreign_key.ref_table}.{foreign_key.ref_column}"] = int(
            warehouse.query(
                f"SELECT COUNT(*) AS n FROM {relation} AS child WHERE child.{column} IS NOT NULL "
                f"AND NOT EXISTS (SELECT 1 FROM {parent} AS parent WHERE parent.{ref} = child.{column})"
            )["n"].iloc[0]
        )
    required = [column.name for column in table.columns if column.required or not column.nullable]
    nulls = {}
    if required:
        counts = ", ".join(
            f"SUM(CASE WHEN {quote(name)} IS NULL THEN 1 ELSE 0 END) AS {quote(name)}" for name in required
        )
        row = warehouse.query(f"SELECT {counts} FROM {relation}").iloc[0]
        nulls = {name: int(row[name] or 0) for name in required}
    return TableQuality(duplicate_keys=int(duplicates["n"].iloc[0]), orphans=orphans, nulls_in_required=nulls)
