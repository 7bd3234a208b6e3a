"""`airflow dags test poelis_sync` against the bundled fake API, into DuckDB and PostgreSQL.

The warehouse must hold exactly the fake's data (the comparison the Dagster and CLI tests use), the key must
appear in no output, no file of the Airflow home (its metadata database holds the XComs) and no warehouse
cell, and a refused key must fail the first task once, with one line, and run nothing after it.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from poelis_pipelines import settings
from poelis_pipelines.fake_api import FakePoelisServer
from poelis_pipelines.levels import names, workspace_levels
from poelis_pipelines.tables import VIEWS as TABLE_VIEWS
from poelis_pipelines.warehouse.inspection import live_ids

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # what chaos_helpers imports
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "chaos"))
from airflow_helpers import airflow_environment, api_server, run_airflow
from chaos_helpers import Cli  # the proofs every end-to-end scenario ends with

SCHEMA = "poelis_af"
CARELESS_DAG = Path(__file__).resolve().parent / "dags" / "careless_user.py"
VIEWS = sorted(TABLE_VIEWS)  # every analyst view the package declares


@dataclass
class DagRun:
    """One `airflow dags test poelis_sync` and what it left in the metadata database."""

    returncode: int
    output: str
    run_id: str
    tasks: dict[tuple[str, int], tuple[str, int, str | None]]
    """(task id, map index) -> (state, try number, rendered map index)"""
    xcoms: dict[tuple[str, int], object]
    retried_tries: int


def trigger(home: Path, env: dict[str, str], conf: dict[str, object] | None = None) -> DagRun:
    result = run_airflow(env, "dags", "test", "poelis_sync", "--conf", json.dumps(conf or {}))
    with sqlite3.connect(home / "airflow.db") as database:
        (run_id,) = database.execute("SELECT run_id FROM dag_run WHERE dag_id = 'poelis_sync'").fetchone()
        tasks = {
            (task_id, map_index): (state, try_number, label)
            for task_id, map_index, state, try_number, label in database.execute(
                "SELECT task_id, map_index, state, try_number, rendered_map_index FROM task_instance"
            )
        }
        xcoms = {
            (task_id, map_index): json.loads(value)
            for task_id, map_index, value in database.execute("SELECT task_id, map_index, value FROM xcom")
        }
        (retried_tries,) = database.execute("SELECT COUNT(*) FROM task_instance_history").fetchone()
    return DagRun(result.returncode, result.stdout + result.stderr, run_id, tasks, xcoms, retried_tries)


def poelis_connection(server: FakePoelisServer, key: str) -> str:
    return json.dumps({"conn_type": "poelis", "host": server.base_url, "password": key})


def warehouse_connection(url: str, schema: str) -> str:
    return json.dumps({"conn_type": "poelis_warehouse", "host": url, "schema": schema})


def assert_synced_exactly(run: DagRun, target: Cli) -> None:
    """Every task succeeded in its first try, the warehouse equals the fake, XComs hold ids and counts."""
    assert run.returncode == 0, run.output
    with target.warehouse() as warehouse:
        live_workspaces = live_ids(warehouse, "workspaces")
        run_keys = set(warehouse.read_table("sync_runs")["run_id"])
    expected_tasks = {("workspaces", -1), ("analyst_views", -1)} | {
        ("sync_workspace", index) for index in range(len(live_workspaces))
    }
    assert set(run.tasks) == expected_tasks
    assert {state for state, _try, _label in run.tasks.values()} == {"success"}
    assert run.retried_tries == 0
    assert sorted(
        label for (task_id, _index), (_state, _try, label) in run.tasks.items() if task_id == "sync_workspace"
    ) == sorted(live_workspaces), "each mapped task is labelled with its workspace id"
    target.assert_matches_fake()
    target.assert_history_consistent()
    assert run_keys == {f"airflow:poelis_sync:{run.run_id}"}, "every task syncs under the DAG run's key"
    assert sorted(run.xcoms[("workspaces", -1)]) == sorted(live_workspaces)  # type: ignore[arg-type]
    assert run.xcoms[("analyst_views", -1)] == VIEWS
    for (task_id, _index), summary in run.xcoms.items():
        if task_id == "sync_workspace":
            assert isinstance(summary, dict)
            assert set(summary) == {"workspace_id", *names(workspace_levels())}
    assert_users_and_baselines_stored(target, target.server)
    target.outputs.append(run.output)
    target.assert_key_absent()


def test_poelis_sync_from_connections_into_duckdb_and_a_rerun_resumes(
    airflow_home: Path, tmp_path: Path
) -> None:
    with FakePoelisServer(seed=7, scale="tiny") as server:
        url = f"duckdb:///{tmp_path}/warehouse.duckdb"
        env = airflow_environment(airflow_home)
        env["AIRFLOW_CONN_POELIS_DEFAULT"] = poelis_connection(server, server.api_key)
        env["AIRFLOW_CONN_POELIS_WAREHOUSE_DEFAULT"] = warehouse_connection(url, SCHEMA)
        target = Cli(
            server, tmp_path, {settings.ENV_WAREHOUSE_URL: url, settings.ENV_WAREHOUSE_SCHEMA: SCHEMA}
        )

        run = trigger(airflow_home, env)
        assert_synced_exactly(run, target)

        # A retry (or a cleared task) of the same DAG run skips every scope that run committed.
        before = server.total_requests
        rerun = run_airflow(
            env, "tasks", "test", "poelis_sync", "sync_workspace", run.run_id, "--map-index", "0"
        )
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert server.total_requests == before, "the re-executed task fetched again what it had committed"
        target.outputs += [rerun.stdout, rerun.stderr]
        target.assert_matches_fake()
        target.assert_key_absent()


@pytest.mark.postgres
def test_poelis_sync_from_the_environment_into_postgresql(
    airflow_home: Path, tmp_path: Path, postgres_url: str, postgres_schema: str
) -> None:
    """No connection defined: the DAG reads the CLI's environment variables; every item listed (`full`)."""
    with FakePoelisServer(seed=7, scale="tiny") as server:
        env = airflow_environment(airflow_home)
        env.update(
            {
                settings.ENV_API_KEY: server.api_key,
                settings.ENV_BASE_URL: server.base_url,
                settings.ENV_WAREHOUSE_URL: postgres_url,
                settings.ENV_WAREHOUSE_SCHEMA: postgres_schema,
            }
        )
        target = Cli(
            server,
            tmp_path,
            {settings.ENV_WAREHOUSE_URL: postgres_url, settings.ENV_WAREHOUSE_SCHEMA: postgres_schema},
        )

        assert_synced_exactly(trigger(airflow_home, env, {"full": True, "quota_share": 0.5}), target)


