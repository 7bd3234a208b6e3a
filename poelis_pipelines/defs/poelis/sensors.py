"""Keeps the workspace partitions in step with the workspaces the key can see, and syncs new ones at once."""

import dagster as dg

from poelis_pipelines.client import PoelisError
from poelis_pipelines.client.secrets import scrub
from poelis_pipelines.defs.poelis.names import PoelisDefsNames
from poelis_pipelines.defs.poelis.resources import PoelisResource

# One list request an hour is negligible against the quota (60/min) and finds new workspaces the same morning.
SENSOR_INTERVAL_SECONDS = 3600


def build_workspace_sensor(
    names: PoelisDefsNames,
    *,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
    retire_vanished_workspaces: bool = False,
) -> dg.SensorDefinition:
    """Adds a partition for each new workspace and requests its first sync. A workspace the key no longer
    sees keeps its partition (and the history of its materializations) unless `retire_vanished_workspaces`:
    a key scoped down by mistake must not erase what the UI knows."""
    poelis_key = names.resource_keys.poelis
    partitions = names.workspace_partitions
    retiring = "; retires vanished ones" if retire_vanished_workspaces else ""

    @dg.sensor(
        name=names.sensor_name,
        job_name=names.job_name,
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=default_status,
        required_resource_keys={poelis_key},
        description=f"Adds a partition (and requests a first sync) for each new workspace{retiring}.",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        poelis: PoelisResource = getattr(context.resources, poelis_key)
        try:
            seen = {workspace["id"] for workspace in poelis.get_client().iter_workspaces()}
        except PoelisError as error:
            return dg.SkipReason(f"Could not list workspaces: {scrub(str(error))}")
        known = set(context.instance.get_dynamic_partitions(names.partitions_name))
        new = sorted(seen - known)
        gone = sorted(known - seen) if retire_vanished_workspaces else []
        if not new and not gone:
            return dg.SkipReason(f"Partitions already cover the {len(seen)} workspace(s).")
        requests: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
        if new:
            requests.append(partitions.build_add_request(new))
        if gone:
            requests.append(partitions.build_delete_request(gone))
        return dg.SensorResult(
            run_requests=[dg.RunRequest(run_key=f"new-workspace:{key}", partition_key=key) for key in new],
            dynamic_partitions_requests=requests,
        )

    return _sensor
