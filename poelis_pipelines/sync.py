"""One level of the extract → normalize → merge flow, per table and scope, with no Dagster in sight.

`poelis_pipelines.levels` declares the levels (most as a `Listing`, which `sync_listing` runs); the Dagster
assets and the Airflow tasks are thin wrappers around them, and the CLI runs those assets, so there is one
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

Properties are listed per item, so an item's listing is complete on its own: an incremental run
(`IncrementalSettings`) lists only the items `poelis_pipelines.incremental` selects, merged with the item as
their scope, and every properties merge writes the listed items' `item_sync_state` in its transaction.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pandas as pd

from poelis_pipelines import settings
from poelis_pipelines.client import ClientStats, PoelisClient, RequestBudgetExhausted, StatsSnapshot
from poelis_pipelines.client.secrets import scrub
from poelis_pipelines.incremental import (
    REASONS,
    Freshness,
    IncrementalReport,
    IncrementalSettings,
    ListedItem,
    SelectedItem,
    freshness,
    item_catalog,
    listed_item,
    select_items,
    state_rows,
    vanished_items,
)
from poelis_pipelines.normalize import normalize
from poelis_pipelines.tables import ITEM_SYNC_STATE, merged_tables
from poelis_pipelines.warehouse import Batch, TableCounts, Warehouse
from poelis_pipelines.warehouse.inspection import live_ids


@dataclass
class LevelResult:
    """What one asset did: API records seen, rows merged, HTTP cost, and which scopes were resumed.

    A level below `workspaces` also keeps these figures per workspace (`workspaces`), so a step over several
    workspace partitions can tell each partition what was done for it.
    """

    table: str
    records_from_api: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    scopes_synced: list[str] = field(default_factory=list)
    scopes_resumed: list[str] = field(default_factory=list)
    http: dict[str, Any] = field(default_factory=dict)
    workspaces: dict[str, LevelResult] = field(default_factory=dict)
    """The figures of each workspace's scopes; a workspace's `http` is what fetching its scopes cost."""
    budget_exhausted: bool = False
    """The client's request budget ran out: what was fetched is committed, the rest waits for a later run."""
    incremental: IncrementalReport | None = None
    """An incremental properties run's selection, backlog and staleness."""

    def for_workspace(self, workspace_id: str) -> LevelResult:
        """One workspace's figures: zeros when it had nothing to sync (e.g. a workspace without products)."""
        return self.workspaces.get(workspace_id) or LevelResult(self.table)

    def add_merged(
        self, scope: str, records: int, counts: TableCounts, http: Mapping[str, Any], workspace_id: str | None
    ) -> None:
        """A committed scope: its API records and merge counts, in the totals and its workspace's figures.
        The totals' `http` is measured around the whole level instead (see `_run_level`)."""
        for figures in self._figures(workspace_id):
            figures.records_from_api += records
            figures.inserted += counts.inserted
            figures.updated += counts.updated
            figures.unchanged += counts.unchanged
            figures.removed += counts.removed
            figures.scopes_synced.append(scope)
        if workspace_id is not None:
            add_cost(self.workspaces[workspace_id].http, http)

    def add_resumed(self, scope: str, workspace_id: str | None) -> None:
        for figures in self._figures(workspace_id):
            figures.scopes_resumed.append(scope)

    def _figures(self, workspace_id: str | None) -> list[LevelResult]:
        if workspace_id is None:
            return [self]
        return [self, self.workspaces.setdefault(workspace_id, LevelResult(self.table))]


def add_cost(total: dict[str, Any], cost: Mapping[str, Any]) -> None:
    """Add one HTTP cost (`StatsSnapshot.as_dict()`, retries by cause nested) to a running total."""
    for name, value in cost.items():
        if isinstance(value, Mapping):
            add_cost(total.setdefault(name, {}), value)
        else:
            total[name] = total.get(name, 0) + value


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


def now() -> datetime:
    """The sync's clock, by one name (a simulated day replaces it)."""
    return datetime.now(UTC)


def http_since(client: PoelisClient, before: StatsSnapshot) -> dict[str, Any]:
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


