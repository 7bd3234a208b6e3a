"""Which items an incremental sync lists the properties of, in what order, and how fresh the others are.

The API has no change signal for properties, so freshness is bought with requests, one per item: first the
items whose properties were never listed (`new`), then those whose listing record changed since their
properties were listed (`hint`: `updated_at`, name, parent or soft-delete flag; a hint, not a guarantee),
then the items due under the staleness bound, listed longest ago first (`rotation`). A fixed share of an item
budget always goes to the rotation, so a flood of hints cannot starve it: every live item is re-listed within
ceil(live items / rotation per run) runs, whatever the hints say. A soft-deleted item is listed once after its
deletion is seen (the flag's change is a hint), then left alone. An item that vanished from its product's
listing is never listed: `vanished_items` names those whose properties are still live, and the sync marks
them removed without a request, as a full sync's product-wide listing would.

Dagster-free: it reads the warehouse (`items`, `products`, `item_sync_state`) and does arithmetic.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import pandas as pd

from poelis_pipelines import settings
from poelis_pipelines.tables import ITEM_SYNC_STATE, PANDAS_DTYPES
from poelis_pipelines.warehouse import Warehouse
from poelis_pipelines.warehouse.statements import qualified

Reason = Literal["new", "hint", "rotation"]
REASONS: tuple[Reason, ...] = ("new", "hint", "rotation")


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_DURATION_UNITS = {"": 3600.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(text: str) -> timedelta:
    """A staleness bound as people write it: `6h`, `2d`, `90m`, `30s`, `1w`, `0`; a bare number is hours."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration: write e.g. 6h, 2d, 90m or 0")
    number, unit = match.groups()
    return timedelta(seconds=float(number) * _DURATION_UNITS[unit])


@dataclass(frozen=True)
class IncrementalSettings:
    """How an incremental properties sync spends its requests.

    `max_staleness`: every live item is due once its properties were listed this long ago (0: every item is
    due now). `max_items`: items this run may list (about one request each; None: every item due).
    `rotation_floor`: the share of `max_items` kept for the items listed longest ago. `budget_errors`: errors
    of the client that mean the run's request budget is spent: the run commits what it fetched and returns.
    `due_within`: an item whose listing will pass `max_staleness` within this time is due now; a scheduled
    run sets it to the interval to the next run, which would otherwise list such an item only once it is
    already past the bound.
    """

    max_staleness: timedelta
    max_items: int | None = None
    rotation_floor: float = settings.DEFAULT_ROTATION_FLOOR
    budget_errors: tuple[type[BaseException], ...] = ()
    due_within: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if self.max_staleness < timedelta(0):
            raise ValueError(f"max_staleness must not be negative, got {self.max_staleness}")
        if self.due_within < timedelta(0):
            raise ValueError(f"due_within must not be negative, got {self.due_within}")
        if self.max_items is not None and self.max_items < 0:
            raise ValueError(f"max_items must be 0 or more, got {self.max_items}")
        if not 0.0 <= self.rotation_floor <= 1.0:
            raise ValueError(f"rotation_floor is a share between 0 and 1, got {self.rotation_floor}")


@dataclass(frozen=True)
class ListedItem:
    """An item as its product's listing last showed it: what `item_sync_state` records when its properties
    are listed, to notice a change of the record later."""

    item_id: str
    product_id: str
    workspace_id: str
    updated_at: datetime | None
    name: str | None
    parent_item_id: str | None
    deleted: bool | None


@dataclass(frozen=True)
class SelectedItem:
    item: ListedItem
    reason: Reason


@dataclass
class Selection:
    """The items to list, in order, and what was due: `due` counts the candidates per reason."""

    items: list[SelectedItem]
    due: dict[Reason, int]
    listed_by_this_run: int
    """Items this run already listed before it was interrupted (a resumed run skips them)."""

    @property
    def selected(self) -> dict[Reason, int]:
        counts = Counter(selected.reason for selected in self.items)
        return {reason: counts[reason] for reason in REASONS}

    @property
    def backlog(self) -> dict[Reason, int]:
        """Items due but not selected (the budget ran short), per reason."""
        selected = self.selected
        return {reason: self.due[reason] - selected[reason] for reason in REASONS}


@dataclass
class Freshness:
    """How fresh the properties of the live (not soft-deleted) items are at `now`, and what is still due."""

    live_items: int
    never_listed: int
    backlog: dict[Reason, int]
    """Items due and not listed by the run, per reason."""
    p95_staleness: timedelta | None
    max_staleness: timedelta | None
    """Over the items listed at least once (None: none was)."""


