"""Ctrl-C and SIGTERM stop a real `poelis-pipelines sync` within seconds, and stop means stop.

The signal goes to the sync's whole process group, as a terminal's Ctrl-C does, while the properties level is
fetching under a tight rate limit (so most of the sync is still ahead). The sync ends with 130 or 143 and a
last line that says how to resume; its Dagster run is CANCELED and no run starts after it; what it committed
stays. The next sync with the same arguments resumes it and ends exact; a sync of other workspaces does not.
"""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from poelis_pipelines import settings
from poelis_pipelines.cli.sync_state import sync_arguments
from poelis_pipelines.fake_api import FakePoelisServer, Faults, RateLimit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "chaos"))
from chaos_helpers import Cli, cli_environment, properties_merge_blocked
from process_helpers import wait_for

# What a sync of every workspace records, in the versions mode `cli_environment` sets.
EVERY_WORKSPACE = sync_arguments(None, versions=settings.VERSIONS_NONE)

pytestmark = pytest.mark.chaos

# A bound for a busy CI machine, not a measurement: the stop itself takes about a second.
STOP_DEADLINE_SECONDS = 60
SLOW_QUOTA = RateLimit(limit=5, burst=0, window=1.0)  # the properties level alone needs a minute at this pace
PROPERTIES_ROUTE = f"{settings.API_PREFIX}/properties"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def server() -> Iterator[FakePoelisServer]:
    with FakePoelisServer(seed=11, scale="tiny", rate_limit=SLOW_QUOTA) as fake:
        yield fake


@pytest.fixture
def cli(server: FakePoelisServer, tmp_path: Path) -> Cli:
    url = f"duckdb:///{tmp_path}/warehouse.duckdb"
    return Cli(server, tmp_path, cli_environment(server, tmp_path, url, settings.DEFAULT_WAREHOUSE_SCHEMA))


@dataclass
class Stopped:
    returncode: int
    output: str  # what a person saw: the terminal's text, or stdout then stderr
    last_line: str  # on stderr (the terminal's last line with a pseudo-terminal)
    cursor_shown: bool  # the live display hides the terminal's cursor; a sane terminal has it back


def _requests_to(server: FakePoelisServer, route: str) -> int:
    return sum(count for (template, _status), count in server.counters.items() if template == route)


class _Terminal:
    """A pseudo-terminal as the command's stdout and stderr (so the live display is on), read continuously:
    a full terminal buffer would block the command."""

    def __init__(self) -> None:
        self.controller, self.worker = pty.openpty()
        self.chunks: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.controller, 65536)
            except OSError:  # EIO: every writer closed it
                return
            if not chunk:
                return
            self.chunks.append(chunk)

    def start(self) -> None:
        os.close(self.worker)
        self._reader.start()

    def raw(self) -> bytes:
        self._reader.join(timeout=STOP_DEADLINE_SECONDS)
        return b"".join(self.chunks)

    def text(self) -> str:
        return ANSI_ESCAPE.sub("", self.raw().decode(errors="replace")).replace("\r", "")


@dataclass
class Command:
    """A command running in a session of its own, with where its output goes."""

    process: subprocess.Popen[bytes]
    log: Path  # its stdout and stderr, as `log`.out and `log`.err, unless on `terminal`
    terminal: _Terminal | None

    def stderr(self) -> str:
        return self.log.with_suffix(".err").read_text()

    def shown(self) -> bytes:
        return b"".join(self.terminal.chunks) if self.terminal else self.log.with_suffix(".out").read_bytes()


def start_command(cli: Cli, terminal: _Terminal | None, *args: str) -> Command:
    """`poelis-pipelines ARGS` in a session of its own, so a signal can go to its whole process group."""
    log = cli.folder / f"command-{len(list(cli.folder.glob('command-*.out')))}"
    with log.with_suffix(".out").open("wb") as stdout, log.with_suffix(".err").open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "poelis_pipelines", *args],
            env=cli.env,
            cwd=cli.folder,
            stdin=subprocess.DEVNULL,
            stdout=terminal.worker if terminal else stdout,
            stderr=terminal.worker if terminal else stderr,
            start_new_session=True,
        )
    if terminal:
        terminal.start()
    return Command(process, log, terminal)


def signal_group_and_wait(command: Command, signum: int) -> Stopped:
    process, terminal = command.process, command.terminal
    try:
        os.killpg(process.pid, signum)
        returncode = process.wait(timeout=STOP_DEADLINE_SECONDS)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    cursor_shown = True
    if terminal:
        output = terminal.text()
        lines = output
        raw = terminal.raw()
        cursor_shown = raw.rfind(b"\x1b[?25l") < raw.rfind(b"\x1b[?25h") or b"\x1b[?25l" not in raw
        os.close(terminal.controller)
    else:
        stderr = command.stderr()
        output = command.shown().decode() + stderr
        lines = stderr
    last_line = [line for line in lines.splitlines() if line.strip()][-1]
    return Stopped(returncode, output, last_line, cursor_shown)


