"""The Poelis organization as Dagster assets: workspaces → products → items → properties, plus analyst views.

Business intent: analysts query a faithful, current copy of the organization's engineering data, with the
history of every change. `workspaces` is one unpartitioned table; the levels below are partitioned by
workspace (dynamic partitions keyed by workspace id) so a backfill from the UI can re-sync any set of
workspaces and runs of different workspaces can go to different workers. Every asset that calls the API
sits in the `poelis_api` concurrency pool, because the quota (60 requests/min + burst 10) belongs to the
organization, not to a run.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dagster as dg

from poelis_pipelines import settings, sync
from poelis_pipelines.client.secrets import scrub, without_secrets
from poelis_pipelines.defs.poelis.checks import check_results_for, check_specs_for, staleness_check
from poelis_pipelines.defs.poelis.keys import (
    SYNCED_TABLES,
    VERSIONS_ASSET_NAMES,
    asset_key,
    workspace_partitions,
)
from poelis_pipelines.defs.poelis.metadata import budget_metadata, materialization_metadata
from poelis_pipelines.defs.poelis.resources import PoelisResource, PoelisSyncSettings, WarehouseResource
from poelis_pipelines.failures import CONFIGURATION_ERRORS, DATA_CONTRACT_ERRORS
from poelis_pipelines.levels import level

# The pool guards one organization's quota and, for an embedded DuckDB file, its single writer.
# Failures retrying cannot fix (`poelis_pipelines.failures`) stop the run at once with one clear sentence.
FAILURE_KIND = "poelis/failure_kind"

TRANSIENT_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

SYNC_KEY_TAG = "poelis/sync_key"
# Set by runs whose caller is waiting (the CLI): a transient failure ends the step instead of being retried
# minutes later by the RetryPolicy; the client has already retried each request.
NO_STEP_RETRIES_TAG = "poelis/no_step_retries"


def sync_key(context: dg.AssetExecutionContext) -> str:
    """The key under which committed scopes are remembered: shared by a run and its re-executions."""
    run = context.run
    return run.tags.get(SYNC_KEY_TAG) or run.root_run_id or run.run_id


@contextmanager
def failures_explained(context: dg.AssetExecutionContext) -> Iterator[None]:
    """Turn errors into a `Failure` with one scrubbed sentence and a kind the CLI maps to an exit code.

    Configuration and data-contract errors are never retried; transient ones are left to the RetryPolicy,
    unless the run asks for no step retries. A sync stopped on request (Ctrl-C) cancels the run: no retry.
    """
    try:
        yield
    except sync.Interrupted as error:
        context.instance.report_run_canceling(context.run, message=str(error))
        raise _failure(error, "interrupted", allow_retries=False) from None
    except CONFIGURATION_ERRORS as error:
        raise _failure(error, "configuration", allow_retries=False) from None
    except DATA_CONTRACT_ERRORS as error:
        raise _failure(error, "data", allow_retries=False) from None
    except Exception as error:
        clean = without_secrets(error)  # Dagster records an exception's text as it is
        if context.run.tags.get(NO_STEP_RETRIES_TAG):
            raise _failure(clean, "transient", allow_retries=False) from clean
        if clean is error:
            raise
        raise clean from None


def _failure(error: Exception, kind: str, *, allow_retries: bool) -> dg.Failure:
    return dg.Failure(
        description=scrub(str(error)), metadata={FAILURE_KIND: kind}, allow_retries=allow_retries
    )


def _materialize(
    context: dg.AssetExecutionContext,
    table: str,
    poelis: PoelisResource,
    warehouse_resource: WarehouseResource,
    run_level: Callable[..., sync.LevelResult],
    workspace_ids: list[str] | None,
    sync_settings: PoelisSyncSettings | None = None,
) -> dg.MaterializeResult:
    """Run one level and describe it. A level that finds the run's request budget already spent (an earlier
    level used it up) does not run as if that level were complete: it fetches nothing and says so; the
    properties level still measures the backlog it leaves (from the warehouse, no request)."""
    # One connection for the whole step: the pool already makes this step the only writer.
    with failures_explained(context), warehouse_resource.open() as warehouse, warehouse.session():
        client = poelis.get_client()
        key = sync_key(context)
        spent_before = client.requests_remaining == 0
        options = {}
        if table == "properties" and sync_settings is not None:  # an item budget: what the run has left
            options["incremental"] = sync_settings.incremental(client.requests_remaining)
        if spent_before and options.get("incremental") is None:
            context.log.info(f"{table}: not synced, an earlier level spent the run's request budget.")
            result = sync.LevelResult(table)
        elif workspace_ids is None:
            result = run_level(client, warehouse, run_key=key)
        else:
            result = run_level(client, warehouse, workspace_ids, run_key=key, **options)
        result.budget_exhausted = result.budget_exhausted or client.requests_remaining == 0
        if result.scopes_resumed:
            context.log.info(
                f"Resumed: {len(result.scopes_resumed)} scope(s) of {table} were committed earlier "
                "in this run and were not fetched again."
            )
        if result.budget_exhausted and not spent_before:
            context.log.info(
                f"{table}: the run's budget of {client.max_requests} requests is spent; what was fetched is "
                "committed, the rest waits for the next run."
            )
        bound = sync_settings.staleness_bound() if sync_settings is not None else None
        metadata = materialization_metadata(context, warehouse, table, result, workspace_ids)
        checks = check_results_for(warehouse, table, result)
        if table == "properties" and bound is not None:
            left = (
                result.incremental.freshness
                if result.incremental is not None and result.incremental.freshness is not None
                else sync.properties_freshness(warehouse, workspace_ids or [], bound, run_key=key)
            )
            metadata.update(budget_metadata(client, result, left, bound))
            checks.append(staleness_check(left, bound))
        return dg.MaterializeResult(metadata=metadata, check_results=checks)


ASSET_COMMON = {
    "group_name": "poelis",
    "kinds": {"python", "sql"},
    "pool": settings.API_CONCURRENCY_POOL,
    "retry_policy": TRANSIENT_RETRY_POLICY,
}


@dg.asset(key=asset_key("workspaces"), check_specs=check_specs_for("workspaces"), **ASSET_COMMON)  # type: ignore[call-overload]
def workspaces(
    context: dg.AssetExecutionContext, poelis: PoelisResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Every workspace the organization's key can see (the root of the hierarchy)."""
    return _materialize(context, "workspaces", poelis, warehouse, level("workspaces").run, None)


