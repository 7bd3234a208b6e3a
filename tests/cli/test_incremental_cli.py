"""`poelis-pipelines sync` is incremental by default: `--full`, `--max-staleness`, `--quota-share` and
`--max-requests`, against the real fake API in a real subprocess; a spent budget is a success."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_cli import cli_env, run_cli  # noqa: F401 - cli_env is a fixture

from poelis_pipelines import settings
from poelis_pipelines.warehouse import Warehouse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "defs"))
from sync_helpers import comparable, expected_frames

BUDGET_SPENT = re.compile(r"budget spent: (?P<requests>[\d,]+) requests; (?P<left>[\d,]+) items left")
LISTED = re.compile(
    r"properties listed for items: (?P<new>[\d,]+) new, (?P<hint>[\d,]+) hint, "
    r"(?P<rotation>[\d,]+) rotation; backlog (?P<backlog>[\d,]+) items"
)


@pytest.fixture
def env(cli_env: dict[str, str]) -> dict[str, str]:  # noqa: F811 - the fixture imported above
    (Path(cli_env["DAGSTER_HOME"]) / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return cli_env


def sync(env: dict[str, str], cwd: Path, *arguments: str) -> str:
    result = run_cli("sync", *arguments, env=env, cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def number(text: str) -> int:
    return int(text.replace(",", ""))


def mismatched(env: dict[str, str], dataset: object, tables: tuple[str, ...]) -> list[str]:
    """The tables whose live rows differ from the fake's records."""
    expected = expected_frames(dataset)
    differing = []
    with Warehouse(env[settings.ENV_WAREHOUSE_URL]) as warehouse:
        for table in tables:
            stored = warehouse.read_table(table)
            live = stored[stored["_removed_at"].isna()]
            try:
                pd.testing.assert_frame_equal(
                    comparable(live, table), comparable(expected[table], table), check_dtype=False
                )
            except AssertionError:
                differing.append(table)
    return differing


def listed_properties_of(env: dict[str, str], item_ids: list[str]) -> set[str]:
    with Warehouse(env[settings.ENV_WAREHOUSE_URL]) as warehouse:
        properties = warehouse.read_table("properties")
    return set(properties["item_id"][properties["_removed_at"].isna()]) & set(item_ids)


def test_an_incremental_sync_keeps_the_item_tables_exact_and_lands_new_items_then_full_is_exact(
    env: dict[str, str], tmp_path: Path, fake_api: object
) -> None:
    first = sync(env, tmp_path)
    assert "properties listed for items:" in first
    dataset = fake_api.dataset  # type: ignore[attr-defined]
    live_items = sum(1 for item in dataset.items if not item.get("deleted"))
    listed = LISTED.search(first)
    assert listed is not None, first
    assert (number(listed["new"]), number(listed["backlog"])) == (len(dataset.items), 0)

    mutation = fake_api.mutate(seed=3)  # type: ignore[attr-defined]
    assert mutation.added_items
    assert mutation.updated_properties
    second = sync(env, tmp_path)  # incremental: nothing is due under 24h but the new and changed items

    assert "an incremental sync of" in second
    assert mismatched(env, dataset, ("workspaces", "products", "items")) == []
    new_with_properties = [
        item_id
        for item_id in mutation.added_items
        if any(p["item_id"] == item_id for p in dataset.properties)
    ]
    assert listed_properties_of(env, new_with_properties) == set(new_with_properties)
    listed = LISTED.search(second)
    assert listed is not None, second
    assert number(listed["new"]) == len(mutation.added_items)
    assert number(listed["rotation"]) == 0, "every item was listed minutes ago: none is due under 24h"
    assert number(listed["backlog"]) == 0
    assert live_items > 0

    before = fake_api.total_requests  # type: ignore[attr-defined]
    full = sync(env, tmp_path, "--full")
    assert "a full sync of" in full
    assert "properties listed for items" not in full
    assert fake_api.total_requests - before >= len(dataset.items)  # type: ignore[attr-defined]
    assert mismatched(env, dataset, ("workspaces", "products", "items", "properties")) == []


