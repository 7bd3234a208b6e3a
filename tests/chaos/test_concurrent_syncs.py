"""Two syncs into one warehouse at once: the second refuses in one line, the first is untouched."""

from __future__ import annotations

import pytest
from chaos_helpers import Cli
from process_helpers import wait_for

from poelis_pipelines.fake_api import Faults

pytestmark = pytest.mark.chaos


def assert_second_sync_refused_while_first_runs(cli: Cli) -> None:
    # Slow answers keep the first sync running while the second starts (lifted once the second has exited).
    cli.server.faults = Faults(latency=(0.2, 0.3))
    first = cli.start("sync")
    wait_for(lambda: cli.server.total_requests >= 20, "the first sync to be fetching")

    second = cli.run("sync")

    assert first.poll() is None, "the first sync ended before the second started: nothing was tested"
    assert second.returncode == 1, second.stdout + second.stderr
    error_lines = [line for line in second.stderr.splitlines() if line.strip()]
    assert len(error_lines) == 1, second.stderr
    assert error_lines[0].startswith("error: warehouse: another sync into")
    assert "resuming" not in second.stdout
    cli.server.faults = Faults()
    assert first.wait(timeout=240) == 0
    cli.assert_matches_fake()
    cli.assert_history_consistent()
    cli.assert_key_absent()


def test_a_second_sync_into_the_same_duckdb_file_exits_1_at_once(duckdb_cli: Cli) -> None:
    assert_second_sync_refused_while_first_runs(duckdb_cli)


@pytest.mark.postgres
def test_a_second_sync_into_the_same_postgresql_schema_exits_1_at_once(postgres_cli: Cli) -> None:
    assert_second_sync_refused_while_first_runs(postgres_cli)
