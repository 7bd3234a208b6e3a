"""What a full or an incremental sync will cost, from what the warehouse already holds: requests, and time
at the key's quota; and what an hourly schedule can hold at a quota share.

No request is made: the last sync's listings are in the warehouse, and a sync lists the same scopes again
(the organization's levels: workspaces, users; each workspace's products, each product's items) and then
the properties of every item (full) or of the items due (incremental: `poelis_pipelines.incremental` picks
them), so its requests follow from their sizes and the client's paging. Then the published versions, as
`versions.sync_versions` spends on them in the versions mode: nothing for a complete version; for one still
to store, its item listing and one properties request per item not stored yet (sized as the product's
draft while the version was never listed: an estimate); and each product's probe when it is due, once a
day (one request per version number below the highest known that is not known, and one for the next).
`scan` spends only the cheap listings, to count today's organization instead. Dagster-free: the CLI's `plan`
and the sync's up-front estimate both use it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from poelis_pipelines import settings
from poelis_pipelines.budget import scheduled_run_budget
from poelis_pipelines.client import PoelisClient
from poelis_pipelines.client.client import Record
from poelis_pipelines.incremental import REASONS, IncrementalSettings, Reason, item_catalog, select_items
from poelis_pipelines.levels import organization_levels
from poelis_pipelines.tables import REMOVED_AT
from poelis_pipelines.versions import (
    VersionKey,
    VersionRow,
    is_due,
    known_versions,
    last_probe,
    resolve_versions_mode,
    stored_item_counts,
)
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
    versions_requests: int = 0
    """Of `requests`, what the published versions cost (after every other level)."""

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


def plan_full_sync(
    warehouse: Warehouse, workspace_ids: Sequence[str] | None = None, *, versions_mode: str | None = None
) -> SyncPlan:
    """The cost of syncing `workspace_ids` (default: every live workspace) as the warehouse stands, with the
    published versions of `versions_mode` (else `POELIS_VERSIONS`) due now.

    Exact when nothing changed in the organization since the last sync and every version to store was
    listed before; `requests` is None while a target workspace's products or a product's items have never
    been listed.
    """
    state = warehouse_state(warehouse, workspace_ids)
    workspaces = plan_workspaces(state, versions_mode=versions_mode)
    catalog_items = set(state.catalog["item_id"])
    return SyncPlan(
        workspaces=len(workspaces),
        products=sum(workspace.products for workspace in workspaces),
        items=sum(workspace.items for workspace in workspaces),
        items_with_many_properties=sum(item in catalog_items for item in state.crowded_items),
        requests=full_requests(state, workspaces) if state.known else None,
        versions_requests=sum(workspace.versions.requests for workspace in workspaces),
    )


def quota_per_minute(advertised_limit: int | None) -> float:
    """Requests per minute the key's quota allows: the advertised `X-RateLimit-Limit` per window, else the
    documented default."""
    limit = advertised_limit if advertised_limit else settings.DEFAULT_RATE_LIMIT_PER_MINUTE
    return limit * 60.0 / settings.RATE_LIMIT_WINDOW_SECONDS


PLAN_RUN_KEY = "(plan)"
"""The run key a plan selects items under: no run has it, so nothing counts as listed by this run."""


@dataclass(frozen=True)
class OrganizationState:
    """What a plan counts from: the organization's workspaces, the target workspaces' live products, their
    items as `incremental.item_catalog` returns them (soft-deleted included: the listing shows them), and the
    live property count of every item with a page of properties or more; the records of each organization
    level (workspaces, users), and the target products' published versions as the warehouse knows them."""

    organization_records: dict[str, int]
    """Each organization level's live records (its listing's size)."""
    workspace_ids: list[str]
    products: pd.DataFrame
    """Columns `id`, `workspace_id`."""
    catalog: pd.DataFrame
    crowded_items: dict[str, int]
    known: bool
    """False while the workspaces or some target scope were never listed: their size is then unknown."""
    baselines: dict[str, int | None]
    """Each target product's baseline version number."""
    versions: dict[VersionKey, VersionRow]
    """The target products' `product_versions` rows."""
    stored_items: dict[VersionKey, int]
    """Items stored per version (an unfinished version resumes after them)."""

    @property
    def workspace_count(self) -> int:
        return self.organization_records["workspaces"]


