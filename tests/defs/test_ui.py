"""The UI path for real: `dagster dev` (webserver + daemon) on loopback, a backfill launched over GraphQL.

This is what a user does in the Dagster UI: select the Poelis assets, pick two workspace partitions, launch a
backfill. The daemon runs it in subprocesses, exactly as in a deployment, both partitions in one run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import requests
from process_helpers import stop_group

from poelis_pipelines import settings
from poelis_pipelines.fake_api import FakeOrganization, FakePoelisServer, ScalePreset, generate_organization
from poelis_pipelines.warehouse import Warehouse
from poelis_pipelines.warehouse.inspection import live_ids

pytestmark = pytest.mark.ui

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_DEADLINE_SECONDS = 120
BACKFILL_DEADLINE_SECONDS = 300
ASSETS = ("workspaces", "products", "items", "properties", "analyst_views")

LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on PartitionKeysNotFoundError { message }
  }
}
"""
BACKFILL_STATUS = """
query($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { id status runs(limit: 50) { runId status } }
  }
}
"""
FINISHED_BACKFILL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def graphql(url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{url}/graphql", json={"query": query, "variables": variables}, timeout=30)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]


def wait_until(condition: Any, deadline_seconds: float, what: str, poll_seconds: float = 0.2) -> Any:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll_seconds)
    raise AssertionError(f"timed out after {deadline_seconds}s waiting for {what}")


# Three small workspaces: a backfill of two of them leaves one out, and each run stays quick.
THREE_WORKSPACES = ScalePreset(3, 2, (5, 10), (3, 6), 3, wide_items=0, wide_products=0)


@pytest.fixture
def fake_api() -> Iterator[FakePoelisServer]:
    organization = FakeOrganization(generate_organization(11, THREE_WORKSPACES))
    with FakePoelisServer([organization]) as server:
        yield server


@pytest.fixture
def dagster_dev(fake_api: Any, tmp_path: Path) -> Iterator[tuple[str, Path, str]]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    warehouse_url = f"duckdb:///{tmp_path}/warehouse.duckdb"
    workspace_ids = [workspace["id"] for workspace in fake_api.dataset.workspaces]
    # The partitions exist before the daemon starts, so the sensor's first tick finds nothing new to sync.
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions(settings.WORKSPACE_PARTITIONS_NAME, workspace_ids)
    env = {key: value for key, value in os.environ.items() if not key.startswith("POELIS_")}
    env.update(
        {
            "DAGSTER_HOME": str(home),
            settings.ENV_API_KEY: fake_api.api_key,
            settings.ENV_BASE_URL: fake_api.base_url,
            settings.ENV_WAREHOUSE_URL: warehouse_url,
        }
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster"),
            "dev",
            "-w",
            str(REPO_ROOT / "workspace.yaml"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=(tmp_path / "dagster-dev.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def webserver_ready() -> bool:
        assert process.poll() is None, (tmp_path / "dagster-dev.log").read_text()
        try:
            return requests.get(f"{url}/server_info", timeout=2).ok
        except requests.ConnectionError:
            return False

    try:
        wait_until(webserver_ready, STARTUP_DEADLINE_SECONDS, "the Dagster webserver")
        yield url, home, warehouse_url
    finally:
        stop_group(process, timeout=30)


def test_a_backfill_of_two_workspaces_launched_through_the_webserver_syncs_exactly_those(
    dagster_dev: tuple[str, Path, str], fake_api: Any
) -> None:
    url, home, warehouse_url = dagster_dev
    workspace_ids = sorted(workspace["id"] for workspace in fake_api.dataset.workspaces)
    assert len(workspace_ids) >= 3, "the fake organization needs a workspace left out of the backfill"
    # Adjacent in the partitions' order (the fixture added them in the fake's order): one range, one run.
    chosen = sorted(workspace["id"] for workspace in list(fake_api.dataset.workspaces)[:2])

    launched = graphql(
        url,
        LAUNCH_BACKFILL,
        {
            "params": {
                "assetSelection": [{"path": [settings.ASSET_KEY_PREFIX, name]} for name in ASSETS],
                "partitionNames": chosen,
            }
        },
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched

    def finished_backfill() -> dict[str, Any] | None:
        backfill = graphql(url, BACKFILL_STATUS, {"id": launched["backfillId"]})["partitionBackfillOrError"]
        return backfill if backfill["status"] in FINISHED_BACKFILL else None

    backfill = wait_until(finished_backfill, BACKFILL_DEADLINE_SECONDS, "the backfill", poll_seconds=0.5)
    assert backfill["status"] in {"COMPLETED", "COMPLETED_SUCCESS"}, backfill
    assert backfill["runs"], backfill
    assert all(run["status"] == "SUCCESS" for run in backfill["runs"]), backfill

    with Warehouse(warehouse_url, settings.DEFAULT_WAREHOUSE_SCHEMA) as warehouse:
        assert sorted(set(warehouse.read_table("products")["workspace_id"])) == chosen
        assert sorted(set(warehouse.read_table("properties")["workspace_id"])) == chosen
        assert sorted(live_ids(warehouse, "workspaces")) == workspace_ids
    # A single-run backfill policy: both partitions of each level in one run, as the schedule runs them.
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for name in ("products", "items", "properties"):
            key = dg.AssetKey([settings.ASSET_KEY_PREFIX, name])
            records = instance.fetch_materializations(key, limit=100).records
            assert sorted(record.partition_key for record in records) == chosen
            assert len({record.run_id for record in records}) == 1, name
