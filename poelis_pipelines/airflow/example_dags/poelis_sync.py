"""`poelis_sync`: the Poelis organization into the warehouse, daily.

The workspace list, then one mapped task per live workspace (its products, items and properties), then the
analyst views. Every task is in the `poelis_api` pool; create it with one slot
(`airflow pools set poelis_api 1 "Poelis API quota"`) so one task at a time spends the organization's quota.
The key comes from the `poelis_default` connection (or `POELIS_API_KEY` / `POELIS_API_KEY_FILE`), the
warehouse from `poelis_warehouse_default` (or `POELIS_WAREHOUSE_URL` / `POELIS_WAREHOUSE_SCHEMA`). Trigger
with params to change the quota share, the request budget per task, the staleness bound or to list every
item (`full`).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from airflow.sdk import dag

from poelis_pipelines import settings
from poelis_pipelines.airflow.tasks import DAG_PARAMS, DEFAULT_ARGS, analyst_views, sync_workspace, workspaces


@dag(
    dag_id="poelis_sync",
    schedule=os.environ.get(settings.ENV_SYNC_CRON) or settings.DEFAULT_SYNC_CRON,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,  # two runs at once would share the quota and a DuckDB file's single writer
    params=DAG_PARAMS,
    default_args=DEFAULT_ARGS,
    tags=["poelis"],
    doc_md=__doc__,
)
def poelis_sync() -> None:
    synced = sync_workspace.expand(workspace_id=workspaces())
    synced >> analyst_views()


poelis_sync()
