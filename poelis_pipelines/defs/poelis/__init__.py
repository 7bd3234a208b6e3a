"""Dagster glue for the Poelis source: resources, assets, checks, the sync job, schedule and sensor."""

from __future__ import annotations

import os

import dagster as dg

from poelis_pipelines import settings
from poelis_pipelines.defs.poelis.assets import POELIS_ASSETS
from poelis_pipelines.defs.poelis.jobs import poelis_sync
from poelis_pipelines.defs.poelis.resources import PoelisResource, PoelisSyncSettings, WarehouseResource
from poelis_pipelines.defs.poelis.schedules import build_sync_schedule
from poelis_pipelines.defs.poelis.sensors import poelis_workspace_sensor
from poelis_pipelines.defs.poelis.versions_assets import (
    VERSIONS_ASSETS,
    VERSIONS_RESOURCE_KEY,
    PoelisVersionsSettings,
)


def _assets_for_this_environment() -> list[dg.AssetsDefinition]:
    """The assets; under `poelis-pipelines dev` with no key, each description opens with the demo sentence,
    so nobody mistakes the fake organization in the UI for their own."""
    demo_mode = os.environ.get(settings.ENV_DEMO_MODE, "").strip()
    if not demo_mode:
        return [*POELIS_ASSETS, *VERSIONS_ASSETS]
    return list(
        dg.map_asset_specs(
            lambda spec: spec.replace_attributes(description=f"{demo_mode}\n\n{spec.description or ''}"),
            [*POELIS_ASSETS, *VERSIONS_ASSETS],
        )
    )


def build_definitions() -> dg.Definitions:
    """Every run executes its steps in one process (the run worker): the steps of a sync run one after
    another anyway (each level reads the one before, all share one rate-limited API), so a process per step
    would only add a Python + Dagster start-up (~3 s) to each of them and open the DuckDB file from several
    processes.

    The Poelis resource is built without a key: the client reads it when a run first calls the API, inside
    the asset, so a missing or bad key fails the run with the CLI's one sentence, not a config error."""
    return dg.Definitions(
        executor=dg.in_process_executor,
        assets=_assets_for_this_environment(),
        jobs=[poelis_sync],
        schedules=[build_sync_schedule()],
        sensors=[poelis_workspace_sensor],
        resources={
            "poelis": PoelisResource(),
            "poelis_sync": PoelisSyncSettings(),
            "warehouse": WarehouseResource(),
            VERSIONS_RESOURCE_KEY: PoelisVersionsSettings(),
        },
    )
