"""Incremental runs in Dagster: the properties metadata (items per reason, backlog, staleness, budget, changes
found on rotation items), the non-blocking staleness check, and the scheduled run over every workspace."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
from sync_helpers import STANDALONE, SyncTarget, asset_key

from poelis_pipelines import PoelisResource, build_poelis_defs, settings
from poelis_pipelines.defs.poelis.assets import DUE_WITHIN_TAG, RUN_BUDGET_TAG
from poelis_pipelines.defs.poelis.checks import PROPERTIES_STALENESS
from poelis_pipelines.defs.poelis.schedules import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG


def _properties_materializations(target: SyncTarget, run_id: str) -> dict[str | None, dict[str, Any]]:
    records = target.instance.fetch_materializations(asset_key("properties"), limit=1000).records
    return {
        record.asset_materialization.partition: {
            name: value.value for name, value in record.asset_materialization.metadata.items()
        }
        for record in records
        if record.run_id == run_id and record.asset_materialization is not None
    }


def _staleness_checks(target: SyncTarget, run_id: str) -> list[dg.AssetCheckEvaluation]:
    """The run's staleness check evaluations; the run itself succeeded (the check is not blocking)."""
    run = target.instance.get_run_by_id(run_id)
    assert run is not None
    assert run.status == dg.DagsterRunStatus.SUCCESS
    records = target.instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    evaluations = [
        record.event_log_entry.dagster_event.event_specific_data
        for record in records.records
        if record.event_log_entry.dagster_event is not None
    ]
    return [
        evaluation
        for evaluation in evaluations
        if isinstance(evaluation, dg.AssetCheckEvaluation) and evaluation.check_name == PROPERTIES_STALENESS
    ]


def _backdate_listings(target: SyncTarget, age: timedelta) -> None:
    """Pretend every item's properties were last listed `age` ago."""
    listed_at = (datetime.now(UTC) - age).strftime("%Y-%m-%d %H:%M:%S")
    target.execute(f"UPDATE {{schema}}.item_sync_state SET properties_listed_at = TIMESTAMP '{listed_at}'")


def test_a_budgeted_first_load_says_what_is_left_and_succeeds(
    duckdb_target: SyncTarget, api_environment: Any
) -> None:
    dataset = api_environment.dataset
    summary = duckdb_target.sync(max_requests=40)
    assert summary.succeeded, summary.failures
    assert summary.budget_exhausted
    assert summary.requests <= 40

    run_id = summary.run_ids[1]
    by_partition = _properties_materializations(duckdb_target, run_id)
    assert sorted(by_partition) == sorted(workspace["id"] for workspace in dataset.workspaces)
    listed = sum(metadata["items_listed_new"] for metadata in by_partition.values())
    assert listed == summary.items_listed["new"] > 0
    step = next(iter(by_partition.values()))
    backlog = step["step_backlog_items"]
    assert backlog == len(dataset.items) - listed
    assert sum(metadata["backlog_items"] for metadata in by_partition.values()) == backlog
    assert step["budget_exhausted"] is True
    assert step["sync_mode"] == "incremental"
    first_run = sum(summary.tables[table]["http_requests"] for table in ("workspaces", "users"))
    assert step["max_requests"] == 40 - first_run, "the levels' run gets what the workspace list's left"
    assert step["runs_to_clear_backlog"] == math.ceil(backlog / step["max_requests"])
    assert step["minutes_to_clear_backlog"] == round(backlog / (0.8 * 60), 2)
    assert "raise --max-requests" in step["shortfall"]
    [check] = _staleness_checks(duckdb_target, run_id)
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN, "items never listed yet: a warning"


