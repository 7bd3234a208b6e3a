"""Live progress on a terminal (scopes done, requests, rate-limit waits); plain lines elsewhere."""

from __future__ import annotations

import threading
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table

from poelis_pipelines.cli import interrupts
from poelis_pipelines.cli.output import Output
from poelis_pipelines.cli.runner import SUMMARY_FIELDS, SyncSummary
from poelis_pipelines.sync import PROGRESS, STOP

REFRESH_SECONDS = 0.25
LEVEL_ORDER = ("workspaces", "products", "items", "properties")


def _progress_table() -> Table:
    table = Table(title="poelis sync", expand=False)
    for header in ("level", "scopes done", "records"):
        table.add_column(header, justify="right" if header != "level" else "left")
    levels = PROGRESS.snapshot()
    for level in LEVEL_ORDER:
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
    """A rich live table when stdout is a terminal; one line per step otherwise."""

    def __init__(self, output: Output) -> None:
        self.output = output
        self._live: Live | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ProgressDisplay:
        PROGRESS.reset()
        if self.output.interactive:
            self._live = Live(_progress_table(), console=Console(), auto_refresh=False)
            self._live.start()
            self._thread = threading.Thread(target=self._refresh, name="poelis-progress", daemon=True)
            self._thread.start()
        return self

    def _refresh(self) -> None:
        while not self._stop.wait(REFRESH_SECONDS):
            if self._live is not None:
                self._live.update(_progress_table(), refresh=True)

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
            self._live.update(_progress_table(), refresh=True)
            self._live.stop()


def format_summary(summary: SyncSummary) -> str:
    """A fixed-width table per warehouse table: what the API returned and what the merge did."""
    headers = ("table", *SUMMARY_FIELDS)
    rows: list[tuple[str, ...]] = [headers]
    for table in LEVEL_ORDER:
        if table in summary.tables:
            totals = summary.tables[table]
            rows.append((table, *(str(int(totals[name])) for name in SUMMARY_FIELDS)))
    widths = [max(len(row[index]) for row in rows) for index in range(len(headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    if summary.interrupted:
        status = "interrupted"
    elif summary.succeeded:
        status = "succeeded"
    else:
        status = f"finished with {len(summary.failures)} failure(s)"
    return "\n".join([f"sync {summary.sync_key} {status}", *lines])
