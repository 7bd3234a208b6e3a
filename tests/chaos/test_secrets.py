"""A key revoked in the middle of a sync: exit 2, no trace of the key anywhere, and the new key resumes.

Every other chaos test ends with the same leak check (`Cli.assert_key_absent`: outputs, the bytes of every
file under the test's folder including DAGSTER_HOME and the DuckDB file, every warehouse cell); this one adds
tracebacks (`--debug`) and exception texts recorded in `sync_runs.error`.
"""

from __future__ import annotations

import pytest
from chaos_helpers import Cli
from process_helpers import wait_for

from poelis_pipelines import settings
from poelis_pipelines.client import AuthenticationError, PoelisClient
from poelis_pipelines.fake_api import Faults

pytestmark = pytest.mark.chaos


def test_a_key_revoked_mid_sync_fails_cleanly_leaks_nothing_and_the_new_key_resumes(duckdb_cli: Cli) -> None:
    server = duckdb_cli.server
    old_key = server.api_key
    server.faults = Faults(latency=(0.005, 0.01))  # the revocation lands while properties are being fetched
    process = duckdb_cli.start("--debug", "sync")
    wait_for(lambda: server.total_requests >= 150 or process.poll() is not None, "the sync to be halfway")
    server.revoke_key(old_key)
    assert process.wait(timeout=120) == 2
    stderr = "".join(path.read_text() for path in duckdb_cli.folder.glob("background-*.err"))
    assert "STEP_FAILURE" in stderr  # --debug: Dagster's own event log on stderr, scrubbed too
    assert settings.KEY_MANAGEMENT_HINT in stderr
    with duckdb_cli.warehouse() as warehouse:
        errors = warehouse.query("SELECT error FROM {{schema}}.sync_runs WHERE status = 'failed'")
    assert errors["error"].str.contains("401").any()
    duckdb_cli.assert_key_absent(old_key)
    with PoelisClient(old_key, server.base_url) as client, pytest.raises(AuthenticationError) as raised:
        list(client.iter_workspaces())
    for text in (repr(raised.value), str(raised.value), repr(client), repr(raised.value.__context__)):
        assert old_key not in text

    new_key = server.issue_key()
    duckdb_cli.env[settings.ENV_API_KEY] = new_key
    server.faults = Faults()
    rerun = duckdb_cli.sync()
    assert "resuming sync" in rerun.stdout
    duckdb_cli.assert_matches_fake()
    duckdb_cli.assert_history_consistent()
    duckdb_cli.assert_key_absent(old_key)
    duckdb_cli.assert_key_absent(new_key)
