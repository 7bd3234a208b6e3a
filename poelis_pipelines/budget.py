"""What a request budget and a quota share buy: the time to clear an incremental backlog, the runs it takes,
whether the staleness bound can hold, and a scheduled run's budget. Arithmetic only (no Dagster, no HTTP),
shared by the CLI's summary, the Dagster metadata and the schedule.

An incremental run lists about one request per item (an item with more than a page of properties costs one
more per page), so items and requests are counted alike here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from poelis_pipelines import settings
from poelis_pipelines.incremental import Freshness


@dataclass(frozen=True)
class BacklogEstimate:
    """What a run left due, and what clearing it costs at `share` of `per_minute`."""

    backlog_items: int
    minutes_to_clear: float
    runs_to_clear: int | None
    """Runs of `max_requests` each the backlog needs (None: no per-run budget)."""
    bound_holds: bool
    """Whether `share` of the quota re-lists every live item within the bound (a steady state)."""


def estimate_backlog(
    left: Freshness, bound: timedelta, *, share: float, per_minute: float, max_requests: int | None
) -> BacklogEstimate:
    backlog = sum(left.backlog.values())
    rate = share * per_minute
    bound_minutes = bound.total_seconds() / 60.0
    return BacklogEstimate(
        backlog_items=backlog,
        minutes_to_clear=backlog / rate,
        runs_to_clear=math.ceil(backlog / max_requests) if max_requests else None,
        bound_holds=bound_minutes > 0 and left.live_items / bound_minutes <= rate,
    )


def describe_rate(share: float, per_minute: float) -> str:
    return f"share {share:g} of {per_minute:g}/min"


def shortfall(estimate: BacklogEstimate, bound: timedelta, *, share: float, per_minute: float) -> str | None:
    """A sentence when the budget or the quota share cannot hold the bound (None: they can)."""
    rate = describe_rate(share, per_minute)
    if estimate.backlog_items:
        minutes = estimate.minutes_to_clear
        runs = f" ({estimate.runs_to_clear} runs of this budget)" if estimate.runs_to_clear else ""
        return (
            f"the backlog of {estimate.backlog_items:,} items needs about {estimate.backlog_items:,} more "
            f"requests; at {rate} that is {_minutes(minutes)}{runs}: raise --max-requests or --quota-share, "
            "or relax --max-staleness"
        )
    if not estimate.bound_holds and bound > timedelta(0):
        return (
            f"re-listing every live item within {_duration(bound)} needs more than {rate}: raise "
            "--quota-share, or relax --max-staleness"
        )
    return None


def scheduled_run_budget(interval: timedelta, *, share: float, per_minute: float) -> int:
    """The requests a scheduled run may send so it ends before the next tick: share x limit x the interval's
    minutes, less `SCHEDULED_RUN_BUDGET_MARGIN` (at least one request)."""
    minutes = interval.total_seconds() / 60.0
    return max(1, math.floor(share * per_minute * minutes * (1 - settings.SCHEDULED_RUN_BUDGET_MARGIN)))


def _minutes(minutes: float) -> str:
    if minutes < 1:
        return "under a minute"
    if minutes < 120:
        return f"{round(minutes)} min"
    return f"{minutes / 60:.1f} h"


def _duration(bound: timedelta) -> str:
    hours = bound.total_seconds() / 3600
    return f"{hours:g}h" if hours < 48 else f"{hours / 24:g}d"