def warehouse_state(warehouse: Warehouse, workspace_ids: Sequence[str] | None = None) -> OrganizationState:
    """The organization as the warehouse's last listings show it (no request)."""
    with warehouse.session():
        organization_records = {
            level.name: len(_live(warehouse, level.table, "id")) for level in organization_levels()
        }
        workspaces = _live(warehouse, "workspaces", "id")["id"].astype(str)
        products = _live(warehouse, "products", "id, workspace_id, baseline_version_number")
        targets = list(workspace_ids) if workspace_ids else list(workspaces)
        catalog = item_catalog(warehouse, targets)
        crowded = warehouse.query(  # only items with a full page of properties cost more than one request
            "SELECT item_id, COUNT(*) AS n FROM {{schema}}.properties "
            f"WHERE {REMOVED_AT} IS NULL GROUP BY item_id HAVING COUNT(*) >= :page",
            {"page": settings.MAX_PAGE_SIZE},
        )
        workspaces_listed = settings.WAREHOUSE_SCOPE_ALL in _listed_scopes(warehouse, "workspaces")
        listed_workspaces = _listed_scopes(warehouse, "products")
        listed_products = _listed_scopes(warehouse, "items")
        products = products[products["workspace_id"].isin(targets)].reset_index(drop=True)
        versions = known_versions(warehouse, list(products["id"]))
        stored_items = stored_item_counts(warehouse)
    baselines = {
        str(product): None if pd.isna(number) else int(number)
        for product, number in zip(products["id"], products["baseline_version_number"], strict=True)
    }
    products = products[["id", "workspace_id"]].astype(str)
    return OrganizationState(
        organization_records=organization_records,
        workspace_ids=targets,
        products=products,
        catalog=catalog,
        crowded_items=dict(zip(crowded["item_id"].astype(str), crowded["n"].astype(int), strict=True)),
        known=workspaces_listed
        and set(targets) <= listed_workspaces
        and set(products["id"]) <= listed_products,
        baselines=baselines,
        versions=versions,
        stored_items=stored_items,
    )


