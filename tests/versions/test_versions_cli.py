"""`poelis-pipelines sync` stores users and published versions: baselines exactly by default, nothing with
`--versions none`, and a complete version costs no request on the next sync (the fake's counters add up to
what the summary reports per table, versions included)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from versions_helpers import Org

from poelis_pipelines import settings
from poelis_pipelines.cli.sync_state import sync_arguments
from poelis_pipelines.fake_api import FakePoelisServer

VERSIONS_LINE = re.compile(
    r"^versions: (?P<complete>\d+) complete, (?P<pending>\d+) pending "
    r"\((?P<stored>\d+) stored by this sync, (?P<requests>\d+) requests\)$",
    re.MULTILINE,
)
TABLE_ROW = re.compile(
    r"^(workspaces|users|products|items|properties)\s+((?:\d+\s+){6}\d+)\s*$", re.MULTILINE
)


@pytest.fixture
def cli_env(fake_api: FakePoelisServer, tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("POELIS_")}
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env.update(
        {
            settings.ENV_API_KEY: fake_api.api_key,
            settings.ENV_BASE_URL: fake_api.base_url,
            settings.ENV_WAREHOUSE_URL: f"duckdb:///{tmp_path}/warehouse.duckdb",
            "DAGSTER_HOME": str(dagster_home),
        }
    )
    return env


@pytest.fixture
def cli_org(fake_api: FakePoelisServer, cli_env: dict[str, str]) -> Org:
    return Org(fake_api, cli_env[settings.ENV_WAREHOUSE_URL], settings.DEFAULT_WAREHOUSE_SCHEMA)


def run_sync(*arguments: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "poelis_pipelines", "sync", *arguments],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def requests_reported(stdout: str) -> tuple[int, int]:
    """What the summary says the tables' runs and the versions cost: (all requests, versions' requests)."""
    tables = sum(int(row.split()[5]) for _name, row in TABLE_ROW.findall(stdout))
    versions = VERSIONS_LINE.search(stdout)
    assert versions is not None, stdout
    return tables + int(versions["requests"]), int(versions["requests"])


def baselines_of(server: FakePoelisServer) -> set[tuple[str, int]]:
    return {
        (product["id"], product["baseline_version_number"])
        for product in server.dataset.products
        if product.get("baseline_version_number")
    }


def test_a_sync_lands_users_and_baselines_exactly_and_the_next_costs_no_version_request(
    cli_org: Org, cli_env: dict[str, str], tmp_path: Path
) -> None:
    server = cli_org.server
    first = run_sync(env=cli_env, cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    first_requests = server.total_requests

    baselines = baselines_of(server)
    assert baselines
    cli_org.assert_versions_exact(baselines)
    users = cli_org.read("users")
    assert sorted(users["id"]) == sorted(user["id"] for user in server.dataset.users)
    others = len(set(cli_org.fake_versions()) - baselines)
    line = VERSIONS_LINE.search(first.stdout)
    assert line is not None, first.stdout
    assert (int(line["complete"]), int(line["pending"]), int(line["stored"])) == (
        len(baselines),
        others,
        len(baselines),
    )
    total, versions = requests_reported(first.stdout)
    assert total == first_requests
    assert versions > 0
    assert re.search(r"^users\s+", first.stdout, re.MULTILINE)

    server.reset_counters()
    second = run_sync(env=cli_env, cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    total, versions = requests_reported(second.stdout)
    assert total == server.total_requests  # the fake saw exactly what the summary reports
    assert versions == 0  # complete versions, and products probed within the day, cost nothing
    line = VERSIONS_LINE.search(second.stdout)
    assert line is not None
    assert (int(line["complete"]), int(line["stored"])) == (len(baselines), 0)
    cli_org.assert_versions_exact(baselines)


def test_versions_none_fetches_no_version(cli_org: Org, cli_env: dict[str, str], tmp_path: Path) -> None:
    result = run_sync("--versions", "none", env=cli_env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

    total, versions = requests_reported(result.stdout)
    assert (total, versions) == (cli_org.server.total_requests, 0)
    for table in ("product_versions", "item_versions", "property_versions"):
        assert cli_org.read(table).empty, table
    assert len(cli_org.read("users")) == len(cli_org.server.dataset.users)


@pytest.mark.parametrize(
    ("arguments", "variable", "expected"),
    [
        (("--versions", "latest"), None, "argument --versions: invalid choice: 'latest'"),
        ((), "every", f"${settings.ENV_VERSIONS} must be one of none, baseline, all"),
    ],
)
def test_a_bad_versions_mode_is_one_line_and_exit_code_2(
    cli_org: Org,
    cli_env: dict[str, str],
    tmp_path: Path,
    arguments: tuple[str, ...],
    variable: str | None,
    expected: str,
) -> None:
    env = {**cli_env, settings.ENV_VERSIONS: variable} if variable else cli_env
    result = run_sync(*arguments, env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert expected in result.stderr
    assert cli_org.server.total_requests == 0


def test_the_versions_mode_is_part_of_what_a_resumed_sync_must_match() -> None:
    default = sync_arguments(None)
    assert sync_arguments(None, versions=settings.DEFAULT_VERSIONS) == default == settings.WAREHOUSE_SCOPE_ALL
    assert len({default, sync_arguments(None, versions="none"), sync_arguments(None, versions="all")}) == 3
    assert sync_arguments(["b", "a"], versions="all") == "a,b --versions=all"