def _no_workspace(_scope: str) -> str | None:
    return None


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
    workspace_of: Callable[[str], str | None] = _no_workspace
    """The workspace a scope belongs to, for the figures per workspace (None: a level of the whole table)."""
    listed_items: Callable[[str], Sequence[ListedItem]] | None = None
    """Properties levels: the items a scope lists completely, whose `item_sync_state` commits with it."""
    budget_errors: tuple[type[BaseException], ...] = (RequestBudgetExhausted,)
    """Fetch errors that mean the request budget is spent: the level stops early, successfully, at every
    level (a scope whose listing the budget cut short is not merged: it was not listed completely)."""

    def listed_records(self, fetched: Fetched) -> int:
        """The records of a merged scope that its batch holds (all of them: a scope is listed whole)."""
        return len(fetched.records)

    def note_merged(self, counts: Mapping[str, TableCounts]) -> None:
        """What a merge did per scope value; only the item-scoped level keeps it (see `_ItemLevel`)."""

    def batch(self, fetched: Fetched) -> Batch | None:
        """The scope's rows to merge (a fetch that failed has none)."""
        if fetched.error is not None:
            return None
        table = merged_tables()[self.table]
        scope = fetched.scope
        frame = normalize(table.name, fetched.records, endpoint=self.endpoint(scope), **self.lineage(scope))
        return Batch(
            table.name,
            frame,
            scope={table.scope_column: scope} if table.scope_column else {},
            run_columns={"started_at": fetched.started_at, **_http_columns(fetched.http)},
        )

    def item_states(self, merged: Sequence[Fetched], *, run_key: str) -> dict[str, pd.DataFrame]:
        """The `item_sync_state` rows of the items the merged scopes listed (none for other levels): listed
        when their scope's fetch started, which every request of it followed."""
        if self.listed_items is None:
            return {}
        listings: list[tuple[ListedItem, datetime | None, int]] = []
        for fetched in merged:
            counts = Counter(str(record.get("item_id")) for record in fetched.records)
            listings += [
                (item, fetched.started_at, counts[item.item_id]) for item in self.listed_items(fetched.scope)
            ]
        return {ITEM_SYNC_STATE.name: state_rows(listings, run_key=run_key)}


def _unit_name(items: Sequence[ListedItem]) -> str:
    """`sync_runs.scope` of items listed together: `<product id>:<first item id>:<count>` (unique in a run,
    which lists an item at most once)."""
    return f"{items[0].product_id}:{items[0].item_id}:{len(items)}"


@dataclass(frozen=True)
class _ItemLevel(_Level):
    """Properties of selected items, fetched a few items of one product at a time and merged with the items as
    their scope. A fetch that stops (an error, a spent budget) still commits the items it listed completely.
    """

    units: Mapping[str, Sequence[ListedItem]] = field(default_factory=dict)
    completed: dict[str, list[ListedItem]] = field(default_factory=dict)
    """Per unit, the items whose listing completed, in order (written by the prefetch thread before it hands
    the unit over)."""
    changed_items: set[str] = field(default_factory=set)
    """Items whose merge inserted, updated or removed properties: tells whether hints catch property edits."""

    def listed_records(self, fetched: Fetched) -> int:
        """Records of the items listed completely: a unit the budget cut short merges only those."""
        listed = {item.item_id for item in self.completed.get(fetched.scope, [])}
        return sum(1 for record in fetched.records if record.get("item_id") in listed)

    def note_merged(self, counts: Mapping[str, TableCounts]) -> None:
        self.changed_items.update(
            item_id for item_id, count in counts.items() if count.inserted or count.updated or count.removed
        )

    def batch(self, fetched: Fetched) -> Batch | None:
        done = self.completed.get(fetched.scope, [])
        if not done:
            return None
        item_ids = [item.item_id for item in done]
        listed = set(item_ids)
        records = [record for record in fetched.records if record.get("item_id") in listed]
        frame = normalize(
            self.table,
            records,
            endpoint=self.endpoint(fetched.scope),
            product_id=done[0].product_id,
            workspace_id=done[0].workspace_id,
        )
        return Batch(
            self.table,
            frame,
            scope={"item_id": item_ids},
            run_columns={"started_at": fetched.started_at, **_http_columns(fetched.http)},
            run_scope=fetched.scope if len(done) == len(self.units[fetched.scope]) else _unit_name(done),
        )


