"""Merge one staged batch into its table and history, in set-based SQL shared by DuckDB, PostgreSQL, SQLite.

The plan: stage the frame; classify every staged row against the current table into a temporary `diff` table
(`new`, `reappeared`, `update`, `delete`, `unchanged`) and add the scope's rows the frame no longer lists
(`remove`); close the current history version of every changed row and write the new one; apply the changes.
Rows are compared on their versioned columns with `IS DISTINCT FROM`, so `_synced_at` alone never counts as a
change and a rerun of the same data writes nothing but `_synced_at`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from poelis_pipelines.tables import CHANGE, REMOVED_AT, SYNCED_AT, VALID_FROM, VALID_TO, Table
from poelis_pipelines.warehouse.bulk import load_frame
from poelis_pipelines.warehouse.identifiers import quote
from poelis_pipelines.warehouse.statements import Dialect, create_stage_table, qualified

CHANGED_ACTIONS = ("new", "reappeared", "update", "delete")
_HISTORY_CHANGE = (
    "CASE d.\"action\" WHEN 'new' THEN 'insert' WHEN 'reappeared' THEN 'insert' ELSE d.\"action\" END"
)


@dataclass(frozen=True)
class TableCounts:
    """Rows a merge inserted (new or reappeared), updated (soft deletes included), left unchanged, removed."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    def __add__(self, other: TableCounts) -> TableCounts:
        return TableCounts(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.removed + other.removed,
        )


def _in_actions(actions: tuple[str, ...]) -> str:
    return ", ".join(f"'{action}'" for action in actions)


def merge_frame(
    connection: sa.Connection,
    dialect: Dialect,
    schema: str,
    table: Table,
    frame: pd.DataFrame,
    scope_value: str | None,
    synced_at: datetime,
) -> TableCounts:
    """Stage `frame` and merge it into `table`, treating it as the complete listing of `scope_value`."""
    stage, diff = quote(f"_stage_{table.name}"), quote(f"_diff_{table.name}")
    target = qualified(schema, table.name, dialect)
    history = qualified(schema, table.history_name, dialect)
    versioned = [quote(column.name) for column in table.versioned_columns]
    all_columns = ", ".join(quote(name) for name in table.column_names)
    params = {"ts": synced_at, "scope": scope_value}

    def run(sql: str) -> sa.CursorResult[Any]:
        return connection.execute(sa.text(sql), params)

    run(f"DROP TABLE IF EXISTS {stage}")
    run(f"DROP TABLE IF EXISTS {diff}")
    run(create_stage_table(table, f"_stage_{table.name}", dialect))
    load_frame(connection, dialect, stage, frame)

    changed = " OR ".join(f"s.{name} IS DISTINCT FROM t.{name}" for name in versioned)
    if "deleted" in table.column_names:
        change_kind = (
            "CASE WHEN s.\"deleted\" IS TRUE AND t.\"deleted\" IS NOT TRUE THEN 'delete' ELSE 'update' END"
        )
    else:
        change_kind = "'update'"
    run(
        f'CREATE TEMPORARY TABLE {diff} AS SELECT s."id" AS "id", CASE '
        "WHEN t.\"id\" IS NULL THEN 'new' "
        f"WHEN t.{quote(REMOVED_AT)} IS NOT NULL THEN 'reappeared' "
        f"WHEN {changed} THEN {change_kind} "
        f'ELSE \'unchanged\' END AS "action" FROM {stage} AS s LEFT JOIN {target} AS t ON t."id" = s."id"'
    )
    in_scope = f"AND t.{quote(table.scope_column)} = :scope" if table.scope_column else ""
    run(
        f'INSERT INTO {diff} ("id", "action") SELECT t."id", \'remove\' FROM {target} AS t '
        f"WHERE t.{quote(REMOVED_AT)} IS NULL {in_scope} "
        f'AND NOT EXISTS (SELECT 1 FROM {stage} AS s WHERE s."id" = t."id")'
    )
    if dialect == "postgresql":
        run(f"ANALYZE {stage}")
        run(f"ANALYZE {diff}")

    history_columns = ", ".join(
        [*versioned, quote(REMOVED_AT), quote(VALID_FROM), quote(VALID_TO), quote(CHANGE)]
    )
    run(
        f"UPDATE {history} SET {quote(VALID_TO)} = :ts WHERE {quote(VALID_TO)} IS NULL "
        f'AND "id" IN (SELECT "id" FROM {diff} WHERE "action" <> \'unchanged\')'
    )
    run(
        f"INSERT INTO {history} ({history_columns}) "
        f"SELECT {', '.join(f's.{name}' for name in versioned)}, NULL, :ts, NULL, {_HISTORY_CHANGE} "
        f'FROM {stage} AS s JOIN {diff} AS d ON d."id" = s."id" '
        f'WHERE d."action" IN ({_in_actions(CHANGED_ACTIONS)})'
    )
    run(
        f"INSERT INTO {history} ({history_columns}) "
        f"SELECT {', '.join(f't.{name}' for name in versioned)}, :ts, :ts, NULL, 'remove' "
        f'FROM {target} AS t JOIN {diff} AS d ON d."id" = t."id" WHERE d."action" = \'remove\''
    )

    assignments = ", ".join(f"{name} = s.{name}" for name in versioned if name != '"id"')
    run(
        f"UPDATE {target} SET {assignments}, {quote(REMOVED_AT)} = NULL, {quote(SYNCED_AT)} = :ts "
        f'FROM {stage} AS s WHERE {target}."id" = s."id" '
        f"AND s.\"id\" IN (SELECT \"id\" FROM {diff} WHERE \"action\" IN ('reappeared', 'update', 'delete'))"
    )
    run(
        f"UPDATE {target} SET {quote(SYNCED_AT)} = :ts "
        f'WHERE "id" IN (SELECT "id" FROM {diff} WHERE "action" = \'unchanged\')'
    )
    run(
        f"UPDATE {target} SET {quote(REMOVED_AT)} = :ts "
        f'WHERE "id" IN (SELECT "id" FROM {diff} WHERE "action" = \'remove\')'
    )
    new_values = ", ".join(
        ":ts" if name == SYNCED_AT else "NULL" if name == REMOVED_AT else f"s.{quote(name)}"
        for name in table.column_names
    )
    run(
        f"INSERT INTO {target} ({all_columns}) SELECT {new_values} "
        f'FROM {stage} AS s JOIN {diff} AS d ON d."id" = s."id" WHERE d."action" = \'new\''
    )

    rows: list[tuple[str, int]] = [
        tuple(row) for row in run(f'SELECT "action", COUNT(*) FROM {diff} GROUP BY "action"')
    ]
    counts = {str(action): int(count) for action, count in rows}
    run(f"DROP TABLE {stage}")
    run(f"DROP TABLE {diff}")
    return TableCounts(
        inserted=counts.get("new", 0) + counts.get("reappeared", 0),
        updated=counts.get("update", 0) + counts.get("delete", 0),
        unchanged=counts.get("unchanged", 0),
        removed=counts.get("remove", 0),
    )