def interrupt_sync(cli: Cli, signum: int, *, on_terminal: bool) -> Stopped:
    """Signal a sync's process group once its properties level is fetching (every item already committed)."""
    terminal = _Terminal() if on_terminal else None
    command = start_command(cli, terminal, "sync")
    wait_for(
        lambda: _requests_to(cli.server, PROPERTIES_ROUTE) > 0 or command.process.poll() is not None,
        "the properties level to start",
    )
    assert command.process.poll() is None, "the sync ended before the signal"
    stopped = signal_group_and_wait(command, signum)
    cli.outputs.append(stopped.output)
    return stopped


def dagster_runs(cli: Cli) -> list[dg.DagsterRun]:
    """The instance's runs, newest first."""
    with dg.DagsterInstance.from_config(cli.env["DAGSTER_HOME"]) as instance:
        return list(instance.get_runs())


def pool_slots_taken(cli: Cli) -> int:
    with dg.DagsterInstance.from_config(cli.env["DAGSTER_HOME"]) as instance:
        pool = instance.event_log_storage.get_concurrency_info(settings.API_CONCURRENCY_POOL)
        return pool.active_slot_count


def cli_sync_rows(cli: Cli) -> list[tuple[str, str, str]]:
    """(key, scope, status) of each CLI sync, by first start (a resumed sync keeps its own)."""
    with cli.warehouse() as warehouse:
        rows = warehouse.query(
            "SELECT run_id, scope, status FROM {{schema}}.sync_runs WHERE table_name = :marker "
            "ORDER BY started_at",
            {"marker": settings.CLI_SYNC_TABLE_NAME},
        )
    return [(str(row.run_id), str(row.scope), str(row.status)) for row in rows.itertuples()]


def committed(cli: Cli, sync_key: str, table: str) -> int:
    with cli.warehouse() as warehouse:
        counted = warehouse.query(
            "SELECT COUNT(*) AS scopes FROM {{schema}}.sync_runs "
            "WHERE run_id = :key AND table_name = :table AND status = 'success'",
            {"key": sync_key, "table": table},
        )
    return int(counted["scopes"].iloc[0])


def assert_stopped_and_canceled(cli: Cli, stopped: Stopped, signum: int) -> str:
    """Exit 128 + signal, a last line that says how to resume, the run CANCELED and the latest, the scopes
    committed before the signal kept; returns the interrupted sync's key."""
    name = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
    assert stopped.returncode == 128 + signum, stopped.output
    assert stopped.last_line.startswith(f"error: interrupted ({name})"), stopped.output
    assert "`poelis-pipelines sync` with the same arguments resumes" in stopped.last_line
    assert "Traceback" not in stopped.output
    assert stopped.cursor_shown

    latest, *earlier = dagster_runs(cli)
    assert latest.status == dg.DagsterRunStatus.CANCELED  # and no run started after it
    assert [run.status for run in earlier] == [dg.DagsterRunStatus.SUCCESS]  # the workspace list
    assert pool_slots_taken(cli) == 0

    [(sync_key, scope, status)] = cli_sync_rows(cli)
    assert (scope, status) == (EVERY_WORKSPACE, "interrupted")
    products = len(cli.server.dataset.products)
    assert committed(cli, sync_key, "items") == products  # the level before the signal, whole
    assert committed(cli, sync_key, "properties") < products  # the level the signal cut short
    with cli.warehouse() as warehouse:
        assert warehouse.row_count("items") == len(cli.server.dataset.items)
    return sync_key


def assert_resumes_exact(cli: Cli, sync_key: str) -> None:
    """The same `sync` again: says it resumes that sync, fetches no committed level again, ends exact."""
    cli.server.rate_limit = None
    cli.server.reset_counters()
    resumed = cli.sync()
    assert f"resuming sync {sync_key} " in resumed.stdout
    assert "interrupted" in resumed.stdout.splitlines()[0]
    assert _requests_to(cli.server, f"{settings.API_PREFIX}/items") == 0
    assert _requests_to(cli.server, f"{settings.API_PREFIX}/products") == 0
    assert (sync_key, EVERY_WORKSPACE, "success") in cli_sync_rows(cli)
    cli.assert_matches_fake()
    cli.assert_history_consistent()
    cli.assert_key_absent()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("on_terminal", [True, False], ids=["terminal", "pipes"])
