"""One level of the extract → normalize → merge flow, per table and scope, with no Dagster in sight.

The Dagster assets are thin wrappers around these functions, and the CLI runs those assets, so there is one
code path. A level takes the workspaces of one Dagster step (one partition, or the CLI's range of them) and
commits per scope (a workspace's products, a product's items, a product's properties), recording the scope in
`sync_runs` in the same transaction, so a re-executed run skips what it already committed instead of spending
the organization's quota again. Scopes are fetched ahead while earlier ones are normalized and merged, and
the scopes already fetched when a merge starts are merged together (up to `SYNC_MERGE_RECORDS` records):
under a quota that is one scope per commit, as fetched; quota off, a few merges cover many small scopes.
The warehouse is the hand-off between levels: items are listed for the products the warehouse holds,
properties for the items it holds, so no level refetches its parent. Once `STOP` is set (the CLI sets it on
Ctrl-C or SIGTERM), a level raises `Interrupted` before its next merge: what it committed stays, and nothing
is half-written.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from poelis_pipelines import settings
from poelis_pipelines.client import ClientStats, PoelisClient, StatsSnapshot
from poelis_pipelines.client.secrets import scrub
from poelis_pipelines.normalize import normalize
from poelis_pipelines.tables import TABLES
from poelis_pipelines.warehouse import Batch, MergeReport, Warehouse
from poelis_pipelines.warehouse.inspection import live_ids


@dataclass
class LevelResult:
    """What one asset did: API records seen, rows merged, HTTP cost, and which scopes were resumed."""

    table: str
    records_from_api: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    scopes_synced: list[str] = field(default_factory=list)
    scopes_resumed: list[str] = field(default_factory=list)
    http: dict[str, Any] = field(default_factory=dict)

    def add(self, report: MergeReport) -> None:
        counts = report.tables[self.table]
        self.inserted += counts.inserted
        self.updated += counts.updated
        self.unchanged += counts.unchanged
        self.removed += counts.removed


class ProgressBoard:
    """Live counters per level that an in-process runner (the CLI) can render while assets work.

    Assets always update it; it costs a lock and a dict update per scope, and nothing reads it unless a
    terminal display is attached.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._levels: dict[str, dict[str, int]] = {}
        self.client_stats: ClientStats | None = None

    def start(self, level: str, total: int) -> None:
        with self._lock:
            entry = self._levels.setdefault(level, {"done": 0, "total": 0, "records": 0})
            entry["total"] += total

    def advance(self, level: str, records: int) -> None:
        with self._lock:
            entry = self._levels.setdefault(level, {"done": 0, "total": 0, "records": 0})
            entry["done"] += 1
            entry["records"] += records

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {level: dict(values) for level, values in self._levels.items()}

    def reset(self) -> None:
        with self._lock:
            self._levels.clear()
            self.client_stats = None


PROGRESS = ProgressBoard()


def _now() -> datetime:
    return datetime.now(UTC)


def _http_since(client: PoelisClient, before: StatsSnapshot) -> dict[str, Any]:
    """What the API cost since `before`: requests, retries by cause, 429s, seconds waited, bytes."""
    return (client.stats.snapshot() - before).as_dict()


def _http_columns(cost: Mapping[str, Any]) -> dict[str, Any]:
    """An HTTP cost as `sync_runs` columns."""
    return {
        "requests": cost["requests"],
        "retries": cost["retries_total"],
        "rate_limited": cost["rate_limited"],
        "seconds_waited": cost["seconds_waited"],
    }


Records = list[Mapping[str, Any]]

STOP = threading.Event()
"""Set by whoever owns the process (the CLI's signal handlers): every level stops before its next merge."""
STOP_POLL_SECONDS = 0.1  # how long a level waiting for the next fetched scope may miss `STOP`


class Interrupted(Exception):
    """`STOP` was set: the level stopped between two merges (each one transaction, committed or not begun)."""


def raise_if_stopping(table: str) -> None:
    if STOP.is_set():
        raise Interrupted(f"{table}: stopped on request; the scopes committed before are kept")


def _no_lineage(_scope: str) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class _Level:
    """One level of the hierarchy: its table, the scopes it lists completely, and how to list one."""

    table: str
    scopes: list[str]
    fetch: Callable[[str], Iterable[Mapping[str, Any]]]
    """A scope's records, lazily. Runs on the prefetch thread: HTTP only, never the warehouse."""
    endpoint: Callable[[str], str]
    """How a scope's listing is named in errors (e.g. a record without an id)."""
    lineage: Callable[[str], dict[str, str]] = _no_lineage
    """Ids the records do not carry but the table keeps for analysts (e.g. an item's workspace)."""

    def batch(self, fetched: _Fetched) -> Batch:
        table = TABLES[self.table]
        scope = fetched.scope
        frame = normalize(table.name, fetched.records, endpoint=self.endpoint(scope), **self.lineage(scope))
        return Batch(
            table.name,
            frame,
            scope={table.scope_column: scope} if table.scope_column else {},
            run_columns={"started_at": fetched.started_at, **_http_columns(fetched.http)},
        )