def scanned_state(
    known: OrganizationState,
    organization: Mapping[str, Sequence[Mapping[str, Any]]],
    listings: Mapping[str, Sequence[Record]],
    workspace_ids: Sequence[str] | None = None,
) -> OrganizationState:
    """The organization as today's listings show it, with what the warehouse knows of each item and version.

    `organization`: each organization level's records (workspaces, users); `listings`: each target
    workspace's products (default targets: every listed workspace), then each product's items, as the API
    listed them (`scan` makes them). An item the warehouse never saw is new; one whose record differs from
    the warehouse's (`updatedAt`, name, parent, deleted) counts as hinted, as the next run would see it.
    """
    workspaces = organization["workspaces"]
    targets = list(workspace_ids) if workspace_ids else [str(workspace["id"]) for workspace in workspaces]
    baselines = {
        str(product["id"]): product.get("baseline_version_number")
        for workspace_id in targets
        for product in listings.get(workspace_id, ())
    }
    products = pd.DataFrame(
        [
            {"id": str(product["id"]), "workspace_id": workspace_id}
            for workspace_id in targets
            for product in listings.get(workspace_id, ())
        ],
        columns=["id", "workspace_id"],
    )
    workspace_of = dict(zip(products["id"], products["workspace_id"], strict=True))
    scanned = pd.DataFrame(
        [
            {
                "item_id": str(item["id"]),
                "product_id": product_id,
                "workspace_id": workspace_of[product_id],
                "updated_at": item.get("updatedAt"),
                "name": item.get("name"),
                "parent_item_id": item.get("parent_item_id"),
                "deleted": bool(item.get("deleted")),
            }
            for product_id in products["id"]
            for item in listings.get(product_id, ())
        ],
        columns=["item_id", "product_id", "workspace_id", "updated_at", "name", "parent_item_id", "deleted"],
    )
    scanned["updated_at"] = pd.to_datetime(scanned["updated_at"], utc=True, format="ISO8601")
    before = known.catalog.set_index("item_id")
    seen = scanned["item_id"].isin(before.index)
    was = before.reindex(scanned["item_id"]).reset_index()
    record_changed = pd.Series(False, index=scanned.index)
    for column in ("updated_at", "name", "parent_item_id", "deleted"):
        now, then = scanned[column], was[column]
        record_changed |= ~((now == then) | (now.isna() & then.isna())).fillna(False).astype(bool)
    scanned["listed_at"] = was["listed_at"].where(seen)
    scanned["listed_by_run"] = was["listed_by_run"].where(seen)
    listed = scanned["listed_at"].notna()
    scanned["listing_changed"] = listed & (
        was["listing_changed"].fillna(False).astype(bool) | (seen & record_changed)
    )
    return OrganizationState(
        organization_records={name: len(records) for name, records in organization.items()},
        workspace_ids=targets,
        products=products,
        catalog=scanned,
        crowded_items=known.crowded_items,
        known=True,
        baselines=baselines,
        versions=known.versions,
        stored_items=known.stored_items,
    )


@dataclass(frozen=True)
class VersionsPlan:
    """What a run's versions level requests for one workspace's products, and for what."""

    requests: int = 0
    versions: int = 0
    """Versions it would store (each baseline not complete yet; with `all`, every version)."""
    estimated: int = 0
    """Of those, versions never listed: sized as their product's draft, so `requests` is an estimate."""
    probes: int = 0
    """Products probed for versions (due once a day each), one request per number asked."""


@dataclass(frozen=True)
class WorkspacePlan:
    """One workspace's requests per level, for a full and for an incremental run."""

    workspace_id: str
    products: int
    items: int
    live_items: int
    full: dict[str, int]
    incremental: dict[str, int]
    due: dict[Reason, int]
    """Items an incremental run lists the properties of now, per reason."""
    versions: VersionsPlan


def _property_requests(item_ids: pd.Series, crowded_items: Mapping[str, int]) -> int:
    """One request per item, and one more per further full page of properties."""
    return len(item_ids) + sum(pages(crowded_items[item]) - 1 for item in item_ids if item in crowded_items)


def _version_requests(
    row: VersionRow, stored: int, draft_items: int, draft_extra_pages: int
) -> tuple[int, bool]:
    """What storing one version costs (`versions.sync_versions` lists its items, then the properties of the
    items not stored yet), and whether that is an estimate (never listed: sized as the product's draft,
    whose wide items' extra pages count too)."""
    if row.item_count is None:
        return pages(draft_items) + draft_items + draft_extra_pages, True
    return pages(row.item_count) + max(row.item_count - stored, 0), False