@dataclass
class Fetched:
    """One scope's listing, when its fetch started, what exactly that fetch cost, and its error if any."""

    scope: str
    started_at: datetime
    records: Records
    http: dict[str, Any]
    error: Exception | None = None


class _Abandoned(Exception):
    """The level stopped early: the prefetch in flight gives up at its next record."""


class Prefetcher:
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

    def __init__(
        self,
        table: str,
        fetch: Callable[[str], Iterable[Mapping[str, Any]]],
        client: PoelisClient,
        scopes: list[str],
    ) -> None:
        self._table = table
        self._fetch_scope = fetch
        self._client = client
        self._scopes = scopes
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._ready: deque[Fetched] = deque()
        self._held = 0  # records in `_ready`
        self._finished = False
        self._thread = threading.Thread(target=self._fetch_all, name="poelis-prefetch", daemon=True)

    def _fetch(self, scope: str) -> Fetched:
        fetched = Fetched(scope, now(), [], {})
        before = self._client.stats.snapshot()
        records: Iterator[Mapping[str, Any]] = iter(())
        try:
            records = iter(self._fetch_scope(scope))
            for record in records:
                if self._stop.is_set():
                    raise _Abandoned(scope)
                fetched.records.append(record)
        except Exception as error:
            fetched.error = error
        finally:
            if isinstance(records, Generator):
                records.close()  # now, not at garbage collection: a fan-out cancels its queued requests
        fetched.http = http_since(self._client, before)
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
                    fetched = Fetched(scope, now(), [], http_since(self._client, before), failure)
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

    def __iter__(self) -> Iterator[list[Fetched]]:
        """Groups of consecutive scopes: the next one (waiting for it if need be) and those fetched after it,
        up to `SYNC_MERGE_RECORDS` records, ending at a failed fetch."""
        while True:
            with self._changed:
                while not self._changed.wait_for(
                    lambda: bool(self._ready) or self._finished, timeout=STOP_POLL_SECONDS
                ):
                    raise_if_stopping(self._table)
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

    def __enter__(self) -> Prefetcher:
        self._thread.start()
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if not STOP.is_set():
            self._thread.join()


def _record_failure(
    level: _Level, warehouse: Warehouse, fetched: Fetched, error: Exception, *, run_key: str
) -> None:
    """The scope's failure in `sync_runs`, its text scrubbed of secrets: which scope broke, and why."""
    warehouse.record_sync_run(
        run_key,
        level.table,
        fetched.scope,
        status="failed",
        started_at=fetched.started_at,
        finished_at=now(),
        error=scrub(f"{type(error).__name__}: {error}"),
        **_http_columns(fetched.http),
    )


def _merge_group(
    level: _Level, warehouse: Warehouse, result: LevelResult, group: list[Fetched], *, run_key: str
) -> None:
    """Merge a group of complete scopes in one transaction, which also records each scope in `sync_runs`.

    The scopes before one that failed (its fetch, or its records' normalization) are merged first, so that
    failure costs no other scope's work (and so are the items a failed item-scoped fetch listed completely);
    it is then recorded and raised, unless it says the request budget is spent: then the level just ends.
    The group shares the time its first fetch started as `_synced_at` (every row was fetched after it).
    """
    batches: list[Batch] = []
    merged: list[Fetched] = []
    failed: tuple[Fetched, Exception] | None = None
    for fetched in group:
        try:
            batch = level.batch(fetched)
            if batch is not None:
                batches.append(batch)
                merged.append(fetched)
            if fetched.error is not None:
                raise fetched.error
        except Exception as error:
            failed = (fetched, error)
            break
    if merged:
        try:
            report = warehouse.merge(
                batches,
                synced_at=merged[0].started_at,
                run_id=run_key,
                upserts=level.item_states(merged, run_key=run_key),
            )
        except Exception as error:
            for fetched in merged:
                _record_failure(level, warehouse, fetched, error, run_key=run_key)
            raise
        counts = report.scopes[level.table]
        level.note_merged(counts)
        for fetched, batch in zip(merged, batches, strict=True):
            records = level.listed_records(fetched)
            scope_counts = _batch_counts(counts, batch)
            workspace_id = level.workspace_of(fetched.scope)
            result.add_merged(fetched.scope, records, scope_counts, fetched.http, workspace_id)
            PROGRESS.advance(level.table, records)
    if failed is not None:
        failed_fetch, failure = failed
        if isinstance(failure, level.budget_errors):
            result.budget_exhausted = True
            return
        _record_failure(level, warehouse, failed_fetch, failure, run_key=run_key)
        raise failure


