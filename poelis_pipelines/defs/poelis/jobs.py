"""The one sync job: every Poelis asset, run per workspace partition."""

from __future__ import annotations

import dagster as dg

from poelis_pipelines import settings

poelis_sync = dg.define_asset_job(
    name="poelis_sync",
    selection=dg.AssetSelection.groups("poelis"),
    description=(
        "Syncs one workspace (the partition): the workspace list and the organization's users, its products, "
        "items and properties, then its published versions, and refreshes the analyst views."
    ),
    tags={"poelis/source": settings.ASSET_KEY_PREFIX},
)