def test_the_staleness_check_warns_past_80_percent_of_the_bound_and_errs_past_it(
    duckdb_target: SyncTarget, api_environment: Any
) -> None:
    assert duckdb_target.sync().succeeded
    _backdate_listings(duckdb_target, timedelta(hours=20))  # 83% of the 24 h bound: nothing due yet
    warned = duckdb_target.sync()
    assert warned.succeeded, warned.failures
    assert warned.items_listed == {"new": 0, "hint": 0, "rotation": 0}
    [check] = _staleness_checks(duckdb_target, warned.run_ids[1])
    assert (check.passed, check.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert 20 <= check.metadata["max_staleness_hours"].value < 21  # type: ignore[operator]

    _backdate_listings(duckdb_target, timedelta(hours=30))  # past the bound, and too few requests to catch up
    erred = duckdb_target.sync(max_requests=20)
    assert erred.succeeded, erred.failures
    assert erred.stale_checks, "said, but not a failure of the sync"
    [check] = _staleness_checks(duckdb_target, erred.run_ids[1])
    assert (check.passed, check.severity) == (False, dg.AssetCheckSeverity.ERROR)

    caught_up = duckdb_target.sync()
    [check] = _staleness_checks(duckdb_target, caught_up.run_ids[1])
    assert check.passed
    assert caught_up.items_listed["rotation"] == len(api_environment.dataset.items) - erred.items_listed[
        "rotation"
    ] - sum(1 for item in api_environment.dataset.items if item.get("deleted"))


def test_the_self_check_counts_property_changes_no_item_hint_announced(
    duckdb_target: SyncTarget, api_environment: Any
) -> None:
    dataset = api_environment.dataset
    assert duckdb_target.sync().succeeded
    item_of = {prop["id"]: prop["item_id"] for prop in dataset.properties}
    mutation = api_environment.mutate(seed=11)
    item_of.update({prop["id"]: prop["item_id"] for prop in dataset.properties})
    changed_properties = [
        *mutation.updated_properties,
        *mutation.removed_properties,
        *mutation.added_properties,
        *(record_id for record_id in mutation.records_with_new_field if record_id in item_of),
    ]
    unannounced = {item_of[prop] for prop in changed_properties} - set(mutation.added_items)
    unannounced -= set(mutation.soft_deleted_items)
    assert unannounced

    _backdate_listings(duckdb_target, timedelta(hours=25))  # every item due: the rotation lists them all
    summary = duckdb_target.sync()
    assert summary.succeeded, summary.failures
    by_partition = _properties_materializations(duckdb_target, summary.run_ids[1])
    found = Counter()
    for metadata in by_partition.values():
        for reason in ("new", "hint", "rotation"):
            found[reason] += metadata[f"{reason}_items_changed"]
    assert found["rotation"] == len(unannounced)
    assert found["new"] == len({item_of[prop] for prop in changed_properties} & set(mutation.added_items))


def test_the_scheduled_run_syncs_every_workspace_in_one_run_within_its_budget(
    duckdb_target: SyncTarget, api_environment: Any, monkeypatch: Any
) -> None:
    monkeypatch.delenv(settings.ENV_MAX_REQUESTS, raising=False)
    assert duckdb_target.sync().succeeded  # registers the partitions
    definitions = build_poelis_defs()
    with dg.build_schedule_context(
        instance=duckdb_target.instance,
        scheduled_execution_time=datetime(2026, 11, 29, 3, tzinfo=UTC),
        repository_def=definitions.get_repository_def(),
        resources={"poelis": PoelisResource(quota_share=0.01)},
    ) as context:
        [request] = (
            definitions.resolve_schedule_def(STANDALONE.schedule_name).evaluate_tick(context).run_requests
            or []
        )
    budget = math.floor(0.01 * 60 * 60 * 0.9)
    assert request.tags[RUN_BUDGET_TAG] == str(budget)

    _backdate_listings(duckdb_target, timedelta(hours=25))
    before = api_environment.total_requests
    result = definitions.resolve_job_def(STANDALONE.job_name).execute_in_process(
        instance=duckdb_target.instance, run_config=request.run_config, tags=request.tags
    )
    assert result.success
    assert api_environment.total_requests - before <= budget
    workspaces = sorted(workspace["id"] for workspace in api_environment.dataset.workspaces)
    by_partition = _properties_materializations(duckdb_target, result.run_id)
    assert sorted(by_partition) == workspaces, "one run, every workspace"
    # workspaces, users and the views once; products, items, properties and versions once per workspace
    assert len(result.get_asset_materialization_events()) == 3 + 4 * len(workspaces)
    step = by_partition[workspaces[0]]
    assert step["budget_exhausted"] is True
    assert step["runs_to_clear_backlog"] == math.ceil(step["step_backlog_items"] / budget)


def test_a_run_lists_the_items_due_before_its_successor_when_the_schedule_says_when_that_is(
    duckdb_target: SyncTarget, api_environment: Any, monkeypatch: Any
) -> None:
    monkeypatch.delenv(settings.ENV_MAX_REQUESTS, raising=False)
    assert duckdb_target.sync().succeeded  # registers the partitions
    job = build_poelis_defs().resolve_job_def(STANDALONE.job_name)
    order = duckdb_target.instance.get_dynamic_partitions(settings.WORKSPACE_PARTITIONS_NAME)
    every_workspace = {PARTITION_RANGE_START_TAG: order[0], PARTITION_RANGE_END_TAG: order[-1]}

    def rotated(tags: dict[str, str]) -> int:
        result = job.execute_in_process(instance=duckdb_target.instance, tags=tags)
        assert result.success
        by_partition = _properties_materializations(duckdb_target, result.run_id)
        return sum(metadata["items_listed_rotation"] for metadata in by_partition.values())

    _backdate_listings(duckdb_target, timedelta(hours=23, minutes=30))  # within the 24 h bound for 30 min
    assert rotated(every_workspace) == 0
    live = sum(1 for item in api_environment.dataset.items if not item.get("deleted"))
    assert rotated({**every_workspace, DUE_WITHIN_TAG: "3600"}) == live, "stale before the next hourly run"
