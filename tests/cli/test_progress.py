"""What a sync says about its size and its progress: the up-front estimate (`poelis_pipelines.plan`), exact
against the requests a real sync makes, and the progress lines printed when stdout is not a terminal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli import cli_env, run_cli  # noqa: F401 - cli_env is a fixture

from poelis_pipelines import settings
from poelis_pipelines.fake_api import FakePoelisServer
from poelis_pipelines.fake_api.api import RateLimit
from poelis_pipelines.plan import describe_minutes, pages, plan_full_sync, quota_per_minute
from poelis_pipelines.warehouse import Warehouse

PROGRESS_LINE = re.compile(
    r"progress: (?P<level>workspaces|products|items|properties) (?P<done>[\d,]+)/(?P<total>[\d,]+) scopes, "
    r"[\d,]+ records, [\d,]+ requests, ETA (?P<eta>.+)"
)


@pytest.fixture
def env(cli_env: dict[str, str]) -> dict[str, str]:  # noqa: F811 - the fixture imported above
    (Path(cli_env["DAGSTER_HOME"]) / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return cli_env


def requests_of(fake_api: object, *arguments: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run `sync --versions none *arguments` (the versions' own count is checked in tests/versions); the
    requests the fake API answered meanwhile, and the sync's stdout."""
    fake_api.reset_counters()  # type: ignore[attr-defined]
    result = run_cli("sync", "--versions", "none", *arguments, env=env, cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    return fake_api.total_requests, result.stdout  # type: ignore[attr-defined]


def test_paging_costs_one_request_more_than_the_full_pages() -> None:
    assert [pages(0), pages(1), pages(199), pages(200), pages(401)] == [1, 1, 1, 2, 3]


def test_durations_read_as_people_say_them() -> None:
    assert [describe_minutes(0.5), describe_minutes(59.3), describe_minutes(185)] == [
        "under a minute",
        "about 59 min",
        "about 3 h 05 min",
    ]
    assert quota_per_minute(None) == settings.DEFAULT_RATE_LIMIT_PER_MINUTE
    assert quota_per_minute(120) == 120


def test_the_estimate_is_exactly_the_requests_of_a_full_sync(
    env: dict[str, str], tmp_path: Path, fake_api: object
) -> None:
    first_requests, first_output = requests_of(fake_api, env=env, cwd=tmp_path)
    assert "its size is unknown until items are listed" in first_output
    assert "about one request per item" in first_output
    with Warehouse(env[settings.ENV_WAREHOUSE_URL]) as warehouse:
        plan = plan_full_sync(warehouse, versions_mode=settings.VERSIONS_NONE)
        counts = {table: warehouse.row_count(table) for table in ("workspaces", "products", "items")}
        chosen = str(warehouse.query("SELECT min(id) AS id FROM {{schema}}.workspaces")["id"].iloc[0])
        one_workspace = plan_full_sync(warehouse, [chosen], versions_mode=settings.VERSIONS_NONE)
    assert (plan.workspaces, plan.products, plan.items) == (
        counts["workspaces"],
        counts["products"],
        counts["items"],
    )
    assert plan.requests == first_requests, "nothing changed: the next full sync lists what the first did"
    assert plan.items_with_many_properties > 0, "the tiny fake has items with more than a page of properties"

    again, output = requests_of(fake_api, "--fresh", "--full", env=env, cwd=tmp_path)
    assert again == plan.requests
    rate = f"{settings.DEFAULT_RATE_LIMIT_PER_MINUTE} requests/min"  # what the fake advertises
    assert f"about {plan.requests:,} requests; at {rate} " in output

    scoped, output = requests_of(fake_api, "--full", "--workspace", chosen, env=env, cwd=tmp_path)
    assert scoped == one_workspace.requests
    assert f"a full sync of 1 workspace(s), {one_workspace.products:,} products" in output


@pytest.fixture
def paced_api() -> Iterator[FakePoelisServer]:
    """The tiny organization behind a quota small enough that its sync spans many progress intervals."""
    with FakePoelisServer(
        seed=7, scale="tiny", rate_limit=RateLimit(limit=40, burst=0, window=1.0)
    ) as server:
        yield server


def test_without_a_terminal_progress_lines_come_at_intervals_with_an_eta(
    env: dict[str, str], tmp_path: Path, paced_api: FakePoelisServer
) -> None:
    env[settings.ENV_API_KEY] = paced_api.api_key
    env[settings.ENV_BASE_URL] = paced_api.base_url
    env[settings.ENV_PROGRESS_LINE_SECONDS] = "0.2"
    result = run_cli("sync", env=env, cwd=tmp_path)  # stdout is a pipe: no terminal
    assert result.returncode == 0, result.stdout + result.stderr
    progress = [match for line in result.stdout.splitlines() if (match := PROGRESS_LINE.fullmatch(line))]
    properties = [match for match in progress if match["level"] == "properties"]
    assert properties, result.stdout
    assert all(int(match["done"]) <= int(match["total"]) for match in progress)
    # A first sync: the ETA is known once every item is listed (one request per item to come).
    assert any(match["eta"] != "unknown" for match in properties), result.stdout
    assert "\x1b[" not in result.stdout, "no terminal control codes in a pipe"