def plan_versions(
    state: OrganizationState, product_ids: Sequence[str], mode: str, now: datetime
) -> VersionsPlan:
    """What `versions.sync_versions` requests for these products in `mode` at `now`, without a budget: the
    baselines not complete, each product's probe if due (assuming the highest known version is the newest),
    then with `all` every other version still pending, each version asked at most once a day."""
    if mode == settings.VERSIONS_NONE:
        return VersionsPlan()
    items_of = state.catalog["product_id"].value_counts()
    extra_pages = Counter[str]()
    for item, product in zip(state.catalog["item_id"], state.catalog["product_id"], strict=True):
        if item in state.crowded_items:
            extra_pages[product] += pages(state.crowded_items[item]) - 1
    requests = versions = estimated = probes = 0
    for product_id in product_ids:
        rows = {row.version_number: row for row in state.versions.values() if row.product_id == product_id}
        probe_due = is_due(last_probe(rows.values(), product_id), now)
        baseline = state.baselines.get(product_id)
        if baseline is not None and baseline not in rows:
            rows[baseline] = VersionRow(product_id, None, baseline)
        stored_now = [row for number, row in rows.items() if number == baseline and _fetchable(row, now)]
        if probe_due:
            present = {number for number, row in rows.items() if row.status != "missing" or row in stored_now}
            gaps = [number for number in range(1, max(present, default=0) + 1) if number not in present]
            rows.update({number: VersionRow(product_id, None, number) for number in gaps})
            probes += len(gaps) + 1
        if mode == settings.VERSIONS_ALL:
            stored_now += sorted(
                (
                    row
                    for number, row in rows.items()
                    if number != baseline and row.status == "pending" and _fetchable(row, now)
                ),
                key=lambda row: -row.version_number,
            )
        for row in stored_now:
            cost, guessed = _version_requests(
                row,
                state.stored_items.get(row.key, 0),
                int(items_of.get(product_id, 0)),
                extra_pages[product_id],
            )
            requests += cost
            versions += 1
            estimated += guessed
    return VersionsPlan(requests + probes, versions, estimated, probes)


def _fetchable(row: VersionRow, now: datetime) -> bool:
    """As `versions.sync_versions` decides: not stored yet, and not asked in vain within the interval."""
    return row.status != "complete" and is_due(row.last_probe_at, now)


def plan_workspaces(
    state: OrganizationState,
    now: datetime | None = None,
    max_staleness: timedelta | None = None,
    *,
    versions_mode: str | None = None,
) -> list[WorkspacePlan]:
    """Per target workspace: what a full run and an incremental run (due at `now` under `max_staleness`,
    no budget; without them, listings only) would request as the organization stands in `state`, with the
    published versions of `versions_mode` (else `POELIS_VERSIONS`) due at `now` (else the present)."""
    mode = resolve_versions_mode(versions_mode)
    versions_at = now or datetime.now(UTC)
    catalog = state.catalog
    chosen_items = (
        select_items(catalog, now, IncrementalSettings(max_staleness), run_key=PLAN_RUN_KEY).items
        if now is not None and max_staleness is not None
        else []
    )
    selected = pd.DataFrame(
        [(chosen.item.item_id, chosen.item.workspace_id, chosen.reason) for chosen in chosen_items],
        columns=["item_id", "workspace_id", "reason"],
    )
    items_per_product = catalog["product_id"].value_counts()
    plans = []
    for workspace_id in state.workspace_ids:
        products = state.products["id"][state.products["workspace_id"] == workspace_id]
        items = catalog[catalog["workspace_id"] == workspace_id]
        chosen = selected[selected["workspace_id"] == workspace_id]
        listings = {
            "products": pages(len(products)),
            "items": sum(pages(int(items_per_product.get(product, 0))) for product in products),
        }
        reasons = chosen["reason"].value_counts()
        versions = plan_versions(state, list(products), mode, versions_at)
        plans.append(
            WorkspacePlan(
                workspace_id=workspace_id,
                products=len(products),
                items=len(items),
                live_items=int((~items["deleted"].fillna(False).astype(bool)).sum()),
                full={
                    **listings,
                    "properties": _property_requests(items["item_id"], state.crowded_items),
                    "product_versions": versions.requests,
                },
                incremental={
                    **listings,
                    "properties": _property_requests(chosen["item_id"], state.crowded_items),
                    "product_versions": versions.requests,
                },
                due={reason: int(reasons.get(reason, 0)) for reason in REASONS},
                versions=versions,
            )
        )
    return plans


def organization_requests(state: OrganizationState) -> dict[str, int]:
    """Each organization level's listing (workspaces, users): one request per page of its records."""
    return {name: pages(records) for name, records in state.organization_records.items()}


