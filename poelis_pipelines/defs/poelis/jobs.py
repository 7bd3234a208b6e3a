"""The sync job of one organization: its assets, selected by key, run in one process."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import dagster as dg

from poelis_pipelines.defs.poelis.names import PoelisDefsNames

if TYPE_CHECKING:  # what `define_asset_job` returns; Dagster exports no public name for it
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

SOURCE_TAG = "poelis/source"


def build_sync_job(
    names: PoelisDefsNames, assets: Sequence[dg.AssetsDefinition]
) -> UnresolvedAssetJobDefinition:
    """Selected by key, not by group, so a group renamed (or shared with other assets) never empties it.

    The executor is the job's own, so the definitions merge with a user's that set another default executor:
    the steps of a sync run one after another anyway (each level reads the one before, all share one
    rate-limited API), so a process per step would only add a Python + Dagster start-up (~3 s) to each and
    open an embedded DuckDB file from several processes.
    """
    return dg.define_asset_job(
        name=names.job_name,
        selection=dg.AssetSelection.assets(*(key for asset in assets for key in asset.keys)),
        executor_def=dg.in_process_executor,
        description=(
            "Syncs the run's workspace partitions: the workspace list and the organization's users, their "
            "products, items and properties, then their published versions, and refreshes the analyst views."
        ),
        tags={SOURCE_TAG: "/".join(names.key_prefix)},
    )
