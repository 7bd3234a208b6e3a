"""`build_poelis_defs`: one Poelis organization as Dagster definitions, to merge into any Dagster project."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import dagster as dg

from poelis_pipelines import settings
from poelis_pipelines.defs.poelis.assets import LEVEL_ASSETS, build_analyst_views_asset, build_level_asset
from poelis_pipelines.defs.poelis.jobs import build_sync_job
from poelis_pipelines.defs.poelis.names import PoelisDefsNames, PoelisResourceKeys
from poelis_pipelines.defs.poelis.resources import PoelisResource, PoelisSyncSettings, PoelisWarehouseResource
from poelis_pipelines.defs.poelis.schedules import build_sync_schedule
from poelis_pipelines.defs.poelis.sensors import build_workspace_sensor
from poelis_pipelines.defs.poelis.versions_assets import build_product_versions_asset


def build_poelis_defs(
    *,
    poelis: PoelisResource | None = None,
    warehouse: PoelisWarehouseResource | None = None,
    sync_settings: PoelisSyncSettings | None = None,
    key_prefix: str | Sequence[str] = settings.ASSET_KEY_PREFIX,
    group_name: str = settings.ASSET_KEY_PREFIX,
    resource_keys: PoelisResourceKeys | None = None,
    partitions_name: str = settings.WORKSPACE_PARTITIONS_NAME,
    pool: str = settings.API_CONCURRENCY_POOL,
    job_name: str = "poelis_sync",
    schedule_cron: str = settings.DEFAULT_SYNC_CRON,
    schedule_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.STOPPED,
    sensor_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
    retire_vanished_workspaces: bool = False,
    demo_mode: str | None = None,
) -> dg.Definitions:
    """A Poelis organization's assets (workspaces → products → items → properties, users, published
    versions, analyst views), their checks, the sync job, an hourly schedule and a workspace sensor.

    Every name (asset keys, job, schedule, sensor, partitions, pool, resource keys) derives from the
    parameters, so the result merges with your own definitions, and two organizations with different
    prefixes and resource keys live in one deployment and sync independently. The schedule and the sensor
    start STOPPED (turn them on in the UI, or pass RUNNING); the sensor removes the partitions of vanished
    workspaces only with `retire_vanished_workspaces`. Limit the pool to 1 in your instance
    (`concurrency: pools: ...`) so one organization's runs never overlap. Resources left unset read the
    `POELIS_*` environment variables when a run starts.

    Example::

        import dagster as dg
        from poelis_pipelines import PoelisResource, PoelisWarehouseResource, build_poelis_defs

        defs = dg.Definitions.merge(
            dg.Definitions(assets=[...]),  # your own project
            build_poelis_defs(
                poelis=PoelisResource(api_key=dg.EnvVar("POELIS_API_KEY")),
                warehouse=PoelisWarehouseResource(url=dg.EnvVar("WAREHOUSE_URL"), schema_name="poelis"),
            ),
        )

    `demo_mode`: a sentence each asset's description opens with (`poelis-pipelines dev` on the fake API),
    so nobody mistakes the fake organization in the UI for their own.
    """
    names = PoelisDefsNames.of(
        key_prefix=key_prefix,
        group_name=group_name,
        resource_keys=resource_keys,
        partitions_name=partitions_name,
        pool=pool,
        job_name=job_name,
    )
    with warnings.catch_warnings():  # a beta parameter we rely on; not worth a warning at every load
        warnings.filterwarnings("ignore", "Parameter `backfill_policy`", dg.BetaWarning)
        assets = [
            *(build_level_asset(level, names) for level in LEVEL_ASSETS),
            build_product_versions_asset(names),
            build_analyst_views_asset(names),
        ]
    if demo_mode:
        assets = list(
            dg.map_asset_specs(
                lambda spec: spec.replace_attributes(description=f"{demo_mode}\n\n{spec.description or ''}"),
                assets,
            )
        )
    job = build_sync_job(names, assets)
    keys = names.resource_keys
    return dg.Definitions(
        assets=assets,
        jobs=[job],
        schedules=[build_sync_schedule(names, cron=schedule_cron, default_status=schedule_status)],
        sensors=[
            build_workspace_sensor(
                names,
                default_status=sensor_status,
                retire_vanished_workspaces=retire_vanished_workspaces,
            )
        ],
        resources={
            keys.poelis: poelis or PoelisResource(),
            keys.warehouse: warehouse or PoelisWarehouseResource(),
            keys.sync_settings: sync_settings or PoelisSyncSettings(),
        },
    )
