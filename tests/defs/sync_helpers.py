"""Helpers for the Dagster-layer tests: sync targets and the warehouse content the fake's data implies."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import pandas as pd

from poelis_pipelines.cli.runner import Runner, SyncResources, SyncSummary
from poelis_pipelines.defs.poelis.names import PoelisDefsNames
from poelis_pipelines.defs.poelis.resources import PoelisSyncSettings, PoelisWarehouseResource
from poelis_pipelines.normalize import normalize
from poelis_pipelines.tables import TABLES
from poelis_pipelines.warehouse import Warehouse
from poelis_pipelines.warehouse.inspection import live_ids

STANDALONE = PoelisDefsNames()
"""The names of the definitions the CLI and the standalone code location build (the factory's defaults)."""
STANDALONE_KEYS = {  # the asset keys of its sync job
    "poelis/workspaces",
    "poelis/users",
    "poelis/products",
    "poelis/items",
    "poelis/properties",
    "poelis/product_versions",
    "poelis/analyst_views",
}


def asset_key(name: str) -> dg.AssetKey:
    return STANDALONE.asset_key(name)


def sensor_tick(
    definitions: dg.Definitions, name: str, instance: dg.DagsterInstance, resources: dict[str, object]
) -> dg.SensorResult:
    """One evaluation of a sensor of `definitions`, as the daemon runs it (its run requests resolved against
    the instance's partitions and those the tick adds)."""
    sensor = definitions.resolve_sensor_def(name)
    with dg.build_sensor_context(
        instance=instance,
        instance_ref=instance.get_ref(),
        resources=resources,
        repository_def=definitions.get_repository_def(),
    ) as context:
        return sensor.evaluate_tick(context)  # type: ignore[return-value]


@dataclass
class SyncTarget:
    """Where a test syncs to, and how to run the real CLI code path (Dagster in process) into it."""

    url: str
    schema: str
    instance: dg.DagsterInstance

    def warehouse(self) -> Warehouse:
        return Warehouse(self.url, self.schema)

    def live_workspace_ids(self) -> list[str]:
        with self.warehouse() as warehouse:
            return live_ids(warehouse, "workspaces")

    def execute(self, sql: str) -> None:
        """Tamper with the warehouse behind the package's back, as a faulty tool or person would."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.url)
        with engine.begin() as connection:
            connection.exec_driver_sql(sql.format(schema=self.schema))
        engine.dispose()

    def sync(
        self,
        only: list[str] | None = None,
        sync_settings: PoelisSyncSettings | None = None,
        max_requests: int | None = None,
    ) -> SyncSummary:
        """The CLI's sync into this target (incremental unless `sync_settings` say otherwise)."""
        resources = SyncResources(
            warehouse=PoelisWarehouseResource(url=self.url, schema_name=self.schema),
            sync_settings=sync_settings or PoelisSyncSettings(),
        )
        runner = Runner(self.instance, resources=resources, max_requests=max_requests)
        return runner.sync(self.live_workspace_ids, only=only)


def expected_frames(dataset: object, workspace_ids: set[str] | None = None) -> dict[str, pd.DataFrame]:
    """What the warehouse must hold: the fake's records, normalized exactly as the sync normalizes them."""
    workspaces = list(dataset.workspaces)  # type: ignore[attr-defined]
    keep = workspace_ids or {workspace["id"] for workspace in workspaces}
    products = [product for product in dataset.products if product["workspace_id"] in keep]  # type: ignore[attr-defined]
    workspace_of_product = {product["id"]: product["workspace_id"] for product in products}
    frames = {
        "workspaces": normalize("workspaces", workspaces, endpoint="expected"),
        "products": normalize("products", products, endpoint="expected"),
    }
    item_frames, property_frames = [], []
    product_of_item: dict[str, str] = {}
    for product_id, workspace_id in workspace_of_product.items():
        product_items = [item for item in dataset.items if item["product_id"] == product_id]  # type: ignore[attr-defined]
        product_of_item.update({item["id"]: product_id for item in product_items})
        item_frames.append(normalize("items", product_items, endpoint="expected", workspace_id=workspace_id))
        item_ids = {item["id"] for item in product_items}
        product_properties = [prop for prop in dataset.properties if prop["item_id"] in item_ids]  # type: ignore[attr-defined]
        property_frames.append(
            normalize(
                "properties",
                product_properties,
                endpoint="expected",
                product_id=product_id,
                workspace_id=workspace_id,
            )
        )
    frames["items"] = pd.concat(item_frames, ignore_index=True)
    frames["properties"] = pd.concat(property_frames, ignore_index=True)
    return frames


def comparable(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """The data columns of a table (not the sync bookkeeping), sorted by id, for exact comparison."""
    columns = [column.name for column in TABLES[table].columns if column.origin != "bookkeeping"]
    columns.append("_extra")
    columns = list(dict.fromkeys(columns))
    return frame[columns].sort_values("id").reset_index(drop=True)