def test_a_request_budget_holds_for_the_whole_sync_exits_0_and_the_next_sync_continues(
    env: dict[str, str], tmp_path: Path, fake_api: object
) -> None:
    budget = 12
    before = fake_api.total_requests  # type: ignore[attr-defined]
    result = run_cli("sync", "--max-requests", str(budget), env=env, cwd=tmp_path)
    spent = fake_api.total_requests - before  # type: ignore[attr-defined]

    assert result.returncode == 0, result.stdout + result.stderr
    assert spent <= budget
    stopped = BUDGET_SPENT.search(result.stdout)
    assert stopped is not None, result.stdout
    assert number(stopped["requests"]) == spent
    left = number(stopped["left"])
    assert left > 0
    assert "raise --max-requests or --quota-share" in result.stdout
    assert "resuming" not in result.stdout

    items = len(fake_api.dataset.items)  # type: ignore[attr-defined]
    runs = 1
    while left:  # each rerun continues where the last one stopped, within its own budget
        before = fake_api.total_requests  # type: ignore[attr-defined]
        output = sync(env, tmp_path, "--max-requests", "60")
        assert fake_api.total_requests - before <= 60  # type: ignore[attr-defined]
        stopped = BUDGET_SPENT.search(output)
        left = number(stopped["left"]) if stopped else 0
        runs += 1
        assert runs <= 2 + items // 40, "every run lists at least 40 items' properties"
    assert mismatched(env, fake_api.dataset, ("workspaces", "products", "items", "properties")) == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "budget", [1, 5]
)  # spent on the workspace list; in the middle of the items' listings
def test_a_budget_spent_before_the_properties_stops_cleanly_and_still_succeeds(
    env: dict[str, str], tmp_path: Path, fake_api: object, budget: int
) -> None:
    before = fake_api.total_requests  # type: ignore[attr-defined]
    result = run_cli("sync", "--max-requests", str(budget), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert fake_api.total_requests - before == budget  # type: ignore[attr-defined]
    assert f"budget spent: {budget} requests" in result.stdout
    with Warehouse(env[settings.ENV_WAREHOUSE_URL]) as warehouse:
        assert warehouse.row_count("properties") == 0, "no properties listed on a spent budget"
        products = set(warehouse.read_table("products")["id"])
        items = warehouse.read_table("items")
    dataset = fake_api.dataset  # type: ignore[attr-defined]
    for product_id in set(items["product_id"]):  # a product's items are all there, or none
        expected = {item["id"] for item in dataset.items if item["product_id"] == product_id}
        assert set(items["id"][items["product_id"] == product_id]) == expected
    assert set(items["product_id"]) < products or budget == 1

    again = sync(env, tmp_path)  # no budget: the next sync completes everything
    assert "budget spent" not in again
    assert mismatched(env, dataset, ("workspaces", "products", "items", "properties")) == []


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--max-staleness", "soon", "'soon' is not a duration"),
        ("--max-staleness", "-2h", "is not a duration"),
        ("--quota-share", "0", "'0' is not a share above 0 and at most 1"),
        ("--quota-share", "1.2", "'1.2' is not a share"),
        ("--max-requests", "0", "'0' is not a positive whole number of requests"),
        ("--max-requests", "many", "'many' is not a positive whole number"),
    ],
)
def test_bad_flag_values_exit_2_with_one_line(
    env: dict[str, str], tmp_path: Path, flag: str, value: str, message: str
) -> None:
    result = run_cli("sync", f"{flag}={value}", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr


def test_a_bad_staleness_in_the_environment_exits_2_with_one_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    env[settings.ENV_MAX_STALENESS] = "tomorrow"
    result = run_cli("sync", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert settings.ENV_MAX_STALENESS in result.stderr


def test_resume_tells_full_and_staleness_apart(env: dict[str, str], tmp_path: Path) -> None:
    from poelis_pipelines.cli.sync_state import sync_arguments
    from poelis_pipelines.incremental import parse_duration

    assert sync_arguments(None) == settings.WAREHOUSE_SCOPE_ALL
    assert sync_arguments(["b", "a"], full=True) == "a,b --full"
    assert sync_arguments(None, max_staleness=parse_duration("6h")) == sync_arguments(
        None, max_staleness=parse_duration("360m")
    )
    assert sync_arguments(None, max_staleness=parse_duration("6h")) != sync_arguments(None)


def test_the_shortfall_sentence_says_what_the_backlog_costs_and_what_to_change() -> None:
    from datetime import timedelta

    from poelis_pipelines.budget import estimate_backlog, scheduled_run_budget, shortfall
    from poelis_pipelines.incremental import Freshness

    left = Freshness(
        live_items=5_000,
        never_listed=1_000,
        backlog={"new": 1_000, "hint": 34, "rotation": 200},
        p95_staleness=None,
        max_staleness=None,
    )
    day = timedelta(hours=24)
    estimate = estimate_backlog(left, day, share=0.8, per_minute=60, max_requests=500)
    assert (estimate.backlog_items, estimate.runs_to_clear, estimate.bound_holds) == (1_234, 3, True)
    assert shortfall(estimate, day, share=0.8, per_minute=60) == (
        "the backlog of 1,234 items needs about 1,234 more requests; at share 0.8 of 60/min that is 26 min "
        "(3 runs of this budget): raise --max-requests or --quota-share, or relax --max-staleness"
    )
    cleared = Freshness(
        live_items=100_000,
        never_listed=0,
        backlog=dict.fromkeys(("new", "hint", "rotation"), 0),
        p95_staleness=None,
        max_staleness=None,
    )
    too_many = estimate_backlog(cleared, day, share=0.8, per_minute=60, max_requests=None)
    assert "re-listing every live item within 24h needs more than share 0.8 of 60/min" in (
        shortfall(too_many, day, share=0.8, per_minute=60) or ""
    )
    holds = estimate_backlog(cleared, timedelta(days=2), share=0.8, per_minute=60, max_requests=None)
    assert shortfall(holds, timedelta(days=2), share=0.8, per_minute=60) is None
    assert scheduled_run_budget(timedelta(hours=1), share=0.8, per_minute=60) == 2_592
    assert scheduled_run_budget(timedelta(minutes=1), share=0.01, per_minute=60) == 1


def test_the_budget_counts_the_listing_that_finds_a_readable_workspace_id(
    env: dict[str, str], tmp_path: Path, fake_api: object
) -> None:
    workspace = fake_api.dataset.workspaces[0]  # type: ignore[attr-defined]
    before = fake_api.total_requests  # type: ignore[attr-defined]
    result = run_cli(
        "sync", "--workspace", workspace["readable_id"], "--max-requests", "3", env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert fake_api.total_requests - before == 3  # type: ignore[attr-defined]
    assert "budget spent: 3 requests" in result.stdout
