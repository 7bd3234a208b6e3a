"""Live progress on a terminal (scopes done, requests, rate-limit waits); a line at intervals elsewhere."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from datetime import timedelta
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table

from poelis_pipelines import settings
from poelis_pipelines.cli import interrupts
from poelis_pipelines.cli.output import Output, fixed_width
from poelis_pipelines.cli.runner import SUMMARY_FIELDS, VERSIONS_SUMMARY_FIELDS, SyncSummary
from poelis_pipelines.client.config import number_from_environment
from poelis_pipelines.incremental import REASONS, Freshness, Reason
from poelis_pipelines.levels import VERSIONS_LEVEL, names
from poelis_pipelines.plan import SyncPlan, describe_minutes
from poelis_pipelines.sync import PROGRESS, STOP

REFRESH_SECONDS = 0.25


def _requests_so_far() -> int:
    stats = PROGRESS.client_stats
    return int(stats.as_dict()["requests"]) if stats is not None else 0


def _has_waited() -> bool:
    """Whether the client has waited (for the quota's window, or between retries): the burst is spent."""
    stats = PROGRESS.client_stats
    return stats is not None and float(stats.as_dict()["seconds_waited"]) > 0


def _progress_table(eta: str) -> Table:
    table = Table(title=f"poelis sync  ·  ETA {eta}", expand=False)
    for header in ("level", "scopes done", "records"):
        table.add_column(header, justify="right" if header != "level" else "left")
    levels = PROGRESS.snapshot()
    for level in names():
        if level in levels:
            values = levels[level]
            table.add_row(level, f"{values['done']}/{values['total']}", str(values["records"]))
    stats = PROGRESS.client_stats
    if stats is not None:
        figures = stats.as_dict()
        table.caption = (
            f"requests {figures['requests']}  ·  429s {figures['rate_limited']}  ·  "
            f"waited for the rate limit {figures['seconds_waited']:.1f}s"
        )
    if STOP.is_set():  # said here, not printed: a line written under the live table would be drawn over
        stopping = interrupts.stopping_message(interrupts.received())
        table.caption = f"{table.caption or ''}\n{stopping}".strip()
    return table


class ProgressDisplay:
    """A rich live table when stdout is a terminal; elsewhere (cron, CI, a pipe) a line per step and one
    progress line every `line_seconds`, so a sync paced by the quota never looks hung."""

    def __init__(self, output: Output, line_seconds: float | None = None) -> None:
        self.output = output
        self.line_seconds = line_seconds or number_from_environment(
            settings.ENV_PROGRESS_LINE_SECONDS, settings.PROGRESS_LINE_SECONDS
        )
        self.plan: SyncPlan | None = None
        """What the sync will cost, once said (`follow`); the ETA counts down from its requests."""
        self.requests_per_minute: float | None = None
        """The key's quota: once the sync has waited for it, the ETA assumes no faster pace."""
        self._items_listed_estimate: int | None = None
        self._paced_since = time.monotonic()
        self._live: Live | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ProgressDisplay:
        PROGRESS.reset()
        self._paced_since = time.monotonic()
        if self.output.interactive:
            self._live = Live(_progress_table(self.eta()), console=Console(), auto_refresh=False)
            self._live.start()
            self._thread = threading.Thread(target=self._refresh, name="poelis-progress", daemon=True)
        else:
            self._thread = threading.Thread(target=self._print_lines, name="poelis-progress", daemon=True)
        self._thread.start()
        return self

    def _refresh(self) -> None:
        while not self._stop.wait(REFRESH_SECONDS):
            if self._live is not None:
                self._live.update(_progress_table(self.eta()), refresh=True)

    def _print_lines(self) -> None:
        while not self._stop.wait(self.line_seconds):
            self.output.line(self.progress_line())

    def _estimate(self, levels: dict[str, dict[str, int]], requests: int) -> int | None:
        """The plan's requests; on a first sync, once every item is listed: one request per item to come."""
        if self.plan is not None and self.plan.requests is not None:
            return self.plan.requests
        if self._items_listed_estimate is None:
            items = levels.get("items")
            if items and items["total"] and items["done"] == items["total"]:
                self._items_listed_estimate = requests + items["records"]
        return self._items_listed_estimate

    def eta(self) -> str:
        """The requests still to make at the pace so far; once the quota made the sync wait, at most the
        quota's pace (the burst at the start is faster)."""
        levels = PROGRESS.snapshot()
        requests = _requests_so_far()
        total = self._estimate(levels, requests)
        elapsed_minutes = (time.monotonic() - self._paced_since) / 60.0
        if total is None or requests == 0 or elapsed_minutes <= 0:
            return "unknown"
        pace = requests / elapsed_minutes
        if self.requests_per_minute and _has_waited():
            pace = min(pace, self.requests_per_minute)
        return describe_minutes(max(total - requests, 0) / pace)

    def progress_line(self) -> str:
        """Where the sync is: the level in progress, its scopes and records, requests so far and the ETA."""
        levels = PROGRESS.snapshot()
        current = [level for level in names() if level in levels]
        requests = f"{_requests_so_far():,} requests"
        if not current:
            return f"progress: starting, {requests}"
        values = levels[current[-1]]
        return (
            f"progress: {current[-1]} {values['done']:,}/{values['total']:,} scopes, {values['records']:,} "
            f"records, {requests}, ETA {self.eta()}"
        )

    def follow(self, plan: SyncPlan, requests_per_minute: float) -> None:
        """Count down from `plan` from now on: the run it precedes makes its requests with a new client."""
        self.plan = plan
        self.requests_per_minute = requests_per_minute
        self._paced_since = time.monotonic()

    def step(self, label: str) -> None:
        if self._live is None:
            self.output.line(f"syncing {label}")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._live is not None:
            # A sync refused before any scope (a revoked key) leaves its one error line, not an empty table.
            self._live.transient = not any(level["done"] for level in PROGRESS.snapshot().values())
            self._live.update(_progress_table(self.eta()), refresh=True)
            self._live.stop()


def format_summary(summary: SyncSummary) -> str:
    """A fixed-width table per warehouse table: what the API returned and what the merge did (no table, not
    even its header, when nothing was synced)."""
    headers = ("table", *SUMMARY_FIELDS)
    rows: list[tuple[str, ...]] = [headers]
    for table in names():
        if table in summary.tables and table != VERSIONS_LEVEL:  # versions have a line of their own
            totals = summary.tables[table]
            rows.append((table, *(str(int(totals[name])) for name in SUMMARY_FIELDS)))
    lines = fixed_width(rows) if len(rows) > 1 else []
    versions = summary.tables.get(VERSIONS_LEVEL)
    if versions is not None:
        lines.append(versions_line(versions))
    if summary.interrupted:
        status = "interrupted"
    elif summary.succeeded:
        status = "succeeded"
    else:
        status = f"finished with {len(summary.failures)} failure(s)"
    return "\n".join([f"sync {summary.sync_key} {status}", *(lines if len(rows) > 1 else [])])


def _hours(staleness: timedelta | None) -> str:
    return "none listed" if staleness is None else f"{staleness.total_seconds() / 3600:.1f} h"


def describe_freshness(summary: SyncSummary, left: Freshness, bound: timedelta) -> str:
    """An incremental sync's properties: items listed per reason, the backlog it left, and how stale the
    live items' properties are now against the bound."""
    listed = ", ".join(f"{summary.items_listed[reason]:,} {reason}" for reason in REASONS)
    backlog = sum(left.backlog.values())
    bound_text = (
        "every item due now" if bound == timedelta(0) else f"bound {bound.total_seconds() / 3600:g} h"
    )
    return (
        f"properties listed for items: {listed}; backlog {backlog:,} items; staleness p95 "
        f"{_hours(left.p95_staleness)}, max {_hours(left.max_staleness)} ({bound_text})"
    )


def describe_incremental_plan(
    plan: SyncPlan,
    listings: int,
    selected: Mapping[Reason, int],
    requests: int,
    requests_per_minute: float,
) -> str:
    """The up-front line of an incremental sync: the listings, then the items whose properties are due now."""
    due = ", ".join(f"{selected[reason]:,} {reason}" for reason in REASONS)
    versions = f", then {plan.versions_requests:,} for published versions" if plan.versions_requests else ""
    return (
        f"an incremental sync of {plan.workspaces:,} workspace(s), {plan.items:,} items known: about "
        f"{listings:,} listing requests, then the properties of the items due now ({due}; the listings "
        f"may add new or changed items){versions}: "
        f"about {requests:,} requests; at {requests_per_minute:g} requests/min "
        f"{describe_minutes(requests / requests_per_minute)}"
    )


def versions_line(totals: dict[str, float]) -> str:
    """The published versions the warehouse holds for the synced workspaces, and what this sync added."""
    figures = {name: int(totals.get(name, 0)) for name in (*VERSIONS_SUMMARY_FIELDS, "http_requests")}
    return (
        f"versions: {figures['versions_complete']} complete, {figures['versions_pending']} pending "
        f"({figures['versions_completed']} stored by this sync, {figures['http_requests']} requests)"
    )