def test_a_signalled_sync_stops_cancels_its_run_and_the_same_sync_resumes_it(
    cli: Cli, signum: int, on_terminal: bool
) -> None:
    stopped = interrupt_sync(cli, signum, on_terminal=on_terminal)

    assert ("poelis sync" in stopped.output) == on_terminal  # the live display's title: it was on
    sync_key = assert_stopped_and_canceled(cli, stopped, signum)
    assert_resumes_exact(cli, sync_key)


def test_a_sync_of_other_workspaces_does_not_resume_an_interrupted_full_sync(cli: Cli) -> None:
    stopped = interrupt_sync(cli, signal.SIGINT, on_terminal=False)
    sync_key = assert_stopped_and_canceled(cli, stopped, signal.SIGINT)
    cli.server.rate_limit = None
    workspace_id = str(cli.server.dataset.workspaces[0]["id"])

    one_workspace = cli.sync("--workspace", workspace_id)

    assert "resuming" not in one_workspace.stdout
    assert cli_sync_rows(cli)[-1][1:] == (
        sync_arguments([workspace_id], versions=settings.VERSIONS_NONE),
        "success",
    )
    assert_resumes_exact(cli, sync_key)


def test_a_failed_sync_is_resumed_as_failed_not_as_interrupted(cli: Cli) -> None:
    cli.server.rate_limit = None
    cli.server.faults = Faults(corrupt_route=f"{settings.API_PREFIX}/items", corruption="missing_id")
    failed = cli.run("sync")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    [(sync_key, _scope, status)] = cli_sync_rows(cli)
    assert status == "failed"
    cli.server.faults = Faults()

    rerun = cli.sync()

    assert rerun.stdout.startswith("the last sync failed ("), rerun.stdout
    assert f"resuming sync {sync_key} " in rerun.stdout.splitlines()[0]
    assert "interrupted" not in rerun.stdout.splitlines()[0]
    cli.assert_matches_fake()


@pytest.mark.parametrize("on_terminal", [True, False], ids=["terminal", "pipes"])
def test_an_interrupted_demo_exits_130_and_says_so(cli: Cli, on_terminal: bool) -> None:
    terminal = _Terminal() if on_terminal else None
    command = start_command(cli, terminal, "demo", "--scale", "tiny")
    wait_for(
        lambda: b"Fake Poelis API" in command.shown() or command.process.poll() is not None,
        "the demo's fake API to serve",
    )
    assert command.process.poll() is None, "the demo ended before the signal"
    stopped = signal_group_and_wait(command, signal.SIGINT)

    assert stopped.returncode == 130, stopped.output
    assert stopped.last_line.startswith("error: interrupted (Ctrl-C)"), stopped.output
    assert "Traceback" not in stopped.output
    assert stopped.cursor_shown


@pytest.mark.postgres
def test_a_second_signal_ends_a_sync_stuck_in_a_merge_at_once_and_the_merge_rolls_back(
    server: FakePoelisServer, tmp_path: Path, postgres_url: str, postgres_schema: str
) -> None:
    """The first Ctrl-C waits for the merge in progress, which a lock on its table holds; the second ends the
    process at once. The merge rolls back, and the next sync releases the abandoned run and resumes."""
    cli = Cli(server, tmp_path, cli_environment(server, tmp_path, postgres_url, postgres_schema))
    command = start_command(cli, None, "sync")
    process = command.process
    try:
        with properties_merge_blocked(postgres_url, postgres_schema, process):
            os.killpg(process.pid, signal.SIGINT)
            wait_for(lambda: "stopping (Ctrl-C)" in command.stderr(), "the first Ctrl-C to be handled")
            stopped = signal_group_and_wait(command, signal.SIGINT)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    assert stopped.returncode == 130, stopped.output
    assert stopped.last_line.startswith("error: stopped at once (Ctrl-C)"), stopped.output
    cli.outputs.append(stopped.output)
    [(sync_key, _scope, status)] = cli_sync_rows(cli)
    assert status == "running"  # ended without recording anything: as after `kill -9`

    cli.server.rate_limit = None
    rerun = cli.sync()

    assert f"resuming sync {sync_key} " in rerun.stdout
    assert "its process ended without finishing" in rerun.stdout.splitlines()[0]
    statuses = [run.status for run in dagster_runs(cli)]
    assert dg.DagsterRunStatus.FAILURE in statuses  # the abandoned run, released by the rerun
    assert not {dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELED} & set(statuses)
    cli.assert_matches_fake()
    cli.assert_history_consistent()
    cli.assert_key_absent()
