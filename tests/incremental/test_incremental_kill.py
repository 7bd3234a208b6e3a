"""`kill -9` in the middle of an incremental run: the rerun under the same key loses and duplicates nothing,
and lists only the items the killed run had not committed."""

from __future__ import annotations

import pytest
from incremental_helpers import Org
from process_helpers import kill_script_when

from poelis_pipelines.fake_api import Faults

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


def test_a_killed_incremental_run_resumes_without_listing_a_committed_item_again(org: Org) -> None:
    org.sync(run_key="full")
    org.server.mutate(seed=5)
    workspace_ids = org.list_parents(RUN_KEY)
    due = org.due_now(workspace_ids, RUN_KEY)
    half = org.properties_requests() + len(due.items) // 2

    org.server.faults = Faults(latency=(0.002, 0.005))  # time to kill it half-way
    kill_script_when(
        org.server,
        lambda: org.properties_requests() >= half,
        "half the listings",
        SCRIPT,
        org.url,
        org.schema,
        RUN_KEY,
        *workspace_ids,
    )
    org.server.faults = Faults()
    org.assert_rerun_lists_only_the_rest(workspace_ids, due, RUN_KEY)
