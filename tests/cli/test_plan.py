"""`poelis-pipelines plan`: a dry run that counts a full and an incremental sync's requests, checked against
the fake's own records and request counters, and a real CLI sync."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from test_cli import cli_env, run_cli  # noqa: F401 - cli_env is a fixture

from poelis_pipelines import settings
from poelis_pipelines.fake_api import FakePoelisServer
from poelis_pipelines.levels import names, organization_levels, workspace_levels
from poelis_pipelines.plan import ScheduleCapacity, pages
from poelis_pipelines.warehouse import Warehouse


@pytest.fixture
def env(cli_env: dict[str, str]) -> dict[str, str]:  # noqa: F811 - the fixture imported above
    (Path(cli_env["DAGSTER_HOME"]) / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return cli_env


def plan_json(
    fake: FakePoelisServer, *arguments: str, env: dict[str, str], cwd: Path
) -> tuple[dict[str, Any], int]:
    """`plan --json *arguments`: its report, and the requests the fake answered meanwhile."""
    before = fake.total_requests
    result = run_cli("plan", "--json", *arguments, env=env, cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout), fake.total_requests - before


def synced(fake: FakePoelisServer, *arguments: str, env: dict[str, str], cwd: Path) -> int:
    """Run `sync *arguments`; the requests it made."""
    before = fake.total_requests
    result = run_cli("sync", *arguments, env=env, cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    return fake.total_requests - before


def listing_requests(fake: FakePoelisServer) -> int:
    """The workspaces, users, products and items listings of a full crawl of the fake, from its records."""
    dataset = fake.dataset
    products_of = Counter(product["workspace_id"] for product in dataset.products)
    items_of = Counter(item["product_id"] for item in dataset.items)
    return (
        pages(len(dataset.workspaces))
        + pages(len(dataset.users))
        + sum(pages(products_of[workspace["id"]]) for workspace in dataset.workspaces)
        + sum(pages(items_of[product["id"]]) for product in dataset.products)
    )


def minimum_requests(fake: FakePoelisServer) -> int:
    """The fewest requests of a full crawl: the listings, then each item's properties page by page."""
    properties_of = Counter(prop["item_id"] for prop in fake.dataset.properties)
    return listing_requests(fake) + sum(pages(properties_of[item["id"]]) for item in fake.dataset.items)


def assert_report_shape(report: dict[str, Any]) -> None:
    for key in ("full_requests", "incremental_requests", "full_minutes", "incremental_minutes"):
        assert isinstance(report[key], int | float), key
    assert set(report["incremental_due_items"]) == {"new", "hint", "rotation"}
    assert list(report["organization"]) == list(names(organization_levels()))
    for workspace in report["workspaces"]:
        assert list(workspace["full"]) == list(workspace["incremental"]) == list(names(workspace_levels()))
        assert workspace["full"]["product_versions"] == workspace["incremental"]["product_versions"]
    assert {"budget_per_run", "first_load_runs", "holdable_staleness_hours", "bound_held"} <= set(
        report["schedule"]
    )
    assert report["full_requests"] == sum(report["organization"].values()) + sum(
        sum(workspace["full"].values()) for workspace in report["workspaces"]
    )
    assert report["versions"]["requests"] == sum(
        workspace["full"]["product_versions"] for workspace in report["workspaces"]
    )


