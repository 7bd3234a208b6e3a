"""The standalone code location `workspace.yaml` loads (`make dev`, `poelis-pipelines dev`).

This project run as an application, on one organization: unlike `build_poelis_defs`'s defaults for someone
else's project, the hourly schedule (cron `$POELIS_SYNC_CRON`) and the workspace sensor run as soon as the
code loads, and the sensor retires the partitions of workspaces the key no longer sees. Every setting comes
from the `POELIS_*` environment, read when a run starts.
"""

import os

import dagster as dg

from poelis_pipelines import settings
from poelis_pipelines.defs.poelis import build_poelis_defs
from poelis_pipelines.defs.poelis.schedules import sync_cron

defs = build_poelis_defs(
    schedule_cron=sync_cron(),
    schedule_status=dg.DefaultScheduleStatus.RUNNING,
    sensor_status=dg.DefaultSensorStatus.RUNNING,
    retire_vanished_workspaces=True,
    demo_mode=os.environ.get(settings.ENV_DEMO_MODE, "").strip() or None,
)