def _batch_counts(scope_counts: Mapping[str, TableCounts], batch: Batch) -> TableCounts:
    """What merging one batch did: the counts of the scopes it listed (one parent, several items, or all)."""
    [listed] = batch.scope.values() or [settings.WAREHOUSE_SCOPE_ALL]
    values = [listed] if isinstance(listed, str) else listed
    return sum((scope_counts.get(value, TableCounts()) for value in values), TableCounts())


def _run_level(level: _Level, client: PoelisClient, warehouse: Warehouse, *, run_key: str) -> LevelResult:
    """Sync each scope of one level, skipping the scopes this run already committed."""
    raise_if_stopping(level.table)
    result = LevelResult(table=level.table)
    before = client.stats.snapshot()
    already_done = warehouse.completed_scopes(run_key, level.table)
    PROGRESS.start(level.table, len(level.scopes))
    PROGRESS.client_stats = client.stats
    for scope in level.scopes:
        if scope in already_done:
            result.add_resumed(scope, level.workspace_of(scope))
            PROGRESS.advance(level.table, 0)
    pending = [scope for scope in level.scopes if scope not in already_done]
    with Prefetcher(level.table, level.fetch, client, pending) as groups:
        for group in groups:
            raise_if_stopping(level.table)
            _merge_group(level, warehouse, result, group, run_key=run_key)
    result.http = http_since(client, before)
    return result


ListingScope = Literal["organization", "workspace", "product"]


@dataclass(frozen=True)
class Listing:
    """How a level lists its records, when one listing per scope is all it takes (`poelis_pipelines.levels`
    declares one per such level): the scope a listing covers completely, and the request for one scope."""

    per: ListingScope
    """`organization`: one listing of the whole table; `workspace`: one per workspace of the step;
    `product`: one per product the warehouse holds for those workspaces (their records keep the workspace)."""
    endpoint: str
    """The request, with `{scope}` for the scope's id: how errors name a listing."""
    fetch: Callable[[PoelisClient, str], Iterable[Mapping[str, Any]]]
    """A scope's records, lazily (on the prefetch thread: HTTP only)."""


def sync_listing(
    table: str,
    listing: Listing,
    client: PoelisClient,
    warehouse: Warehouse,
    workspace_ids: Sequence[str] = (),
    *,
    run_key: str,
) -> LevelResult:
    """Sync a level that lists each of its scopes completely with one (paged) listing, committing per scope:
    the whole table, each of `workspace_ids`, or each product the warehouse holds for them."""
    workspace_of: dict[str, str] = {}
    if listing.per == "organization":
        scopes = [settings.WAREHOUSE_SCOPE_ALL]
    elif listing.per == "workspace":
        workspace_of = {workspace_id: workspace_id for workspace_id in workspace_ids}
        scopes = list(workspace_of)
    else:
        workspace_of = _workspace_of_products(warehouse, workspace_ids)
        scopes = list(workspace_of)
    level = _Level(
        table,
        scopes=scopes,
        fetch=lambda scope: listing.fetch(client, scope),
        endpoint=lambda scope: listing.endpoint.format(scope=scope),
        lineage=(
            (lambda scope: {"workspace_id": workspace_of[scope]}) if listing.per == "product" else _no_lineage
        ),
        workspace_of=_no_workspace if listing.per == "organization" else workspace_of.__getitem__,
    )
    return _run_level(level, client, warehouse, run_key=run_key)


