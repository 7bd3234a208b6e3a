"""`build_poelis_defs` inside someone else's Dagster project: the public imports, a merge with a project that
has its own executor and its own `warehouse` resource, two organizations in one deployment, the schedule and
the sensor stopped unless asked, a job that selects its assets by key, and single-run backfills.

Every sync here runs the factory's job against the bundled fake API into real DuckDB files, the way the
schedule launches it: one run over the range of every workspace partition.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
from sync_helpers import STANDALONE_KEYS

import poelis_pipelines
from poelis_pipelines import (
    PoelisClient,
    PoelisError,
    PoelisResource,
    PoelisResourceKeys,
    PoelisSyncSettings,
    PoelisWarehouseResource,
    build_poelis_defs,
    settings,
)
from poelis_pipelines.cli.runner import Runner, SyncResources
from poelis_pipelines.defs.poelis.assets import NO_STEP_RETRIES_TAG
from poelis_pipelines.defs.poelis.schedules import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from poelis_pipelines.warehouse import Warehouse
from poelis_pipelines.warehouse.inspection import live_ids


class ProjectWarehouse(dg.ConfigurableResource):  # type: ignore[type-arg]
    """A user's own resource under the key `warehouse`."""

    path: str


@dg.asset(group_name="poelis")  # a user's own asset, in a group of the same name as ours
def weekly_report(warehouse: ProjectWarehouse) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"written_to": warehouse.path})


