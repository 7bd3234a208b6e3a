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
from poelis_pipelines.client import (
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    ValidationError,
)
from poelis_pipelines.client.secrets import scrub, without_secrets
from poelis_pipelines.defs.poelis.checks import check_results_for, check_specs_for
from poelis_pipelines.defs.poelis.keys import (
    SYNCED_TABLES,
    VERSIONS_ASSET_NAMES,
    asset_key,
    workspace_partitions,
)
from poelis_pipelines.defs.poelis.metadata import materialization_metadata
from poelis_pipelines.defs.poelis.resources import PoelisResource, WarehouseResource
from poelis_pipelines.normalize import NormalizationError
from poelis_pipelines.warehouse import WarehouseConfigError

# The pool guards one organization's quota and, for an embedded DuckDB file, its single writer.
# Failures that retrying cannot fix: the run stops at once with one clear sentence. Configuration errors (the
# user must change a setting) are told apart from data-contract errors (the API sent something unexpected).
CONFIGURATION_ERRORS: tuple[type[Exception], ...] = (
    AuthenticationError,
    ConfigurationError,
    PermissionDeniedError,
    WarehouseConfigError,
)
DATA_CONTRACT_ERRORS: tuple[type[Exception], ...] = (
    NotFoundError,
    ValidationError,
    ProtocolError,
    NormalizationError,
)
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
) -> dg.MaterializeResult:
    # One connection for the whole step: the pool already makes this step the only writer.
    with failures_explained(context), warehouse_resource.open() as warehouse, warehouse.session():
        client = poelis.get_client()
        key = sync_key(context)
        if workspace_ids is None:
            result = run_level(client, warehouse, run_key=key)
        else:
            result = run_level(client, warehouse, workspace_ids, run_key=key)
        if result.scopes_resumed:
            context.log.info(
                f"Resumed: {len(result.scopes_resumed)} scope(s) of {table} were committed earlier "
                "in this run and were not fetched again."
            )
        return dg.MaterializeResult(
            metadata=materialization_metadata(context, warehouse, table, result, workspace_ids),
            check_results=check_results_for(warehouse, table, result),
        )


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
    return _materialize(context, "workspaces", poelis, warehouse, sync.sync_workspaces, None)


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
        context: dg.AssetExecutionContext, poelis: PoelisResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        return _materialize(context, table, poelis, warehouse, run_level, list(context.partition_keys))

    return _level


products = _workspace_level_asset(
    "products", "workspaces", sync.sync_products, "The products of one workspace: what its teams design."
)
items = _workspace_level_asset(
    "items",
    "products",
    sync.sync_items,
    "The item trees (assemblies, parts) of every product in one workspace, committed product by product.",
)
properties = _workspace_level_asset(
    "properties",
    "items",
    sync.sync_properties,
    "Every property value (numbers with units, text, dates, statuses, matrices, formulas) of one workspace.",
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