@dataclass
class IncrementalReport:
    """What an incremental properties run did and left: for the run's metadata and the CLI."""

    selected: dict[Reason, int]
    listed: dict[Reason, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))
    resumed: int = 0
    vanished_items: int = 0
    budget_exhausted: bool = False
    freshness: Freshness | None = None
    changed: dict[Reason, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))
    """Listed items whose properties changed (rows inserted, updated or removed), per reason: changes found
    on `rotation` items are edits no item-level hint announced."""


_CATALOG_COLUMNS = (
    "item_id",
    "product_id",
    "workspace_id",
    "updated_at",
    "name",
    "parent_item_id",
    "deleted",
    "listed_at",
    "listing_changed",
    "listed_by_run",
)


def _relation(warehouse: Warehouse, name: str) -> str:
    return qualified(warehouse.schema, name, warehouse.dialect)


def workspace_filter(workspace_ids: Sequence[str]) -> tuple[str, dict[str, str]]:
    """A condition on `p.workspace_id` (a products alias `p`) and its parameters: one per workspace id."""
    params = {f"workspace_{index}": workspace_id for index, workspace_id in enumerate(workspace_ids)}
    return f"p.workspace_id IN ({', '.join(f':{name}' for name in params) or 'NULL'})", params


def item_catalog(warehouse: Warehouse, workspace_ids: Sequence[str]) -> pd.DataFrame:
    """The live items of the workspaces' live products (those a full sync lists), in id order, with when
    their properties were last listed, whether their record changed since, and which run listed them."""
    where, params = workspace_filter(workspace_ids)
    changed = " OR ".join(
        f"i.{item} IS DISTINCT FROM s.{state}"
        for item, state in (
            ("updated_at", "listed_item_updated_at"),
            ("name", "listed_item_name"),
            ("parent_item_id", "listed_parent_item_id"),
            ("deleted", "deleted_when_listed"),
        )
    )
    frame = warehouse.query(
        "SELECT i.id AS item_id, i.product_id, p.workspace_id, i.updated_at, i.name, i.parent_item_id, "
        "i.deleted, s.properties_listed_at AS listed_at, "
        f"CASE WHEN s.properties_listed_at IS NOT NULL AND ({changed}) THEN 1 ELSE 0 END AS listing_changed, "
        "s.run_id AS listed_by_run "
        f"FROM {_relation(warehouse, 'items')} AS i "
        f"JOIN {_relation(warehouse, 'products')} AS p ON p.id = i.product_id AND p._removed_at IS NULL "
        f"LEFT JOIN {_relation(warehouse, ITEM_SYNC_STATE.name)} AS s ON s.item_id = i.id "
        f"WHERE i._removed_at IS NULL AND {where} ORDER BY i.id",
        params,
    )
    if frame.empty:
        frame = pd.DataFrame(columns=list(_CATALOG_COLUMNS))
    for column in ("updated_at", "listed_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    frame["listing_changed"] = frame["listing_changed"].astype(bool)
    return frame


def listed_item(row: Any) -> ListedItem:
    """A catalog row (`itertuples`) as a `ListedItem`."""

    def present(value: Any) -> Any:
        return (
            None
            if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))
            else value
        )

    updated_at = present(row.updated_at)
    return ListedItem(
        item_id=str(row.item_id),
        product_id=str(row.product_id),
        workspace_id=str(row.workspace_id),
        updated_at=updated_at.to_pydatetime() if updated_at is not None else None,
        name=present(row.name),
        parent_item_id=present(row.parent_item_id),
        deleted=None if present(row.deleted) is None else bool(row.deleted),
    )


def _reasons(catalog: pd.DataFrame, now: datetime, max_staleness: timedelta, run_key: str) -> pd.Series:
    """Each catalog item's reason to be listed now (`None`: not due, left alone, or listed by this run)."""
    listed = catalog["listed_at"].notna()
    by_this_run = listed & catalog["listed_by_run"].eq(run_key).fillna(False).astype(bool)
    deleted = catalog["deleted"].fillna(False).astype(bool)
    due = listed & (catalog["listed_at"] <= pd.Timestamp(now) - max_staleness)
    reasons = pd.Series(None, index=catalog.index, dtype=object)
    reasons[due & ~deleted] = "rotation"
    reasons[catalog["listing_changed"]] = "hint"
    reasons[~listed] = "new"
    reasons[by_this_run] = None
    return reasons


def _ordered(catalog: pd.DataFrame, reasons: pd.Series, reason: Reason) -> pd.DataFrame:
    """The candidates of one reason: new ones by product, the others listed longest ago first."""
    candidates = catalog[reasons.eq(reason).fillna(False).astype(bool)]
    keys = ["product_id", "item_id"] if reason == "new" else ["listed_at", "product_id", "item_id"]
    return candidates.sort_values(keys, kind="stable")


