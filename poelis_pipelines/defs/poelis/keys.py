"""Asset keys and the workspace partitions, shared by assets, checks, schedules and sensors."""

from __future__ import annotations

import dagster as dg

from poelis_pipelines import settings

SYNCED_TABLES = ("workspaces", "products", "items", "properties")
VERSIONS_ASSET_NAMES = ("users", "product_versions")
"""The assets of `versions_assets.py`, which the analyst views read too."""

workspace_partitions = dg.DynamicPartitionsDefinition(name=settings.WORKSPACE_PARTITIONS_NAME)


def asset_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([settings.ASSET_KEY_PREFIX, name])
