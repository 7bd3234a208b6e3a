"""`poelis-pipelines demo` and `dev` as a newcomer runs them: sealed from real settings, clear about where."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import requests
import sqlalchemy as sa
import yaml
from process_helpers import run_cli, sealed_environment

from poelis_pipelines import settings
from poelis_pipelines.cli.demo import DEMO_INSTANCE_YAML
from poelis_pipelines.fake_api import generate_organization
from poelis_pipelines.warehouse import Warehouse

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_DIR = Path(settings.DEMO_DIR)
STARTUP_DEADLINE_SECONDS = 120
SHUTDOWN_DEADLINE_SECONDS = 60
SOME_REAL_KEY = "poelis_api_" + "R" * 40
ASSET_DESCRIPTIONS = "{ assetNodes { assetKey { path } description } }"


def demo_env(**real: str) -> dict[str, str]:
    """The environment of someone with real settings: theirs must survive a demo untouched."""
    return sealed_environment() | real


def run_demo(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli("demo", "--scale", "tiny", env=env, cwd=cwd)


def tree_snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


@pytest.fixture
def real_dagster_home(tmp_path: Path) -> Path:
    home = tmp_path / "real_dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    return home


def assert_demo_ran_in_its_own_place(result: subprocess.CompletedProcess[str], cwd: Path) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
    warehouse_file = DEMO_DIR / settings.DEMO_WAREHOUSE_FILE
    assert str(warehouse_file) in result.stdout
    assert str(DEMO_DIR / settings.DEMO_DAGSTER_HOME) in result.stdout
    assert "property_values" in result.stdout
    assert "make dev" in result.stdout
    with Warehouse(f"duckdb:///{cwd / warehouse_file}", settings.DEFAULT_WAREHOUSE_SCHEMA) as warehouse:
        assert warehouse.row_count("properties") > 0
    assert (cwd / DEMO_DIR / settings.DEMO_DAGSTER_HOME / "history" / "runs.db").exists()


def test_demo_leaves_the_duckdb_warehouse_and_dagster_home_of_the_environment_byte_for_byte_unchanged(
    tmp_path: Path, real_dagster_home: Path
) -> None:
    real_file = tmp_path / "real" / "warehouse.duckdb"
    real_file.parent.mkdir()
    real_url = f"duckdb:///{real_file}"
    with Warehouse(real_url, "poelis") as warehouse:
        warehouse.ensure()
    real_bytes, home_before = real_file.read_bytes(), tree_snapshot(real_dagster_home)
    env = demo_env(
        **{
            settings.ENV_WAREHOUSE_URL: real_url,
            settings.ENV_API_KEY: SOME_REAL_KEY,
            settings.ENV_BASE_URL: "https://api.poelis.example",
            "DAGSTER_HOME": str(real_dagster_home),
        }
    )
    result = run_demo(env, tmp_path)
    assert_demo_ran_in_its_own_place(result, tmp_path)
    assert real_file.read_bytes() == real_bytes
    assert sorted(path.name for path in real_file.parent.iterdir()) == ["warehouse.duckdb"]
    assert tree_snapshot(real_dagster_home) == home_before


def postgres_contents(url: str, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            tables = sa.inspect(connection).get_table_names(schema=schema)
            return {
                table: sorted(
                    (
                        tuple(map(repr, row))
                        for row in connection.exec_driver_sql(f'SELECT * FROM "{schema}"."{table}"')
                    ),
                )
                for table in tables
            }
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_demo_leaves_a_postgresql_warehouse_named_by_the_environment_unchanged(
    tmp_path: Path, postgres_url: str, postgres_schema: str, real_dagster_home: Path
) -> None:
    with Warehouse(postgres_url, postgres_schema) as warehouse:
        warehouse.ensure()
    before, home_before = postgres_contents(postgres_url, postgres_schema), tree_snapshot(real_dagster_home)
    assert "workspaces" in before
    env = demo_env(
        **{
            settings.ENV_WAREHOUSE_URL: postgres_url,
            settings.ENV_WAREHOUSE_SCHEMA: postgres_schema,
            "DAGSTER_HOME": str(real_dagster_home),
        }
    )
    result = run_demo(env, tmp_path)
    assert_demo_ran_in_its_own_place(result, tmp_path)
    assert postgres_contents(postgres_url, postgres_schema) == before
    assert tree_snapshot(real_dagster_home) == home_before


def test_the_demo_instance_is_configured_like_the_project_instance() -> None:
    """The demo writes its own dagster.yaml (an installed package has no repository beside it)."""
    project = yaml.safe_load((REPO_ROOT / "dagster_home" / "dagster.yaml").read_text(encoding="utf-8"))
    assert yaml.safe_load(DEMO_INSTANCE_YAML) == project


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], Any], deadline_seconds: float, what: str) -> Any:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {deadline_seconds}s waiting for {what}")


def processes_mentioning(text: str) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:  # ended while we looked
            continue
    return found


@pytest.fixture
def dev_without_key(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """`poelis-pipelines dev` with no key, in a project folder whose demo Dagster home already knows the
    fake organization's workspaces (so the sensor's first tick starts no runs while the test runs)."""
    (tmp_path / "workspace.yaml").write_bytes((REPO_ROOT / "workspace.yaml").read_bytes())
    home = tmp_path / DEMO_DIR / settings.DEMO_DAGSTER_HOME
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(DEMO_INSTANCE_YAML, encoding="utf-8")
    workspace_ids = [workspace["id"] for workspace in generate_organization(0, "tiny").workspaces]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions(settings.WORKSPACE_PARTITIONS_NAME, workspace_ids)
    port = free_port()
    log = tmp_path / "dev.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "poelis_pipelines", "dev", "--port", str(port), "--scale", "tiny"],
        cwd=tmp_path,
        env=demo_env(),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        yield process, f"http://127.0.0.1:{port}", log
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=SHUTDOWN_DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for pid in processes_mentioning(str(tmp_path)):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.ui
def test_dev_with_no_key_serves_the_demo_says_so_in_the_terminal_and_the_ui_and_stops_on_ctrl_c(
    dev_without_key: tuple[subprocess.Popen[bytes], str, Path], tmp_path: Path
) -> None:
    process, url, log = dev_without_key

    def asset_descriptions() -> list[str] | None:
        assert process.poll() is None, log.read_text()
        try:
            response = requests.post(f"{url}/graphql", json={"query": ASSET_DESCRIPTIONS}, timeout=10)
        except requests.ConnectionError:
            return None
        nodes = response.json().get("data", {}).get("assetNodes") if response.ok else None
        return [node["description"] or "" for node in nodes] if nodes else None

    descriptions = wait_until(asset_descriptions, STARTUP_DEADLINE_SECONDS, "the code location to load")
    terminal = log.read_text()
    demo_line = next(line for line in terminal.splitlines() if line.startswith("DEMO MODE: fake Poelis API"))
    assert str(DEMO_DIR / settings.DEMO_WAREHOUSE_FILE) in demo_line
    assert len(descriptions) == 7
    assert all(description.startswith(demo_line) for description in descriptions), descriptions
    assert "Supersession" not in terminal

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=SHUTDOWN_DEADLINE_SECONDS) == 0, log.read_text()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/server_info", timeout=5)
    wait_until(
        lambda: not processes_mentioning(str(tmp_path)),
        SHUTDOWN_DEADLINE_SECONDS,
        "Dagster's processes to end",
    )
