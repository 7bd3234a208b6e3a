"""Bulk-load a frame, the fastest way each database offers, and present it to the merge as a staged relation.

* DuckDB: register the frame's Arrow table on the connection; the merge scans it in place (zero-copy, no
  staging table; `load_frame` copies it with `INSERT ... SELECT`).
* PostgreSQL: `COPY ... FROM STDIN (FORMAT csv)` through psycopg, the CSV written by pyarrow's C++ writer
  (measured against binary `COPY` with `write_row`, which spends its time in per-value Python calls).
* Anything else: SQLAlchemy `executemany` of plain Python rows.

All run on the merge's own connection and transaction. PostgreSQL and generic loads go in chunks of
`WAREHOUSE_STAGE_CHUNK_ROWS` rows so the converted copy (CSV text, Python rows) of a large frame never exists
all at once; DuckDB's Arrow view of a frame shares the frame's memory for its string columns.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy as sa

from poelis_pipelines import settings
from poelis_pipelines.tables import Table
from poelis_pipelines.warehouse.identifiers import quote
from poelis_pipelines.warehouse.statements import Dialect, create_stage_table

_REGISTERED_FRAME = "_poelis_stage_frame"
_CSV_OPTIONS = pa_csv.WriteOptions(include_header=False, quoting_style="needed")


def _chunks(frame: pd.DataFrame, rows: int) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), rows):
        yield frame.iloc[start : start + rows]


def _arrow(chunk: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(chunk, preserve_index=False)


def _load_duckdb(connection: sa.Connection, target: str, chunk: pd.DataFrame) -> None:
    driver = connection.connection.driver_connection
    assert driver is not None
    # No try/finally: DuckDB refuses `unregister` in an aborted transaction, which would mask the real error.
    driver.register(_REGISTERED_FRAME, _arrow(chunk))
    connection.exec_driver_sql(f"INSERT INTO {target} SELECT * FROM {quote(_REGISTERED_FRAME)}")
    driver.unregister(_REGISTERED_FRAME)


def _load_postgresql(connection: sa.Connection, target: str, chunk: pd.DataFrame) -> None:
    """CSV `COPY`: an unquoted empty field is NULL, a quoted `""` the empty string (pyarrow writes both)."""
    buffer = io.BytesIO()
    pa_csv.write_csv(_arrow(chunk), buffer, _CSV_OPTIONS)
    columns = ", ".join(quote(str(name)) for name in chunk.columns)
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(f"COPY {target} ({columns}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(buffer.getbuffer())


def _python_value(value: Any) -> Any:
    """pandas scalars -> DB-API values; timestamps and dates as ISO text, as sqlite3 binds datetimes."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _load_generic(connection: sa.Connection, target: str, chunk: pd.DataFrame) -> None:
    names = [str(name) for name in chunk.columns]
    statement = sa.text(
        f"INSERT INTO {target} ({', '.join(quote(n) for n in names)}) "
        f"VALUES ({', '.join(f':p{i}' for i in range(len(names)))})"
    )
    columns = [chunk[name].astype(object).tolist() for name in names]
    rows = [
        {f"p{i}": _python_value(value) for i, value in enumerate(row)} for row in zip(*columns, strict=True)
    ]
    if rows:
        connection.execute(statement, rows)


_LOADERS: dict[Dialect, Callable[[sa.Connection, str, pd.DataFrame], None]] = {
    "duckdb": _load_duckdb,
    "postgresql": _load_postgresql,
    "generic": _load_generic,
}


def load_frame(connection: sa.Connection, dialect: Dialect, target: str, frame: pd.DataFrame) -> None:
    """Append `frame` to the (quoted, possibly qualified) table `target`, whose columns match it in order."""
    for chunk in _chunks(frame, settings.WAREHOUSE_STAGE_CHUNK_ROWS):
        _LOADERS[dialect](connection, target, chunk)


def temporary_table_prepared(
    run: Callable[[str], object],
    dialect: Dialect,
    name: str,
    analyzed: tuple[str, ...] = (),
    *,
    key: str = "id",
) -> None:
    """On PostgreSQL, index `key` of a freshly filled temporary table and analyze it and the `analyzed`
    columns.

    Fresh tables have no statistics (a just-loaded target even looks empty), so the planner may pick nested
    loops; with an index on `id` every such loop is an index probe, not a quadratic scan. Analyzing only the
    columns the merge filters or joins on keeps it cheap. No-op elsewhere.
    """
    if dialect == "postgresql":
        run(f"CREATE INDEX ON {name} ({quote(key)})")
        columns = dict.fromkeys((key, *analyzed))
        run(f"ANALYZE {name} ({', '.join(quote(column) for column in columns)})")


@contextmanager
def staged(connection: sa.Connection, dialect: Dialect, table: Table, frame: pd.DataFrame) -> Iterator[str]:
    """`frame` as a relation the merge's SQL can read, named `_stage_<table>`; removed after a clean exit.

    On failure nothing is cleaned up here: the transaction rolls back the temporary table, and DuckDB refuses
    statements in an aborted transaction (the registration is connection-local and replaced on next use).
    """
    name = f"_stage_{table.name}"
    if dialect == "duckdb":
        driver = connection.connection.driver_connection
        assert driver is not None
        driver.register(name, _arrow(frame))
        yield quote(name)
        driver.unregister(name)
        return
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(name)}")
    connection.exec_driver_sql(create_stage_table(table, name, dialect))
    load_frame(connection, dialect, quote(name), frame)
    key = "id" if "id" in table.column_names else table.primary_key[0]
    temporary_table_prepared(lambda sql: connection.exec_driver_sql(sql), dialect, quote(name), key=key)
    yield quote(name)
    connection.exec_driver_sql(f"DROP TABLE {quote(name)}")