def _workspace_level_asset(
    table: str, parent: str, run_level: Callable[..., sync.LevelResult], description: str
) -> dg.AssetsDefinition:
    """A level below `workspaces`, partitioned by workspace id: `run_level` syncs the step's workspaces.

    A run usually targets one partition (schedule, sensor, UI backfills); the CLI runs every workspace of a
    sync in one run, as a partition range, to pay Dagster's per-run cost once.
    """

    @dg.asset(  # type: ignore[call-overload]
        key=asset_key(table),
        deps=[asset_key(parent)],
        partitions_def=workspace_partitions,
        check_specs=check_specs_for(table),
        description=description,
        **ASSET_COMMON,
    )
    def _level(
        context: dg.AssetExecutionContext,
        poelis: PoelisResource,
        warehouse: WarehouseResource,
        poelis_sync: PoelisSyncSettings,
    ) -> dg.MaterializeResult:
        return _materialize(
            context, table, poelis, warehouse, run_level, list(context.partition_keys), poelis_sync
        )

    return _level


products = _workspace_level_asset(
    "products", "workspaces", level("products").run, "The products of one workspace: what its teams design."
)
items = _workspace_level_asset(
    "items",
    "products",
    level("items").run,
    "The item trees (assemblies, parts) of every product in one workspace, committed product by product.",
)
properties = _workspace_level_asset(
    "properties",
    "items",
    sync.sync_properties,
    "Every property value (numbers with units, text, dates, statuses, matrices, formulas) of one workspace: "
    "incremental by default (new items, items whose record changed, then the items due under the staleness "
    "bound, oldest first), every item with `full`.",
)


@dg.asset(
    key=asset_key("analyst_views"),
    deps=[asset_key(name) for name in (*SYNCED_TABLES, *VERSIONS_ASSET_NAMES)],
    group_name="poelis",
    kinds={"sql"},
    # In the pool too: an embedded DuckDB file admits one writing process at a time.
    pool=settings.API_CONCURRENCY_POOL,
)
def analyst_views(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The analyst-facing views (`property_values`, `item_tree`, `product_summary`) over the loaded tables."""
    with failures_explained(context), warehouse.open() as opened:
        created = opened.create_views()
    return dg.MaterializeResult(metadata={"views": dg.MetadataValue.json(created)})


POELIS_ASSETS = [workspaces, products, items, properties, analyst_views]
