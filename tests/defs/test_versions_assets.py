"""The `users` and `product_versions` assets in the real definitions, run in process as the CLI runs them:
each partition reports its own workspace's versions, checks pass on sound versions and fail on a tampered one,
and a complete version costs no request on the next run."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sync_helpers import SyncTarget, asset_key

from poelis_pipelines import settings
from poelis_pipelines.defs.poelis.versions_assets import (
    COMPLETE_VERSION_COUNTS_MATCH,
    VERSION_CHECK_DESCRIPTIONS,
)


def _materializations(target: SyncTarget, name: str, run_id: str) -> dict[str | None, dict[str, Any]]:
    records = target.instance.fetch_materializations(asset_key(name), limit=1000).records
    events = [record.asset_materialization for record in records if record.run_id == run_id]
    assert all(count == 1 for count in Counter(event.partition for event in events if event).values())
    return {
        event.partition: {key: value.value for key, value in event.metadata.items()}
        for event in events
        if event is not None
    }


def _checks(target: SyncTarget, run_id: str) -> dict[tuple[str, str], bool]:
    """The run's check evaluations by (asset, check): passed or not."""
    records = target.instance.event_log_storage.get_records_for_run(run_id).records
    evaluations = [
        record.event_log_entry.dagster_event.event_specific_data
        for record in records
        if record.event_log_entry.dagster_event is not None
        and record.event_log_entry.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    return {(e.asset_key.path[-1], e.check_name): e.passed for e in evaluations}  # type: ignore[union-attr]


def _versions_by_workspace(dataset: Any, numbers: str) -> dict[str, int]:
    """How many versions of each workspace's products the fake publishes (`all`) or names as baseline."""
    workspace_of = {product["id"]: product["workspace_id"] for product in dataset.products}
    baseline_of = {product["id"]: product.get("baseline_version_number") for product in dataset.products}
    counts = Counter(
        workspace_of[product_id]
        for product_id, versions in dataset.versions.items()
        for number in versions
        if numbers == "all" or baseline_of[product_id] == number
    )
    return {workspace["id"]: counts.get(workspace["id"], 0) for workspace in dataset.workspaces}


def test_each_partition_reports_its_workspaces_baselines_and_the_next_run_spends_nothing(
    sync_target: SyncTarget, api_environment: Any
) -> None:
    dataset = api_environment.dataset
    first = sync_target.sync()
    assert first.succeeded, (first.failures, first.failed_checks)

    workspaces_run, levels_run = first.run_ids[0], first.run_ids[1]
    [users] = _materializations(sync_target, "users", workspaces_run).values()
    assert users["records_from_api"] == users["inserted"] == len(dataset.users)
    checks = _checks(sync_target, levels_run)
    assert {name for asset, name in checks if asset == "product_versions"} == set(VERSION_CHECK_DESCRIPTIONS)
    assert all(checks.values()), checks
    workspace_list_checks = _checks(sync_target, workspaces_run)
    assert all(workspace_list_checks.values()), workspace_list_checks
    users_checks = {
        name: passed for (asset, name), passed in workspace_list_checks.items() if asset == "users"
    }
    assert users_checks.get("rows_match_api") is True
    assert users_checks.get("primary_key_unique") is True

    baselines = _versions_by_workspace(dataset, "baseline")
    published = _versions_by_workspace(dataset, "all")
    by_partition = _materializations(sync_target, "product_versions", levels_run)
    assert sorted(by_partition) == sorted(baselines)
    for workspace_id, metadata in by_partition.items():
        assert metadata["versions_mode"] == settings.VERSIONS_BASELINE
        assert metadata["versions_complete"] == metadata["versions_completed"] == baselines[workspace_id]
        assert metadata["versions_pending"] == published[workspace_id] - baselines[workspace_id]
        assert metadata["warnings"] == []
        assert (metadata["http_requests"] > 0) == (published[workspace_id] > 0)
    assert first.tables["product_versions"]["versions_complete"] == sum(baselines.values())

    api_environment.reset_counters()
    second = sync_target.sync()
    assert second.succeeded, (second.failures, second.failed_checks)
    by_partition = _materializations(sync_target, "product_versions", second.run_ids[1])
    for workspace_id, metadata in by_partition.items():
        assert (metadata["http_requests"], metadata["versions_completed"]) == (0, 0)
        assert metadata["versions_complete"] == baselines[workspace_id]
    reported = sum(int(totals["http_requests"]) for totals in second.tables.values())
    assert reported == api_environment.total_requests  # nothing spent outside what the figures say


def test_mode_all_from_the_environment_stores_every_version_and_a_tampered_count_fails_its_check(
    duckdb_target: SyncTarget, api_environment: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(settings.ENV_VERSIONS, settings.VERSIONS_ALL)
    first = duckdb_target.sync()
    assert first.succeeded, (first.failures, first.failed_checks)
    published = _versions_by_workspace(api_environment.dataset, "all")
    assert first.tables["product_versions"]["versions_complete"] == sum(published.values())
    assert first.tables["product_versions"]["versions_pending"] == 0

    duckdb_target.execute(
        "UPDATE {schema}.product_versions SET item_count = item_count + 1 "
        "WHERE version_number = (SELECT MIN(version_number) FROM {schema}.product_versions "
        "WHERE status = 'complete')"
    )
    second = duckdb_target.sync()
    failed = f"{asset_key('product_versions').to_user_string()}:{COMPLETE_VERSION_COUNTS_MATCH}"
    assert failed in second.failed_checks
    assert not second.succeeded


def test_a_bad_versions_mode_fails_the_step_as_a_configuration_error(
    duckdb_target: SyncTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(settings.ENV_VERSIONS, "newest")
    summary = duckdb_target.sync()
    [failure] = summary.failures
    assert failure.kind == "configuration"
    assert "product_versions" in failure.label
    assert settings.ENV_VERSIONS in failure.message
