"""The hierarchy is declared once (`poelis_pipelines.levels`): every table has its level, the callers' orders
come from `LEVELS`, and a new level is one table declaration and one level entry."""

from __future__ import annotations

import dataclasses

import dagster as dg
import pytest
from sync_helpers import SyncTarget

from poelis_pipelines import levels
from poelis_pipelines.cli.output import Output
from poelis_pipelines.cli.progress import ProgressDisplay
from poelis_pipelines.client import PoelisClient
from poelis_pipelines.fake_api import FakePoelisServer
from poelis_pipelines.levels import LEVELS, Level, level, names, organization_levels, workspace_levels
from poelis_pipelines.sync import PROGRESS, Listing
from poelis_pipelines.tables import PRODUCTS, TABLES, VERSION_TABLES, merged_tables
from poelis_pipelines.warehouse import Warehouse
from poelis_pipelines.warehouse.inspection import live_ids


def test_every_synced_table_is_written_by_exactly_one_level() -> None:
    written = [table for each in LEVELS for table in each.tables]
    declared = [*merged_tables(), *(table.name for table in VERSION_TABLES)]
    assert sorted(written) == sorted(declared)


def test_parents_come_before_their_children_and_organization_levels_first() -> None:
    order = names()
    assert len(set(order)) == len(order)
    for each in LEVELS:
        assert all(order.index(parent) < order.index(each.name) for parent in each.deps), each.name
        assert each.partitioned == (each.scope == "workspace")
    assert (*organization_levels(), *workspace_levels()) == LEVELS
    assert order == ("workspaces", "users", "products", "items", "properties", "product_versions")


def test_a_level_gives_either_a_listing_or_a_sync_function() -> None:
    with pytest.raises(ValueError, match="either a listing or a sync function"):
        Level("nothing", "organization", "Neither.")
    with pytest.raises(KeyError, match="no level 'nothing'; the levels are workspaces, users"):
        level("nothing")


def test_the_clis_runs_materialize_the_levels_in_their_declared_order(duckdb_target: SyncTarget) -> None:
    """The workspace-list run holds the organization's levels, the partition-range run the workspaces' levels
    (then the views), each in `LEVELS` order."""
    summary = duckdb_target.sync()
    assert summary.succeeded, summary.failures
    materialized = []
    for run_id in summary.run_ids:
        records = duckdb_target.instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
        keys = [record.event_log_entry.asset_materialization.asset_key.path[-1] for record in records]  # type: ignore[union-attr]
        materialized.append(list(dict.fromkeys(keys)))  # one materialization per partition: the first
    assert materialized == [
        list(names(organization_levels())),
        [*names(workspace_levels()), "analyst_views"],
    ]


PRODUCT_CATALOG = dataclasses.replace(PRODUCTS, name="product_catalog", description="Products, listed again.")
PRODUCT_CATALOG_LEVEL = Level(
    "product_catalog",
    "workspace",
    "Each workspace's products, once more: a level added by one declaration.",
    deps=("workspaces",),
    listing=Listing("workspace", "GET /products?workspace_id={scope}", PoelisClient.iter_products),
)


def test_a_new_level_is_one_table_declaration_and_one_level_entry(
    fake_api: FakePoelisServer, duckdb_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Declared beside the others, a level is synced (real HTTP, real DuckDB), run by the workspace runs of
    the CLI and Airflow, and shown in the progress, with no other change."""
    monkeypatch.setitem(TABLES, PRODUCT_CATALOG.name, PRODUCT_CATALOG)
    monkeypatch.setattr(levels, "LEVELS", (*LEVELS, PRODUCT_CATALOG_LEVEL))

    with (
        PoelisClient(fake_api.api_key, fake_api.base_url) as client,
        Warehouse(duckdb_url, "poelis") as warehouse,
    ):
        warehouse.ensure()
        level("workspaces").run(client, warehouse, run_key="new-level")
        workspace_ids = live_ids(warehouse, "workspaces")
        PROGRESS.reset()
        result = level("product_catalog").run(client, warehouse, workspace_ids, run_key="new-level")
        catalog = warehouse.read_table("product_catalog")

    assert sorted(catalog["id"]) == sorted(product["id"] for product in fake_api.dataset.products)
    assert result.records_from_api == len(catalog) == result.inserted
    assert sorted(result.workspaces) == sorted(workspace_ids)
    assert names(workspace_levels())[-1] == "product_catalog"  # what the CLI and Airflow run per workspace
    line = ProgressDisplay(Output()).progress_line()
    assert line.startswith(f"progress: product_catalog {len(workspace_ids)}/{len(workspace_ids)} scopes")
