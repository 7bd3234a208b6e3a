"""What makes a CLI sync safe to interrupt and to start twice: one sync at a time, and resume after a crash.

A CLI sync records itself in `sync_runs` (table name `(cli sync)`, scope: the workspaces it was asked for,
`*` for all): `running` when it starts; `success`, `failed` or `interrupted` (Ctrl-C, SIGTERM) when it ends.
The latest such row for the same workspaces, started within the last day, that is not `success` (a row still
`running` means the process was killed) is an unfinished sync: the next CLI sync for those workspaces reuses
its key, so the scopes it committed are skipped (the same mechanism as a Dagster re-execution); a sync of
other workspaces leaves it alone. The lock is held for the whole sync, so a second sync cannot take over the
key of one that is still running.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType

import filelock
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from poelis_pipelines import settings
from poelis_pipelines.warehouse import (
    SyncStatus,
    Warehouse,
    WarehouseBusyError,
    WarehouseReadOnlyError,
    WarehouseUnavailableError,
)

FILE_BACKENDS = ("duckdb", "sqlite")


class SyncLock:
    """Held for a whole CLI sync, so two syncs never write into the same warehouse schema at once.

    A file warehouse (DuckDB, SQLite) gets a lock file beside it; PostgreSQL a session advisory lock on a
    dedicated connection. Both vanish with the process, so `kill -9` never leaves a stale lock. Other
    databases get no lock (their merges are still one transaction each).
    """

    def __init__(self, url: str, schema: str) -> None:
        self._url = sa.make_url(url)
        self._schema = schema
        self._file_lock: filelock.BaseFileLock | None = None
        self._connection: sa.Connection | None = None
        self._engine: sa.Engine | None = None

    def _lock_file(self) -> Path | None:
        database = self._url.database or ""
        if self._url.get_backend_name() not in FILE_BACKENDS or database in ("", ":memory:"):
            return None
        if database.startswith(":"):
            return None
        return Path(database + settings.SYNC_LOCK_SUFFIX)

    def _advisory_key(self) -> int:
        """Distinct from the per-merge transaction lock, so merges of this very sync never wait on it."""
        digest = hashlib.sha256(f"poelis_pipelines:cli-sync:{self._schema}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def _busy(self, where: str) -> WarehouseBusyError:
        return WarehouseBusyError(
            f"another sync into {where} (schema {self._schema}) is running; wait for it to finish, then retry"
        )

    def __enter__(self) -> SyncLock:
        lock_file = self._lock_file()
        if lock_file is not None:
            try:  # created first: filelock reports a file it cannot create as "held by someone else"
                lock_file.parent.mkdir(parents=True, exist_ok=True)
                lock_file.touch(exist_ok=True)
            except OSError as error:
                reason = "a file is in the way" if isinstance(error, FileExistsError) else error.strerror
                raise WarehouseReadOnlyError(f"cannot create {lock_file} ({reason})") from error
            self._file_lock = filelock.FileLock(lock_file)
            try:
                self._file_lock.acquire(timeout=0)
            except filelock.Timeout:
                raise self._busy(str(lock_file.with_suffix(""))) from None
        elif self._url.get_backend_name() == "postgresql":
            where = self._url.render_as_string(hide_password=True)
            self._engine = sa.create_engine(self._url, poolclass=NullPool)
            try:
                connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                locked = connection.execute(
                    sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": self._advisory_key()}
                ).scalar_one()
            except sa.exc.DBAPIError as error:
                reason = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else "no answer"
                raise WarehouseUnavailableError(f"cannot open the warehouse at {where} ({reason})") from error
            if not locked:
                connection.close()
                raise self._busy(where)
            self._connection = connection
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._file_lock is not None:
            self._file_lock.release()
        if self._connection is not None:
            self._connection.close()  # ends the session, which releases its advisory lock
        if self._engine is not None:
            self._engine.dispose()


def sync_arguments(
    workspaces: Sequence[str] | None,
    *,
    full: bool = False,
    max_staleness: timedelta | None = None,
    versions: str = settings.DEFAULT_VERSIONS,
) -> str:
    """What decides what a sync fetches, as its `(cli sync)` row's scope: the workspaces asked for, or `*`,
    then `--full` or an explicit `--max-staleness` (in seconds, however it was written), and the versions
    mode when it is not the default."""
    arguments = ",".join(sorted(set(workspaces))) if workspaces else settings.WAREHOUSE_SCOPE_ALL
    if versions != settings.DEFAULT_VERSIONS:
        arguments = f"{arguments} --versions={versions}"
    if full:
        return f"{arguments} --full"
    if max_staleness is not None:
        return f"{arguments} --max-staleness={max_staleness.total_seconds():g}s"
    return arguments


@dataclass(frozen=True)
class UnfinishedSync:
    """A CLI sync that never finished successfully: its key, how it ended, how many scopes it committed."""

    sync_key: str
    started_at: datetime
    status: str  # "running" (the process was killed), "interrupted" or "failed"
    error: str | None
    committed_scopes: int


def unfinished_sync(warehouse: Warehouse, arguments: str, now: datetime) -> UnfinishedSync | None:
    """The latest CLI sync of the last day with these arguments, unless it succeeded.

    Only the latest counts: a success after a failure means there is nothing to resume.
    """
    latest = warehouse.query(
        "SELECT run_id, status, started_at, error FROM {{schema}}.sync_runs "
        "WHERE table_name = :marker AND scope = :arguments AND started_at >= :since "
        "ORDER BY started_at DESC LIMIT 1",
        {
            "marker": settings.CLI_SYNC_TABLE_NAME,
            "arguments": arguments,
            "since": now - timedelta(hours=settings.CLI_RESUME_WINDOW_HOURS),
        },
    )
    if latest.empty or latest.loc[0, "status"] == "success":
        return None
    sync_key = str(latest.loc[0, "run_id"])
    committed = warehouse.query(
        "SELECT COUNT(*) AS committed FROM {{schema}}.sync_runs "
        "WHERE run_id = :key AND table_name <> :marker AND status = 'success'",
        {"key": sync_key, "marker": settings.CLI_SYNC_TABLE_NAME},
    )
    started_at = latest.loc[0, "started_at"]
    error = latest.loc[0, "error"]
    return UnfinishedSync(
        sync_key=sync_key,
        started_at=started_at.astimezone(UTC) if isinstance(started_at, datetime) else now,
        status=str(latest.loc[0, "status"]),
        error=error if isinstance(error, str) else None,
        committed_scopes=int(committed["committed"].iloc[0]),
    )


def record_sync_start(warehouse: Warehouse, sync_key: str, arguments: str, *, resumed: bool) -> None:
    """Mark the sync `running`; a resumed sync keeps its first start, so resuming never extends the window."""
    warehouse.record_sync_run(
        sync_key,
        settings.CLI_SYNC_TABLE_NAME,
        arguments,
        status="running",
        started_at=None if resumed else datetime.now(UTC),
    )


def record_sync_end(
    warehouse: Warehouse, sync_key: str, arguments: str, *, status: SyncStatus, error: str | None
) -> None:
    warehouse.record_sync_run(
        sync_key,
        settings.CLI_SYNC_TABLE_NAME,
        arguments,
        status=status,
        finished_at=datetime.now(UTC),
        error=error,
    )