def _workspace_of_products(warehouse: Warehouse, workspace_ids: Sequence[str]) -> dict[str, str]:
    """The products the warehouse holds for these workspaces (in workspace, then id, order) → workspace."""
    return {
        product_id: workspace_id
        for workspace_id in workspace_ids
        for product_id in live_ids(warehouse, "products", workspace_id=workspace_id)
    }


def _properties_of_items(client: PoelisClient, item_ids: list[str]) -> Iterator[Mapping[str, Any]]:
    for _item_id, records in client.fetch_properties_for_items(item_ids, include_deleted=True):
        yield from records


def sync_properties(
    client: PoelisClient,
    warehouse: Warehouse,
    workspace_ids: Sequence[str],
    *,
    run_key: str,
    incremental: IncrementalSettings | None = None,
) -> LevelResult:
    """List the properties of the workspaces' items: every item, committing one product's properties at a
    time (`incremental=None`, exact), or only the items an incremental selection picks, item-scoped.

    The item ids are read from the warehouse up front: the fetches run on the prefetch thread, which never
    touches the warehouse.
    """
    if incremental is not None:
        return _sync_selected_properties(
            client, warehouse, workspace_ids, run_key=run_key, incremental=incremental
        )
    workspace_of = _workspace_of_products(warehouse, workspace_ids)
    items_of: dict[str, list[ListedItem]] = {product: [] for product in workspace_of}
    for row in item_catalog(warehouse, workspace_ids).itertuples():
        items_of.setdefault(str(row.product_id), []).append(listed_item(row))
    level = _Level(
        "properties",
        scopes=list(workspace_of),
        fetch=lambda product_id: _properties_of_items(
            client, [item.item_id for item in items_of[product_id]]
        ),
        endpoint=lambda product_id: f"GET /properties (items of product {product_id})",
        lineage=lambda product_id: {"product_id": product_id, "workspace_id": workspace_of[product_id]},
        workspace_of=workspace_of.__getitem__,
        listed_items=items_of.__getitem__,
    )
    return _run_level(level, client, warehouse, run_key=run_key)


def _fetch_units(selected: Sequence[ListedItem]) -> dict[str, list[ListedItem]]:
    """The selected items in order, cut into units of consecutive items of one product, at most
    `SYNC_ITEMS_PER_FETCH` each (fetched concurrently, merged and committed together), by name."""
    units: list[list[ListedItem]] = []
    for item in selected:
        if (
            units
            and units[-1][0].product_id == item.product_id
            and len(units[-1]) < settings.SYNC_ITEMS_PER_FETCH
        ):
            units[-1].append(item)
        else:
            units.append([item])
    return {_unit_name(unit): unit for unit in units}


def _remove_vanished_items(
    warehouse: Warehouse, workspace_ids: Sequence[str], *, run_key: str
) -> dict[str, str]:
    """Mark removed, without a request, the live properties of items that vanished from their product's
    listing (as a full sync's product-wide listing would), and forget when those items were listed, so an
    item that comes back is new again. Returns those items → their workspace."""
    vanished = vanished_items(warehouse, workspace_ids)
    if not vanished:
        return {}
    started_at = now()
    workspace_of = _workspace_of_products(warehouse, workspace_ids)
    items = [
        ListedItem(item_id, product_id, workspace_of[product_id], None, None, None, None)
        for item_id, product_id in vanished.items()
    ]
    lineage = {"product_id": items[0].product_id, "workspace_id": items[0].workspace_id}  # no row to carry it
    empty = normalize("properties", [], endpoint="(vanished items)", **lineage)
    warehouse.merge(
        [
            Batch(
                "properties",
                empty,
                scope={"item_id": list(vanished)},
                run_columns={"started_at": started_at, "requests": 0},
                run_scope="(vanished items)",
            )
        ],
        synced_at=started_at,
        run_id=run_key,
        upserts={ITEM_SYNC_STATE.name: state_rows([(item, None, 0) for item in items], run_key=run_key)},
    )
    return {item.item_id: item.workspace_id for item in items}


