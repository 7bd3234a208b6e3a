"""`kill -9` in the middle of an incremental run: the rerun under the same key loses and duplicates nothing,
and lists only the items the killed run had not committed."""

from __future__ import annotations

from pathlib import Path

import pytest
from incremental_helpers import Org
from process_helpers import kill_script_when

from poelis_pipelines.fake_api import Faults

pytestmark = pytest.mark.chaos

RUN_KEY = "killed"
# The sync layer alone, as a Dagster step runs it: every item due, into the warehouse the test reads.
# It notes in the file `commits` each committed merge that listed an item's properties, so the test kills it
# after a commit, not after a number of requests (under load, merges may trail the listings by many).
SCRIPT = """
import os, sys
from datetime import timedelta
from poelis_pipelines.client import PoelisClient
from poelis_pipelines.incremental import IncrementalSettings
from poelis_pipelines.sync import sync_properties
from poelis_pipelines.warehouse import Warehouse

url, schema, commits, run_key, *workspace_ids = sys.argv[1:]
merge = Warehouse.merge

def merge_and_note(self, batches, **options):
    report = merge(self, batches, **options)
    states = (options.get("upserts") or {}).get("item_sync_state")
    if states is not None and states["properties_listed_at"].notna().any():
        with open(commits, "a") as noted:
            noted.write("committed\\n")
    return report

Warehouse.merge = merge_and_note
with PoelisClient(base_url=os.environ["POELIS_BASE_URL"]) as client, Warehouse(url, schema) as warehouse:
    sync_properties(client, warehouse, workspace_ids, run_key=run_key,
                    incremental=IncrementalSettings(max_staleness=timedelta(0)))
"""


SLOW_LATENCY_SECONDS = 2.0
"""Each request's latency once half the listings are served: what remains cannot all be listed before the
kill, however late a busy machine lets the test see the first commit."""


def test_a_killed_incremental_run_resumes_without_listing_a_committed_item_again(
    org: Org, tmp_path: Path
) -> None:
    org.sync(run_key="full")
    org.server.mutate(seed=5)
    workspace_ids = org.list_parents(RUN_KEY)
    due = org.due_now(workspace_ids, RUN_KEY)
    half = org.properties_requests() + len(due.items) // 2

    commits = tmp_path / "commits"

    def half_listed_and_a_listing_committed() -> bool:
        if org.properties_requests() < half:
            return False
        org.server.faults = Faults(latency=(SLOW_LATENCY_SECONDS, SLOW_LATENCY_SECONDS))
        return commits.exists()

    kill_script_when(
        org.server,
        half_listed_and_a_listing_committed,
        "half the listings served and one of them committed",
        SCRIPT,
        org.url,
        org.schema,
        str(commits),
        RUN_KEY,
        *workspace_ids,
    )
    org.server.faults = Faults()
    org.assert_rerun_lists_only_the_rest(workspace_ids, due, RUN_KEY)
