"""The production layout of deploy/, for real: Dagster's storage in PostgreSQL, and the webserver, the daemon
and a gRPC code server as three processes, each with a Dagster home of its own (as on three machines) holding
the shipped deploy/dagster.yaml, the webserver and the daemon finding the code through deploy/workspace.yaml.

A run of the sync job is launched through the webserver's GraphQL API, queued, started by the daemon through
the code server (which starts the run worker), and must land in PostgreSQL's run storage and the warehouse.
Only the code server has the Poelis key, as in a deployment where the secret lives with the user code.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import requests
import sqlalchemy as sa
from dagster._core.errors import DagsterUserCodeUnreachableError
from dagster._grpc.client import DagsterGrpcClient  # the client the webserver itself uses
from process_helpers import api_environment, sealed_environment, stop_group, wait_for

from poelis_pipelines import settings
from poelis_pipelines.cli.doctor import pool_limit
from poelis_pipelines.fake_api import FakePoelisServer
from poelis_pipelines.warehouse import Warehouse
from poelis_pipelines.warehouse.inspection import live_ids

# Three servers' start-up and a run through the daemon: more than pytest's default 300 s on a loaded machine.
pytestmark = [pytest.mark.postgres, pytest.mark.ui, pytest.mark.timeout(900)]

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
BIN = Path(sys.executable).parent
STARTUP_DEADLINE_SECONDS = 180  # three Dagster processes starting at once on a busy 2-core machine
RUN_DEADLINE_SECONDS = 300
LOCATION = "poelis_pipelines"
# Dagster's system tags for a run over a partition range (as the schedule sets them).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

LAUNCH_RUN = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
    ... on PipelineNotFoundError { message }
  }
}
"""
RUN_STATUS = "query($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status } } }"
LOCATION_STATUS = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""
FINISHED_RUN = {"SUCCESS", "FAILURE", "CANCELED"}


@dataclass(frozen=True)
class Deployment:
    webserver_url: str
    dagster_database_url: str
    warehouse_url: str
    warehouse_schema: str
    homes: dict[str, Path]


def image_command(port: int) -> list[str]:
    """The command deploy/Dockerfile's image runs (its CMD), serving on loopback at `port`, from this venv."""
    dockerfile = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    command: list[str] = json.loads(
        next(line for line in dockerfile.splitlines() if line.startswith("CMD "))[4:]
    )
    command[0] = str(BIN / command[0])
    command[command.index("-h") + 1] = "127.0.0.1"
    command[command.index("-p") + 1] = str(port)
    return command


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def graphql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = requests.post(
        f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60
    )
    assert response.ok, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


@contextmanager
def dagster_database(postgres_url: str) -> Iterator[str]:
    """A new database for Dagster's storage on the test server (its tables are Dagster's own, in `public`),
    dropped afterwards; yields its SQLAlchemy URL."""
    name = f"dagster_{uuid.uuid4().hex[:12]}"
    server = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()


def instance_environment(database_url: str, home: Path) -> dict[str, str]:
    """What every Dagster process of the deployment gets: its home (the shipped dagster.yaml) and the
    DAGSTER_PG_* variables that file reads."""
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    url = sa.engine.make_url(database_url)
    return sealed_environment() | {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": url.host or "127.0.0.1",
        "DAGSTER_PG_PORT": str(url.port or 5432),
        "DAGSTER_PG_DB": url.database or "",
        "DAGSTER_PG_USERNAME": url.username or "postgres",
        "DAGSTER_PG_PASSWORD": url.password or "unused-with-trust-auth",
    }


@contextmanager
def background(command: list[str], env: dict[str, str], log: Path) -> Iterator[Callable[[], None]]:
    """`command` in a session of its own for the block, ended with SIGTERM (SIGKILL after 60 s); yields a
    check that fails with its log when it has exited.

    SIGINT is reset to its default in the child: Dagster's servers map SIGTERM to their SIGINT handler, which
    is "ignore" when this test runs where SIGINT is ignored (a background job of a non-interactive shell)."""
    process = subprocess.Popen(
        command,
        cwd=log.parent,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )

    def still_running() -> None:
        assert process.poll() is None, f"{command[0]} exited:\n{log.read_text()[-5000:]}"

    try:
        yield still_running
    finally:
        stop_group(process, timeout=60)


