"""The nightly refresh: one run per known workspace partition, so each workspace syncs (and fails) alone."""

import os
from collections.abc import Iterator

import dagster as dg

from poelis_pipelines import settings
from poelis_pipelines.defs.poelis.jobs import poelis_sync


def sync_cron() -> str:
    """`POELIS_SYNC_CRON` when the code location loads, else 02:00 UTC daily."""
    return os.environ.get(settings.ENV_SYNC_CRON) or settings.DEFAULT_SYNC_CRON


def build_daily_schedule() -> dg.ScheduleDefinition:
    @dg.schedule(
        name="poelis_daily_sync",
        cron_schedule=sync_cron(),
        execution_timezone=settings.SYNC_TIMEZONE,
        job=poelis_sync,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Re-syncs every known workspace, one run per workspace partition.",
    )
    def poelis_daily_sync(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest | dg.SkipReason]:
        workspace_ids = context.instance.get_dynamic_partitions(settings.WORKSPACE_PARTITIONS_NAME)
        if not workspace_ids:
            yield dg.SkipReason(
                "No workspace partitions yet: the workspace sensor adds them on its first tick."
            )
            return
        tick = (
            context.scheduled_execution_time.strftime("%Y%m%dT%H%M")
            if context.scheduled_execution_time
            else ""
        )
        for workspace_id in sorted(workspace_ids):
            yield dg.RunRequest(run_key=f"{tick}:{workspace_id}", partition_key=workspace_id)

    return poelis_daily_sync
