"""An incremental run broken in the middle (a failing request) or stopped by a spent budget: what it listed
completely is committed with its state, and the rerun lists only the rest."""

from __future__ import annotations

import pytest
from incremental_helpers import EVERY_ITEM_DUE, Org

from poelis_pipelines.client import ServerError
from poelis_pipelines.fake_api import Faults
from poelis_pipelines.incremental import IncrementalSettings

# One request at a time and no retry: the fake's seeded faults then break the same request every time.
FRAGILE_CLIENT: dict[str, object] = {"max_attempts": 1, "max_concurrency": 1}
MID_RUN_FAILURES = Faults(error_500=0.02, seed=4)


def test_a_broken_run_rerun_loses_nothing_and_lists_no_committed_item_again(org: Org) -> None:
    org.sync(run_key="full")
    org.server.mutate(seed=5)
    workspace_ids = org.list_parents("broken")
    due = org.due_now(workspace_ids, "broken")

    org.server.faults = MID_RUN_FAILURES
    with pytest.raises(ServerError):
        org.sync_properties(workspace_ids, EVERY_ITEM_DUE, run_key="broken", client_options=FRAGILE_CLIENT)
    org.server.faults = Faults()
    org.assert_rerun_lists_only_the_rest(workspace_ids, due, "broken")
    with org.warehouse() as warehouse:
        runs = warehouse.read_table("sync_runs")
    properties_runs = runs[(runs["run_id"] == "broken") & (runs["table_name"] == "properties")]
    assert (properties_runs["status"] == "failed").sum() == 1
    assert "ServerError" in properties_runs.loc[properties_runs["status"] == "failed", "error"].iloc[0]


def test_a_spent_budget_commits_what_was_fetched_and_ends_the_run_successfully(duckdb_org: Org) -> None:
    duckdb_org.sync(run_key="full")
    workspace_ids = duckdb_org.list_parents("budgeted")
    due = duckdb_org.due_now(workspace_ids, "budgeted")
    spent = IncrementalSettings(max_staleness=EVERY_ITEM_DUE.max_staleness, budget_errors=(ServerError,))

    duckdb_org.server.faults = MID_RUN_FAILURES  # stands for the client's budget running out
    result = duckdb_org.sync_properties(
        workspace_ids, spent, run_key="budgeted", client_options=FRAGILE_CLIENT
    )
    duckdb_org.server.faults = Faults()

    listed = duckdb_org.listed_by("budgeted")
    assert result.budget_exhausted
    assert result.incremental is not None
    assert result.incremental.budget_exhausted
    assert 0 < len(listed) < len(due.items)
    assert sum(result.incremental.listed.values()) == len(listed)
    assert result.incremental.freshness is not None
    assert sum(result.incremental.freshness.backlog.values()) == len(due.items) - len(listed)
    with duckdb_org.warehouse() as warehouse:
        runs = warehouse.read_table("sync_runs")
    assert set(runs.loc[runs["run_id"] == "budgeted", "status"]) == {"success"}

    finish = duckdb_org.sync(EVERY_ITEM_DUE)
    assert finish.incremental is not None
    assert duckdb_org.mismatched_tables() == []