def test_a_refused_key_fails_the_first_task_once_in_one_line(airflow_home: Path, tmp_path: Path) -> None:
    refused_key = settings.API_KEY_PREFIX + "Refused0123456789abcdefghijklmnop"
    with FakePoelisServer(seed=7, scale="tiny") as server:
        env = airflow_environment(airflow_home)
        env["AIRFLOW_CONN_POELIS_DEFAULT"] = poelis_connection(server, refused_key)
        env["AIRFLOW_CONN_POELIS_WAREHOUSE_DEFAULT"] = warehouse_connection(
            f"duckdb:///{tmp_path}/warehouse.duckdb", SCHEMA
        )

        run = trigger(airflow_home, env)

    assert run.returncode != 0
    assert run.tasks[("workspaces", -1)][:2] == ("failed", 1), "failed in its first try"
    assert run.retried_tries == 0, "a refused key is not retried"
    assert run.tasks[("sync_workspace", -1)][0] == "upstream_failed"
    assert run.tasks[("analyst_views", -1)][0] == "upstream_failed"
    error_lines = [line for line in run.output.splitlines() if line.startswith("airflow.sdk.exceptions.")]
    assert len(error_lines) == 1, run.output
    assert error_lines[0].startswith(
        "airflow.sdk.exceptions.AirflowFailException: Poelis configuration error, not retried: "
        "The Poelis API refused the key"
    )
    assert refused_key not in run.output
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert refused_key.encode() not in path.read_bytes(), f"the key leaked into {path}"


def test_the_provider_declares_the_connection_types(migrated_airflow_home: Path) -> None:
    result = run_airflow(airflow_environment(migrated_airflow_home), "providers", "hooks", "--output", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    hooks = {hook["connection_type"]: hook for hook in json.loads(result.stdout)}
    assert hooks["poelis"]["class"] == "poelis_pipelines.airflow.hooks.PoelisHook"
    assert hooks["poelis_warehouse"]["class"] == "poelis_pipelines.airflow.hooks.PoelisWarehouseHook"
    assert {hooks[name]["package_name"] for name in ("poelis", "poelis_warehouse")} == {"poelis-pipelines"}


def test_the_key_is_masked_in_the_task_log_files(airflow_home: Path) -> None:
    """A real task process (the executor's, reporting to the API server) whose own code logs and prints the
    key of POELIS_API_KEY: the hook registered it with Airflow's secrets masker, so the log files hide it."""
    shutil.copy(CARELESS_DAG, airflow_home / "dags" / CARELESS_DAG.name)
    with FakePoelisServer(seed=7, scale="tiny") as server:
        env = airflow_environment(airflow_home)
        env.update({settings.ENV_API_KEY: server.api_key, settings.ENV_BASE_URL: server.base_url})
        with api_server(env):
            result = run_airflow(env, "dags", "test", "careless_user", "--use-executor")
        assert result.returncode == 0, result.stdout + result.stderr

        (task_log,) = (airflow_home / "logs" / "dag_id=careless_user").rglob("attempt=1.log")
        events = [json.loads(line)["event"] for line in task_log.read_text().splitlines()]
        assert "the key is ***" in events
        assert "printed key: ***" in events
        for path in (airflow_home / "logs").rglob("*"):
            if path.is_file():
                assert server.api_key.encode() not in path.read_bytes(), f"the key leaked into {path}"


def assert_users_and_baselines_stored(target: Cli, fake: FakePoelisServer) -> None:
    """The organization's users, and each product's baseline version (the default `versions`), complete with
    the fake's item and property counts."""
    dataset = fake.dataset
    with target.warehouse() as warehouse:
        assert sorted(warehouse.read_table("users")["id"]) == sorted(user["id"] for user in dataset.users)
        versions = warehouse.read_table("product_versions")
    complete = versions[versions["status"] == "complete"]
    stored = {
        (row.product_id, int(row.version_number)): (int(row.item_count), int(row.property_count))
        for row in complete.itertuples()
    }
    baselines = {
        (product["id"], product["baseline_version_number"]): dataset.versions[product["id"]][
            product["baseline_version_number"]
        ]
        for product in dataset.products
        if product.get("baseline_version_number")
    }
    assert baselines, "the fake's products have baselines to store"
    assert stored == {
        key: (len(version.items), len(version.properties)) for key, version in baselines.items()
    }
