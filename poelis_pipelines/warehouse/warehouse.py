"""`Warehouse`: create or migrate the schema, merge batches atomically, record sync runs, read tables back."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from poelis_pipelines import settings
from poelis_pipelines.tables import (
    ITEM_SYNC_STATE,
    PANDAS_DTYPES,
    SYNC_RUN_STATUSES,
    SYNC_RUNS,
    VERSION_TABLES,
    Table,
    all_tables,
    merged_tables,
)
from poelis_pipelines.warehouse.bulk import staged
from poelis_pipelines.warehouse.errors import (
    BatchError,
    WarehouseConfigError,
    WarehouseError,
    WarehouseInUseError,
    WarehouseReadOnlyError,
    WarehouseUnavailableError,
)
from poelis_pipelines.warehouse.identifiers import quote, validate_identifier
from poelis_pipelines.warehouse.merge import TableCounts, merge_frame
from poelis_pipelines.warehouse.statements import (
    FINGERPRINT_TABLE,
    SQL_DIR,
    SQL_TYPES,
    Dialect,
    annotation_statements,
    create_statements,
    ddl_fingerprint,
    dialect_of,
    fingerprint_table_statement,
    qualified,
)

SyncStatus = Literal["running", "success", "failed", "interrupted"]
RUN_COLUMNS = ("started_at", "finished_at", "requests", "retries", "rate_limited", "seconds_waited")
"""The `sync_runs` columns a batch may set (`Batch.run_columns`); the merge sets the others."""
DUCKDB_FILE_CONFIG: dict[str, str | int] = {"memory_limit": "128MB", "threads": 1}
"""DuckDB settings of a warehouse file's connections. DuckDB's default memory limit is 80% of RAM, most of it
buffer cache that a sync merging a few scopes at a time never reuses. With no primary-key index (see
`statements`) nothing DuckDB must hold in memory grows with the organization, and larger work spills to
`<file>.tmp`. One thread: a merge touches a few products' rows, and each thread needs its own share of the
limit (every core of a large server splitting 128MB would starve them). Measured on a CLI sync at fake
scale `large`: peak RSS ~500 MB with DuckDB's defaults, ~434 MB with these, 75 s against ~80 s. In-memory
databases keep the defaults, having nowhere to spill their tables to."""
UPSERT_TABLES = {table.name: table for table in (ITEM_SYNC_STATE, *VERSION_TABLES)}
"""Tables a merge may write rows of, replaced by primary key, in its transaction (`upserts`): bookkeeping,
and the published versions, which are immutable and whose ids recur across versions (no merge by id)."""
SCHEMA_TOKEN = "{{schema}}"
"""Placeholder for the quoted schema in `sql/views/*.sql` (`sql/queries/` name `poelis.`: see `queries`)."""


@dataclass(frozen=True)
class Batch:
    """One table's frame and the parents it lists completely: `{"product_id": p}`, or several parents of one
    kind, `{"item_id": [i1, i2]}` (a parent the frame has no row of is listed as empty); `{}` = whole table.

    The scope column is the table's `scope_column` or one of its `narrower_scope_columns` (properties are
    listed per item). `run_columns` are the batch's `sync_runs` values when the merge records a run (any of
    `RUN_COLUMNS`, e.g. what fetching it cost), in the row named `run_scope` (default: the one parent's id,
    or '*'; a batch of several parents must name its row).
    """

    table: str
    frame: pd.DataFrame
    scope: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    run_columns: Mapping[str, Any] = field(default_factory=dict)
    run_scope: str | None = None


@dataclass
class MergeReport:
    """Counts per table, summed over the merge's batches, and per scope (keyed as `sync_runs.scope`)."""

    tables: dict[str, TableCounts] = field(default_factory=dict)
    scopes: dict[str, dict[str, TableCounts]] = field(default_factory=dict)


