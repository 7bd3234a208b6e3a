"""SQL statements generated from `poelis_pipelines.tables`, per dialect: tables, stages, indexes, comments.

`Warehouse.ensure()` runs them; `python -m poelis_pipelines.warehouse.ddl` writes them to `sql/ddl/`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from poelis_pipelines import settings
from poelis_pipelines.tables import VALID_TO, LogicalType, Table, all_tables
from poelis_pipelines.warehouse.identifiers import quote

Dialect = Literal["duckdb", "postgresql", "generic"]
"""`generic` is any other SQLAlchemy database (tested on SQLite): no schemas, no comments, plain types."""

SQL_TYPES: dict[Dialect, dict[LogicalType, str]] = {
    "duckdb": {
        "text": "VARCHAR",
        "bigint": "BIGINT",
        "double": "DOUBLE",
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMPTZ",
        "date": "DATE",
        # VARCHAR, not JSON: DuckDB's Python client returns JSON values parsed, losing the text as received.
        # DuckDB's json functions accept VARCHAR arguments.
        "json": "VARCHAR",
    },
    "postgresql": {
        "text": "TEXT",
        "bigint": "BIGINT",
        "double": "DOUBLE PRECISION",
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMPTZ",
        "date": "DATE",
        # TEXT, not json/jsonb: jsonb rewrites the text; json has no equality operator to detect changes.
        "json": "TEXT",
    },
    "generic": {
        "text": "TEXT",
        "bigint": "BIGINT",
        "double": "DOUBLE PRECISION",
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMP",
        "date": "DATE",
        "json": "TEXT",
    },
}

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
"""`poelis_pipelines/sql`, a symlink to the repository's `sql/` so installed packages carry the SQL too."""


def dialect_of(sqlalchemy_dialect_name: str) -> Dialect:
    if sqlalchemy_dialect_name in ("duckdb", "postgresql"):
        return sqlalchemy_dialect_name  # type: ignore[return-value]
    return "generic"


def qualified(schema: str, name: str, dialect: Dialect) -> str:
    """`"schema"."name"`; just `"name"` on generic databases, which have no schemas."""
    return quote(name) if dialect == "generic" else f"{quote(schema)}.{quote(name)}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def column_definitions(table: Table, dialect: Dialect, *, constraints: bool = True) -> list[str]:
    """Columns, NOT NULLs and the primary key; no primary key on DuckDB.

    DuckDB backs a primary key with an ART index that must fit in memory (~100 bytes a row, measured: 29 MB
    for 300k properties), so a bounded `memory_limit` would fail a large organization's merge with an
    out-of-memory error, and the index slows bulk inserts. Keys stay unique without it: the merge refuses a
    batch that repeats an id and classifies every row by id, and the blocking `primary_key_unique` check
    verifies the table after each load.
    """
    types = SQL_TYPES[dialect]
    lines = [
        f"{quote(column.name)} {types[column.type]}"
        + (" NOT NULL" if constraints and not column.nullable else "")
        for column in table.columns
    ]
    if constraints and table.primary_key and dialect != "duckdb":
        lines.append(f"PRIMARY KEY ({', '.join(quote(name) for name in table.primary_key)})")
    return lines


def create_table(table: Table, schema: str, dialect: Dialect) -> str:
    body = ",\n    ".join(column_definitions(table, dialect))
    return f"CREATE TABLE IF NOT EXISTS {qualified(schema, table.name, dialect)} (\n    {body}\n)"


def create_stage_table(table: Table, stage_name: str, dialect: Dialect) -> str:
    """A temporary, constraint-free copy of the table's columns (rolled back or dropped with the merge)."""
    body = ", ".join(column_definitions(table, dialect, constraints=False))
    return f"CREATE TEMPORARY TABLE {quote(stage_name)} ({body})"


def comments(table: Table, schema: str, dialect: Dialect) -> list[str]:
    if dialect == "generic":
        return []
    name = qualified(schema, table.name, dialect)
    statements = [f"COMMENT ON TABLE {name} IS {_literal(table.description)}"]
    statements += [
        f"COMMENT ON COLUMN {name}.{quote(column.name)} IS {_literal(column.description)}"
        for column in table.columns
    ]
    return statements


def indexes(table: Table, schema: str, dialect: Dialect) -> list[str]:
    """PostgreSQL only: the merge looks rows up by scope and current history versions by id.

    DuckDB scans columnar data fast enough and its indexes slow bulk inserts, so it gets none.
    """
    if dialect != "postgresql":
        return []
    name = qualified(schema, table.name, dialect)
    statements = []
    for scope_column in table.scope_columns:
        index = quote(f"{table.name}_{scope_column}_idx")
        statements.append(f"CREATE INDEX IF NOT EXISTS {index} ON {name} ({quote(scope_column)})")
    if any(column.name == VALID_TO for column in table.columns):
        index = quote(f"{table.name}_current_idx")
        statements.append(
            f'CREATE INDEX IF NOT EXISTS {index} ON {name} ("id") WHERE {quote(VALID_TO)} IS NULL'
        )
    return statements


def create_statements(dialect: Dialect, schema: str = settings.DEFAULT_WAREHOUSE_SCHEMA) -> list[str]:
    """The schema and every table, idempotently (`IF NOT EXISTS`)."""
    statements = [] if dialect == "generic" else [f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}"]
    return statements + [create_table(table, schema, dialect) for table in all_tables()]


def annotation_statements(dialect: Dialect, schema: str = settings.DEFAULT_WAREHOUSE_SCHEMA) -> list[str]:
    """Indexes and comments; they run after missing columns are added, so they may name new columns."""
    statements: list[str] = []
    for table in all_tables():
        statements += indexes(table, schema, dialect)
        statements += comments(table, schema, dialect)
    return statements


def ddl_statements(dialect: Dialect, schema: str = settings.DEFAULT_WAREHOUSE_SCHEMA) -> list[str]:
    """Every statement that creates the warehouse, idempotently, in order."""
    return create_statements(dialect, schema) + annotation_statements(dialect, schema)


FINGERPRINT_TABLE = "_poelis_ddl"
"""One row: the fingerprint of the DDL `Warehouse.ensure()` last applied (bookkeeping, not in `sql/ddl/`)."""


def fingerprint_table_statement(dialect: Dialect, schema: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {qualified(schema, FINGERPRINT_TABLE, dialect)} "
        f"({quote('fingerprint')} {SQL_TYPES[dialect]['text']} NOT NULL)"
    )


def ddl_fingerprint(dialect: Dialect, schema: str) -> str:
    """A digest of every statement `ensure()` runs: any change to a declaration (column, type, key, index,
    description) changes it, so a warehouse recorded with the same digest needs no DDL."""
    statements = [*ddl_statements(dialect, schema), fingerprint_table_statement(dialect, schema)]
    return hashlib.sha256("\n;\n".join(statements).encode()).hexdigest()
