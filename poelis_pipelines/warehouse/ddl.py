"""Write the generated DDL (`sql/ddl/<dialect>.sql`) and column reference (`docs/tables.md`).

Run `python -m poelis_pipelines.warehouse.ddl` after changing `poelis_pipelines/tables.py`; the files are
checked in so reviewers and analysts see the schema, and a test fails when they drift from the declarations.
"""

from __future__ import annotations

import sys
from pathlib import Path

from poelis_pipelines import settings
from poelis_pipelines.warehouse.docs import render_tables_doc
from poelis_pipelines.warehouse.statements import SQL_DIR, Dialect, ddl_statements

DOCS_FILE = Path(__file__).resolve().parents[2] / "docs" / "tables.md"
GENERATED_DIALECTS: tuple[Dialect, ...] = ("duckdb", "postgresql")


def render_ddl(dialect: Dialect, schema: str = settings.DEFAULT_WAREHOUSE_SCHEMA) -> str:
    header = (
        f"-- Generated from poelis_pipelines/tables.py for {dialect}; do not edit.\n"
        "-- Regenerate with: python -m poelis_pipelines.warehouse.ddl\n"
        "-- Warehouse.ensure() runs the same statements and adds later-declared columns to old tables.\n\n"
    )
    return (
        header + "".join(f"{statement};\n\n" for statement in ddl_statements(dialect, schema)).rstrip() + "\n"
    )


def write_generated_files() -> list[Path]:
    """Write `sql/ddl/duckdb.sql`, `sql/ddl/postgresql.sql` and `docs/tables.md`; return the paths written."""
    written = []
    for dialect in GENERATED_DIALECTS:
        path = SQL_DIR / "ddl" / f"{dialect}.sql"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_ddl(dialect), encoding="utf-8")
        written.append(path)
    DOCS_FILE.parent.mkdir(parents=True, exist_ok=True)
    DOCS_FILE.write_text(render_tables_doc(), encoding="utf-8")
    written.append(DOCS_FILE)
    return written


if __name__ == "__main__":
    for written_path in write_generated_files():
        sys.stdout.write(f"wrote {written_path}\n")
