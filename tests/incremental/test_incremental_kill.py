"""`kill -9` in the middle of an incremental run: the rerun under the same key loses and duplicates nothing,
and lists only the items the killed run had not committed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from incremental_helpers import EVERY_ITEM_DUE, Org

from poelis_pipelines import settings
from poelis_pipelines.fake_api import Faults
from poelis_pipelines.incremental import item_catalog, select_items

pytestmark = pytest.mark.chaos

RUN_KEY = "killed"
# The sync layer alone, as a Dagster step runs it: every item due, into the warehouse the test reads.
SCRIPT = """
import os, sys
from datetime import timedelta
from poelis_pipelines.client import PoelisClient
from poelis_pipelines.incremental import IncrementalSettings
from poelis_pipelines.sync import sync_properties
from poelis_pipelines.warehouse import Warehouse

url, schema, run_key, *workspace_ids = sys.argv[1:]
with PoelisClient(base_url=os.environ["POELIS_BASE_URL"]) as client, Warehouse(url, schema) as warehouse:
    sync_properties(client, warehouse, workspace_ids, run_key=run_key,
                    incremental=IncrementalSettings(max_staleness=timedelta(0)))
"""


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.002)


def test_a_killed_incremental_run_resumes_without_listing_a_committed_item_again(org: Org) -> None:
    org.sync(run_key="full")
    org.server.mutate(seed=5)
    workspace_ids = org.list_parents(RUN_KEY)
    with org.warehouse() as warehouse:
        due = select_items(
            item_catalog(warehouse, workspace_ids), datetime.now(UTC), EVERY_ITEM_DUE, run_key=RUN_KEY
        )
    half = org.properties_requests() + len(due.items) // 2

    org.server.faults = Faults(latency=(0.002, 0.005))  # time to kill it half-way
    env = {key: value for key, value in os.environ.items() if not key.startswith("POELIS_")}
    env |= {settings.ENV_API_KEY: org.server.api_key, settings.ENV_BASE_URL: org.server.base_url}
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, org.url, org.schema, RUN_KEY, *workspace_ids],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: org.properties_requests() >= half or process.poll() is not None, "half the listings")
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL, "the run finished before the kill"
    finally:
        if process.poll() is None:
            process.kill()
    org.server.faults = Faults()
    state = org.state()
    committed = set(state.index[(state["run_id"] == RUN_KEY) & state["properties_listed_at"].notna()])
    assert 0 < len(committed) < len(due.items)

    before = org.properties_requests()
    rerun = org.sync_properties(workspace_ids, EVERY_ITEM_DUE, run_key=RUN_KEY)

    remaining = [selected.item.item_id for selected in due.items if selected.item.item_id not in committed]
    assert org.properties_requests() - before == org.listing_requests(remaining)
    assert rerun.incremental is not None
    assert rerun.incremental.resumed == len(committed)
    assert org.mismatched_tables() == []
    org.assert_history_consistent()
