"""`docs/tables.md`, generated from the table declarations so the reference never drifts from the code."""

from __future__ import annotations

from poelis_pipelines.tables import VIEWS, Column, all_tables, merged_tables
from poelis_pipelines.warehouse.statements import FINGERPRINT_TABLE, SQL_TYPES

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
* `value_si` is `value_number` converted by [pint](https://pint.readthedocs.io), which reads `value_unit` as
  it reads units: °C and °F are absolute temperatures (20 °C is 293.15 K, so a temperature *difference*
  entered in °C is shifted too). A reading must fit the property's category (`SI_UNIT_BY_CATEGORY` in
  `normalize/units.py`): a MASS entered in `pcs` stays null. Without a known category (formula results, custom
  categories) only familiar engineering units convert, so pint's surprises (`ct` is a carat to it, `a` a
  year) stay null rather than becoming a wrong number. `pcs`, `pce`, `pieces` and `pc` count pieces (si_unit
  1), `Nm` is a newton metre. `value_number` and `value_unit` always keep what was entered.
"""


_FINGERPRINT_DOC = f"""## `{FINGERPRINT_TABLE}`

Bookkeeping of `Warehouse.ensure()` (not in `sql/ddl/`): one row, the fingerprint of the DDL it last
applied to this schema. A sync whose declarations match it checks the warehouse with one read instead of
running the DDL; when the declarations change (a new column, a changed description), the next `ensure()`
applies them and records the new fingerprint. Without the row, the next `ensure()` runs every (idempotent)
statement again.

| column | DuckDB | PostgreSQL | null | description |
|---|---|---|---|---|
| `fingerprint` | {SQL_TYPES["duckdb"]["text"]} | {SQL_TYPES["postgresql"]["text"]} | no \
| SHA-256 hex digest of every statement `ensure()` runs. |
"""

_VIEWS_INTRO = """# Views

Every sync creates or replaces these views (`sql/views/*.sql`) in the same schema, on DuckDB and PostgreSQL
(not on other databases). They read the tables above, so they are as fresh as the last sync. Example
queries over them are in `sql/queries/` (`poelis-pipelines query` lists and runs them).
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _column_rows(columns: tuple[Column, ...], *, with_source: bool) -> list[str]:
    duckdb, postgresql = SQL_TYPES["duckdb"], SQL_TYPES["postgresql"]
    if with_source:
        rows = ["| column | DuckDB | PostgreSQL | null | source | description |", "|---|---|---|---|---|---|"]
    else:
        rows = ["| column | DuckDB | PostgreSQL | description |", "|---|---|---|---|"]
    for column in columns:
        types = f"| `{column.name}` | {duckdb[column.type]} | {postgresql[column.type]} "
        if with_source:
            nullable = "yes" if column.nullable else "no"
            rows.append(f"{types}| {nullable} | `{column.source}` | {_cell(column.description)} |")
        else:
            rows.append(f"{types}| {_cell(column.description)} |")
    return rows


def render_tables_doc() -> str:
    lines = [_INTRO]
    for table in all_tables():
        lines.append(f"## `{table.name}`\n\n{table.description}\n")
        facts = []
        if table.primary_key:
            facts.append(f"Primary key: `{', '.join(table.primary_key)}`.")
        if table.name in merged_tables():
            scope = f"`{table.scope_column}`" if table.scope_column else "the whole table"
            narrower = "".join(f" (or `{column}`)" for column in table.narrower_scope_columns)
            facts.append(f"Scope of a complete listing: {scope}{narrower}.")
        facts += [f"`{fk.column}` references `{fk.ref_table}.{fk.ref_column}`." for fk in table.foreign_keys]
        if facts:
            lines.append(" ".join(facts) + "\n")
        lines += _column_rows(table.columns, with_source=True)
        lines.append("")
    lines.append(_FINGERPRINT_DOC)
    lines.append(_VIEWS_INTRO)
    for view in VIEWS.values():
        lines.append(f"## `{view.name}`\n\n{view.description}\n")
        lines += _column_rows(view.columns, with_source=False)
        lines.append("")
    return "\n".join(lines)
