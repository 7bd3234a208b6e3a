"""How a sync is cut into Dagster runs, and how a level fetches scopes ahead and groups them for merging."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sync_helpers import SyncTarget, asset_key

from poelis_pipelines import settings
from poelis_pipelines.cli.runner import contiguous_ranges
from poelis_pipelines.client import PoelisClient
from poelis_pipelines.normalize import NormalizationError
from poelis_pipelines.sync import LevelResult, _Fetched, _Level, _merge_group, _Prefetcher
from poelis_pipelines.warehouse import Warehouse


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
    """A scope's records, produced lazily (`size=None`: never ending), noting how far they were read; with a
    `gate`, nothing is produced until it opens; with `fails`, the listing breaks after its records."""

    def __init__(
        self, scope: str, size: int | None, *, gate: threading.Event | None = None, fails: bool = False
    ) -> None:
        self.scope, self.size, self.gate, self.fails = scope, size, gate, fails
        self.read = 0
        self.started = threading.Event()
        self.closed = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(timeout=30)
        try:
            while self.size is None or self.read < self.size:
                self.read += 1
                yield {"id": f"{self.scope}-{self.read}"}
            if self.fails:
                raise ConnectionError(f"listing {self.scope} broke")
        finally:
            self.closed = True


def _prefetcher(listings: list[_Listing]) -> _Prefetcher:
    by_scope = {listing.scope: listing for listing in listings}
    level = _Level("items", scopes=list(by_scope), fetch=by_scope.__getitem__, endpoint=str)
    client = PoelisClient(settings.API_KEY_PREFIX + "x" * 32, "http://127.0.0.1:9")  # stats only: no request
    return _Prefetcher(level, client, list(by_scope))


def _sizes(groups: list[list[_Fetched]]) -> list[list[tuple[str, int]]]:
    return [[(fetched.scope, len(fetched.records)) for fetched in group] for group in groups]


def test_each_scope_is_fetched_completely_and_in_order() -> None:
    with _prefetcher([_Listing("a", 1000), _Listing("b", 3), _Listing("c", 0)]) as prefetcher:
        fetched = [scope for group in _sizes(list(prefetcher)) for scope in group]
    assert fetched == [("a", 1000), ("b", 3), ("c", 0)]


def test_scopes_fetched_during_a_merge_are_merged_together() -> None:
    """ "c" starts only after "a" and "b" are fetched and waits for its gate: the first group is both."""
    gate = threading.Event()
    listings = [_Listing("a", 3), _Listing("b", 4), _Listing("c", 5, gate=gate)]
    with _prefetcher(listings) as prefetcher:
        groups = iter(prefetcher)
        assert listings[2].started.wait(timeout=30)
        assert _sizes([next(groups)]) == [[("a", 3), ("b", 4)]]
        gate.set()
        assert _sizes(list(groups)) == [[("c", 5)]]


def test_a_group_stays_within_the_record_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "SYNC_MERGE_RECORDS", 10)
    sizes = [4, 4, 4, 12, 0, 0, 3, 7, 1, 9]
    with _prefetcher([_Listing(f"s{index}", size) for index, size in enumerate(sizes)]) as prefetcher:
        groups = _sizes(list(prefetcher))
    assert [size for group in groups for _scope, size in group] == sizes
    assert all(len(group) == 1 or sum(size for _scope, size in group) <= 10 for group in groups)


def test_a_failed_fetch_ends_its_group_and_the_fetching() -> None:
    listings = [_Listing("a", 2), _Listing("b", 2, fails=True), _Listing("c", 2)]
    with _prefetcher(listings) as prefetcher:
        groups = list(prefetcher)
    fetched = [item for group in groups for item in group]
    assert [item.scope for item in fetched] == ["a", "b"]
    assert fetched[0].error is None
    assert isinstance(fetched[1].error, ConnectionError)
    assert not listings[2].started.is_set()


def test_stopping_a_level_abandons_the_fetch_in_flight_and_starts_no_other() -> None:
    """ "b" never ends: leaving the level while it is fetched must stop it, or this test hangs."""
    listings = [_Listing("a", 10), _Listing("b", None), _Listing("c", 10)]
    with _prefetcher(listings) as prefetcher:
        first = next(iter(prefetcher))
        assert _sizes([first]) == [[("a", 10)]]
        assert listings[1].started.wait(timeout=30)
    assert listings[1].closed
    assert listings[2].read == 0


def test_the_scopes_before_a_failed_one_are_merged_and_the_failure_recorded(tmp_path: Path) -> None:
    """A group whose second scope lists a record without an id: the first scope commits, the second gets a
    `failed` row saying why, and the error reaches the caller."""
    level = _Level(
        "items",
        scopes=["prod-1", "prod-2"],
        fetch=lambda _scope: [],
        endpoint=lambda scope: f"GET /items?product_id={scope}",
        lineage=lambda _scope: {"workspace_id": "ws-1"},
    )
    cost = {"requests": 1, "retries_total": 0, "rate_limited": 0, "seconds_waited": 0.0}
    at = datetime(2026, 3, 1, tzinfo=UTC)
    good = _Fetched(
        "prod-1", at, [{"id": "a", "readable_id": "A-1", "product_id": "prod-1", "name": "A"}], cost
    )
    bad = _Fetched("prod-2", at, [{"readable_id": "B-1", "product_id": "prod-2", "name": "B"}], cost)
    result = LevelResult(table="items")
    with Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") as warehouse:
        warehouse.ensure()
        with pytest.raises(NormalizationError, match="prod-2"):
            _merge_group(level, warehouse, result, [good, bad], run_key="run")
        assert warehouse.read_table("items")["id"].tolist() == ["a"]
        runs = warehouse.read_table("sync_runs").set_index("scope")
    assert result.scopes_synced == ["prod-1"]
    assert runs.loc["prod-1", "status"] == "success"
    assert runs.loc["prod-2", "status"] == "failed"
    assert "NormalizationError" in runs.loc["prod-2", "error"]