def full_requests(state: OrganizationState, workspaces: Sequence[WorkspacePlan]) -> int:
    return sum(organization_requests(state).values()) + sum(
        sum(workspace.full.values()) for workspace in workspaces
    )


def incremental_requests(state: OrganizationState, workspaces: Sequence[WorkspacePlan]) -> int:
    return sum(organization_requests(state).values()) + sum(
        sum(workspace.incremental.values()) for workspace in workspaces
    )


def listing_requests(state: OrganizationState, workspaces: Sequence[WorkspacePlan]) -> int:
    """What every run spends before any property: the organization's listings (workspaces, users), then the
    products and items listings."""
    return sum(organization_requests(state).values()) + sum(
        workspace.full["products"] + workspace.full["items"] for workspace in workspaces
    )


def scan(
    client: PoelisClient, workspace_ids: Sequence[str] | None = None
) -> tuple[dict[str, list[Mapping[str, Any]]], dict[str, list[Record]]]:
    """Today's records of each organization level (workspaces, users), and the target workspaces' products
    and the products' items (soft-deleted included), as a sync lists them: the cheap listings only, about
    one request per 200 records."""
    organization = {
        level.name: list(level.listing.fetch(client, settings.WAREHOUSE_SCOPE_ALL))
        for level in organization_levels()
        if level.listing is not None
    }
    workspaces = organization["workspaces"]
    targets = list(workspace_ids) if workspace_ids else [str(workspace["id"]) for workspace in workspaces]
    listings: dict[str, list[Record]] = {}
    for workspace_id in targets:
        listings[workspace_id] = list(client.iter_products(workspace_id))
        for product in listings[workspace_id]:
            listings[str(product["id"])] = list(client.iter_items(str(product["id"]), include_deleted=True))
    return organization, listings


@dataclass(frozen=True)
class ScheduleCapacity:
    """What a schedule firing every `interval` can do at `requests_per_minute` × `quota_share`.

    Each run's budget fits its interval less a margin (so runs never pile up); every run spends
    `listing_requests` first, and what is left lists properties, about one request per item.
    """

    interval: timedelta
    budget_per_run: int
    listing_requests: int
    live_items: int

    @classmethod
    def of(
        cls,
        interval: timedelta,
        requests_per_minute: float,
        quota_share: float,
        listing_requests: int,
        live_items: int,
    ) -> ScheduleCapacity:
        budget = scheduled_run_budget(interval, share=quota_share, per_minute=requests_per_minute)
        return cls(interval, budget, listing_requests, live_items)

    @property
    def items_per_run(self) -> int:
        """Items a run can list the properties of after its listings."""
        return max(0, self.budget_per_run - self.listing_requests)

    def runs_for(self, property_requests: int) -> int | None:
        """Runs needed to make `property_requests` (a first load: one per item); None: a run's budget does
        not even cover its listings."""
        if property_requests == 0:
            return 0
        return math.ceil(property_requests / self.items_per_run) if self.items_per_run else None

    @property
    def holdable_staleness(self) -> timedelta | None:
        """The bound this schedule holds once loaded: every live item re-listed within it, when the whole
        per-run remainder goes to the rotation (None: it cannot list any item)."""
        runs = self.runs_for(self.live_items)
        return None if runs is None else max(runs, 1) * self.interval

    def share_needed(self, max_staleness: timedelta, requests_per_minute: float) -> float:
        """The quota share at which this schedule holds `max_staleness`: each run lists its share of the
        live items (all of them when the bound is shorter than the interval) after its listings."""
        runs_in_bound = max(1, math.floor(max_staleness / self.interval)) if max_staleness else 1
        needed = self.listing_requests + math.ceil(self.live_items / runs_in_bound)
        minutes = self.interval.total_seconds() / 60
        return needed / (requests_per_minute * minutes * (1 - settings.SCHEDULED_RUN_BUDGET_MARGIN))
