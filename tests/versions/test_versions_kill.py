"""`kill -9` in the middle of storing versions: nothing half-stored is marked complete, and the rerun asks
only for the properties of the items the killed run had not committed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from versions_helpers import DAY_ONE, PROPERTIES_ROUTE, Org

from poelis_pipelines import settings
from poelis_pipelines.fake_api import Faults

pytestmark = pytest.mark.chaos

SCRIPT = """
import os, sys
from datetime import datetime
from poelis_pipelines.client import PoelisClient
from poelis_pipelines.versions import sync_versions
from poelis_pipelines.warehouse import Warehouse

url, schema, now, *workspace_ids = sys.argv[1:]
with PoelisClient(base_url=os.environ["POELIS_BASE_URL"]) as client, Warehouse(url, schema) as warehouse:
    sync_versions(client, warehouse, workspace_ids, mode="all", now=datetime.fromisoformat(now))
"""


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.002)


def test_a_killed_versions_run_resumes_where_it_stopped(duckdb_org: Org) -> None:
    org = duckdb_org
    workspace_ids = org.sync_draft()
    versions = org.fake_versions()
    listings = sum(org.listing_requests([item["id"] for item in v.items], v) for v in versions.values())  # type: ignore[attr-defined]
    org.server.reset_counters()

    org.server.faults = Faults(latency=(0.01, 0.02))  # time to kill it half-way, even on a busy machine
    env = {key: value for key, value in os.environ.items() if not key.startswith("POELIS_")}
    env |= {settings.ENV_API_KEY: org.server.api_key, settings.ENV_BASE_URL: org.server.base_url}
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, org.url, org.schema, DAY_ONE.isoformat(), *workspace_ids],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(
            lambda: (
                org.server.counters[(PROPERTIES_ROUTE, 200)] >= listings // 2 or process.poll() is not None
            ),
            "half the property listings",
        )
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL, "the run finished before the kill"
    finally:
        if process.poll() is None:
            process.kill()
    org.server.faults = Faults()

    rows = org.read("product_versions")
    complete = set(
        zip(
            rows.loc[rows["status"] == "complete", "product_id"],
            rows.loc[rows["status"] == "complete", "version_number"].astype(int),
            strict=True,
        )
    )
    assert complete < set(versions)
    org.assert_versions_exact(complete, partial_others=True)  # a complete version is whole
    stored = org.read("item_versions")
    stored_ids = set(
        zip(stored["product_id"], stored["version_number"].astype(int), stored["id"], strict=True)
    )

    org.server.reset_counters()
    rerun = org.sync_versions(settings.VERSIONS_ALL, DAY_ONE)

    remaining = sum(
        org.listing_requests([item["id"] for item in v.items if (p, n, item["id"]) not in stored_ids], v)  # type: ignore[attr-defined]
        for (p, n), v in versions.items()
    )
    assert org.server.counters[(PROPERTIES_ROUTE, 200)] == remaining
    assert set(rerun.completed) == set(versions) - complete
    org.assert_versions_exact()
