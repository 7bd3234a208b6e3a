"""The sync's levels (`poelis_pipelines.levels`) as Airflow TaskFlow tasks: the organization's levels, one
workspace's levels, the analyst views.

Each task calls the Dagster-free sync layer exactly as the Dagster assets do, and returns only ids and
counts to XCom (never a key or a URL). Failures that retrying cannot fix (configuration, data contract, a
spent request budget) raise `AirflowFailException` with one scrubbed line, so Airflow does not retry them;
anything else raises as it is (scrubbed) and the task's retries apply. Every try of every task of one DAG
run syncs under one run key, so a retried or cleared task skips the scopes it already committed.

All API tasks sit in the `poelis_api` pool: the rate limit belongs to the organization, and each task's
client paces itself alone (tasks run in separate processes), so one slot keeps the organization's spend
within one client's `quota_share`; an embedded DuckDB file admits one writer, too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from airflow.sdk import Param, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from poelis_pipelines import settings, sync
from poelis_pipelines.airflow.hooks import PoelisHook, PoelisWarehouseHook
from poelis_pipelines.client import (
    ConfigurationError,
    PoelisClient,
    RequestBudgetExhausted,
    get_logger,
    scrub,
    without_secrets,
)
from poelis_pipelines.failures import failure_kind
from poelis_pipelines.incremental import IncrementalSettings, parse_duration
from poelis_pipelines.levels import organization_levels, workspace_levels
from poelis_pipelines.versions import VersionsResult
from poelis_pipelines.warehouse import Warehouse
from poelis_pipelines.warehouse.inspection import live_ids

log = get_logger(__name__)

DAG_PARAMS: dict[str, Any] = {
    "quota_share": Param(
        None,
        type=["null", "number"],
        exclusiveMinimum=0,
        maximum=1,
        description="The part of each rate-limit window a task may spend; "
        f"unset: ${settings.ENV_QUOTA_SHARE}, else {settings.DEFAULT_QUOTA_SHARE}.",
    ),
    "max_requests": Param(
        None,
        type=["null", "integer"],
        minimum=1,
        description="The most requests one task sends (a workspace's properties stop there and the next "
        f"run goes on); unset: ${settings.ENV_MAX_REQUESTS}, else no limit.",
    ),
    "max_staleness": Param(
        None,
        type=["null", "string"],
        description="Every item's properties are listed again within this bound (6h, 2d, 90m, 0); "
        f"unset: ${settings.ENV_MAX_STALENESS}, else {settings.DEFAULT_MAX_STALENESS}.",
    ),
    "versions": Param(
        None,
        type=["null", "string"],
        enum=[None, *settings.VERSIONS_CHOICES],
        description="Published versions to store (each fetched once, ever): none, each product's baseline, "
        f"or all; unset: ${settings.ENV_VERSIONS}, else {settings.DEFAULT_VERSIONS}.",
    ),
    "full": Param(
        False,
        type="boolean",
        description="List every item's properties (exact, one request per item) instead of the items "
        "that are new, changed or due under max_staleness.",
    ),
}

# Transient failures (the API or the warehouse unreachable for longer than the client's own retries) are
# retried after minutes; permanent ones raise AirflowFailException and are not.
DEFAULT_ARGS: dict[str, Any] = {
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
}


def run_key(context: Mapping[str, Any]) -> str:
    """The key committed scopes are remembered under: shared by every try of every task of one DAG run.

    Mapped tasks need no map index in it: each syncs its own workspace, so they never share a scope.
    """
    return f"airflow:{context['dag'].dag_id}:{context['run_id']}"


def incremental_settings(params: Mapping[str, Any]) -> IncrementalSettings | None:
    """The properties level's selection from the DAG params (None: every item, `full`)."""
    if params.get("full"):
        return None
    raw = params.get("max_staleness") or os.environ.get(settings.ENV_MAX_STALENESS) or ""
    try:
        staleness = parse_duration(raw.strip() or settings.DEFAULT_MAX_STALENESS)
    except ValueError as error:
        raise ConfigurationError(f"max_staleness: {error}") from None
    return IncrementalSettings(max_staleness=staleness, budget_errors=(RequestBudgetExhausted,))


