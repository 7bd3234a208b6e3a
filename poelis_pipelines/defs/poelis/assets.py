"""The Poelis organization as Dagster assets: workspaces → products → items → properties, plus analyst views.

Business intent: analysts query a faithful, current copy of the organization's engineering data, with the
history of every change. `workspaces` is one unpartitioned table; the levels below are partitioned by
workspace (dynamic partitions keyed by workspace id) so a backfill from the UI can re-sync any set of
workspaces, in one run (a single-run backfill policy: the workspace list and the views are then built once).
Every asset that calls the API sits in the organization's concurrency pool, because the quota (60
requests/min + burst 10) belongs to the organization, not to a run.

The assets are built per `PoelisDefsNames` (keys, group, pool, partitions, resource keys), from the
hierarchy's one declaration (`poelis_pipelines.levels.LEVELS`), so two organizations' assets live side by
side.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import dagster as dg

from poelis_pipelines import sync
from poelis_pipelines.client import ConfigurationError, PoelisClient
from poelis_pipelines.client.secrets import scrub, without_secrets
from poelis_pipelines.defs.poelis.checks import check_results_for, check_specs_for, staleness_check
from poelis_pipelines.defs.poelis.metadata import budget_metadata, materialization_metadata
from poelis_pipelines.defs.poelis.names import PoelisDefsNames
from poelis_pipelines.defs.poelis.resources import (
    PoelisResource,
    PoelisSyncSettings,
    PoelisWarehouseResource,
)
from poelis_pipelines.failures import CONFIGURATION_ERRORS, DATA_CONTRACT_ERRORS
from poelis_pipelines.incremental import IncrementalSettings
from poelis_pipelines.levels import LEVELS, VERSIONS_LEVEL, Level

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


RUN_BUDGET_TAG = "poelis/max_requests"
"""Requests a run may send unless the Poelis resource sets a budget of its own: the schedule's budget for its
interval, what a CLI sync has left. A tag, not run config: run config for a resource replaces every value
the resource was built with (a key, a URL), where a tag adds to them."""


DUE_WITHIN_TAG = "poelis/due_within_seconds"
"""Seconds to the run's successor (the schedule's interval): the properties due by then are listed now, so
no item passes the staleness bound while it waits for the next run."""


@dataclass(frozen=True)
class RunResources:
    """A step's Poelis resources, found under the keys its definitions were built with, and its run's
    request budget."""

    poelis: PoelisResource
    warehouse: PoelisWarehouseResource
    sync_settings: PoelisSyncSettings
    run_budget: str | None
    due_within: str | None

    @classmethod
    def of(cls, context: dg.AssetExecutionContext, names: PoelisDefsNames) -> "RunResources":
        keys = names.resource_keys
        resources = context.resources
        return cls(
            getattr(resources, keys.poelis),
            getattr(resources, keys.warehouse),
            getattr(resources, keys.sync_settings),
            context.run.tags.get(RUN_BUDGET_TAG),
            context.run.tags.get(DUE_WITHIN_TAG),
        )

    def client(self) -> PoelisClient:
        """The run's client, within the run's budget; a budget tag that is no number is a configuration
        error."""
        if self.run_budget is None or self.run_budget.strip().isdigit():
            return self.poelis.get_client(int(self.run_budget) if self.run_budget else None)
        raise ConfigurationError(
            f"The run tag {RUN_BUDGET_TAG} must be a whole number of requests, got {self.run_budget!r}."
        )

    def incremental(self, max_items: int | None) -> IncrementalSettings | None:
        """The properties' incremental settings for what the run has left (None: `full`), due items
        including those that would pass the bound before the next run."""
        if self.due_within is None or self.due_within.strip().isdigit():
            due_within = timedelta(seconds=int(self.due_within or 0))
            return self.sync_settings.incremental(max_items, due_within=due_within)
        raise ConfigurationError(
            f"The run tag {DUE_WITHIN_TAG} must be a whole number of seconds, got {self.due_within!r}."
        )


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
    resources: RunResources,
    run_level: Callable[..., sync.LevelResult],
    workspace_ids: list[str] | None,
) -> dg.MaterializeResult[Any]:
    """Run one level and describe it. A level that finds the run's request budget already spent (an earlier
    level used it up) does not run as if that level were complete: it fetches nothing and says so; the
    properties level still measures the backlog it leaves (from the warehouse, no request)."""
    # One connection for the whole step: the pool already makes this step the only writer.
    with failures_explained(context), resources.warehouse.open() as warehouse, warehouse.session():
        client = resources.client()
        key = sync_key(context)
        spent_before = client.requests_remaining == 0
        options = {}
        if table == "properties":  # an item budget: what the run has left
            options["incremental"] = resources.incremental(client.requests_remaining)
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
        metadata = materialization_metadata(context, warehouse, table, result, workspace_ids)
        checks = check_results_for(warehouse, table, result)
        if table == "properties":
            bound = resources.sync_settings.staleness_bound()
            left = (
                result.incremental.freshness
                if result.incremental is not None and result.incremental.freshness is not None
                else sync.properties_freshness(warehouse, workspace_ids or [], bound, run_key=key)
            )
            metadata.update(budget_metadata(client, result, left, bound))
            checks.append(staleness_check(left, bound))
        return dg.MaterializeResult(metadata=metadata, check_results=checks)


MATERIALIZED_LEVELS = tuple(level for level in LEVELS if level.name != VERSIONS_LEVEL)
"""The levels `_materialize` loads, in run order; the published versions have an asset of their own
(`versions_assets.py`), their figures being versions rather than rows."""


# The assets' functions return a bare `dg.MaterializeResult`: Dagster reads the annotation, and takes only the
# bare class for the result of an asset with checks (hence `type: ignore[type-arg]` for strict type checks).


def api_asset(
    names: PoelisDefsNames,
    name: str,
    *,
    deps: Sequence[str],
    check_specs: Sequence[dg.AssetCheckSpec],
    partitioned: bool,
    description: str | None = None,
) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """The decorator of an asset that calls the API: its key, group, retries and resources, the pool (one
    organization's quota and, for an embedded DuckDB file, its single writer), and for a level partitioned
    by workspace a single-run backfill policy: a backfill of a range of workspaces is one run, as a scheduled
    sync is."""
    return dg.asset(
        key=names.asset_key(name),
        deps=[names.asset_key(parent) for parent in deps],
        check_specs=check_specs,
        description=description,
        partitions_def=names.workspace_partitions if partitioned else None,
        backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
        group_name=names.group_name,
        kinds={"python", "sql"},
        pool=names.pool,
        retry_policy=TRANSIENT_RETRY_POLICY,
        required_resource_keys=names.resource_keys.all(),
    )


def build_level_asset(level: Level[sync.LevelResult], names: PoelisDefsNames) -> dg.AssetsDefinition:
    """A level as an asset. A partitioned level syncs the step's workspaces: usually every partition of the
    run's range (schedule, UI backfill, CLI), one partition for a workspace the sensor has just found."""

    @api_asset(
        names,
        level.name,
        deps=level.deps,
        check_specs=check_specs_for(level.name, names),
        partitioned=level.partitioned,
        description=level.description,
    )
    def _level(context: dg.AssetExecutionContext) -> dg.MaterializeResult:  # type: ignore[type-arg]
        workspace_ids = list(context.partition_keys) if level.partitioned else None
        return _materialize(context, level.name, RunResources.of(context, names), level.run, workspace_ids)

    return _level


def build_analyst_views_asset(names: PoelisDefsNames) -> dg.AssetsDefinition:
    @dg.asset(
        key=names.asset_key("analyst_views"),
        # Every table the views read: every level's.
        deps=[names.asset_key(level.name) for level in LEVELS],
        group_name=names.group_name,
        kinds={"sql"},
        # In the pool too: an embedded DuckDB file admits one writing process at a time.
        pool=names.pool,
        required_resource_keys={names.resource_keys.warehouse},
    )
    def analyst_views(context: dg.AssetExecutionContext) -> dg.MaterializeResult:  # type: ignore[type-arg]
        """The analyst-facing views (`property_values`, `item_tree`, `product_summary`) over the loaded
        tables."""
        warehouse: PoelisWarehouseResource = getattr(context.resources, names.resource_keys.warehouse)
        with failures_explained(context), warehouse.open() as opened:
            created = opened.create_views()
        return dg.MaterializeResult(metadata={"views": dg.MetadataValue.json(created)})

    return analyst_views
