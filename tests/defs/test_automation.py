"""The schedule, the workspace sensor, and loading the definitions with no secrets set."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from poelis_pipelines import settings
from poelis_pipelines.defs.poelis import build_definitions
from poelis_pipelines.defs.poelis.resources import PoelisResource
from poelis_pipelines.defs.poelis.schedules import build_daily_schedule
from poelis_pipelines.defs.poelis.sensors import poelis_workspace_sensor


def test_definitions_load_and_validate_without_any_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in (settings.ENV_API_KEY, settings.ENV_API_KEY_FILE, settings.ENV_WAREHOUSE_URL):
        monkeypatch.delenv(variable, raising=False)
    definitions = build_definitions()
    dg.Definitions.validate_loadable(definitions)
    job = definitions.resolve_job_def("poelis_sync")
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} == {
        "poelis/workspaces",
        "poelis/users",
        "poelis/products",
        "poelis/items",
        "poelis/properties",
        "poelis/product_versions",
        "poelis/analyst_views",
    }


def test_the_schedule_requests_one_run_per_known_workspace_partition() -> None:
    definitions = build_definitions()
    schedule = definitions.resolve_schedule_def("poelis_daily_sync")
    assert schedule.cron_schedule == settings.DEFAULT_SYNC_CRON
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(settings.WORKSPACE_PARTITIONS_NAME, ["ws-b", "ws-a"])
        context = dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=datetime(2026, 11, 29, 2, tzinfo=UTC),
            repository_def=definitions.get_repository_def(),
        )
        requests = schedule.evaluate_tick(context).run_requests or []
    assert [request.partition_key for request in requests] == ["ws-a", "ws-b"]
    assert len({request.run_key for request in requests}) == 2


def test_the_schedule_skips_until_the_sensor_has_added_partitions() -> None:
    with dg.instance_for_test() as instance:
        result = build_daily_schedule().evaluate_tick(dg.build_schedule_context(instance=instance))
    assert not result.run_requests
    assert "sensor" in (result.skip_message or "")


def test_the_cron_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.ENV_SYNC_CRON, "30 5 * * 1-5")
    assert build_daily_schedule().cron_schedule == "30 5 * * 1-5"


def test_the_sensor_adds_new_workspaces_requests_their_sync_and_retires_vanished_ones(
    fake_api: object,
) -> None:
    workspace_ids = sorted(workspace["id"] for workspace in fake_api.dataset.workspaces)  # type: ignore[attr-defined]
    already_known, *new = workspace_ids
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(
            settings.WORKSPACE_PARTITIONS_NAME, [already_known, "retired-workspace"]
        )
        with dg.build_sensor_context(
            instance=instance,
            resources={
                "poelis": PoelisResource(api_key=fake_api.api_key, base_url=fake_api.base_url)  # type: ignore[attr-defined]
            },
        ) as context:
            result = poelis_workspace_sensor(context)
    assert isinstance(result, dg.SensorResult)
    added = [
        r for r in result.dynamic_partitions_requests or [] if isinstance(r, dg.AddDynamicPartitionsRequest)
    ]
    deleted = [
        r
        for r in result.dynamic_partitions_requests or []
        if isinstance(r, dg.DeleteDynamicPartitionsRequest)
    ]
    assert [list(r.partition_keys) for r in added] == [new]
    assert [list(r.partition_keys) for r in deleted] == [["retired-workspace"]]
    assert sorted(request.partition_key for request in result.run_requests or []) == new
