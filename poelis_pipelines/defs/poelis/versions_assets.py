"""The products' published versions as a Dagster asset (the organization's `users` are a level of
`assets.LEVEL_ASSETS`: one unpartitioned table beside `workspaces`, which the views read to name people).

`product_versions` stores each workspace's published versions (`product_versions`,
`item_versions`, `property_versions`) after the draft's own levels, so the versions spend what the run's
request budget leaves once the draft is fresh. A complete version costs no request on any later run.
"""

import dataclasses
from collections.abc import Sequence
from typing import Any

import dagster as dg

from poelis_pipelines import settings, sync
from poelis_pipelines.client import PoelisClient
from poelis_pipelines.client.secrets import scrub
from poelis_pipelines.defs.poelis.assets import RunResources, api_asset, failures_explained
from poelis_pipelines.defs.poelis.metadata import schema_of, workspace_label
from poelis_pipelines.defs.poelis.names import PoelisDefsNames
from poelis_pipelines.tables import PRODUCT_VERSIONS
from poelis_pipelines.versions import VersionChecks, VersionsResult, check_versions, sync_versions
from poelis_pipelines.warehouse import Warehouse

VERSION_KEYS_UNIQUE = "version_keys_unique"
VERSION_REFERENCES_RESOLVE = "version_references_resolve"
COMPLETE_VERSION_COUNTS_MATCH = "complete_version_counts_match"
VERSION_CHECK_DESCRIPTIONS = {
    VERSION_KEYS_UNIQUE: "No two rows of item_versions or property_versions share (product, version, id).",
    VERSION_REFERENCES_RESOLVE: "In each complete version, every property's item and every item's parent "
    "is an item of that same version.",
    COMPLETE_VERSION_COUNTS_MATCH: "Each complete version stores as many items and properties as it listed.",
}


def sync_versions_per_workspace(
    client: PoelisClient, warehouse: Warehouse, workspace_ids: Sequence[str], mode: str
) -> dict[str, VersionsResult]:
    """Each workspace's versions with figures of its own (a partition's metadata), spending the budget in
    the order `sync_versions` keeps within one call: every workspace's baselines (and due probes) first,
    then, with `all`, the newest other versions of each."""
    first_mode = settings.VERSIONS_NONE if mode == settings.VERSIONS_NONE else settings.VERSIONS_BASELINE
    results = {
        workspace_id: sync_versions(client, warehouse, [workspace_id], mode=first_mode)
        for workspace_id in workspace_ids
    }
    if mode == settings.VERSIONS_ALL:
        for workspace_id in workspace_ids:
            more = sync_versions(client, warehouse, [workspace_id], mode=mode)
            results[workspace_id] = _combined(results[workspace_id], more)
    return results


def _combined(earlier: VersionsResult, later: VersionsResult) -> VersionsResult:
    """Two calls over the same workspace as one: what both did, and what the later one left."""
    http: dict[str, Any] = {}
    for cost in (earlier.http, later.http):
        sync._add_cost(http, cost)
    return dataclasses.replace(
        later,
        completed=[*earlier.completed, *later.completed],
        discovered=[*earlier.discovered, *later.discovered],
        probed_products=earlier.probed_products + later.probed_products,
        budget_exhausted=earlier.budget_exhausted or later.budget_exhausted,
        warnings=[*earlier.warnings, *later.warnings],
        http=http,
    )


def versions_metadata(warehouse: Warehouse, workspace_id: str, result: VersionsResult) -> dict[str, Any]:
    """What one workspace's versions look like after the step, and what the step spent on them."""
    return {
        "workspace": scrub(workspace_label(warehouse, workspace_id)),
        "versions_mode": result.mode,
        "versions_complete": result.complete,
        "versions_pending": result.pending,
        "versions_missing": result.missing,
        "versions_backlog": result.backlog,
        "versions_completed": len(result.completed),
        "versions_discovered": len(result.discovered),
        "http_requests": result.requests,
        "http_429s": result.http.get("rate_limited", 0),
        "budget_exhausted": result.budget_exhausted,
        "warnings": dg.MetadataValue.json([scrub(warning) for warning in result.warnings]),
    }


def version_check_results(found: VersionChecks) -> list[dg.AssetCheckResult]:
    """The checks of every stored version, as `check_versions` counts their faults."""
    return [
        dg.AssetCheckResult(
            check_name=VERSION_KEYS_UNIQUE,
            passed=found.repeated_keys == 0,
            metadata={"repeated_keys": found.repeated_keys},
        ),
        dg.AssetCheckResult(
            check_name=VERSION_REFERENCES_RESOLVE,
            passed=not (found.unresolved_items or found.unresolved_parents),
            metadata={
                "unresolved_items": found.unresolved_items,
                "unresolved_parents": found.unresolved_parents,
            },
        ),
        dg.AssetCheckResult(
            check_name=COMPLETE_VERSION_COUNTS_MATCH,
            passed=found.miscounted_versions == 0,
            metadata={"miscounted_versions": found.miscounted_versions},
        ),
    ]


def build_product_versions_asset(names: PoelisDefsNames) -> dg.AssetsDefinition:
    @api_asset(
        names,
        "product_versions",
        deps=["products", "properties"],
        check_specs=[
            dg.AssetCheckSpec(
                name=name, asset=names.asset_key("product_versions"), description=description, blocking=True
            )
            for name, description in VERSION_CHECK_DESCRIPTIONS.items()
        ],
        partitioned=True,
    )
    def product_versions(context: dg.AssetExecutionContext) -> dg.MaterializeResult:  # type: ignore[type-arg]
        """The published versions of one workspace's products (`product_versions`, with their content in
        `item_versions` and `property_versions`): baselines first, then (mode `all`) the newest versions; a
        complete version is never requested again."""
        resources = RunResources.of(context, names)
        with failures_explained(context), resources.warehouse.open() as opened, opened.session():
            mode = resources.sync_settings.versions_mode()
            workspace_ids = list(context.partition_keys)
            results = sync_versions_per_workspace(resources.client(), opened, workspace_ids, mode)
            for workspace_id, result in results.items():
                for warning in result.warnings:
                    context.log.warning(scrub(warning))
                context.add_asset_metadata(
                    versions_metadata(opened, workspace_id, result), partition_key=workspace_id
                )
            return dg.MaterializeResult(
                metadata={
                    "dagster/row_count": opened.row_count(PRODUCT_VERSIONS.name),
                    "dagster/column_schema": schema_of(PRODUCT_VERSIONS),
                    "dagster/table_name": f"{opened.schema}.{PRODUCT_VERSIONS.name}",
                },
                check_results=version_check_results(check_versions(opened)),
            )

    return product_versions