def _sync_selected_properties(
    client: PoelisClient,
    warehouse: Warehouse,
    workspace_ids: Sequence[str],
    *,
    run_key: str,
    incremental: IncrementalSettings,
) -> LevelResult:
    """List the properties of the selected items (new, hint, rotation), each item its own complete scope,
    in units committed as they arrive; then measure the freshness and backlog the run leaves.

    A resumed run (same `run_key`) skips the items it already committed. A spent request budget ends the run
    successfully, with what it fetched committed and the rest counted in the backlog.
    """
    vanished = _remove_vanished_items(warehouse, workspace_ids, run_key=run_key)
    started = now()
    before = item_catalog(warehouse, workspace_ids)
    selection = select_items(before, started, incremental, run_key=run_key)
    resumed_items = set(before["item_id"][before["listed_by_run"].eq(run_key).fillna(False).astype(bool)])
    units = _fetch_units([selected.item for selected in selection.items])
    completed: dict[str, list[ListedItem]] = {}

    def fetch(unit: str) -> Iterator[Mapping[str, Any]]:
        by_id = {item.item_id: item for item in units[unit]}
        done = completed.setdefault(unit, [])
        for item_id, records in client.fetch_properties_for_items(list(by_id), include_deleted=True):
            yield from records
            done.append(by_id[item_id])

    level = _ItemLevel(
        "properties",
        scopes=list(units),
        fetch=fetch,
        endpoint=lambda unit: f"GET /properties (items {unit})",
        listed_items=lambda unit: completed.get(unit, []),
        budget_errors=(RequestBudgetExhausted, *incremental.budget_errors),
        workspace_of=lambda unit: units[unit][0].workspace_id,
        units=units,
        completed=completed,
    )
    result = _run_level(level, client, warehouse, run_key=run_key)
    after = item_catalog(warehouse, workspace_ids)
    finished = now()

    def report(workspace_ids: Sequence[str]) -> IncrementalReport:
        """The run's selection, listings and freshness over some of its workspaces."""
        return _incremental_report(
            selection.items,
            after[after["workspace_id"].isin(workspace_ids)],
            finished,
            incremental,
            run_key=run_key,
            changed_items=level.changed_items,
            resumed_items=resumed_items,
            vanished=sum(1 for workspace in vanished.values() if workspace in workspace_ids),
            budget_exhausted=result.budget_exhausted,
        )

    result.incremental = report(list(workspace_ids))
    for workspace_id in workspace_ids:
        figures = result.workspaces.setdefault(workspace_id, LevelResult(result.table))
        figures.incremental = report([workspace_id])
    return result


def properties_freshness(
    warehouse: Warehouse, workspace_ids: Sequence[str], max_staleness: timedelta, *, run_key: str
) -> Freshness:
    """How fresh the workspaces' properties are now, and what is due, from the warehouse alone (no request):
    what a full run, or one that never reached the properties, leaves."""
    return freshness(item_catalog(warehouse, workspace_ids), now(), max_staleness, run_key=run_key)


def _incremental_report(
    selected: Sequence[SelectedItem],
    catalog: pd.DataFrame,
    now: datetime,
    incremental: IncrementalSettings,
    *,
    run_key: str,
    changed_items: set[str],
    resumed_items: set[str],
    vanished: int,
    budget_exhausted: bool,
) -> IncrementalReport:
    """What the run selected, listed and changed among `catalog`'s items, and the freshness it left there."""
    in_scope = set(catalog["item_id"])
    listed_now = set(catalog["item_id"][catalog["listed_by_run"].eq(run_key).fillna(False).astype(bool)])
    mine = [chosen for chosen in selected if chosen.item.item_id in in_scope]
    selected_counts = Counter(chosen.reason for chosen in mine)
    listed = Counter(chosen.reason for chosen in mine if chosen.item.item_id in listed_now)
    changed = Counter(chosen.reason for chosen in mine if chosen.item.item_id in changed_items)
    return IncrementalReport(
        selected={reason: selected_counts[reason] for reason in REASONS},
        listed={reason: listed[reason] for reason in REASONS},
        resumed=len(resumed_items & in_scope),
        vanished_items=vanished,
        budget_exhausted=budget_exhausted,
        freshness=freshness(catalog, now, incremental.max_staleness, run_key=run_key),
        changed={reason: changed[reason] for reason in REASONS},
    )
