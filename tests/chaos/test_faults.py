"""A bad night on the network: errors, throttling, dropped connections, slow and broken bodies."""

from __future__ import annotations

import pytest
from chaos_helpers import Cli

from poelis_pipelines.fake_api import Faults

pytestmark = pytest.mark.chaos

BAD_NIGHT = Faults(
    error_500=0.10,
    error_503=0.05,
    error_429=0.05,
    retry_after=1,
    drop_connection=0.02,
    latency=(0.0, 0.02),
    malformed_json=0.02,
    seed=3,
)


def test_a_sync_under_heavy_faults_lands_exactly_the_fakes_data(duckdb_cli: Cli) -> None:
    duckdb_cli.server.faults = BAD_NIGHT
    # --debug: the most log output the key could leak into; the baselines too, so versions weather the faults
    result = duckdb_cli.run("--debug", "sync", "--versions", "baseline")

    assert result.returncode == 0, result.stdout + result.stderr
    faults = {status: count for (_, status), count in duckdb_cli.server.counters.items() if status != 200}
    assert sum(faults.values()) > 30, f"too few faults injected to prove anything: {faults}"
    compared = duckdb_cli.assert_matches_fake()
    assert compared > 1000
    total = duckdb_cli.server.total_requests
    print(f"faults survived: {sum(faults.values())} of {total} requests {faults}; {compared} rows compared")
    duckdb_cli.assert_history_consistent()
    duckdb_cli.assert_key_absent()