@pytest.fixture
def deployment(
    fake_api: FakePoelisServer,
    postgres_url: str,
    postgres_schema: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Deployment]:
    """The three processes of deploy/ on loopback, the warehouse in a fresh PostgreSQL schema; this process
    gets the DAGSTER_PG_* variables too, to read the instance."""
    code_port, webserver_port = free_port(), free_port()
    webserver_url = f"http://127.0.0.1:{webserver_port}"
    shutil.copy(DEPLOY / "workspace.yaml", tmp_path / "workspace.yaml")
    with ExitStack() as stack:
        database_url = stack.enter_context(dagster_database(postgres_url))
        homes = {name: tmp_path / f"home_{name}" for name in ("code_server", "webserver", "daemon")}
        environments = {name: instance_environment(database_url, home) for name, home in homes.items()}
        code_location = {"POELIS_CODE_SERVER_HOST": "127.0.0.1", "POELIS_CODE_SERVER_PORT": str(code_port)}
        environments["code_server"] |= api_environment(fake_api) | {
            settings.ENV_WAREHOUSE_URL: postgres_url,
            settings.ENV_WAREHOUSE_SCHEMA: postgres_schema,
        }
        environments["webserver"] |= code_location
        environments["daemon"] |= code_location
        for name, value in environments["webserver"].items():
            if name.startswith("DAGSTER_PG_"):
                monkeypatch.setenv(name, value)

        # The workspace partitions exist before the daemon starts: the sensor's first tick finds none to add.
        with dg.DagsterInstance.from_config(str(homes["webserver"])) as instance:
            instance.add_dynamic_partitions(
                settings.WORKSPACE_PARTITIONS_NAME,
                sorted(workspace["id"] for workspace in fake_api.dataset.workspaces),
            )

        code_server_running = stack.enter_context(
            background(
                image_command(code_port),
                environments["code_server"],
                tmp_path / "code_server.log",
            )
        )

        def code_server_serves() -> bool:
            code_server_running()
            try:  # answers once the code is loaded
                return bool(DagsterGrpcClient(port=code_port, host="127.0.0.1").list_repositories())
            except DagsterUserCodeUnreachableError:
                return False

        wait_for(code_server_serves, "the gRPC code server", timeout=STARTUP_DEADLINE_SECONDS)

        workspace = str(tmp_path / "workspace.yaml")
        webserver_running = stack.enter_context(
            background(
                [
                    str(BIN / "dagster-webserver"),
                    "-w",
                    workspace,
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(webserver_port),
                ],
                environments["webserver"],
                tmp_path / "webserver.log",
            )
        )
        daemon_running = stack.enter_context(
            background(
                [str(BIN / "dagster-daemon"), "run", "-w", workspace],
                environments["daemon"],
                tmp_path / "daemon.log",
            )
        )

        def location_loaded() -> bool:
            webserver_running()
            daemon_running()
            code_server_running()
            try:
                entries = graphql(webserver_url, LOCATION_STATUS)["workspaceOrError"]["locationEntries"]
            except requests.ConnectionError:
                return False
            entry = next(entry for entry in entries if entry["name"] == LOCATION)
            assert entry["locationOrLoadError"] is None or (
                entry["locationOrLoadError"]["__typename"] != "PythonError"
            ), entry
            return bool(entry["loadStatus"] == "LOADED" and entry["locationOrLoadError"])

        wait_for(location_loaded, "the webserver to load the code location", timeout=STARTUP_DEADLINE_SECONDS)
        yield Deployment(webserver_url, database_url, postgres_url, postgres_schema, homes)


def test_a_run_launched_through_the_webserver_runs_in_the_code_server_and_is_stored_in_postgres(
    deployment: Deployment, fake_api: FakePoelisServer
) -> None:
    workspace_ids = sorted(workspace["id"] for workspace in fake_api.dataset.workspaces)
    launched = graphql(
        deployment.webserver_url,
        LAUNCH_RUN,
        {
            "params": {
                "selector": {
                    "repositoryLocationName": LOCATION,
                    "repositoryName": "__repository__",
                    "jobName": "poelis_sync",
                },
                "executionMetadata": {
                    "tags": [
                        {"key": RANGE_START_TAG, "value": workspace_ids[0]},
                        {"key": RANGE_END_TAG, "value": workspace_ids[-1]},
                    ]
                },
            }
        },
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    statuses: list[str] = []

    def run_finished() -> bool:
        statuses.append(graphql(deployment.webserver_url, RUN_STATUS, {"id": run_id})["runOrError"]["status"])
        return statuses[-1] in FINISHED_RUN

    wait_for(run_finished, f"run {run_id}", timeout=RUN_DEADLINE_SECONDS)
    assert statuses[-1] == "SUCCESS", statuses

    # Dagster's run storage is the PostgreSQL database, not SQLite files in any process's home.
    dagster_database = sa.create_engine(deployment.dagster_database_url)
    try:
        with dagster_database.connect() as connection:
            stored = connection.exec_driver_sql(
                "SELECT status FROM runs WHERE run_id = %(run_id)s", {"run_id": run_id}
            ).scalar_one()
    finally:
        dagster_database.dispose()
    assert stored == "SUCCESS"
    for home in deployment.homes.values():
        assert not list(home.rglob("*.db")), f"SQLite storage in {home}"

    # The pool the run's steps claimed slots in is limited, as deploy/dagster.yaml declares.
    with dg.DagsterInstance.from_config(str(deployment.homes["webserver"])) as instance:
        assert pool_limit(instance, settings.API_CONCURRENCY_POOL) == 1

    with Warehouse(deployment.warehouse_url, deployment.warehouse_schema) as warehouse:
        assert sorted(live_ids(warehouse, "workspaces")) == workspace_ids
        assert sorted(set(warehouse.read_table("properties")["workspace_id"])) == workspace_ids
        assert warehouse.row_count("properties") > 0
