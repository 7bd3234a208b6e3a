"""A simulated day: hourly incremental runs at quota share 0.5 against one nightly full sync.

    used by `python -m benchmarks` (`make bench`); alone: `python -m benchmarks.bench_day [--quick]`

The fake (its own process, `benchmarks.fake_child`) enforces a compressed quota: a 1 s window of
1200 + burst 200 requests stands for twenty windows of the API's 60/min + 10. The sync layer runs in this
process, as a scheduled run would call it: the workspace, product and item listings, then the properties
of the items an incremental selection picks, with a client spending at most `QUOTA_SHARE` of each window
and a run budget that fits the hourly interval (`plan.ScheduleCapacity`: share x limit x interval, less the
margin). The sync's clock is the simulated day's: each run starts on its hourly tick and its requests take
the time they would at the real quota, so staleness reads in simulated hours whatever the machine's speed.
Before every run of the day the fake changes the organization as its users would (`mutate`: property edits
and removals, new and soft-deleted items).

The incremental strategy loads an empty warehouse in hourly runs first (as a schedule would), then the day
is measured: requests per run (counted by the fake), 429s, the most requests one window served (the rest
was left to the organization's other integrations), the staleness of the live items' properties just
before each run (its worst moment), and the runs until a new item's properties land. The nightly full sync
runs once into its own warehouse at the default share, measured the same way.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.bench_sync import FakeAPI, FakeInfo
from poelis_pipelines import settings, sync
from poelis_pipelines.client import PoelisClient
from poelis_pipelines.client.errors import RequestBudgetExhausted
from poelis_pipelines.incremental import IncrementalSettings, freshness, item_catalog
from poelis_pipelines.levels import level
from poelis_pipelines.plan import ScheduleCapacity
from poelis_pipelines.warehouse import Warehouse
from poelis_pipelines.warehouse.inspection import live_ids

WINDOW_SECONDS = 1.0
SCALE_FACTOR = 20  # one compressed window holds this many real windows of the API's quota
LIMIT = settings.DEFAULT_RATE_LIMIT_PER_MINUTE * SCALE_FACTOR
BURST = settings.DEFAULT_RATE_LIMIT_BURST * SCALE_FACTOR
INTERVAL = timedelta(hours=1)
QUOTA_SHARE = 0.5
MAX_STALENESS = timedelta(hours=24)
DAY_RUNS = 24
MAX_FIRST_LOAD_RUNS = 48
DAY_START = datetime(2026, 1, 5, tzinfo=UTC)
NO_RUN = "(measure)"


class SimulatedClock:
    """The simulated day's time: a run starts on its tick, and its requests take the time they take at the
    API's real quota and the run's share (a real run's CPU time is small beside it; here it is not, on a
    compressed window, so wall time would make runs look longer than they are)."""

    def __init__(self) -> None:
        self.tick = DAY_START
        self._client: PoelisClient | None = None

    def start_run(self, tick: datetime, client: PoelisClient) -> None:
        self.tick, self._client = tick, client

    def now(self) -> datetime:
        if self._client is None:
            return self.tick
        per_minute = settings.DEFAULT_RATE_LIMIT_PER_MINUTE * self._client.quota_share
        return self.tick + timedelta(minutes=self._client.stats.requests / per_minute)


@dataclass
class RunFigures:
    hour: float
    requests: int
    throttled: int
    most_in_a_window: int
    listed: dict[str, int]
    simulated_minutes: float
    p95_before: timedelta | None
    max_before: timedelta | None
    never_listed: int


@dataclass
class DayResult:
    scale: str
    info: FakeInfo
    budget: int
    listings: int
    first_load: list[RunFigures]
    day: list[RunFigures]
    runs_to_land: list[int] = field(default_factory=list)
    full: RunFigures | None = None
    full_share: float = settings.DEFAULT_QUOTA_SHARE


def _served(fake: FakeAPI) -> tuple[int, int, int]:
    """Requests, 429s and the most requests one window served since the last call."""
    answer = fake.served()
    statuses = {status: int(count) for status, count in answer["statuses"].items()}
    return sum(statuses.values()), statuses.get("429", 0), int(answer["most_in_a_window"])


def _run(
    fake: FakeAPI,
    warehouse: Warehouse,
    clock: SimulatedClock,
    tick: datetime,
    *,
    share: float,
    budget: int | None,
    run_key: str,
) -> RunFigures:
    """One scheduled run at `tick`: the listings, then the properties (incremental when `budget` is set,
    else every item's), with the staleness measured just before it."""
    workspaces = live_ids(warehouse, "workspaces")
    before = freshness(item_catalog(warehouse, workspaces), tick, MAX_STALENESS, run_key=NO_RUN)
    fake.served()
    info = fake.info
    with PoelisClient(info.api_key, info.base_url, quota_share=share, max_requests=budget) as client:
        clock.start_run(tick, client)
        level("workspaces").run(client, warehouse, run_key=run_key)
        workspaces = live_ids(warehouse, "workspaces")
        level("products").run(client, warehouse, workspaces, run_key=run_key)
        level("items").run(client, warehouse, workspaces, run_key=run_key)
        incremental = (
            None
            if budget is None
            else IncrementalSettings(
                max_staleness=MAX_STALENESS,
                max_items=client.requests_remaining,
                budget_errors=(RequestBudgetExhausted,),
                due_within=INTERVAL,  # as the schedule's runs: the next run is never too late
            )
        )
        result = sync.sync_properties(client, warehouse, workspaces, run_key=run_key, incremental=incremental)
    simulated = (clock.now() - tick).total_seconds() / 60
    requests, throttled, most = _served(fake)
    report = result.incremental
    return RunFigures(
        hour=(tick - DAY_START) / timedelta(hours=1),
        requests=requests,
        throttled=throttled,
        most_in_a_window=most,
        listed={str(reason): count for reason, count in report.listed.items()}
        if report
        else {"all": len(item_catalog(warehouse, workspaces))},
        simulated_minutes=simulated,
        p95_before=before.p95_staleness,
        max_before=before.max_staleness,
        never_listed=before.never_listed,
    )


def _listed_items(warehouse: Warehouse, item_ids: list[str]) -> set[str]:
    if not item_ids:
        return set()
    frame = warehouse.query(
        "SELECT item_id FROM {{schema}}.item_sync_state WHERE properties_listed_at IS NOT NULL"
    )
    return set(frame["item_id"].astype(str)) & set(item_ids)


def simulate_day(scale: str, workdir: Path, log: Callable[[str], None]) -> DayResult:
    original_now = sync.now
    clock = SimulatedClock()
    sync.now = clock.now  # the sync's clock is the simulated day's
    fake = FakeAPI(scale, (LIMIT, BURST, WINDOW_SECONDS))
    try:
        with Warehouse(f"duckdb:///{workdir / 'incremental.duckdb'}") as warehouse:
            warehouse.ensure()
            capacity = ScheduleCapacity.of(
                INTERVAL,
                settings.DEFAULT_RATE_LIMIT_PER_MINUTE,
                QUOTA_SHARE,
                listing_requests=0,
                live_items=0,
            )
            result = DayResult(scale, fake.info, capacity.budget_per_run, 0, [], [])

            def scheduled_run(tick: datetime, run_key: str) -> RunFigures:
                return _run(
                    fake, warehouse, clock, tick, share=QUOTA_SHARE, budget=result.budget, run_key=run_key
                )

            tick = DAY_START
            for run in range(MAX_FIRST_LOAD_RUNS):
                figures = scheduled_run(tick, f"load-{run}")
                result.first_load.append(figures)
                tick += INTERVAL
                log(f"  first load run {run + 1}: {figures.requests} requests, listed {figures.listed}")
                if not item_catalog(warehouse, live_ids(warehouse, "workspaces"))["listed_at"].isna().any():
                    break
            pending: dict[str, int] = {}
            for run in range(DAY_RUNS):
                for item_id in fake.mutate(seed=run):
                    pending[item_id] = run
                figures = scheduled_run(tick, f"day-{run}")
                result.day.append(figures)
                for item_id in _listed_items(warehouse, list(pending)):
                    result.runs_to_land.append(run - pending.pop(item_id) + 1)
                tick += INTERVAL
                log(
                    f"  day run {run + 1}: {figures.requests} requests, listed {figures.listed}, "
                    f"max staleness before {figures.max_before}"
                )
            result.runs_to_land += [
                DAY_RUNS - run + 1 for run in pending.values()
            ]  # never landed: past the day
            result.listings = min(figures.requests - sum(figures.listed.values()) for figures in result.day)
        with Warehouse(f"duckdb:///{workdir / 'full.duckdb'}") as warehouse:
            warehouse.ensure()
            result.full = _run(
                fake, warehouse, clock, DAY_START, share=result.full_share, budget=None, run_key="nightly"
            )
            log(f"  nightly full sync: {result.full.requests} requests")
    finally:
        fake.close()
        sync.now = original_now
    return result


def _hours(duration: timedelta | None) -> str:
    return "-" if duration is None else f"{duration / timedelta(hours=1):.1f} h"


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(share * len(ordered)) - 1]


