"""Dagster glue for the Poelis source: resources, assets, checks, the sync job, schedule and sensor."""

from __future__ import annotations

import os

import dagster as dg

from poelis_pipelines import settings
from poelis_pipelines.defs.poelis.assets import POELIS_ASSETS
from poelis_pipelines.defs.poelis.jobs import poelis_sync
from poelis_pipelines.defs.poelis.resources import PoelisResource, WarehouseResource
from poelis_pipelines.defs.poelis.schedules import build_daily_schedule
from poelis_pipelines.defs.poelis.sensors import poelis_workspace_sensor


def poelis_resource_from_environment() -> PoelisResource:
    """The key as an `EnvVar`: Dagster records the variable's name, never its value, in run storage.

    A deployment that mounts the key as a file (`POELIS_API_KEY_FILE`) and sets no `POELIS_API_KEY` gets the
    file path as the `EnvVar` instead; either way the value is read when the run starts.
    """
    if os.environ.get(settings.ENV_API_KEY_FILE) and not os.environ.get(settings.ENV_API_KEY):
        return PoelisResource(api_key_file=dg.EnvVar(settings.ENV_API_KEY_FILE))
    return PoelisResource(api_key=dg.EnvVar(settings.ENV_API_KEY))


def build_definitions() -> dg.Definitions:
    """Every run executes its steps in one process (the run worker): the steps of a sync run one after
    another anyway (each level reads the one before, all share one rate-limited API), so a process per step
    would only add a Python + Dagster start-up (~3 s) to each of them and open the DuckDB file from several
    processes."""
    return dg.Definitions(
        executor=dg.in_process_executor,
        assets=POELIS_ASSETS,
        jobs=[poelis_sync],
        schedules=[build_daily_schedule()],
        sensors=[poelis_workspace_sensor],
        resources={"poelis": poelis_resource_from_environment(), "warehouse": WarehouseResource()},
    )