@contextmanager
def failures_for_airflow() -> Iterator[None]:
    """Permanent failures become `AirflowFailException` (no retry) with one scrubbed line; transient ones
    raise scrubbed, for the task's retries."""
    try:
        yield
    except RequestBudgetExhausted as error:
        raise AirflowFailException(
            scrub(f"{error}; what was fetched is committed: raise max_requests or run again")
        ) from None
    except Exception as error:
        kind = failure_kind(error)
        if kind != "transient":
            raise AirflowFailException(scrub(f"Poelis {kind} error, not retried: {error}")) from None
        clean = without_secrets(error)
        if clean is error:
            raise
        raise clean from None


@contextmanager
def _sync_session(poelis_conn_id: str, warehouse_conn_id: str) -> Iterator[tuple[PoelisClient, Warehouse]]:
    """The task's client (quota share and budget from the DAG params) and its warehouse on one connection."""
    params = get_current_context()["params"]
    client = PoelisHook(poelis_conn_id).get_client(
        quota_share=params.get("quota_share"), max_requests=params.get("max_requests")
    )
    with client, PoelisWarehouseHook(warehouse_conn_id).get_warehouse() as warehouse, warehouse.session():
        yield client, warehouse


def _counts(result: sync.LevelResult) -> dict[str, int]:
    return {
        "records": result.records_from_api,
        "inserted": result.inserted,
        "updated": result.updated,
        "removed": result.removed,
        "scopes_resumed": len(result.scopes_resumed),
        "requests": int(result.http.get("requests", 0)),
    }


def _log_level(label: str, result: sync.LevelResult) -> None:
    counts = _counts(result)
    log.info("%s: %s", label, ", ".join(f"{name} {value}" for name, value in counts.items()))
    if result.budget_exhausted:
        log.warning("%s: the request budget (max_requests) is spent; the next run goes on", label)


@task(pool=settings.API_CONCURRENCY_POOL)
def workspaces(
    poelis_conn_id: str = PoelisHook.default_conn_name,
    warehouse_conn_id: str = PoelisWarehouseHook.default_conn_name,
) -> list[str]:
    """Sync the organization's levels (the workspace list, its users); return the ids of the live workspaces,
    one mapped task each."""
    context = get_current_context()
    with failures_for_airflow(), _sync_session(poelis_conn_id, warehouse_conn_id) as (client, warehouse):
        for level in organization_levels():
            _log_level(level.name, level.run(client, warehouse, run_key=run_key(context)))
        return live_ids(warehouse, "workspaces")


@task(
    pool=settings.API_CONCURRENCY_POOL,
    map_index_template="{{ poelis_workspace_id }}",
    multiple_outputs=False,  # one XCom: the summary, not one per table
)
def sync_workspace(
    workspace_id: str,
    poelis_conn_id: str = PoelisHook.default_conn_name,
    warehouse_conn_id: str = PoelisWarehouseHook.default_conn_name,
) -> dict[str, Any]:
    """Sync one workspace's levels in order (products, items, properties, then its products' published
    versions with what the budget leaves); return its counts per level."""
    context = get_current_context()
    context["poelis_workspace_id"] = workspace_id  # type: ignore[typeddict-unknown-key]  # the map index's label
    summary: dict[str, Any] = {"workspace_id": workspace_id}
    with failures_for_airflow(), _sync_session(poelis_conn_id, warehouse_conn_id) as (client, warehouse):
        incremental = incremental_settings(context["params"])
        for level in workspace_levels():
            result = level.run(
                client,
                warehouse,
                [workspace_id],
                run_key=run_key(context),
                incremental=incremental,
                versions=context["params"].get("versions"),
            )
            if isinstance(result, VersionsResult):
                summary[level.name] = _versions_counts(result)
            else:
                _log_level(level.name, result)
                summary[level.name] = _counts(result)
    return summary


def _versions_counts(result: VersionsResult) -> dict[str, int]:
    """A versions run's counts, its warnings logged."""
    for warning in result.warnings:
        log.warning("versions: %s", warning)
    return {
        "complete": result.complete,
        "pending": result.pending,
        "stored": len(result.completed),
        "requests": result.requests,
    }


# none_failed: an organization without workspaces maps no task, and still gets its views.
@task(pool=settings.API_CONCURRENCY_POOL, trigger_rule="none_failed")
def analyst_views(warehouse_conn_id: str = PoelisWarehouseHook.default_conn_name) -> list[str]:
    """Create or replace the analyst views over the synced tables (in the pool: DuckDB has one writer)."""
    with failures_for_airflow(), PoelisWarehouseHook(warehouse_conn_id).get_warehouse() as warehouse:
        return warehouse.create_views()