def test_from_a_synced_warehouse_plan_sends_nothing_and_counts_a_full_sync_exactly(
    env: dict[str, str], tmp_path: Path, fake_api: FakePoelisServer
) -> None:
    synced(fake_api, env=env, cwd=tmp_path)
    report, spent = plan_json(fake_api, env=env, cwd=tmp_path)
    assert spent == 0, "without --scan, plan sends no request"
    assert_report_shape(report)
    assert report["source"] == "warehouse"
    assert report["versions"] == {"requests": 0, "to_store": 0, "estimated": 0, "probes": 0}, (
        "the baselines are complete and every product was probed today"
    )
    assert report["full_requests"] == minimum_requests(fake_api)
    listings = listing_requests(fake_api)
    assert report["incremental_requests"] == listings, "everything was listed just now: only listings are due"
    assert report["schedule"]["listing_requests_per_run"] == listings

    every_item, spent = plan_json(fake_api, "--max-staleness", "0", env=env, cwd=tmp_path)
    assert spent == 0
    live = sum(not item["deleted"] for item in fake_api.dataset.items)
    assert every_item["incremental_due_items"] == {"new": 0, "hint": 0, "rotation": live}
    assert every_item["incremental_requests"] >= listings + live

    text = run_cli("plan", env=env, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert f"full sync: {report['full_requests']:,} requests" in text.stdout
    assert f"incremental run now: {listings:,} requests" in text.stdout
    assert "published versions (baseline): 0 requests, for 0 version(s) to store" in text.stdout

    every_version, spent = plan_json(fake_api, "--versions", "all", env=env, cwd=tmp_path)
    baselines = sum(1 for product in fake_api.dataset.products if product.get("baseline_version_number"))
    others = sum(len(versions) for versions in fake_api.dataset.versions.values()) - baselines
    assert spent == 0
    assert every_version["versions_mode"] == "all"
    assert every_version["versions"]["to_store"] == every_version["versions"]["estimated"] == others > 0
    assert every_version["full_requests"] == report["full_requests"] + every_version["versions"]["requests"]

    # On an unchanged organization, the next full sync makes the requests the plan said (within 5%).
    full_sync = synced(fake_api, "--full", "--fresh", env=env, cwd=tmp_path)
    assert abs(full_sync - report["full_requests"]) <= 0.05 * full_sync


def test_scan_on_an_empty_warehouse_plans_the_first_load_and_writes_nothing(
    env: dict[str, str], tmp_path: Path, fake_api: FakePoelisServer
) -> None:
    unknown, spent = plan_json(fake_api, env=env, cwd=tmp_path)
    assert spent == 0
    assert unknown["known"] is False
    assert unknown["full_requests"] is None
    assert unknown["incremental_requests"] is None

    report, spent = plan_json(fake_api, "--scan", "--quota-share", "0.5", env=env, cwd=tmp_path)
    listings = listing_requests(fake_api)
    assert spent == report["scan_requests"] == listings, "a scan spends the cheap listings only"
    assert_report_shape(report)
    items = len(fake_api.dataset.items)
    assert report["incremental_due_items"] == {"new": items, "hint": 0, "rotation": 0}
    versions = report["versions"]["requests"]
    assert versions > 0, "every product's probe, and its baseline sized as its draft"
    assert report["full_requests"] == report["incremental_requests"] == listings + items + versions
    minimum = minimum_requests(fake_api)
    assert abs(minimum - (report["full_requests"] - versions)) <= 0.05 * minimum, (
        "only wide items' extra pages are unknown"
    )
    assert report["requests_per_minute"] == settings.DEFAULT_RATE_LIMIT_PER_MINUTE * 0.5  # advertised x share
    assert report["schedule"]["first_load_runs"] >= 1
    with Warehouse(env[settings.ENV_WAREHOUSE_URL]) as warehouse:
        assert warehouse.row_count("workspaces") == warehouse.row_count("items") == 0

    hourly = {**env, settings.ENV_SYNC_CRON: "0 * * * *"}
    tight, _spent = plan_json(
        fake_api, "--scan", "--quota-share", "0.01", "--max-staleness", "6h", env=hourly, cwd=tmp_path
    )
    schedule = tight["schedule"]
    assert schedule["interval_minutes"] == 60
    assert schedule["budget_per_run"] == 32  # 0.01 x 60/min x 60 min, less 10%
    assert schedule["listing_requests_per_run"] == listings
    assert schedule["next_run_requests"] == 32
    properties = sum(workspace["full"]["properties"] for workspace in tight["workspaces"])
    assert schedule["first_load_runs"] == -(-properties // (32 - listings))
    live = sum(not item["deleted"] for item in fake_api.dataset.items)
    assert schedule["holdable_staleness_hours"] == -(-live // (32 - listings)) > 6
    assert schedule["bound_held"] is False
    # six runs in the bound: each lists a sixth of the live items after its listings, at 60/min x 54 min
    assert schedule["quota_share_needed"] == round((listings + -(-live // 6)) / (60 * 60 * 0.9), 3)


def test_after_changes_a_scan_counts_the_new_and_hinted_items(
    env: dict[str, str], tmp_path: Path, fake_api: FakePoelisServer
) -> None:
    synced(fake_api, env=env, cwd=tmp_path)
    mutation = fake_api.mutate(seed=3)
    assert mutation.added_items
    assert mutation.soft_deleted_items

    from_warehouse, spent = plan_json(fake_api, env=env, cwd=tmp_path)
    assert spent == 0
    assert from_warehouse["incremental_due_items"] == {"new": 0, "hint": 0, "rotation": 0}

    report, spent = plan_json(fake_api, "--scan", env=env, cwd=tmp_path)
    assert spent == report["scan_requests"] == listing_requests(fake_api)
    due = {"new": len(mutation.added_items), "hint": len(mutation.soft_deleted_items), "rotation": 0}
    assert report["incremental_due_items"] == due
    properties = sum(workspace["incremental"]["properties"] for workspace in report["workspaces"])
    assert properties == sum(due.values())
    versions = report["versions"]["requests"]
    assert report["incremental_requests"] == report["scan_requests"] + properties + versions
    assert report["schedule"]["next_run_requests"] == report["incremental_requests"], (
        "the daily budget covers it"
    )


def test_the_schedule_arithmetic() -> None:
    capacity = ScheduleCapacity.of(
        timedelta(hours=1), requests_per_minute=60, quota_share=0.5, listing_requests=150, live_items=30_000
    )
    assert capacity.budget_per_run == 1620  # 0.5 x 60/min x 60 min, less 10%
    assert capacity.items_per_run == 1470
    assert capacity.runs_for(30_000) == 21
    assert capacity.holdable_staleness == timedelta(hours=21)
    assert capacity.share_needed(timedelta(hours=6), 60) == pytest.approx((150 + 5000) / 3240)
    starved = ScheduleCapacity.of(timedelta(minutes=5), 60, 0.1, listing_requests=150, live_items=10)
    assert starved.runs_for(10) is None
    assert starved.holdable_staleness is None


@pytest.mark.parametrize(
    ("arguments", "environment", "named"),
    [
        (("--max-staleness", "soon"), {}, "--max-staleness"),
        (("--quota-share", "0"), {}, "--quota-share"),
        (("--rate-limit", "0"), {}, "--rate-limit"),
        ((), {settings.ENV_SYNC_CRON: "every hour"}, settings.ENV_SYNC_CRON),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    env: dict[str, str],
    tmp_path: Path,
    fake_api: FakePoelisServer,
    arguments: tuple[str, ...],
    environment: dict[str, str],
    named: str,
) -> None:
    result = run_cli("plan", *arguments, env={**env, **environment}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert named in result.stderr
    assert fake_api.total_requests == 0
