"""Keeps the workspace partitions equal to the workspaces the key can see, and syncs new ones at once."""

import dagster as dg

from poelis_pipelines import settings
from poelis_pipelines.client import PoelisError
from poelis_pipelines.client.secrets import scrub
from poelis_pipelines.defs.poelis.jobs import poelis_sync
from poelis_pipelines.defs.poelis.keys import workspace_partitions
from poelis_pipelines.defs.poelis.resources import PoelisResource

# One list request an hour is negligible against the quota (60/min) and finds new workspaces the same morning.
SENSOR_INTERVAL_SECONDS = 3600


@dg.sensor(
    name="poelis_workspace_sensor",
    job=poelis_sync,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds a partition (and requests a first sync) for each new workspace; retires vanished ones.",
)
def poelis_workspace_sensor(
    context: dg.SensorEvaluationContext, poelis: PoelisResource
) -> dg.SensorResult | dg.SkipReason:
    try:
        seen = {workspace["id"] for workspace in poelis.get_client().iter_workspaces()}
    except PoelisError as error:
        return dg.SkipReason(f"Could not list workspaces: {scrub(str(error))}")
    known = set(context.instance.get_dynamic_partitions(settings.WORKSPACE_PARTITIONS_NAME))
    new, gone = sorted(seen - known), sorted(known - seen)
    if not new and not gone:
        return dg.SkipReason(f"Partitions already match the {len(seen)} workspace(s).")
    requests: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
    if new:
        requests.append(workspace_partitions.build_add_request(new))
    if gone:
        requests.append(workspace_partitions.build_delete_request(gone))
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"new-workspace:{key}", partition_key=key) for key in new],
        dynamic_partitions_requests=requests,
    )