@dataclass
class _Fetched:
    """One scope's listing, when its fetch started, what exactly that fetch cost, and its error if any."""

    scope: str
    started_at: datetime
    records: Records
    http: dict[str, Any]
    error: Exception | None = None


class _Abandoned(Exception):
    """The level stopped early: the prefetch in flight gives up at its next record."""


class _Prefetcher:
    """Fetches scopes in order on one background thread, ahead of the caller's merges, while it holds fewer
    than `SYNC_MERGE_RECORDS` fetched records; the caller takes every scope already fetched as one group.

    Quota off, the API's answers and DuckDB's work overlap the Python of the other side, and scopes pile up
    during a merge so the next one covers several; under a quota, requests keep flowing while a scope merges
    instead of leaving the window's budget unused, and each scope is merged as soon as it arrives. One fetch
    runs at a time, so a scope's HTTP cost is the client's stats difference around it. A failed fetch ends
    its group and the fetching. When the caller stops early, the fetch in flight stops at its next record:
    its requests in flight finish, no new one starts. On `STOP` the caller does not wait for that: the fetch
    may be waiting out a rate-limit window, and it never touches the warehouse.
    """

    def __init__(self, level: _Level, client: PoelisClient, scopes: list[str]) -> None:
        self._level = level
        self._client = client
        self._scopes = scopes
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._ready: deque[_Fetched] = deque()
        self._held = 0  # records in `_ready`
        self._finished = False
        self._thread = threading.Thread(target=self._fetch_all, name="poelis-prefetch", daemon=True)

    def _fetch(self, scope: str) -> _Fetched:
        fetched = _Fetched(scope, _now(), [], {})
        before = self._client.stats.snapshot()
        records: Iterator[Mapping[str, Any]] = iter(())
        try:
            records = iter(self._level.fetch(scope))
            for record in records:
                if self._stop.is_set():
                    raise _Abandoned(scope)
                fetched.records.append(record)
        except Exception as error:
            fetched.error = error
        finally:
            if isinstance(records, Generator):
                records.close()  # now, not at garbage collection: a fan-out cancels its queued requests
        fetched.http = _http_since(self._client, before)
        return fetched

    def _may_fetch(self) -> bool:
        return self._held < settings.SYNC_MERGE_RECORDS or self._stop.is_set()

    def _fetch_all(self) -> None:
        try:
            for scope in self._scopes:
                with self._changed:
                    self._changed.wait_for(self._may_fetch)
                if self._stop.is_set():
                    return
                before = self._client.stats.snapshot()
                try:
                    fetched = self._fetch(scope)
                except BaseException as error:  # a bug: the caller must fail, not see a short level
                    failure = RuntimeError(f"fetching {scope} failed: {error!r}")
                    fetched = _Fetched(scope, _now(), [], _http_since(self._client, before), failure)
                with self._changed:
                    self._ready.append(fetched)
                    self._held += len(fetched.records)
                    self._changed.notify_all()
                if fetched.error is not None:
                    return
        finally:
            with self._changed:
                self._finished = True
                self._changed.notify_all()

    def __iter__(self) -> Iterator[list[_Fetched]]:
        """Groups of consecutive scopes: the next one (waiting for it if need be) and those fetched after it,
        up to `SYNC_MERGE_RECORDS` records, ending at a failed fetch."""
        while True:
            with self._changed:
                while not self._changed.wait_for(
                    lambda: bool(self._ready) or self._finished, timeout=STOP_POLL_SECONDS
                ):
                    raise_if_stopping(self._level.table)
                if not self._ready:
                    return
                group = [self._ready.popleft()]
                records = len(group[0].records)
                while (
                    self._ready
                    and group[-1].error is None
                    and records + len(self._ready[0].records) <= settings.SYNC_MERGE_RECORDS
                ):
                    group.append(self._ready.popleft())
                    records += len(group[-1].records)
                self._held -= records
                self._changed.notify_all()
            yield group

    def __enter__(self) -> _Prefetcher:
        self._thread.start()
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if not STOP.is_set():
            self._thread.join()


def _record_failure(
    level: _Level, warehouse: Warehouse, fetched: _Fetched, error: Exception, *, run_key: str
) -> None:
    """The scope's failure in `sync_runs`, its text scrubbed of secrets: which scope broke, and why."""
    warehouse.record_sync_run(
        run_key,
        level.table,
        fetched.scope,
        status="failed",
        started_at=fetched.started_at,
        finished_at=_now(),
        error=scrub(f"{type(error).__name__}: {error}"),
        **_http_columns(fetched.http),
    )


