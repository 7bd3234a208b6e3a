"""One level of the extract → normalize → merge flow, per table and scope, with no Dagster in sight.

The Dagster assets are thin wrappers around these functions, and the CLI runs those assets, so there is one
code path. Each function commits per scope (a workspace's products, a product's items, a product's
properties) and records that scope in `sync_runs`, so a re-executed run skips what it already committed
instead of spending the organization's quota again. The warehouse is the hand-off between levels: items are
listed for the products the warehouse holds, properties for the items it holds, so no level refetches its
parent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
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


def _http_columns(client: PoelisClient, before: StatsSnapshot) -> dict[str, Any]:
    """The same cost as `sync_runs` columns."""
    cost = _http_since(client, before)
    return {
        "requests": cost["requests"],
        "retries": cost["retries_total"],
        "rate_limited": cost["rate_limited"],
        "seconds_waited": cost["seconds_waited"],
    }


Records = list[Mapping[str, Any]]


def _no_lineage(_scope: str) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class _Level:
    """One level of the hierarchy: its table, the scopes it lists completely, and how to list one."""

    table: str
    scopes: list[str]
    fetch: Callable[[str], Records]
    endpoint: Callable[[str], str]
    """How a scope's listing is named in errors (e.g. a record without an id)."""
    lineage: Callable[[str], dict[str, str]] = _no_lineage
    """Ids the records do not carry but the table keeps for analysts (e.g. an item's workspace)."""

    def batch(self, scope: str, records: Records) -> Batch:
        table = TABLES[self.table]
        frame = normalize(table.name, records, endpoint=self.endpoint(scope), **self.lineage(scope))
        return Batch(table.name, frame, scope={table.scope_column: scope} if table.scope_column else {})


def _merge_scope(
    level: _Level,
    client: PoelisClient,
    warehouse: Warehouse,
    result: LevelResult,
    *,
    run_key: str,
    scope: str,
) -> None:
    """Fetch one complete scope, merge it in one transaction and record it in `sync_runs`.

    A failure is recorded (with its text scrubbed of secrets) before it propagates, so `sync_runs` tells
    the analyst which scope broke and why.
    """
    started_at = _now()
    before = client.stats.snapshot()
    warehouse.record_sync_run(run_key, level.table, scope, status="running", started_at=started_at)
    try:
        records = level.fetch(scope)
        # The merge records the scope as committed in the same transaction as its rows.
        report = warehouse.merge([level.batch(scope, records)], synced_at=started_at, run_id=run_key)
    except Exception as error:
        warehouse.record_sync_run(
            run_key,
            level.table,
            scope,
            status="failed",
            finished_at=_now(),
            error=scrub(f"{type(error).__name__}: {error}"),
            **_http_columns(client, before),
        )
        raise
    warehouse.record_sync_run(run_key, level.table, scope, status="success", **_http_columns(client, before))
    result.add(report)
    result.records_from_api += len(records)
    result.scopes_synced.append(scope)
    PROGRESS.advance(level.table, len(records))


def _run_level(level: _Level, client: PoelisClient, warehouse: Warehouse, *, run_key: str) -> LevelResult:
    """Sync each scope of one level, skipping the scopes this run already committed."""
    result = LevelResult(table=level.table)
    before = client.stats.snapshot()
    already_done = warehouse.completed_scopes(run_key, level.table)
    PROGRESS.start(level.table, len(level.scopes))
    PROGRESS.client_stats = client.stats
    for scope in level.scopes:
        if scope in already_done:
            result.scopes_resumed.append(scope)
            PROGRESS.advance(level.table, 0)
            continue
        _merge_scope(level, client, warehouse, result, run_key=run_key, scope=scope)
    result.http = _http_since(client, before)
    return result


def sync_workspaces(client: PoelisClient, warehouse: Warehouse, *, run_key: str) -> LevelResult:
    """List every workspace the key can see; the whole table is one complete scope."""
    level = _Level(
        "workspaces",
        scopes=[settings.WAREHOUSE_SCOPE_ALL],
        fetch=lambda _scope: list(client.iter_workspaces()),
        endpoint=lambda _scope: "GET /workspaces",
    )
    return _run_level(level, client, warehouse, run_key=run_key)


def sync_products(
    client: PoelisClient, warehouse: Warehouse, workspace_id: str, *, run_key: str
) -> LevelResult:
    """List a workspace's products; the workspace is the complete scope."""
    level = _Level(
        "products",
        scopes=[workspace_id],
        fetch=lambda scope: list(client.iter_products(scope)),
        endpoint=lambda scope: f"GET /products?workspace_id={scope}",
    )
    return _run_level(level, client, warehouse, run_key=run_key)


def sync_items(client: PoelisClient, warehouse: Warehouse, workspace_id: str, *, run_key: str) -> LevelResult:
    """List the items of each product the warehouse holds for the workspace, committing per product."""
    level = _Level(
        "items",
        scopes=live_ids(warehouse, "products", workspace_id=workspace_id),
        fetch=lambda product_id: list(client.iter_items(product_id, include_deleted=True)),
        endpoint=lambda product_id: f"GET /items?product_id={product_id}",
        lineage=lambda _product_id: {"workspace_id": workspace_id},
    )
    return _run_level(level, client, warehouse, run_key=run_key)


def _properties_of_items(client: PoelisClient, item_ids: list[str]) -> Records:
    return [
        record
        for _item_id, records in client.fetch_properties_for_items(item_ids, include_deleted=True)
        for record in records
    ]


def sync_properties(
    client: PoelisClient, warehouse: Warehouse, workspace_id: str, *, run_key: str
) -> LevelResult:
    """List the properties of every item of each product, committing one product's properties at a time."""
    level = _Level(
        "properties",
        scopes=live_ids(warehouse, "products", workspace_id=workspace_id),
        fetch=lambda product_id: _properties_of_items(
            client, live_ids(warehouse, "items", product_id=product_id)
        ),
        endpoint=lambda product_id: f"GET /properties (items of product {product_id})",
        lineage=lambda product_id: {"product_id": product_id, "workspace_id": workspace_id},
    )
    return _run_level(level, client, warehouse, run_key=run_key)
