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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from poelis_pipelines import settings
from poelis_pipelines.client import ClientStats, PoelisClient, StatsSnapshot
from poelis_pipelines.client.secrets import scrub
from poelis_pipelines.normalize import normalize
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


def _merge_scope(
    warehouse: Warehouse,
    client: PoelisClient,
    result: LevelResult,
    *,
    run_key: str,
    scope: str,
    fetch: Callable[[str], list[Mapping[str, Any]]],
    build_batches: Callable[[str, list[Mapping[str, Any]]], list[Batch]],
) -> None:
    """Fetch one complete scope, merge it in one transaction and record it in `sync_runs`.

    A failure is recorded (with its text scrubbed of secrets) before it propagates, so `sync_runs` tells
    the analyst which scope broke and why.
    """
    started_at = _now()
    before = client.stats.snapshot()
    warehouse.record_sync_run(run_key, result.table, scope, status="running", started_at=started_at)
    try:
        records = fetch(scope)
        # The merge records the scope as committed in the same transaction as its rows.
        report = warehouse.merge(build_batches(scope, records), synced_at=started_at, run_id=run_key)
    except Exception as error:
        warehouse.record_sync_run(
            run_key,
            result.table,
            scope,
            status="failed",
            finished_at=_now(),
            error=scrub(f"{type(error).__name__}: {error}"),
            **_http_columns(client, before),
        )
        raise
    warehouse.record_sync_run(run_key, result.table, scope, status="success", **_http_columns(client, before))
    result.add(report)
    result.records_from_api += len(records)
    result.scopes_synced.append(scope)
    PROGRESS.advance(result.table, len(records))


def _run_level(
    table: str,
    client: PoelisClient,
    warehouse: Warehouse,
    *,
    run_key: str,
    scopes: Iterable[str],
    fetch: Callable[[str], list[Mapping[str, Any]]],
    build_batches: Callable[[str, list[Mapping[str, Any]]], list[Batch]],
) -> LevelResult:
    """Sync each scope of one level, skipping the scopes this run already committed."""
    result = LevelResult(table=table)
    before = client.stats.snapshot()
    already_done = warehouse.completed_scopes(run_key, table)
    scope_list = list(scopes)
    PROGRESS.start(table, len(scope_list))
    PROGRESS.client_stats = client.stats
    for scope in scope_list:
        if scope in already_done:
            result.scopes_resumed.append(scope)
            PROGRESS.advance(table, 0)
            continue
        _merge_scope(
            warehouse,
            client,
            result,
            run_key=run_key,
            scope=scope,
            fetch=fetch,
            build_batches=build_batches,
        )
    result.http = _http_since(client, before)
    return result


def sync_workspaces(client: PoelisClient, warehouse: Warehouse, *, run_key: str) -> LevelResult:
    """List every workspace the key can see; the whole table is one complete scope."""
    return _run_level(
        "workspaces",
        client,
        warehouse,
        run_key=run_key,
        scopes=[settings.WAREHOUSE_SCOPE_ALL],
        fetch=lambda _scope: list(client.iter_workspaces()),
        build_batches=lambda _scope, records: [
            Batch("workspaces", normalize("workspaces", records, endpoint="GET /workspaces"), scope={})
        ],
    )


def sync_products(
    client: PoelisClient, warehouse: Warehouse, workspace_id: str, *, run_key: str
) -> LevelResult:
    """List a workspace's products; the workspace is the complete scope."""
    return _run_level(
        "products",
        client,
        warehouse,
        run_key=run_key,
        scopes=[workspace_id],
        fetch=lambda scope: list(client.iter_products(scope)),
        build_batches=lambda scope, records: [
            Batch(
                "products",
                normalize("products", records, endpoint=f"GET /products?workspace_id={scope}"),
                scope={"workspace_id": scope},
            )
        ],
    )


def sync_items(client: PoelisClient, warehouse: Warehouse, workspace_id: str, *, run_key: str) -> LevelResult:
    """List the items of each product the warehouse holds for the workspace, committing per product."""
    return _run_level(
        "items",
        client,
        warehouse,
        run_key=run_key,
        scopes=live_ids(warehouse, "products", workspace_id=workspace_id),
        fetch=lambda product_id: list(client.iter_items(product_id, include_deleted=True)),
        build_batches=lambda product_id, records: [
            Batch(
                "items",
                normalize(
                    "items",
                    records,
                    endpoint=f"GET /items?product_id={product_id}",
                    workspace_id=workspace_id,
                ),
                scope={"product_id": product_id},
            )
        ],
    )


def _properties_of_items(client: PoelisClient, item_ids: list[str]) -> Iterator[Mapping[str, Any]]:
    for _item_id, records in client.fetch_properties_for_items(item_ids, include_deleted=True):
        yield from records


def sync_properties(
    client: PoelisClient, warehouse: Warehouse, workspace_id: str, *, run_key: str
) -> LevelResult:
    """List the properties of every item of each product, committing one product's properties at a time."""
    return _run_level(
        "properties",
        client,
        warehouse,
        run_key=run_key,
        scopes=live_ids(warehouse, "products", workspace_id=workspace_id),
        fetch=lambda product_id: list(
            _properties_of_items(client, live_ids(warehouse, "items", product_id=product_id))
        ),
        build_batches=lambda product_id, records: [
            Batch(
                "properties",
                normalize(
                    "properties",
                    records,
                    endpoint=f"GET /properties (items of product {product_id})",
                    product_id=product_id,
                    workspace_id=workspace_id,
                ),
                scope={"product_id": product_id},
            )
        ],
    )
