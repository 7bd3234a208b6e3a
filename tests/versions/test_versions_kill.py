"""`kill -9` in the middle of storing versions: nothing half-stored is marked complete, and the rerun asks
only for the properties of the items the killed run had not committed."""

from __future__ import annotations

import pytest
from process_helpers import kill_script_when
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


def test_a_killed_versions_run_resumes_where_it_stopped(duckdb_org: Org) -> None:
    org = duckdb_org
    workspace_ids = org.sync_draft()
    versions = org.fake_versions()
    listings = sum(org.listing_requests([item["id"] for item in v.items], v) for v in versions.values())  # type: ignore[attr-defined]
    org.server.reset_counters()

    org.server.faults = Faults(latency=(0.01, 0.02))  # time to kill it half-way, even on a busy machine
    kill_script_when(
        org.server,
        lambda: org.server.counters[(PROPERTIES_ROUTE, 200)] >= listings // 2,
        "half the property listings",
        SCRIPT,
        org.url,
        org.schema,
        DAY_ONE.isoformat(),
        *workspace_ids,
    )
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
