"""The example analyst queries of `sql/queries/`: listed, summarised, and pointed at another schema.

The files name the default schema literally (`poelis.property_values`), so they run as written in DuckDB's
shell, psql or a BI tool. To run one against another schema, only a `poelis.` right before the name of one
of the warehouse's tables or views is replaced, by the validated, quoted schema name.
"""

from __future__ import annotations

import re
from pathlib import Path

from poelis_pipelines import settings
from poelis_pipelines.tables import VIEWS, all_tables
from poelis_pipelines.warehouse.identifiers import quote
from poelis_pipelines.warehouse.statements import FINGERPRINT_TABLE, SQL_DIR

QUERIES_DIR = SQL_DIR / "queries"
_RELATIONS = sorted(
    {*(table.name for table in all_tables()), *VIEWS, FINGERPRINT_TABLE}, key=len, reverse=True
)
_QUALIFIED_RELATION = re.compile(
    rf"(?<![\w\".]){re.escape(settings.DEFAULT_WAREHOUSE_SCHEMA)}\.(?=(?:{'|'.join(_RELATIONS)})\b)"
)


def example_queries() -> dict[str, Path]:
    """Every query file by name (its stem), in name order."""
    return {path.stem: path for path in sorted(QUERIES_DIR.glob("*.sql"))}


def summary(sql: str) -> str:
    """The first comment line of a query: what it answers."""
    for line in sql.splitlines():
        if line.startswith("--"):
            return line.removeprefix("--").strip()
    return ""


def in_schema(sql: str, schema: str) -> str:
    """`sql` with the default schema of its table and view names replaced by `schema` (validated, quoted)."""
    return _QUALIFIED_RELATION.sub(f"{quote(schema)}.", sql)