def render(result: DayResult) -> list[str]:
    day, full = result.day, result.full
    assert full is not None
    window_quota = LIMIT + BURST
    requests = [figures.requests for figures in day]
    most = max(figures.most_in_a_window for figures in day)
    full_most = full.most_in_a_window
    worst_max = max((figures.max_before for figures in day if figures.max_before), default=None)
    worst_p95 = max((figures.p95_before for figures in day if figures.p95_before), default=None)
    full_hours = full.requests / (settings.DEFAULT_RATE_LIMIT_PER_MINUTE * result.full_share) / 60
    throttled = sum(figures.throttled for figures in [*result.first_load, *day, full])
    counts = result.info.counts
    lines = [
        f"Fake scale `{result.scale}` ({counts['items']:,} items, {counts['properties']:,} properties), a "
        f"compressed quota of {LIMIT} + burst {BURST} per {WINDOW_SECONDS:g} s window standing for "
        f"{SCALE_FACTOR} windows of the API's {settings.DEFAULT_RATE_LIMIT_PER_MINUTE}/min + "
        f"{settings.DEFAULT_RATE_LIMIT_BURST}; the simulated clock counts a run's requests at the real quota "
        f"and its share. Hourly incremental "
        f"runs at quota share {QUOTA_SHARE:g}, each with a budget of {result.budget:,} requests "
        f"({QUOTA_SHARE:g} x {settings.DEFAULT_RATE_LIMIT_PER_MINUTE}/min x 60 min, less 10%), staleness "
        f"bound {_hours(MAX_STALENESS)}; the fake changes the organization before every run of the day. The "
        f"incremental warehouse was first loaded in {len(result.first_load)} hourly runs.",
        "",
        "| strategy | requests per run | runs a day | requests a day | run length (simulated) | 429s | "
        "most requests in one window / quota | quota left to other integrations while it runs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| hourly incremental, share {QUOTA_SHARE:g} | {min(requests):,}-{max(requests):,} (budget "
        f"{result.budget:,}) | {len(day)} | {sum(requests):,} | "
        f"{max(figures.simulated_minutes for figures in day):.0f} min at most | "
        f"{sum(figures.throttled for figures in day)} | {most}/{window_quota} | "
        f"{1 - most / window_quota:.0%} |",
        f"| nightly full sync, share {result.full_share:g} | {full.requests:,} | 1 | {full.requests:,} | "
        f"{full_hours:.1f} h at {result.full_share:g} x 60/min | {full.throttled} | "
        f"{full_most}/{window_quota} | {1 - full_most / window_quota:.0%} for {full_hours:.1f} h |",
        "",
        "| strategy | p95 staleness of properties | max staleness | a new item's properties land |",
        "|---|---:|---:|---:|",
        f"| hourly incremental | {_hours(worst_p95)} | {_hours(worst_max)} | in the first run after it "
        f"appears (runs to land: max {max(result.runs_to_land, default=0)}, {len(result.runs_to_land)} new "
        f"items), so within {INTERVAL / timedelta(hours=1):.0f} h + a run's length |",
        f"| nightly full sync | ~{24 * 0.95:.0f} h + its length | 24 h + {full_hours:.1f} h | "
        f"up to 24 h + {full_hours:.1f} h later |",
        "",
    ]
    over_budget = [figures for figures in [*result.first_load, *day] if figures.requests > result.budget]
    inside = worst_max is not None and worst_max <= MAX_STALENESS
    lines += [
        "| goal | measured | verdict |",
        "|---|---|---|",
        f"| 0 429s | {throttled} | {'**met**' if throttled == 0 else '**not met**'} |",
        f"| no run over its budget | {len(over_budget)} over (largest run {max(requests):,} of "
        f"{result.budget:,}) | {'**met**' if not over_budget else '**not met**'} |",
        f"| every live item inside the bound | max staleness before any run {_hours(worst_max)} "
        f"(bound {_hours(MAX_STALENESS)}) | {'**met**' if inside else '**not met**'} |",
        f"| a new item's properties in the first run that lists it | max runs to land "
        f"{max(result.runs_to_land, default=0)} | "
        f"{'**met**' if max(result.runs_to_land, default=1) == 1 else '**not met**'} |",
        "",
        "The full sync's staleness follows from its schedule: right after it, properties are as old as its "
        "own length; just before the next one, 24 h more. p95 of the incremental runs is over the live items "
        "just before each run of the day (the worst moment), the worst of the day; "
        f"requests per run include the {result.listings:,} of the listings, spent every run.",
        "",
        "**What the simulated day shows.** "
        f"Each hourly run spent at most {max(requests):,} requests of its {result.budget:,} and at most "
        f"{most} of a window's {window_quota} (share {QUOTA_SHARE:g}, burst untouched), so another "
        f"integration of the organization kept {1 - most / window_quota:.0%} of every window all day; the "
        f"nightly full sync holds {full_most / window_quota:.0%} of every window for {full_hours:.1f} h. "
        f"Before every run of the day the live items' properties were at most {_hours(worst_max)} old "
        f"(p95 {_hours(worst_p95)}; bound {_hours(MAX_STALENESS)}), and a new item's properties landed in "
        "the first run after it appeared, within the hour; with the nightly full sync both wait up to "
        f"24 h + {full_hours:.1f} h. Freshness is bought, not saved: the day's runs made "
        f"{sum(requests):,} requests against the full sync's {full.requests:,}, because every run repeats "
        f"the listings ({result.listings:,} requests) and every item is still re-listed once within the "
        "bound. What the hourly runs save is the quota's availability (never more than the share) and the "
        "wait for new and changed items.",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fake scale `medium` instead of `large`")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as directory:
        result = simulate_day(
            "medium" if args.quick else "large", Path(directory), lambda line: print(line, file=sys.stderr)
        )
    print("\n".join(render(result)))
    print(f"({time.monotonic() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
