"""The regular refresh: one incremental run over every known workspace partition, hourly by default.

One run, not one per workspace: the workspace list is listed once, the views rebuilt once, and Dagster's
fixed cost per run paid once (a run over the partition range, as the CLI runs it). Its request budget fits
the interval, so a run ends before the next one is due and runs never pile up; a first load spreads over as
many runs as it needs, and each run's metadata says how many are left.
"""

import os
from collections.abc import Iterator
from datetime import timedelta

import dagster as dg

# Dagster's own reading of a cron string's interval (not re-exported publicly).
from dagster._utils.schedules import get_smallest_cron_interval

from poelis_pipelines import settings
from poelis_pipelines.budget import scheduled_run_budget
from poelis_pipelines.client import ConfigurationError
from poelis_pipelines.client.config import resolve_quota_share
from poelis_pipelines.defs.poelis.assets import DUE_WITHIN_TAG, RUN_BUDGET_TAG
from poelis_pipelines.defs.poelis.names import PoelisDefsNames
from poelis_pipelines.defs.poelis.resources import PoelisResource
from poelis_pipelines.plan import quota_per_minute

# Dagster's system tags for a run over a partition range (what a single-run backfill sets).
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"


def sync_cron() -> str:
    """`POELIS_SYNC_CRON` when the standalone code location loads, else hourly on the hour (UTC)."""
    return os.environ.get(settings.ENV_SYNC_CRON) or settings.DEFAULT_SYNC_CRON


def scheduled_budget(poelis: PoelisResource, interval: timedelta) -> int | None:
    """The requests a scheduled run may send (share x limit x interval, less a margin), unless the resource
    or `POELIS_MAX_REQUESTS` sets a budget of its own (None: that one applies)."""
    if poelis.max_requests is not None or os.environ.get(settings.ENV_MAX_REQUESTS, "").strip():
        return None
    share = resolve_quota_share(poelis.quota_share)
    limit = quota_per_minute(poelis.advertised_rate_limit())
    return scheduled_run_budget(interval, share=share, per_minute=limit)


def build_sync_schedule(
    names: PoelisDefsNames,
    *,
    cron: str = settings.DEFAULT_SYNC_CRON,
    default_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.STOPPED,
) -> dg.ScheduleDefinition:
    poelis_key = names.resource_keys.poelis

    @dg.schedule(
        name=names.schedule_name,
        cron_schedule=cron,
        execution_timezone=settings.SYNC_TIMEZONE,
        job_name=names.job_name,
        default_status=default_status,
        required_resource_keys={poelis_key},
        description="An incremental sync of every known workspace in one run, with a request budget that "
        "fits the interval between two ticks.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest | dg.SkipReason]:
        workspace_ids = context.instance.get_dynamic_partitions(names.partitions_name)
        if not workspace_ids:
            yield dg.SkipReason(
                "No workspace partitions yet: the workspace sensor adds them on its first tick."
            )
            return
        poelis: PoelisResource = getattr(context.resources, poelis_key)
        try:
            interval = get_smallest_cron_interval(cron, settings.SYNC_TIMEZONE)
            budget = scheduled_budget(poelis, interval)
        except ConfigurationError as error:
            yield dg.SkipReason(str(error))
            return
        tick = (
            context.scheduled_execution_time.strftime("%Y%m%dT%H%M")
            if context.scheduled_execution_time
            else ""
        )
        yield dg.RunRequest(
            run_key=tick,
            # Every partition, in the instance's order: the range from the first to the last holds them all.
            tags={
                PARTITION_RANGE_START_TAG: workspace_ids[0],
                PARTITION_RANGE_END_TAG: workspace_ids[-1],
                **({RUN_BUDGET_TAG: str(budget)} if budget is not None else {}),
                DUE_WITHIN_TAG: str(round(interval.total_seconds())),
            },
        )

    return _schedule