@pytest.fixture(autouse=True)
def no_poelis_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what the definitions are given: no key, URL or warehouse from the environment."""
    for variable in (
        settings.ENV_API_KEY,
        settings.ENV_API_KEY_FILE,
        settings.ENV_BASE_URL,
        settings.ENV_WAREHOUSE_URL,
        settings.ENV_WAREHOUSE_SCHEMA,
        settings.ENV_MAX_REQUESTS,
    ):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def instance() -> object:
    with dg.instance_for_test() as test_instance:
        yield test_instance


def sync_every_workspace(
    definitions: dg.Definitions,
    instance: dg.DagsterInstance,
    workspace_ids: list[str],
    *,
    job_name: str = "poelis_sync",
    partitions_name: str = settings.WORKSPACE_PARTITIONS_NAME,
) -> dg.ExecuteInProcessResult:
    """The scheduled run: the partitions the sensor would add, then one run over their whole range."""
    instance.add_dynamic_partitions(partitions_name, workspace_ids)
    order = instance.get_dynamic_partitions(partitions_name)
    return definitions.resolve_job_def(job_name).execute_in_process(
        instance=instance,
        tags={
            PARTITION_RANGE_START_TAG: order[0],
            PARTITION_RANGE_END_TAG: order[-1],
            NO_STEP_RETRIES_TAG: "true",  # a failure fails the test now, not after minutes of retries
        },
        raise_on_error=False,
    )


def workspace_ids_of(organization: object) -> list[str]:
    return sorted(workspace["id"] for workspace in organization.dataset.workspaces)  # type: ignore[attr-defined]


def stored_job(instance: dg.DagsterInstance, run_id: str) -> str:
    """The job snapshot Dagster stored with a run (its resources' config schema and values included)."""
    run = instance.get_run_by_id(run_id)
    assert run is not None
    assert run.job_snapshot_id is not None
    return dg.serialize_value(instance.get_job_snapshot(run.job_snapshot_id))


def synced_workspaces(url: str, schema: str) -> list[str]:
    with Warehouse(url, schema) as warehouse:
        return live_ids(warehouse, "workspaces")


def test_the_public_api_is_importable_from_the_top_level() -> None:
    assert {
        "PoelisResource",
        "PoelisWarehouseResource",
        "PoelisSyncSettings",
        "PoelisResourceKeys",
        "build_poelis_defs",
        "PoelisComponent",
        "PoelisClient",
        "PoelisError",
    } <= set(poelis_pipelines.__all__)
    assert issubclass(PoelisResource, dg.ConfigurableResource)
    assert issubclass(PoelisWarehouseResource, dg.ConfigurableResource)
    assert issubclass(PoelisSyncSettings, dg.ConfigurableResource)
    assert issubclass(PoelisError, Exception)
    assert PoelisClient.__module__.startswith("poelis_pipelines.client")
    for name in ("PoelisResource", "PoelisWarehouseResource", "PoelisSyncSettings", "build_poelis_defs"):
        assert "Example::" in (getattr(poelis_pipelines, name).__doc__ or ""), name
    with pytest.raises(AttributeError):
        poelis_pipelines.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018


def test_the_top_level_and_the_client_import_neither_dagster_nor_pandas() -> None:
    """The public names load on first use: the client (and the Airflow provider on it) stays light."""
    script = "import sys, poelis_pipelines, poelis_pipelines.client; print(sorted(sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    modules = done.stdout.split("'")
    assert "poelis_pipelines.client" in modules
    assert not [name for name in modules if name.split(".")[0] in {"dagster", "pandas"}]


def test_it_merges_with_a_project_that_has_its_own_executor_and_warehouse_resource(
    fake_api: object, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    project = dg.Definitions(
        assets=[weekly_report],
        jobs=[dg.define_asset_job("weekly", selection=[weekly_report])],
        resources={"warehouse": ProjectWarehouse(path=str(tmp_path / "project.db"))},
        executor=dg.multiprocess_executor,
    )
    url = f"duckdb:///{tmp_path}/poelis.duckdb"
    definitions = dg.Definitions.merge(
        project,
        build_poelis_defs(
            poelis=PoelisResource(api_key=fake_api.api_key, base_url=fake_api.base_url),  # type: ignore[attr-defined]
            warehouse=PoelisWarehouseResource(url=url, schema_name="engineering"),
        ),
    )
    dg.Definitions.validate_loadable(definitions)
    job = definitions.resolve_job_def("poelis_sync")
    assert job.executor_def.name == "in_process", "the sync's own executor, whatever the project's default"
    assert definitions.resolve_job_def("weekly").executor_def.name == "multiprocess"
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} == STANDALONE_KEYS

    workspace_ids = workspace_ids_of(fake_api)
    result = sync_every_workspace(definitions, instance, workspace_ids)
    assert result.success
    assert synced_workspaces(url, "engineering") == workspace_ids
    # One run: the workspace list, the users and the views once, every level once per workspace.
    assert len(result.get_asset_materialization_events()) == 3 + 4 * len(workspace_ids)

    weekly = definitions.resolve_job_def("weekly").execute_in_process(instance=instance)
    [event] = weekly.get_asset_materialization_events()
    assert event.materialization.metadata["written_to"].value == str(tmp_path / "project.db")


def test_two_organizations_live_in_one_deployment_and_sync_independently(
    fake_api: object, instance: dg.DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme, globex = fake_api.organizations  # type: ignore[attr-defined]
    monkeypatch.setenv("GLOBEX_POELIS_API_KEY", globex.api_key)
    urls = {name: f"duckdb:///{tmp_path}/{name}-warehouse.duckdb" for name in ("acme", "globex")}

    def organization(name: str, api_key: str) -> dg.Definitions:
        return build_poelis_defs(
            poelis=PoelisResource(api_key=api_key, base_url=fake_api.base_url),  # type: ignore[attr-defined]
            warehouse=PoelisWarehouseResource(url=urls[name], schema_name=name),
            key_prefix=["poelis", name],
            group_name=f"poelis_{name}",
            resource_keys=PoelisResourceKeys(
                poelis=f"{name}_poelis", warehouse=f"{name}_warehouse", sync_settings=f"{name}_sync"
            ),
            partitions_name=f"{name}_workspaces",
            pool=f"{name}_api",
            job_name=f"{name}_sync",
        )

    definitions = dg.Definitions.merge(
        organization("acme", acme.api_key), organization("globex", dg.EnvVar("GLOBEX_POELIS_API_KEY"))
    )
    dg.Definitions.validate_loadable(definitions)
    repository = definitions.get_repository_def()
    assert {schedule.name for schedule in repository.schedule_defs} == {
        "acme_sync_schedule",
        "globex_sync_schedule",
    }
    assert {sensor.name for sensor in repository.sensor_defs} == {
        "acme_sync_workspace_sensor",
        "globex_sync_workspace_sensor",
    }

    acme_ids = workspace_ids_of(acme)
    first = sync_every_workspace(
        definitions, instance, acme_ids, job_name="acme_sync", partitions_name="acme_workspaces"
    )
    assert first.success
    assert synced_workspaces(urls["acme"], "acme") == acme_ids
    assert not Path(f"{tmp_path}/globex-warehouse.duckdb").exists(), "the other organization is untouched"
    assert instance.get_latest_materialization_event(dg.AssetKey(["poelis", "globex", "workspaces"])) is None
    assert {
        key.path[1] for event in first.get_asset_materialization_events() for key in [event.asset_key]
    } == {"acme"}

    globex_ids = workspace_ids_of(globex)
    second = sync_every_workspace(
        definitions, instance, globex_ids, job_name="globex_sync", partitions_name="globex_workspaces"
    )
    assert second.success
    assert synced_workspaces(urls["globex"], "globex") == globex_ids
    assert not set(acme_ids) & set(globex_ids)
    assert instance.get_dynamic_partitions("acme_workspaces") == acme_ids
    # The key the EnvVar names is read when the run starts: never a value of the stored job.
    assert globex.api_key not in stored_job(instance, second.run_id)


def test_the_schedule_and_the_sensor_are_stopped_unless_asked() -> None:
    default = build_poelis_defs()
    assert default.resolve_schedule_def("poelis_sync_schedule").default_status == (
        dg.DefaultScheduleStatus.STOPPED
    )
    assert default.resolve_sensor_def("poelis_sync_workspace_sensor").default_status == (
        dg.DefaultSensorStatus.STOPPED
    )
    asked = build_poelis_defs(
        schedule_status=dg.DefaultScheduleStatus.RUNNING,
        sensor_status=dg.DefaultSensorStatus.RUNNING,
        schedule_cron="15 6 * * *",
    )
    schedule = asked.resolve_schedule_def("poelis_sync_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.cron_schedule == "15 6 * * *"
    assert asked.resolve_sensor_def("poelis_sync_workspace_sensor").default_status == (
        dg.DefaultSensorStatus.RUNNING
    )


def test_the_job_selects_its_assets_by_key_so_another_group_keeps_it_whole() -> None:
    definitions = build_poelis_defs(group_name="engineering_data")
    job = definitions.resolve_job_def("poelis_sync")
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} == STANDALONE_KEYS
    graph = definitions.resolve_asset_graph()
    assert {graph.get(key).group_name for key in graph.get_all_asset_keys()} == {"engineering_data"}
    assert job.asset_layer.asset_graph.asset_check_keys, "the checks run with their assets"


def test_a_backfill_of_workspace_partitions_is_one_run() -> None:
    """Dagster plans a UI backfill of a partition range as one run per single-run policy: the workspace
    list and the views are then built once, as in the scheduled run."""
    graph = build_poelis_defs().resolve_asset_graph()
    partitioned = [key for key in graph.get_all_asset_keys() if graph.get(key).partitions_def is not None]
    assert {key.path[-1] for key in partitioned} == {"products", "items", "properties", "product_versions"}
    for key in partitioned:
        assert graph.get(key).backfill_policy == dg.BackfillPolicy.single_run(), key


def test_the_cli_hands_the_warehouse_over_without_storing_its_url(
    fake_api: object, instance: dg.DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warehouse URL may hold a password: the CLI's runs get the resource, their stored job does not."""
    monkeypatch.setenv(settings.ENV_API_KEY, fake_api.api_key)  # type: ignore[attr-defined]
    monkeypatch.setenv(settings.ENV_BASE_URL, fake_api.base_url)  # type: ignore[attr-defined]
    secret_folder = tmp_path / "s3cret-in-the-url"
    secret_folder.mkdir()
    url = f"duckdb:///{secret_folder}/warehouse.duckdb"
    resources = SyncResources(
        warehouse=PoelisWarehouseResource(url=url, schema_name="cli"),
        sync_settings=PoelisSyncSettings(versions="none"),
    )
    runner = Runner(instance, resources=resources)
    summary = runner.sync(lambda: synced_workspaces(url, "cli"))
    assert summary.succeeded, summary.failures
    assert synced_workspaces(url, "cli") == workspace_ids_of(fake_api)
    assert "product_versions" in summary.tables
    assert summary.tables["product_versions"].get("versions_completed", 0) == 0, (
        "versions=none was handed over"
    )
    for run_id in summary.run_ids:
        assert "s3cret-in-the-url" not in stored_job(instance, run_id)


def test_each_organizations_schedule_covers_its_own_workspaces(instance: dg.DagsterInstance) -> None:
    def organization(name: str) -> dg.Definitions:
        return build_poelis_defs(
            key_prefix=name,
            resource_keys=PoelisResourceKeys(f"{name}_poelis", f"{name}_warehouse", f"{name}_sync"),
            partitions_name=f"{name}_workspaces",
            pool=f"{name}_api",
            job_name=f"{name}_sync",
        )

    definitions = dg.Definitions.merge(organization("acme"), organization("globex"))
    instance.add_dynamic_partitions("acme_workspaces", ["ws-1", "ws-2"])

    def tick(name: str) -> dg.ScheduleExecutionData:
        with dg.build_schedule_context(
            instance=instance,
            repository_def=definitions.get_repository_def(),
            resources={f"{name}_poelis": PoelisResource(max_requests=100)},
            scheduled_execution_time=datetime(2026, 12, 6, 4, tzinfo=UTC),
        ) as context:
            return definitions.resolve_schedule_def(f"{name}_sync_schedule").evaluate_tick(context)

    [request] = tick("acme").run_requests or []
    assert request.job_name in (None, "acme_sync")
    assert (request.tags[PARTITION_RANGE_START_TAG], request.tags[PARTITION_RANGE_END_TAG]) == (
        "ws-1",
        "ws-2",
    )
    assert not tick("globex").run_requests, "no partitions of its own yet"