def _merge_group(
    level: _Level, warehouse: Warehouse, result: LevelResult, group: list[_Fetched], *, run_key: str
) -> None:
    """Merge a group of complete scopes in one transaction, which also records each scope in `sync_runs`.

    The scopes before one that failed (its fetch, or its records' normalization) are merged first, so that
    failure costs no other scope's work; it is then recorded and raised. The group shares the time its first
    fetch started as `_synced_at` (every row was fetched after it).
    """
    batches: list[Batch] = []
    failed: tuple[_Fetched, Exception] | None = None
    for fetched in group:
        try:
            if fetched.error is not None:
                raise fetched.error
            batches.append(level.batch(fetched))
        except Exception as error:
            failed = (fetched, error)
            break
    merged = group[: len(batches)]
    if merged:
        try:
            report = warehouse.merge(batches, synced_at=merged[0].started_at, run_id=run_key)
        except Exception as error:
            for fetched in merged:
                _record_failure(level, warehouse, fetched, error, run_key=run_key)
            raise
        result.add(report)
        for fetched in merged:
            result.records_from_api += len(fetched.records)
            result.scopes_synced.append(fetched.scope)
            PROGRESS.advance(level.table, len(fetched.records))
    if failed is not None:
        failed_fetch, failure = failed
        _record_failure(level, warehouse, failed_fetch, failure, run_key=run_key)
        raise failure


def _run_level(level: _Level, client: PoelisClient, warehouse: Warehouse, *, run_key: str) -> LevelResult:
    """Sync each scope of one level, skipping the scopes this run already committed."""
    raise_if_stopping(level.table)
    result = LevelResult(table=level.table)
    before = client.stats.snapshot()
    already_done = warehouse.completed_scopes(run_key, level.table)
    PROGRESS.start(level.table, len(level.scopes))
    PROGRESS.client_stats = client.stats
    result.scopes_resumed = [scope for scope in level.scopes if scope in already_done]
    for _scope in result.scopes_resumed:
        PROGRESS.advance(level.table, 0)
    pending = [scope for scope in level.scopes if scope not in already_done]
    with _Prefetcher(level, client, pending) as groups:
        for group in groups:
            raise_if_stopping(level.table)
            _merge_group(level, warehouse, result, group, run_key=run_key)
    result.http = _http_since(client, before)
    return result


def sync_workspaces(client: PoelisClient, warehouse: Warehouse, *, run_key: str) -> LevelResult:
    """List every workspace the key can see; the whole table is one complete scope."""
    level = _Level(
        "workspaces",
        scopes=[settings.WAREHOUSE_SCOPE_ALL],
        fetch=lambda _scope: client.iter_workspaces(),
        endpoint=lambda _scope: "GET /workspaces",
    )
    return _run_level(level, client, warehouse, run_key=run_key)


def sync_products(
    client: PoelisClient, warehouse: Warehouse, workspace_ids: Sequence[str], *, run_key: str
) -> LevelResult:
    """List each workspace's products; a workspace is a complete scope."""
    level = _Level(
        "products",
        scopes=list(workspace_ids),
        fetch=client.iter_products,
        endpoint=lambda scope: f"GET /products?workspace_id={scope}",
    )
    return _run_level(level, client, warehouse, run_key=run_key)


def _workspace_of_products(warehouse: Warehouse, workspace_ids: Sequence[str]) -> dict[str, str]:
    """The products the warehouse holds for these workspaces (in workspace, then id, order) → workspace."""
    return {
        product_id: workspace_id
        for workspace_id in workspace_ids
        for product_id in live_ids(warehouse, "products", workspace_id=workspace_id)
    }


def sync_items(
    client: PoelisClient, warehouse: Warehouse, workspace_ids: Sequence[str], *, run_key: str
) -> LevelResult:
    """List the items of each product the warehouse holds for the workspaces, committing per product."""
    workspace_of = _workspace_of_products(warehouse, workspace_ids)
    level = _Level(
        "items",
        scopes=list(workspace_of),
        fetch=lambda product_id: client.iter_items(product_id, include_deleted=True),
        endpoint=lambda product_id: f"GET /items?product_id={product_id}",
        lineage=lambda product_id: {"workspace_id": workspace_of[product_id]},
    )
    return _run_level(level, client, warehouse, run_key=run_key)


def _properties_of_items(client: PoelisClient, item_ids: list[str]) -> Iterator[Mapping[str, Any]]:
    for _item_id, records in client.fetch_properties_for_items(item_ids, include_deleted=True):
        yield from records


def sync_properties(
    client: PoelisClient, warehouse: Warehouse, workspace_ids: Sequence[str], *, run_key: str
) -> LevelResult:
    """List the properties of every item of each product, committing one product's properties at a time.

    The item ids are read from the warehouse up front: the fetches run on the prefetch thread, which never
    touches the warehouse.
    """
    workspace_of = _workspace_of_products(warehouse, workspace_ids)
    items_of = {product: live_ids(warehouse, "items", product_id=product) for product in workspace_of}
    level = _Level(
        "properties",
        scopes=list(workspace_of),
        fetch=lambda product_id: _properties_of_items(client, items_of[product_id]),
        endpoint=lambda product_id: f"GET /properties (items of product {product_id})",
        lineage=lambda product_id: {"product_id": product_id, "workspace_id": workspace_of[product_id]},
    )
    return _run_level(level, client, warehouse, run_key=run_key)