_LOCK_HOLDER = re.compile(r"\(PID (\d+)\)")
"""The process DuckDB names in a lock conflict: 'Conflicting lock is held in <program> (PID 123) ...'."""


def _busy_or_unavailable(error: BaseException, where: str) -> WarehouseError:
    """DuckDB and driver errors at connect time -> the warehouse error an operator can act on."""
    text = str(getattr(error, "orig", None) or error)
    if "Could not set lock" in text or "Conflicting lock" in text:
        holder = _LOCK_HOLDER.search(text)
        process = f"another process (pid {holder.group(1)})" if holder else "another process"
        return WarehouseInUseError(
            f"the file {where} is open in {process}: close it, or use PostgreSQL for concurrent readers"
        )
    if "read-only" in text.lower() or "Permission denied" in text or "readonly" in text.lower():
        return WarehouseReadOnlyError(f"cannot write to {where}: the file or its directory is read-only")
    first_line = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return WarehouseUnavailableError(f"cannot open the warehouse at {where} ({first_line})")


class Warehouse:
    """The SQL warehouse behind one SQLAlchemy URL and one schema.

    DuckDB files are opened per operation (no pool), so a long Dagster run does not hold DuckDB's
    single-writer lock between merges, unless the caller opts into `session()`; PostgreSQL connections are
    pooled. Every operation runs in one transaction.
    """

    def __init__(self, url: str, schema: str = settings.DEFAULT_WAREHOUSE_SCHEMA) -> None:
        self.schema = validate_identifier(schema, "warehouse schema")
        try:
            self._url = sa.make_url(url)
        except (sa.exc.ArgumentError, ValueError, TypeError) as error:
            raise WarehouseConfigError(
                "the warehouse URL is not a valid SQLAlchemy URL (e.g. duckdb:///data/warehouse.duckdb)"
            ) from error
        self.display_url = self._url.render_as_string(hide_password=True)
        self._duckdb_file = self._duckdb_path()
        options: dict[str, Any] = {"pool_pre_ping": True}
        if self._duckdb_file:
            # The URL's query (`?memory_limit=1GB&threads=1`) overrides this config (duckdb-engine merges it).
            options = {"poolclass": NullPool, "connect_args": {"config": dict(DUCKDB_FILE_CONFIG)}}
        try:
            self._engine = sa.create_engine(self._url, **options)
        except (sa.exc.NoSuchModuleError, sa.exc.ArgumentError, ImportError) as error:
            raise WarehouseConfigError(
                f"no installed SQLAlchemy driver for {self._url.drivername!r} (from {self.display_url})"
            ) from error
        self.dialect: Dialect = dialect_of(self._engine.dialect.name)
        self._held: sa.Connection | None = None

    def _duckdb_path(self) -> Path | None:
        database = self._url.database or ""
        if (
            self._url.get_backend_name() != "duckdb"
            or database in ("", ":memory:")
            or database.startswith(":")
        ):
            return None
        return Path(database)

    @property
    def duckdb_file(self) -> Path | None:
        """The DuckDB file behind the URL; None for other databases and in-memory DuckDB."""
        return self._duckdb_file

    # --- connections -------------------------------------------------------------------------------------

    def _connect(self) -> sa.Connection:
        """A fresh (DuckDB) or pooled connection; connect failures become `WarehouseError`s."""
        where = str(self._duckdb_file) if self._duckdb_file else self.display_url
        try:
            return self._engine.connect()
        except sa.exc.DBAPIError as error:
            raise _busy_or_unavailable(error, where) from error

    @contextmanager
    def session(self) -> Iterator[Self]:
        """Run every operation inside the block on one connection, each still in its own transaction.

        Outside a session each operation opens and closes its own connection: on DuckDB that releases the
        file (and its single-writer lock) between merges, at the price of a checkpoint per merge (measured in
        `benchmarks/bench_load.py`). A session trades that for speed when one process merges many batches in a
        row; the file stays locked until the block ends. Not for sharing across threads.
        """
        if self._held is not None:
            yield self
            return
        self._held = self._connect()
        try:
            yield self
        finally:
            held, self._held = self._held, None
            held.close()

    @contextmanager
    def _transaction(self) -> Iterator[sa.Connection]:
        """One transaction; on PostgreSQL it first takes the schema's advisory lock (released at commit)."""
        connection = self._held or self._connect()
        try:
            with connection.begin():
                if self.dialect == "postgresql":
                    connection.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": self._lock_key()}
                    )
                    # Merges touch one scope of a large table: price index probes as on SSDs so the planner
                    # looks rows up by key instead of scanning the whole table once per product.
                    connection.exec_driver_sql("SET LOCAL random_page_cost = 1.1")
                yield connection
        finally:
            if connection is not self._held:
                connection.close()

    def _lock_key(self) -> int:
        """A stable 64-bit advisory-lock key per schema, so syncs into different schemas do not wait."""
        digest = hashlib.sha256(f"poelis_pipelines:{self.schema}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def close(self) -> None:
        if self._held is not None:
            self._held.close()
            self._held = None
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Warehouse({self.display_url!r}, schema={self.schema!r})"

    # --- schema ------------------------------------------------------------------------------------------

    def ensure(self) -> None:
        """Create the schema and tables if missing, add declared columns that existing tables lack, annotate.

        Every Dagster run calls it, and ~200 DDL statements plus a commit cost seconds on a populated DuckDB
        file; so the DDL's fingerprint is recorded with it, and a warehouse that has every declared column and
        the current fingerprint is left alone after one read.
        """
        if self._duckdb_file:
            try:
                self._duckdb_file.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise WarehouseReadOnlyError(
                    f"cannot create the directory of {self._duckdb_file} ({error.strerror})"
                ) from error
        fingerprint = ddl_fingerprint(self.dialect, self.schema)
        if self._is_current(fingerprint):
            return
        with self._transaction() as connection:
            for statement in create_statements(self.dialect, self.schema):
                connection.exec_driver_sql(statement)
            if self.dialect == "duckdb":
                self._drop_duckdb_keys(connection)
            existing = self._existing_columns(connection)
            for table in all_tables():
                for column in table.columns:
                    if column.name not in existing.get(table.name, set()):
                        connection.exec_driver_sql(
                            f"ALTER TABLE {self._qualified(table.name)} ADD COLUMN {quote(column.name)} "
                            f"{SQL_TYPES[self.dialect][column.type]}"
                        )
            for statement in annotation_statements(self.dialect, self.schema):
                # without parameters the driver takes the SQL verbatim: psycopg would read a `%` of a
                # comment as a placeholder, and the comments are free text
                connection.exec_driver_sql(statement, execution_options={"no_parameters": True})
            connection.exec_driver_sql(fingerprint_table_statement(self.dialect, self.schema))
            connection.exec_driver_sql(f"DELETE FROM {self._qualified(FINGERPRINT_TABLE)}")
            connection.execute(
                sa.text(
                    f"INSERT INTO {self._qualified(FINGERPRINT_TABLE)} (fingerprint) VALUES (:fingerprint)"
                ),
                {"fingerprint": fingerprint},
            )

    def _drop_duckdb_keys(self, connection: sa.Connection) -> None:
        """Rebuild without its primary key each table an earlier version of this package created with one.

        DuckDB cannot drop a key constraint, and its ART index must fit in the bounded memory limit, which a
        large organization's would not (see `statements.column_definitions`). Rows, column order and NOT NULLs
        are kept; the comments are re-applied by `ensure()` after this.
        """
        keyed = connection.execute(
            sa.text(
                "SELECT DISTINCT table_name FROM duckdb_constraints() "
                "WHERE schema_name = :schema AND constraint_type = 'PRIMARY KEY'"
            ),
            {"schema": self.schema},
        )
        for (table_name,) in list(keyed):
            columns = connection.execute(
                sa.text(
                    "SELECT column_name, data_type, is_nullable FROM duckdb_columns() "
                    "WHERE schema_name = :schema AND table_name = :table ORDER BY column_index"
                ),
                {"schema": self.schema, "table": table_name},
            )
            definitions = ", ".join(
                f"{quote(name)} {data_type}{'' if nullable else ' NOT NULL'}"
                for name, data_type, nullable in columns
            )
            keyed_table, rebuilt = self._qualified(table_name), self._qualified(f"{table_name}__rebuilt")
            connection.exec_driver_sql(f"CREATE TABLE {rebuilt} ({definitions})")
            connection.exec_driver_sql(f"INSERT INTO {rebuilt} SELECT * FROM {keyed_table}")
            connection.exec_driver_sql(f"DROP TABLE {keyed_table}")
            connection.exec_driver_sql(f"ALTER TABLE {rebuilt} RENAME TO {quote(table_name)}")

    def _is_current(self, fingerprint: str) -> bool:
        """Whether the recorded DDL fingerprint is `fingerprint` and every declared table and column exists.

        One query names every declared column in empty subqueries, so the database's binder checks them all:
        a missing table or column fails it, which means "not current" (columns are qualified: SQLite reads an
        unknown bare "name" as a string). Measured on a fresh DuckDB connection
        to a populated file: ~7 ms, against ~30 ms for reading `information_schema` and ~50 ms for the same
        probes as `NOT EXISTS` clauses.
        """
        probes = " ".join(
            f"UNION ALL SELECT NULL FROM (SELECT {', '.join(f't.{quote(n)}' for n in table.column_names)} "
            f"FROM {self._qualified(table.name)} AS t LIMIT 0) AS {quote(f'probe_{table.name}')}"
            for table in all_tables()
        )
        try:
            with self._transaction() as connection:
                recorded = connection.exec_driver_sql(
                    f"SELECT fingerprint FROM {self._qualified(FINGERPRINT_TABLE)} {probes}"
                ).scalars()
                return list(recorded) == [fingerprint]
        except sa.exc.DBAPIError:
            return False

    def _existing_columns(self, connection: sa.Connection) -> dict[str, set[str]]:
        """The column names of every table in the warehouse's schema, by table (one query)."""
        if self.dialect == "generic":
            inspector = sa.inspect(connection)
            return {
                name: {column["name"] for column in inspector.get_columns(name)}
                for name in inspector.get_table_names()
            }
        rows = connection.execute(
            sa.text(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = :schema"
            ),
            {"schema": self.schema},
        )
        existing: dict[str, set[str]] = {}
        for table_name, column_name in rows:
            existing.setdefault(str(table_name), set()).add(str(column_name))
        return existing

    def _qualified(self, table_name: str) -> str:
        return qualified(self.schema, table_name, self.dialect)

    # --- merge -------------------------------------------------------------------------------------------

    def merge(
        self,
        batches: Sequence[Batch],
        *,
        synced_at: datetime,
        run_id: str | None = None,
        upserts: Mapping[str, pd.DataFrame] | None = None,
    ) -> MergeReport:
        """Stage and merge every batch in ONE transaction: all of them land, or none (tables untouched).

        The batches of one table are merged together (one set of statements for all their scopes), so they
        must share a scope column and must not list the same scope or the same id twice. With `run_id`, each
        batch's `sync_runs` row is recorded as `success`, with its counts and `run_columns`, in the same
        transaction: `completed_scopes()` never reports a scope whose rows did not commit, and the caller
        needs no further transaction to finish the row. `upserts` are rows of bookkeeping tables
        (`UPSERT_TABLES`, e.g. the `item_sync_state` of the items listed) that replace the rows of the same
        key in that transaction too, so the state never disagrees with the data it describes.
        """
        if synced_at.tzinfo is None:
            raise BatchError("synced_at must be timezone-aware (UTC)")
        for batch in batches:
            if batch.run_columns and run_id is None:
                raise BatchError("run_columns need a run_id")
            if unknown := sorted(set(batch.run_columns) - set(RUN_COLUMNS)):
                raise BatchError(f"run_columns may set {list(RUN_COLUMNS)}, not {unknown}")
        synced_at = synced_at.astimezone(UTC)
        report = MergeReport()
        grouped = self._grouped(batches, recorded=run_id is not None)
        replaced = [self._checked_upsert(name, frame) for name, frame in (upserts or {}).items()]
        with self._transaction() as connection:
            for table, frame, scope_column, scoped in grouped:
                counts = merge_frame(
                    connection, self.dialect, self.schema, table, frame, scope_column, list(scoped), synced_at
                )
                report.tables[table.name] = sum(counts.values(), TableCounts())
                report.scopes[table.name] = {
                    scope_value or settings.WAREHOUSE_SCOPE_ALL: scope_counts
                    for scope_value, scope_counts in counts.items()
                }
                if run_id is not None:
                    self._record_merged(connection, run_id, table, scoped, counts)
            for table, frame in replaced:
                self._replace_rows(connection, table, frame)
        return report

    def _record_merged(
        self,
        connection: sa.Connection,
        run_id: str,
        table: Table,
        scoped: Mapping[str | None, Batch],
        counts: Mapping[str | None, TableCounts],
    ) -> None:
        """One finished `sync_runs` row per batch, its counts summed over the parents it lists."""
        finished_at = datetime.now(UTC)
        per_batch: dict[int, tuple[Batch, TableCounts]] = {}
        for scope_value, batch in scoped.items():
            _, summed = per_batch.get(id(batch), (batch, TableCounts()))
            per_batch[id(batch)] = (batch, summed + counts[scope_value])
        self._upsert_sync_runs(
            connection,
            [
                {
                    "finished_at": finished_at,
                    **batch.run_columns,
                    "run_id": run_id,
                    "table_name": table.name,
                    "scope": _run_scope(batch),
                    "status": "success",
                    **_count_columns(summed),
                }
                for batch, summed in per_batch.values()
            ],
        )

    def _grouped(
        self, batches: Sequence[Batch], *, recorded: bool = False
    ) -> list[tuple[Table, pd.DataFrame, str | None, dict[str | None, Batch]]]:
        """Per table (in order of first appearance): its declaration, the batches' frames as one, their scope
        column and each scope value's batch; every batch checked, so a `BatchError` comes before anything
        is written (with `recorded`, also a batch of several parents that names no `sync_runs` row)."""
        grouped: dict[str, tuple[Table, list[pd.DataFrame], str | None, dict[str | None, Batch]]] = {}
        for batch in batches:
            table, frame, scope_column, scope_values = self._checked_batch(batch)
            if recorded and batch.run_scope is None and len(scope_values) > 1:
                raise BatchError(f"a {table.name} batch of several parents needs a run_scope")
            _, frames, grouped_column, scoped = grouped.setdefault(table.name, (table, [], scope_column, {}))
            if scope_column != grouped_column:
                raise BatchError(
                    f"{table.name} batches of one merge must share a scope column "
                    f"({grouped_column} and {scope_column})"
                )
            for scope_value in scope_values:
                if scope_value in scoped:
                    listed = scope_value or "the whole table"
                    raise BatchError(f"two {table.name} batches list the same scope ({listed})")
                scoped[scope_value] = batch
            frames.append(frame)
        combined = []
        for table, frames, scope_column, scoped in grouped.values():
            frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
            if len(frames) > 1 and (ids := frame["id"]).duplicated().any():
                repeated = ids[ids.duplicated()].iloc[0]
                raise BatchError(f"{table.name} batches of one merge repeat ids, e.g. {repeated!r}")
            combined.append((table, frame, scope_column, scoped))
        return combined

    def _checked_batch(self, batch: Batch) -> tuple[Table, pd.DataFrame, str | None, list[str | None]]:
        """The batch's table, its frame in declared column order, its scope column and scope values; or a
        `BatchError`."""
        table = merged_tables().get(batch.table)
        if table is None:
            raise BatchError(f"unknown table {batch.table!r}; expected one of {sorted(merged_tables())}")
        if table.scope_columns and (
            len(batch.scope) != 1 or not set(batch.scope) <= set(table.scope_columns)
        ):
            raise BatchError(
                f"a {table.name} batch needs one scope key of {list(table.scope_columns)}, "
                f"got {sorted(batch.scope)}"
            )
        if not table.scope_columns and batch.scope:
            raise BatchError(f"a {table.name} batch needs scope keys [], got {sorted(batch.scope)}")
        frame = batch.frame
        missing = [name for name in table.column_names if name not in frame.columns]
        unexpected = [str(name) for name in frame.columns if name not in table.column_names]
        if missing or unexpected:
            raise BatchError(
                f"{table.name} frame columns differ from the table: missing {missing}, extra {unexpected}"
            )
        frame = frame[list(table.column_names)]
        ids = frame["id"]
        if ids.isna().any():
            raise BatchError(f"{table.name} frame has rows without an id")
        if ids.duplicated().any():
            raise BatchError(f"{table.name} frame repeats ids, e.g. {ids[ids.duplicated()].iloc[0]!r}")
        if not batch.scope:
            return table, frame, None, [None]
        [(scope_column, listed)] = batch.scope.items()
        scope_values = [listed] if isinstance(listed, str) else list(listed)
        if not scope_values or not all(isinstance(value, str) and value for value in scope_values):
            raise BatchError(f"{table.name} batch scope {scope_column} must be one or more ids")
        if len(set(scope_values)) < len(scope_values):
            raise BatchError(f"a {table.name} batch lists a {scope_column} twice")
        outside = ~frame[scope_column].isin(scope_values).fillna(False).astype(bool)
        if outside.any():
            shown = scope_values[0] if len(scope_values) == 1 else f"{len(scope_values)} values"
            raise BatchError(
                f"{int(outside.sum())} {table.name} rows are outside the batch scope {scope_column}={shown!r}"
            )
        return table, frame, scope_column, list(scope_values)

    def _checked_upsert(self, table_name: str, frame: pd.DataFrame) -> tuple[Table, pd.DataFrame]:
        table = UPSERT_TABLES.get(table_name)
        if table is None:
            raise BatchError(f"upserts may write {sorted(UPSERT_TABLES)}, not {table_name!r}")
        if sorted(map(str, frame.columns)) != sorted(table.column_names):
            raise BatchError(f"{table.name} upsert columns differ from the table: {list(frame.columns)}")
        keys = frame[list(table.primary_key)]
        if keys.isna().any().any() or keys.duplicated().any():
            raise BatchError(f"{table.name} upsert rows need distinct, complete keys {table.primary_key}")
        return table, frame[list(table.column_names)]

    def _replace_rows(self, connection: sa.Connection, table: Table, frame: pd.DataFrame) -> None:
        """Delete the rows with the frame's keys, insert the frame: portable, one statement each."""
        if frame.empty:
            return
        target = self._qualified(table.name)
        keys = [quote(name) for name in table.primary_key]
        columns = ", ".join(quote(name) for name in table.column_names)
        with staged(connection, self.dialect, table, frame) as stage:
            if len(keys) == 1:
                where = f"{keys[0]} IN (SELECT {keys[0]} FROM {stage})"
            else:
                matched = " AND ".join(f"s.{key} = {target}.{key}" for key in keys)
                where = f"EXISTS (SELECT 1 FROM {stage} AS s WHERE {matched})"
            connection.exec_driver_sql(f"DELETE FROM {target} WHERE {where}")
            connection.exec_driver_sql(f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {stage}")

    # --- sync runs ---------------------------------------------------------------------------------------

    def record_sync_run(
        self,
        run_id: str,
        table_name: str,
        scope: str = settings.WAREHOUSE_SCOPE_ALL,
        *,
        status: SyncStatus,
        started_at: datetime | None = None,
        finished_at: datetime | None = None,
        requests: int | None = None,
        retries: int | None = None,
        rate_limited: int | None = None,
        seconds_waited: float | None = None,
        counts: TableCounts | None = None,
        error: str | None = None,
    ) -> None:
        """Insert or update one `sync_runs` row; None keeps the recorded value (but `error` is replaced)."""
        if status not in SYNC_RUN_STATUSES:
            raise WarehouseError(f"sync run status must be one of {SYNC_RUN_STATUSES}, got {status!r}")
        values: dict[str, Any] = {
            "run_id": run_id,
            "table_name": table_name,
            "scope": scope,
            "status": status,
            "started_at": started_at,
            "finished_at": finished_at,
            "requests": requests,
            "retries": retries,
            "rate_limited": rate_limited,
            "seconds_waited": seconds_waited,
            "error": error,
            **(_count_columns(counts) if counts else {}),
        }
        with self._transaction() as connection:
            self._upsert_sync_runs(connection, [values])

    def _upsert_sync_runs(self, connection: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Update each row that exists, insert the others; None keeps the recorded value (not for `error`).

        `rows` share one run and table. Two statements for the lot (the keys already there, then one
        multi-row INSERT), plus an UPDATE by key per row that exists (a scope recorded `running` or
        `failed` before). Not `INSERT ... ON CONFLICT DO UPDATE`: on DuckDB that costs ~5 ms a row. Safe
        without it: a DuckDB file has one writer, PostgreSQL transactions hold the schema's advisory lock,
        and SQLite locks the database at the first write.
        """
        names = list(SYNC_RUNS.column_names)
        target = self._qualified(SYNC_RUNS.name)
        prepared = [{name: self._sync_run_value(row.get(name)) for name in names} for row in rows]
        recorded = {
            str(scope)
            for (scope,) in connection.execute(
                sa.text(f"SELECT scope FROM {target} WHERE run_id = :run_id AND table_name = :table_name"),
                {"run_id": prepared[0]["run_id"], "table_name": prepared[0]["table_name"]},
            )
        }
        replaced = {"status", "error"}
        assignments = ", ".join(
            f"{quote(n)} = :{n}" if n in replaced else f"{quote(n)} = COALESCE(:{n}, {quote(n)})"
            for n in names
            if n not in SYNC_RUNS.primary_key
        )
        key = " AND ".join(f"{quote(n)} = :{n}" for n in SYNC_RUNS.primary_key)
        for row in prepared:
            if row["scope"] in recorded:
                connection.execute(sa.text(f"UPDATE {target} SET {assignments} WHERE {key}"), row)
        new = [row for row in prepared if row["scope"] not in recorded]
        if new:
            values = ", ".join(
                f"({', '.join(f':{name}_{index}' for name in names)})" for index in range(len(new))
            )
            connection.execute(
                sa.text(f"INSERT INTO {target} ({', '.join(quote(n) for n in names)}) VALUES {values}"),
                {f"{name}_{index}": row[name] for index, row in enumerate(new) for name in names},
            )

    def _sync_run_value(self, value: Any) -> Any:
        """Timestamps as ISO text for SQLite, which binds datetimes as text anyway."""
        if isinstance(value, datetime) and self.dialect == "generic":
            return value.astimezone(UTC).isoformat(sep=" ")
        return value

    def completed_scopes(self, run_id: str, table_name: str) -> set[str]:
        """Scopes of `table_name` that run `run_id` committed successfully (to resume a re-executed run)."""
        with self._transaction() as connection:
            rows = connection.execute(
                sa.text(
                    f"SELECT scope FROM {self._qualified(SYNC_RUNS.name)} "
                    "WHERE run_id = :run_id AND table_name = :table_name AND status = 'success'"
                ),
                {"run_id": run_id, "table_name": table_name},
            )
            return {str(row[0]) for row in rows}

    # --- reading -----------------------------------------------------------------------------------------

    def _declared(self, table_name: str) -> Table:
        for table in all_tables():
            if table.name == table_name:
                return table
        raise WarehouseConfigError(f"unknown warehouse table {table_name!r}")

    def row_count(self, table_name: str) -> int:
        table = self._declared(table_name)
        with self._transaction() as connection:
            return int(
                connection.exec_driver_sql(f"SELECT COUNT(*) FROM {self._qualified(table.name)}").scalar_one()
            )

    def read_table(self, table_name: str) -> pd.DataFrame:
        """The whole table with the declared pandas dtypes, ordered by primary key (for tests and checks)."""
        table = self._declared(table_name)
        order = ", ".join(quote(name) for name in (table.primary_key or table.column_names))
        columns = ", ".join(quote(name) for name in table.column_names)
        with self._transaction() as connection:
            result = connection.exec_driver_sql(
                f"SELECT {columns} FROM {self._qualified(table.name)} ORDER BY {order}"
            )
            rows = result.all()
        values = list(zip(*rows, strict=True)) if rows else [() for _ in table.columns]
        return pd.DataFrame(
            {
                column.name: _typed_series(list(data), column.type)
                for column, data in zip(table.columns, values, strict=True)
            }
        )

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run a read query, `{{schema}}` replaced by the quoted schema (for internal queries and tests)."""
        with self._transaction() as connection:
            result = connection.execute(
                sa.text(sql.replace(SCHEMA_TOKEN, quote(self.schema))), dict(params or {})
            )
            return pd.DataFrame(result.all(), columns=list(result.keys()))

    # --- views -------------------------------------------------------------------------------------------

    def create_views(self) -> list[str]:
        """Create or replace the views in `sql/views/*.sql` (DuckDB and PostgreSQL); returns their file stems.

        Generic databases have no schemas, which the views rely on: they get none (an empty list).
        """
        if self.dialect == "generic":
            return []
        files = sorted((SQL_DIR / "views").glob("*.sql"))
        with self._transaction() as connection:
            for path in files:
                connection.exec_driver_sql(
                    path.read_text(encoding="utf-8").replace(SCHEMA_TOKEN, quote(self.schema))
                )
        return [path.stem for path in files]


def _run_scope(batch: Batch) -> str:
    """The `sync_runs.scope` of a merged batch: its `run_scope`, else its one parent's id, else '*'."""
    if batch.run_scope is not None:
        return batch.run_scope
    [listed] = batch.scope.values() or [settings.WAREHOUSE_SCOPE_ALL]
    return listed if isinstance(listed, str) else str(next(iter(listed)))


def _count_columns(counts: TableCounts) -> dict[str, int]:
    return {
        "rows_inserted": counts.inserted,
        "rows_updated": counts.updated,
        "rows_unchanged": counts.unchanged,
        "rows_removed": counts.removed,
    }


def _typed_series(values: list[Any], logical: str) -> pd.Series:
    """Database values -> the declared pandas dtype (SQLite returns text, DuckDB local times)."""
    dtype = pd.api.types.pandas_dtype(PANDAS_DTYPES[logical])  # type: ignore[index]
    if logical == "timestamp":
        return pd.Series(
            pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601"), dtype=dtype
        )
    if logical == "date":
        parsed = pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601")
        return pd.Series(pd.arrays.ArrowExtensionArray(pa.Array.from_pandas(parsed).cast(pa.date32())))
    if logical == "double":
        return pd.Series(pd.arrays.ArrowExtensionArray(pa.array(values, type=pa.float64())))
    return pd.Series(values, dtype=dtype)