def select_items(
    catalog: pd.DataFrame, now: datetime, incremental: IncrementalSettings, *, run_key: str
) -> Selection:
    """The items to list now, in order (new, hint, rotation oldest first), within `max_items`.

    With a budget, `rotation_floor` of it goes to the rotation first (as far as items are due), then the
    new and hinted items take what they need of the rest, and the rotation any remainder. Items `run_key`
    already listed are not listed again (a resumed run), and count against its budget.
    """
    reasons = _reasons(catalog, now + incremental.due_within, incremental.max_staleness, run_key)
    candidates = {reason: _ordered(catalog, reasons, reason) for reason in REASONS}
    listed_by_this_run = int(
        (catalog["listed_at"].notna() & catalog["listed_by_run"].eq(run_key).fillna(False).astype(bool)).sum()
    )
    rotation = candidates["rotation"]
    priority = pd.concat([candidates["new"], candidates["hint"]])
    if incremental.max_items is None:
        chosen_priority, chosen_rotation = priority, rotation
    else:
        budget = max(0, incremental.max_items - listed_by_this_run)
        floor = min(len(rotation), math.floor(incremental.rotation_floor * budget))
        chosen_priority = priority.iloc[: budget - floor]
        chosen_rotation = rotation.iloc[: budget - len(chosen_priority)]
    chosen = pd.concat([chosen_priority, chosen_rotation])
    return Selection(
        items=[
            SelectedItem(listed_item(row), reason)
            for row, reason in zip(chosen.itertuples(), reasons.loc[chosen.index], strict=True)
        ],
        due={reason: len(candidates[reason]) for reason in REASONS},
        listed_by_this_run=listed_by_this_run,
    )


def freshness(catalog: pd.DataFrame, now: datetime, max_staleness: timedelta, *, run_key: str) -> Freshness:
    """The staleness of the live items' properties at `now`, and the backlog `run_key` left behind."""
    reasons = _reasons(catalog, now, max_staleness, run_key)
    live = catalog[~catalog["deleted"].fillna(False).astype(bool)]
    ages = sorted((pd.Timestamp(now) - live["listed_at"]).dropna())
    return Freshness(
        live_items=len(live),
        never_listed=int(live["listed_at"].isna().sum()),
        backlog={reason: int(reasons.eq(reason).sum()) for reason in REASONS},
        p95_staleness=ages[math.ceil(0.95 * len(ages)) - 1].to_pytimedelta() if ages else None,
        max_staleness=ages[-1].to_pytimedelta() if ages else None,
    )


def vanished_items(warehouse: Warehouse, workspace_ids: Sequence[str]) -> dict[str, str]:
    """Items of the workspaces' live products that vanished from their product's listing while their
    properties are still live or their state says listed → their product id."""
    where, params = workspace_filter(workspace_ids)
    properties, state = _relation(warehouse, "properties"), _relation(warehouse, ITEM_SYNC_STATE.name)
    frame = warehouse.query(
        "SELECT i.id AS item_id, i.product_id "
        f"FROM {_relation(warehouse, 'items')} AS i "
        f"JOIN {_relation(warehouse, 'products')} AS p ON p.id = i.product_id AND p._removed_at IS NULL "
        f"WHERE i._removed_at IS NOT NULL AND {where} AND ("
        f"EXISTS (SELECT 1 FROM {properties} AS pr WHERE pr.item_id = i.id AND pr._removed_at IS NULL) OR "
        f"EXISTS (SELECT 1 FROM {state} AS s WHERE s.item_id = i.id AND s.properties_listed_at IS NOT NULL)"
        ") ORDER BY i.id",
        params,
    )
    return dict(zip(frame["item_id"].astype(str), frame["product_id"].astype(str), strict=True))


def state_rows(listings: Sequence[tuple[ListedItem, datetime | None, int]], *, run_key: str) -> pd.DataFrame:
    """`item_sync_state` rows: per item, when its properties listing started (None: the item vanished) and
    how many properties it returned, with the item's record as listed."""
    values: dict[str, list[Any]] = {
        "item_id": [item.item_id for item, _, _ in listings],
        "product_id": [item.product_id for item, _, _ in listings],
        "workspace_id": [item.workspace_id for item, _, _ in listings],
        "properties_listed_at": [listed_at for _, listed_at, _ in listings],
        "properties_count": [count for _, _, count in listings],
        "listed_item_updated_at": [item.updated_at for item, _, _ in listings],
        "listed_item_name": [item.name for item, _, _ in listings],
        "listed_parent_item_id": [item.parent_item_id for item, _, _ in listings],
        "deleted_when_listed": [item.deleted for item, _, _ in listings],
        "run_id": [run_key] * len(listings),
    }
    return pd.DataFrame(
        {
            column.name: pd.Series(values[column.name], dtype=PANDAS_DTYPES[column.type])
            for column in ITEM_SYNC_STATE.columns
        }
    )
