"""What a full sync will cost, from what the warehouse already holds: requests, and time at the key's quota.

No request is made: the last sync's listings are in the warehouse, and a full sync lists the same scopes
again (the workspaces, each workspace's products, each product's items, each item's properties), so its
requests follow from their sizes and the client's paging. Dagster-free, so a `plan` command can grow here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from poelis_pipelines import settings
from poelis_pipelines.tables import REMOVED_AT
from poelis_pipelines.warehouse import Warehouse


def pages(records: int, page_size: int = settings.MAX_PAGE_SIZE) -> int:
    """Requests to list `records` records: the client reads pages until one comes back short."""
    return records // page_size + 1


@dataclass(frozen=True)
class SyncPlan:
    """The scopes a full sync lists and the requests it makes; `requests` is None before items were listed."""

    workspaces: int
    products: int
    items: int
    items_with_many_properties: int
    """Items with at least a page of properties: each costs an extra request per full page."""
    requests: int | None

    def minutes_at(self, requests_per_minute: float) -> float | None:
        return None if self.requests is None else self.requests / requests_per_minute

    def describe(self, requests_per_minute: float) -> str:
        """One line for people: what the sync will do and how long the quota makes it take."""
        rate = f"{requests_per_minute:g} requests/min"
        minutes = self.minutes_at(requests_per_minute)
        if minutes is None:
            synced_before = "first sync" if self.items == 0 else "a sync with scopes never listed before"
            return (
                f"{synced_before} of {self.workspaces:,} workspace(s): its size is unknown until items are "
                f"listed; a full sync costs about one request per item (at {rate}: "
                f"{requests_per_minute:g} items a minute)"
            )
        return (
            f"a full sync of {self.workspaces:,} workspace(s), {self.products:,} products and "
            f"{self.items:,} items: about {self.requests:,} requests; at {rate} {describe_minutes(minutes)}"
        )


def describe_minutes(minutes: float) -> str:
    if minutes < 1:
        return "under a minute"
    if minutes < 120:
        return f"about {round(minutes)} min"
    hours, rest = divmod(round(minutes), 60)
    return f"about {hours} h {rest:02d} min"


def _live(warehouse: Warehouse, table: str, columns: str) -> pd.DataFrame:
    """`columns` of the rows the API listed last (soft-deleted included, removed excluded)."""
    return warehouse.query(f"SELECT {columns} FROM {{{{schema}}}}.{table} WHERE {REMOVED_AT} IS NULL")


def _listed_scopes(warehouse: Warehouse, table: str) -> set[str]:
    """Scopes of `table` that some sync listed completely."""
    frame = warehouse.query(
        "SELECT DISTINCT scope FROM {{schema}}.sync_runs WHERE table_name = :table AND status = 'success'",
        {"table": table},
    )
    return {str(scope) for scope in frame["scope"]}


def plan_full_sync(warehouse: Warehouse, workspace_ids: Sequence[str] | None = None) -> SyncPlan:
    """The cost of syncing `workspace_ids` (default: every live workspace) as the warehouse stands.

    Exact when nothing changed in the organization since the last sync; `requests` is None while a target
    workspace's products or a product's items have never been listed.
    """
    with warehouse.session():
        workspaces = _live(warehouse, "workspaces", "id")["id"].astype(str)
        products = _live(warehouse, "products", "id, workspace_id").astype(str)
        items = _live(warehouse, "items", "id, product_id").astype(str)
        crowded = warehouse.query(  # only items with a full page of properties cost more than one request
            "SELECT item_id, COUNT(*) AS n FROM {{schema}}.properties "
            f"WHERE {REMOVED_AT} IS NULL GROUP BY item_id HAVING COUNT(*) >= :page",
            {"page": settings.MAX_PAGE_SIZE},
        )
        listed_workspaces = _listed_scopes(warehouse, "products")
        listed_products = _listed_scopes(warehouse, "items")
    targets = list(workspace_ids) if workspace_ids else list(workspaces)
    products = products[products["workspace_id"].isin(targets)]
    items = items[items["product_id"].isin(products["id"])]
    products_per_workspace = products["workspace_id"].value_counts()
    items_per_product = items["product_id"].value_counts()
    crowded = crowded[crowded["item_id"].astype(str).isin(items["id"])]
    extra_property_pages = sum(pages(int(count)) - 1 for count in crowded["n"])
    requests = (
        pages(len(workspaces))
        + sum(pages(int(products_per_workspace.get(workspace, 0))) for workspace in targets)
        + sum(pages(int(items_per_product.get(product, 0))) for product in products["id"])
        + len(items)
        + extra_property_pages
    )
    known = set(targets) <= listed_workspaces and set(products["id"]) <= listed_products
    return SyncPlan(
        workspaces=len(targets),
        products=len(products),
        items=len(items),
        items_with_many_properties=len(crowded),
        requests=requests if known else None,
    )


def quota_per_minute(advertised_limit: int | None) -> float:
    """Requests per minute the key's quota allows: the advertised `X-RateLimit-Limit` per window, else the
    documented default."""
    limit = advertised_limit if advertised_limit else settings.DEFAULT_RATE_LIMIT_PER_MINUTE
    return limit * 60.0 / settings.RATE_LIMIT_WINDOW_SECONDS
