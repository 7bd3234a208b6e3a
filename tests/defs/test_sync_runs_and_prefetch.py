"""How a sync is cut into Dagster runs, and how a level fetches its next scope while merging the current."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sync_helpers import SyncTarget

from poelis_pipelines import settings
from poelis_pipelines.cli.runner import contiguous_ranges
from poelis_pipelines.client import PoelisClient
from poelis_pipelines.defs.poelis.keys import asset_key
from poelis_pipelines.sync import _Level, _Prefetcher


@pytest.mark.parametrize(
    ("order", "targets", "ranges"),
    [
        (["a", "b", "c"], ["a", "b", "c"], [["a", "b", "c"]]),
        (["a", "b", "c"], ["c", "a"], [["a"], ["c"]]),
        (["a", "b", "c", "d"], ["b", "c"], [["b", "c"]]),
        (["a", "b"], [], []),
    ],
)
def test_targets_are_cut_into_ranges_that_hold_no_other_partition(
    order: list[str], targets: list[str], ranges: list[list[str]]
) -> None:
    assert contiguous_ranges(order, targets) == ranges


def test_a_sync_is_two_runs_and_materializes_every_workspace_partition(duckdb_target: SyncTarget) -> None:
    summary = duckdb_target.sync()
    assert summary.succeeded, summary.failures
    assert len(summary.run_ids) == 2  # the workspace list, then every workspace and the views
    workspaces = set(duckdb_target.live_workspace_ids())
    assert len(workspaces) > 1
    for table in ("products", "items", "properties"):
        assert duckdb_target.instance.get_materialized_partitions(asset_key(table)) == workspaces
    assert duckdb_target.instance.get_latest_materialization_event(asset_key("analyst_views")) is not None


def test_a_partition_between_the_targets_is_not_synced_and_splits_the_run(duckdb_target: SyncTarget) -> None:
    """A workspace partition Dagster still lists but the API no longer has must stay out of the ranges."""
    duckdb_target.sync()  # registers the workspace partitions
    first, second = duckdb_target.live_workspace_ids()[:2]
    instance = duckdb_target.instance
    instance.delete_dynamic_partition(settings.WORKSPACE_PARTITIONS_NAME, second)
    instance.add_dynamic_partitions(settings.WORKSPACE_PARTITIONS_NAME, ["retired-workspace", second])

    summary = duckdb_target.sync(only=[first, second])
    assert summary.succeeded, summary.failures
    assert len(summary.run_ids) == 3  # the workspace list, then one run per contiguous range
    assert instance.get_materialized_partitions(asset_key("items")) == {first, second}


class _Listing:
    """A scope's records, produced lazily (`size=None`: never ending), noting how far they were read."""

    def __init__(self, scope: str, size: int | None) -> None:
        self.scope, self.size = scope, size
        self.read = 0
        self.started = threading.Event()
        self.closed = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self.started.set()
        try:
            while self.size is None or self.read < self.size:
                self.read += 1
                yield {"id": f"{self.scope}-{self.read}"}
        finally:
            self.closed = True


def _prefetcher(sizes: dict[str, int | None]) -> tuple[_Prefetcher, dict[str, _Listing]]:
    listings = {scope: _Listing(scope, size) for scope, size in sizes.items()}
    level = _Level("items", scopes=list(sizes), fetch=listings.__getitem__, endpoint=str)
    client = PoelisClient(settings.API_KEY_PREFIX + "x" * 32, "http://127.0.0.1:9")  # stats only: no request
    return _Prefetcher(level, client, list(sizes)), listings


def test_each_scope_is_fetched_completely_and_in_order() -> None:
    prefetcher, _listings = _prefetcher({"a": 1000, "b": 3, "c": 0})
    with prefetcher:
        assert [(fetched.scope, len(fetched.records)) for fetched in prefetcher] == [
            ("a", 1000),
            ("b", 3),
            ("c", 0),
        ]


def test_stopping_a_level_abandons_the_fetch_in_flight_and_starts_no_other() -> None:
    """ "b" never ends: leaving the level while it is fetched must stop it, or this test hangs."""
    prefetcher, listings = _prefetcher({"a": 10, "b": None, "c": 10})
    with prefetcher:
        first = next(iter(prefetcher))
        assert (first.scope, len(first.records)) == ("a", 10)
        assert listings["b"].started.wait(timeout=30)
    assert listings["b"].closed
    assert listings["c"].read == 0
