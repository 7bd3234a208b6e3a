"""The schedule, the workspace sensor, and loading the definitions with no secrets set: the standalone code
location's (schedule and sensor running, vanished workspaces retired) and the factory's defaults."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest
from sync_helpers import STANDALONE, STANDALONE_KEYS, sensor_tick

from poelis_pipelines import PoelisResource, build_poelis_defs, settings
from poelis_pipelines.defs.poelis.assets import DUE_WITHIN_TAG, RUN_BUDGET_TAG
from poelis_pipelines.defs.poelis.schedules import build_sync_schedule


def standalone_definitions() -> dg.Definitions:
    """What `workspace.yaml` loads, built afresh (the module reads the environment once, at import)."""
    import importlib

    import poelis_pipelines.definitions

    return importlib.reload(poelis_pipelines.definitions).defs


def test_definitions_load_and_validate_without_any_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in (settings.ENV_API_KEY, settings.ENV_API_KEY_FILE, settings.ENV_WAREHOUSE_URL):
        monkeypatch.delenv(variable, raising=False)
    definitions = standalone_definitions()
    dg.Definitions.validate_loadable(definitions)
    job = definitions.resolve_job_def(STANDALONE.job_name)
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} == STANDALONE_KEYS


def _scheduled_requests(
    instance: dg.DagsterInstance, resources: dict[str, object] | None = None
) -> list[dg.RunRequest]:
    definitions = build_poelis_defs()
    schedule = definitions.resolve_schedule_def(STANDALONE.schedule_name)
    with dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=datetime(2026, 11, 29, 2, tzinfo=UTC),
        repository_def=definitions.get_repository_def(),
        resources=resources or {"poelis": PoelisResource()},
    ) as context:
        return list(schedule.evaluate_tick(context).run_requests or [])


def test_the_schedule_requests_one_hourly_run_over_every_workspace_partition_within_a_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(settings.ENV_MAX_REQUESTS, raising=False)
    monkeypatch.delenv(settings.ENV_QUOTA_SHARE, raising=False)
    schedule = standalone_definitions().resolve_schedule_def(STANDALONE.schedule_name)
    assert schedule.cron_schedule == settings.DEFAULT_SYNC_CRON == "0 * * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(settings.WORKSPACE_PARTITIONS_NAME, ["ws-b", "ws-c", "ws-a"])
        [request] = _scheduled_requests(instance)
        order = instance.get_dynamic_partitions(settings.WORKSPACE_PARTITIONS_NAME)
    key_range = request.partition_key_range
    assert key_range is not None
    keys = order[order.index(key_range.start) : order.index(key_range.end) + 1]
    assert sorted(keys) == ["ws-a", "ws-b", "ws-c"], "one run covers every workspace, in Dagster's order"
    assert request.partition_key is None
    # share 0.8 x 60 requests/min x 60 min, less 10%: the run ends before the next tick.
    assert request.tags[RUN_BUDGET_TAG] == "2592"
    # The properties due before the next tick are listed by this run, so none waits past the bound.
    assert request.tags[DUE_WITHIN_TAG] == "3600"
    assert not request.run_config, "run config would replace the resource's own settings (key, URL)"


def test_a_budget_set_on_the_resource_is_the_scheduled_runs_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(settings.ENV_MAX_REQUESTS, raising=False)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(settings.WORKSPACE_PARTITIONS_NAME, ["ws-a"])
        [halved] = _scheduled_requests(instance, {"poelis": PoelisResource(quota_share=0.4)})
        [own] = _scheduled_requests(instance, {"poelis": PoelisResource(max_requests=500)})
    assert halved.tags[RUN_BUDGET_TAG] == "1296"
    assert RUN_BUDGET_TAG not in own.tags


def test_the_schedule_skips_until_the_sensor_has_added_partitions() -> None:
    with (
        dg.instance_for_test() as instance,
        dg.build_schedule_context(instance=instance, resources={"poelis": PoelisResource()}) as context,
    ):
        result = build_sync_schedule(STANDALONE).evaluate_tick(context)
    assert not result.run_requests
    assert "sensor" in (result.skip_message or "")


def test_the_standalone_locations_cron_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.ENV_SYNC_CRON, "30 5 * * 1-5")
    schedule = standalone_definitions().resolve_schedule_def(STANDALONE.schedule_name)
    assert schedule.cron_schedule == "30 5 * * 1-5"


@pytest.mark.parametrize("standalone", [True, False], ids=["standalone", "factory-default"])
def test_the_sensor_adds_new_workspaces_requests_their_sync_and_retires_vanished_ones_if_asked(
    fake_api: object, standalone: bool
) -> None:
    """The standalone location retires vanished workspaces; the factory keeps them unless asked."""
    definitions = standalone_definitions() if standalone else build_poelis_defs()
    workspace_ids = sorted(workspace["id"] for workspace in fake_api.dataset.workspaces)  # type: ignore[attr-defined]
    already_known, *new = workspace_ids
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(
            settings.WORKSPACE_PARTITIONS_NAME, [already_known, "retired-workspace"]
        )
        poelis = PoelisResource(api_key=fake_api.api_key, base_url=fake_api.base_url)  # type: ignore[attr-defined]
        result = sensor_tick(definitions, STANDALONE.sensor_name, instance, {"poelis": poelis})
    added = [
        r for r in result.dynamic_partitions_requests or [] if isinstance(r, dg.AddDynamicPartitionsRequest)
    ]
    deleted = [
        r
        for r in result.dynamic_partitions_requests or []
        if isinstance(r, dg.DeleteDynamicPartitionsRequest)
    ]
    assert [list(r.partition_keys) for r in added] == [new]
    assert [list(r.partition_keys) for r in deleted] == ([["retired-workspace"]] if standalone else [])
    assert sorted(request.partition_key for request in result.run_requests or []) == new
