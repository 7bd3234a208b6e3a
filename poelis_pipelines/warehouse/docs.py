"""`docs/tables.md`, generated from the table declarations so the reference never drifts from the code."""

from __future__ import annotations

from poelis_pipelines.tables import TABLES, all_tables
from poelis_pipelines.warehouse.statements import SQL_TYPES

_INTRO = """# Warehouse tables

Generated from `poelis_pipelines/tables.py`; do not edit. Regenerate with
`python -m poelis_pipelines.warehouse.ddl` (a test fails when this file drifts).

All tables live in one schema (`poelis` by default, `POELIS_WAREHOUSE_SCHEMA` to change it), with the same
names on DuckDB and PostgreSQL. Timestamps are UTC (`TIMESTAMPTZ`). JSON columns hold compact JSON text
exactly as received (`VARCHAR`/`TEXT`): query them with DuckDB's `json_extract(col, '$.x')` or
PostgreSQL's `col::jsonb ->> 'x'`.

## How rows change

* The four synced tables hold the **current state**, one row per API `id`; soft-deleted records stay with
  `deleted = true`.
* A merge replaces the rows of one **scope** (all workspaces; the products of a workspace; the items or the
  properties of a product; an incremental sync lists properties per item, so its scope is the item). A row of
  the scope that the API no longer lists gets `_removed_at`; if it comes back, `_removed_at` is cleared.
* `item_sync_state` says when each item's properties were last listed (`properties_listed_at`, the start of
  that listing), written with them in one transaction; view `freshness` sums it up per product.
* `<table>_history` gets a row only when something changed (`_synced_at` alone is not a change):
  `_change` is `insert` (a new row, or one that came back after being removed), `update`, `delete` (the API's
  soft delete turned on) or `remove` (vanished from its scope). The previous version's `_valid_to` is set to
  the same sync time; the current version has `_valid_to` null.
* `value_number` keeps NaN and ±Infinity on DuckDB and PostgreSQL; in the JSON `value` column they are the
  strings `"NaN"`, `"Infinity"` and `"-Infinity"` (strict JSON has no such numbers).
"""


def render_tables_doc() -> str:
    lines = [_INTRO]
    duckdb, postgresql = SQL_TYPES["duckdb"], SQL_TYPES["postgresql"]
    for table in all_tables():
        lines.append(f"## `{table.name}`\n\n{table.description}\n")
        facts = []
        if table.primary_key:
            facts.append(f"Primary key: `{', '.join(table.primary_key)}`.")
        if table.name in TABLES:
            scope = f"`{table.scope_column}`" if table.scope_column else "the whole table"
            narrower = "".join(f" (or `{column}`)" for column in table.narrower_scope_columns)
            facts.append(f"Scope of a complete listing: {scope}{narrower}.")
        facts += [f"`{fk.column}` references `{fk.ref_table}.{fk.ref_column}`." for fk in table.foreign_keys]
        if facts:
            lines.append(" ".join(facts) + "\n")
        lines.append("| column | DuckDB | PostgreSQL | null | source | description |")
        lines.append("|---|---|---|---|---|---|")
        for column in table.columns:
            nullable = "yes" if column.nullable else "no"
            description = column.description.replace("|", "\\|")
            lines.append(
                f"| `{column.name}` | {duckdb[column.type]} | {postgresql[column.type]} | {nullable} "
                f"| `{column.source}` | {description} |"
            )
        lines.append("")
    return "\n".join(lines)
