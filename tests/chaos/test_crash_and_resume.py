"""`kill -9` at any moment loses and duplicates nothing; the next sync resumes instead of starting over."""

from __future__ import annotations

import random
import signal
import subprocess

import pytest
from chaos_helpers import Cli, properties_merge_blocked
from process_helpers import wait_for

from poelis_pipelines.fake_api import FakeDataset, Faults

pytestmark = pytest.mark.chaos

RESUMING = "resuming sync"


def full_sync_requests(dataset: FakeDataset) -> int:
    """About what a full sync costs (one page per listing): the range kill points are drawn from."""
    return 1 + len(dataset.workspaces) + len(dataset.products) + len(dataset.items)


def kill_after_requests(cli: Cli, requests: int) -> None:
    """Start a sync, `kill -9` it once the fake has served `requests` requests, and prove it was killed."""
    process = cli.start("sync")
    wait_for(
        lambda: cli.server.total_requests >= requests or process.poll() is not None,
        f"{requests} requests served",
    )
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL, "the sync finished before the kill point"


def committed_scopes(line_source: str) -> int:
    """The count the resume line announces."""
    line = next(line for line in line_source.splitlines() if line.startswith(RESUMING))
    return int(line.split(": ")[1].split(" scope")[0])


def test_a_killed_sync_rerun_with_fresh_refetches_everything_to_exactly_the_fakes_data(
    duckdb_cli: Cli,
) -> None:
    kill_point = random.Random(2).randint(1, full_sync_requests(duckdb_cli.server.dataset) - 1)
    kill_after_requests(duckdb_cli, kill_point)

    rerun = duckdb_cli.sync("--fresh")

    assert RESUMING not in rerun.stdout
    duckdb_cli.assert_matches_fake()
    duckdb_cli.assert_history_consistent()
    duckdb_cli.assert_key_absent()


def test_a_resumed_sync_fetches_less_than_a_fresh_one(duckdb_cli: Cli) -> None:
    full = full_sync_requests(duckdb_cli.server.dataset)
    kill_after_requests(duckdb_cli, random.Random(3).randint(full // 2, full - 10))

    resumed: list[subprocess.CompletedProcess[str]] = []
    resumed_requests = duckdb_cli.requests_of(lambda: resumed.append(duckdb_cli.sync()))
    assert committed_scopes(resumed[0].stdout) > 0, resumed[0].stdout
    fresh_requests = duckdb_cli.requests_of(lambda: duckdb_cli.sync("--fresh", "--full"))

    print(f"requests: fresh {fresh_requests}, resumed {resumed_requests}")  # figures for RELIABILITY.md
    assert resumed_requests < fresh_requests
    duckdb_cli.assert_matches_fake()
    duckdb_cli.assert_history_consistent()
    duckdb_cli.assert_key_absent()


@pytest.mark.postgres
def test_a_sync_killed_inside_a_merge_transaction_rolls_back_and_resumes(
    postgres_cli: Cli, postgres_url: str
) -> None:
    """Lock the properties history so the next product's merge blocks mid-transaction; then kill -9."""
    postgres_cli.server.faults = Faults(latency=(0.002, 0.005))  # time to take the table lock between merges
    schema = postgres_cli.schema
    process = postgres_cli.start("sync")
    try:
        with properties_merge_blocked(postgres_url, schema, process):
            process.send_signal(signal.SIGKILL)
            assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()

    postgres_cli.server.faults = Faults()
    rerun = postgres_cli.sync()
    assert committed_scopes(rerun.stdout) > 0, rerun.stdout
    postgres_cli.assert_matches_fake()
    postgres_cli.assert_history_consistent()
    postgres_cli.assert_key_absent()
