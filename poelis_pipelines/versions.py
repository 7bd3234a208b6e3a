"""Published versions of products: found, then stored once each, with no Dagster in sight.

A published version never changes (SPEC 1.7), so its items and properties cost their requests once, ever:
a version `complete` in `product_versions` is never requested again. No endpoint lists a product's
versions, so they are found from `baseline_version_number` and by probing `version=N` (versions are numbered
1, 2, ...) with the cheapest listing (one item) for each number not known yet, until the API answers 404,
at most once per `VERSION_PROBE_INTERVAL_HOURS` per product.

A version's content is its item listing, then each item's properties, fetched a few items at a time (the
sync layer's `Prefetcher`) and committed with the items they belong to: an `item_versions` row means its
properties are stored too, so a crash resumes a version at the first item not stored, and a version is
marked `complete` in the transaction that stores its last item, never before. Versions spend what is left
of the client's request budget after the draft: baselines first, then the products' probes, then (mode
`all`) the newest versions. A spent budget ends the run with what it fetched committed.

Bad input never fails the sync: a baseline that points at no version is recorded `missing`; a 404 in the
middle of a version, or a version that lists no items, leaves it `pending` until its next probe time. Each
gives one warning (logged and returned).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from poelis_pipelines import settings
from poelis_pipelines.client import ConfigurationError, NotFoundError, PoelisClient, RequestBudgetExhausted
from poelis_pipelines.incremental import workspace_filter
from poelis_pipelines.normalize import normalize
from poelis_pipelines.sync import Prefetcher, http_since
from poelis_pipelines.sync import now as current_time
from poelis_pipelines.tables import (
    ITEM_VERSIONS,
    PANDAS_DTYPES,
    PRODUCT_VERSIONS,
    PROPERTY_VERSIONS,
    REMOVED_AT,
    SYNCED_AT,
    Table,
)
from poelis_pipelines.warehouse import Warehouse
from poelis_pipelines.warehouse.statements import qualified

logger = logging.getLogger(__name__)

VersionKey = tuple[str, int]
"""(product id, version number)."""


@dataclass
class VersionRow:
    """One `product_versions` row (see its column docs in `tables.PRODUCT_VERSIONS`)."""

    product_id: str
    workspace_id: str | None
    version_number: int
    is_baseline: bool = False
    status: str = "pending"
    item_count: int | None = None
    property_count: int | None = None
    discovered_at: datetime | None = None
    completed_at: datetime | None = None
    last_probe_at: datetime | None = None
    note: str | None = None

    @property
    def key(self) -> VersionKey:
        return self.product_id, self.version_number


@dataclass
class VersionsResult:
    """What a versions run did and left, over the products of its workspaces."""

    mode: str
    completed: list[VersionKey] = field(default_factory=list)
    """Versions this run stored the last items of."""
    discovered: list[VersionKey] = field(default_factory=list)
    """Versions this run found (from a baseline number, or by a probe)."""
    probed_products: int = 0
    complete: int = 0
    pending: int = 0
    missing: int = 0
    """Versions in each status after the run (`missing`: numbers the API answered 404 for)."""
    backlog: int = 0
    """Pending versions the mode stores (each baseline; with `all`, every version) left for later runs."""
    budget_exhausted: bool = False
    warnings: list[str] = field(default_factory=list)
    http: dict[str, Any] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return int(self.http.get("requests", 0))


def is_due(last_asked: datetime | None, now: datetime) -> bool:
    """Whether a product's probe, or a version asked in vain, may be asked again: never asked, or asked at
    least `VERSION_PROBE_INTERVAL_HOURS` ago (`plan` counts a run's versions by the same rule)."""
    return last_asked is None or now - last_asked >= timedelta(hours=settings.VERSION_PROBE_INTERVAL_HOURS)


class _VersionBroken(Exception):
    """A version's content could not be listed whole in this run: it stays pending until its next probe."""


def _present(value: Any) -> Any:
    """A pandas cell as a plain Python value (None for every kind of null)."""
    if value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _rows_frame(rows: Sequence[VersionRow]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            column.name: pd.Series(
                [getattr(row, column.name) for row in rows], dtype=PANDAS_DTYPES[column.type]
            )
            for column in PRODUCT_VERSIONS.columns
        }
    )


def _version_frame(
    table: Table, frame: pd.DataFrame, version_number: int, stored_at: datetime
) -> pd.DataFrame:
    """A normalized draft-table frame (`items`, `properties`) as the rows of one version of it."""
    frame = frame.drop(columns=[REMOVED_AT])
    frame["version_number"] = pd.Series([version_number] * len(frame), dtype="Int64", index=frame.index)
    frame[SYNCED_AT] = pd.Series(
        [stored_at] * len(frame), dtype=PANDAS_DTYPES["timestamp"], index=frame.index
    )
    return frame[list(table.column_names)].reset_index(drop=True)


def known_versions(warehouse: Warehouse, product_ids: Sequence[str]) -> dict[VersionKey, VersionRow]:
    """The `product_versions` rows of these products."""
    known = warehouse.read_table(PRODUCT_VERSIONS.name)
    known = known[known["product_id"].isin(list(product_ids))]
    rows: dict[VersionKey, VersionRow] = {}
    for record in known.to_dict("records"):
        row = VersionRow(**{str(name): _present(value) for name, value in record.items()})
        row.version_number = int(row.version_number)
        rows[row.key] = row
    return rows


def stored_item_counts(warehouse: Warehouse) -> dict[VersionKey, int]:
    """Items stored per version (with their properties): where an unfinished version resumes."""
    relation = qualified(warehouse.schema, ITEM_VERSIONS.name, warehouse.dialect)
    frame = warehouse.query(
        f"SELECT product_id, version_number, COUNT(*) AS n FROM {relation} "
        "GROUP BY product_id, version_number"
    )
    return {
        (str(product), int(number)): int(count)
        for product, number, count in frame.itertuples(index=False, name=None)
    }


def last_probe(rows: Iterable[VersionRow], product_id: str) -> datetime | None:
    """When the product was last asked for a version it does not have (its `missing` rows)."""
    return max(
        (
            row.last_probe_at
            for row in rows
            if row.product_id == product_id and row.status == "missing" and row.last_probe_at
        ),
        default=None,
    )


class _Versions:
    """One run over the products of some workspaces: the known versions, what to fetch, and the writes."""

    def __init__(
        self,
        client: PoelisClient,
        warehouse: Warehouse,
        workspace_ids: Sequence[str],
        mode: str,
        now: datetime,
    ) -> None:
        self.client = client
        self.warehouse = warehouse
        self.now = now
        self.result = VersionsResult(mode)
        self.products = self._products(workspace_ids)
        self.rows = known_versions(warehouse, list(self.products))
        # decided before this run asks anything: its own 404s (a missing baseline) count from the next run on
        self.probe_due = {
            product_id: self._due(last_probe(self.rows.values(), product_id)) for product_id in self.products
        }

    def _products(self, workspace_ids: Sequence[str]) -> dict[str, tuple[str, int | None]]:
        """The workspaces' products the API still lists → (workspace, baseline number)."""
        where, params = workspace_filter(workspace_ids)
        products = qualified(self.warehouse.schema, "products", self.warehouse.dialect)
        frame = self.warehouse.query(
            f"SELECT p.id, p.workspace_id, p.baseline_version_number FROM {products} AS p "
            f"WHERE p._removed_at IS NULL AND {where} ORDER BY p.workspace_id, p.id",
            params,
        )
        return {
            str(product_id): (str(workspace_id), None if _present(baseline) is None else int(baseline))
            for product_id, workspace_id, baseline in frame.itertuples(index=False, name=None)
        }

    # --- bookkeeping ---------------------------------------------------------------------------------------

    def _warn(self, message: str) -> None:
        self.result.warnings.append(message)
        logger.warning("%s", message)

    def _due(self, moment: datetime | None) -> bool:
        return is_due(moment, self.now)

    def _row(self, product_id: str, number: int) -> VersionRow:
        """The row of a version, a new pending one (found now) if the sync did not know it."""
        row = self.rows.get((product_id, number))
        if row is None:
            workspace_id, baseline = self.products[product_id]
            row = VersionRow(product_id, workspace_id, number, baseline == number, discovered_at=self.now)
            self.rows[row.key] = row
            self.result.discovered.append(row.key)
        return row

    def _write(self, rows: Sequence[VersionRow], **content: pd.DataFrame) -> None:
        """Rows of `product_versions`, with the version content they describe, in one transaction."""
        upserts = {PRODUCT_VERSIONS.name: _rows_frame(rows), **content}
        self.warehouse.merge([], synced_at=self.now, upserts=upserts)

    def record_baselines(self) -> None:
        """The baseline flags as the products say now (a baseline can move), and each baseline's version,
        without a request."""
        changed = []
        for product_id, (_workspace_id, baseline) in self.products.items():
            if baseline is not None:
                self._row(product_id, baseline)
            for row in self.rows.values():
                if row.product_id == product_id and row.is_baseline != (row.version_number == baseline):
                    row.is_baseline = row.version_number == baseline
                    changed.append(row)
        new = [self.rows[key] for key in self.result.discovered]
        if changed or new:
            self._write(list({id(row): row for row in [*new, *changed]}.values()))

    # --- discovery -----------------------------------------------------------------------------------------

    def probe_due_products(self) -> None:
        """For each product not probed within the interval, ask for each version number it does not know,
        from 1, until the API answers 404; that number is kept as `missing`, with when it was asked."""
        for product_id in self.products:
            if not self.probe_due[product_id]:
                continue
            rows = [row for row in self.rows.values() if row.product_id == product_id]
            known = {row.version_number for row in rows if row.status != "missing"}
            number = 1
            written: list[VersionRow] = []
            try:
                while number in known or self.client.probe_version(product_id, number):
                    if number not in known:
                        row = self._row(product_id, number)
                        if row.status == "missing":  # asked in vain before, published since
                            self.result.discovered.append(row.key)
                        row.status, row.last_probe_at, row.note = "pending", None, None
                        written.append(row)
                    number += 1
                missing = self._row(product_id, number)
                if missing.key in self.result.discovered:
                    self.result.discovered.remove(missing.key)  # a number not published is not a find
                missing.status, missing.last_probe_at = "missing", self.now
                missing.note = "not published yet (the API answered 404)"
                written.append(missing)
                self.result.probed_products += 1
            finally:
                if written:
                    self._write(written)

    # --- content -------------------------------------------------------------------------------------------

    def fetchable(self, row: VersionRow) -> bool:
        """Not stored yet, and not asked in vain within the interval."""
        return row.status != "complete" and self._due(row.last_probe_at)

    def baselines(self) -> list[VersionRow]:
        return [row for row in self.rows.values() if row.is_baseline and self.fetchable(row)]

    def newest_others(self) -> list[VersionRow]:
        others = [row for row in self.rows.values() if not row.is_baseline and row.status == "pending"]
        return sorted(
            (row for row in others if self.fetchable(row)),
            key=lambda row: (-row.version_number, row.product_id),
        )

    def store(self, row: VersionRow) -> None:
        """Store one version's items and their properties, resuming after the items already stored."""
        try:
            self._store(row)
        except _VersionBroken as broken:
            row.last_probe_at, row.note = self.now, str(broken)
            self._write([row])
            self._warn(f"version {row.version_number} of product {row.product_id}: {broken}")

    def _store(self, row: VersionRow) -> None:
        product_id, number = row.key
        lineage = {"workspace_id": row.workspace_id or self.products[product_id][0]}
        endpoint = f"GET /items?product_id={product_id}&version={number}"
        try:
            records = list(self.client.iter_items(product_id, include_deleted=True, version=number))
        except NotFoundError:
            row.status, row.last_probe_at = "missing", self.now
            row.note = "the API answered 404 for this version"
            self._write([row])
            what = "the baseline " if row.is_baseline else ""
            self._warn(
                f"product {product_id}: {what}version {number} does not exist (the API answered 404); "
                "recorded as missing, asked again in a day"
            )
            return
        row.status = "pending"
        if not records:
            raise _VersionBroken("its item listing is empty; not marked complete, asked again in a day")
        items = _version_frame(
            ITEM_VERSIONS, normalize("items", records, endpoint=endpoint, **lineage), number, self.now
        )
        stored = self._stored_item_ids(row)
        row.item_count, row.note = len(items), None
        row.property_count = self._stored_property_count(row)
        waiting = [str(item_id) for item_id in items["id"] if item_id not in stored]
        if not waiting:
            self._complete(row, items.iloc[:0], None)
            return
        units = {
            f"{product_id}:v{number}:{waiting[start]}": waiting[start : start + settings.SYNC_ITEMS_PER_FETCH]
            for start in range(0, len(waiting), settings.SYNC_ITEMS_PER_FETCH)
        }
        listed: dict[str, list[tuple[str, int]]] = {}

        def fetch(unit: str) -> Iterator[Mapping[str, Any]]:
            done = listed.setdefault(unit, [])
            for item_id, properties in self.client.fetch_properties_for_items(
                units[unit], include_deleted=True, version=number
            ):
                yield from properties
                done.append((item_id, len(properties)))

        remaining = len(waiting)
        with Prefetcher(PROPERTY_VERSIONS.name, fetch, self.client, list(units)) as groups:
            for group in groups:
                for fetched in group:
                    done = listed.get(fetched.scope, [])
                    count = sum(properties for _item_id, properties in done)
                    done_ids = {item_id for item_id, _properties in done}
                    properties = normalize(
                        "properties",
                        fetched.records[:count],
                        endpoint=f"GET /properties?version={number} (items of {fetched.scope})",
                        product_id=product_id,
                        **lineage,
                    )
                    remaining -= len(done_ids)
                    unit_items = items[items["id"].isin(done_ids)]
                    unit_properties = _version_frame(PROPERTY_VERSIONS, properties, number, self.now)
                    if remaining == 0:
                        self._complete(row, unit_items, unit_properties)
                    elif done_ids:
                        row.property_count = (row.property_count or 0) + len(unit_properties)
                        self._write(
                            [row],
                            **{ITEM_VERSIONS.name: unit_items, PROPERTY_VERSIONS.name: unit_properties},
                        )
                    if isinstance(fetched.error, NotFoundError):
                        raise _VersionBroken(
                            f"an item's properties answered 404 after {len(items) - remaining} of "
                            f"{len(items)} items were stored; not marked complete, asked again in a day"
                        )
                    if fetched.error is not None:
                        raise fetched.error

    def _complete(self, row: VersionRow, items: pd.DataFrame, properties: pd.DataFrame | None) -> None:
        """Store the last items of a version and mark it complete, in one transaction."""
        row.property_count = (row.property_count or 0) + (0 if properties is None else len(properties))
        row.status, row.completed_at, row.last_probe_at, row.note = "complete", self.now, None, None
        content = {ITEM_VERSIONS.name: items}
        if properties is not None:
            content[PROPERTY_VERSIONS.name] = properties
        self._write([row], **content)
        self.result.completed.append(row.key)

    def _stored_item_ids(self, row: VersionRow) -> set[str]:
        frame = self._of_version(ITEM_VERSIONS, "id", row)
        return set(frame["id"].astype(str))

    def _stored_property_count(self, row: VersionRow) -> int:
        return int(self._of_version(PROPERTY_VERSIONS, "COUNT(*) AS n", row)["n"].iloc[0])

    def _of_version(self, table: Table, select: str, row: VersionRow) -> pd.DataFrame:
        relation = qualified(self.warehouse.schema, table.name, self.warehouse.dialect)
        return self.warehouse.query(
            f"SELECT {select} FROM {relation} WHERE product_id = :product AND version_number = :number",
            {"product": row.product_id, "number": row.version_number},
        )

    def tally(self, mode: str) -> None:
        for row in self.rows.values():
            if row.status == "complete":
                self.result.complete += 1
            elif row.status == "pending":
                self.result.pending += 1
                if row.is_baseline or mode == settings.VERSIONS_ALL:
                    self.result.backlog += 1
            else:
                self.result.missing += 1


def resolve_versions_mode(mode: str | None = None) -> str:
    """Which published versions a sync stores: the argument, else `POELIS_VERSIONS`, else `baseline`."""
    raw = (os.environ.get(settings.ENV_VERSIONS, "") if mode is None else mode).strip().lower()
    if not raw:
        return settings.DEFAULT_VERSIONS
    if raw not in settings.VERSIONS_CHOICES:
        source = f"${settings.ENV_VERSIONS}" if mode is None else "versions"
        raise ConfigurationError(
            f"{source} must be one of {', '.join(settings.VERSIONS_CHOICES)} (the published versions to "
            f"store), got {raw!r}."
        )
    return raw


def sync_versions(
    client: PoelisClient,
    warehouse: Warehouse,
    workspace_ids: Sequence[str],
    *,
    mode: str | None = None,
    now: datetime | None = None,
) -> VersionsResult:
    """Find and store the published versions of the workspaces' products (`mode`: `none`, `baseline` or
    `all`, else `POELIS_VERSIONS`, else `baseline`): baselines first, then each product's probe when due,
    then the newest other versions; stop cleanly when the client's request budget is spent.

    `now` is the run's clock for the probe interval and every timestamp written (tests pass a later day).
    """
    mode = resolve_versions_mode(mode)
    result = VersionsResult(mode)
    if mode == settings.VERSIONS_NONE:
        return result
    before = client.stats.snapshot()
    run = _Versions(client, warehouse, workspace_ids, mode, now or current_time())
    try:
        run.record_baselines()
        for row in run.baselines():
            run.store(row)
        run.probe_due_products()
        if mode == settings.VERSIONS_ALL:
            for row in run.newest_others():
                run.store(row)
    except RequestBudgetExhausted:
        run.result.budget_exhausted = True
    run.tally(mode)
    run.result.http = http_since(client, before)
    if run.result.backlog and run.result.budget_exhausted:
        logger.info("the request budget is spent: %d versions wait for a later run", run.result.backlog)
    return run.result


@dataclass(frozen=True)
class VersionChecks:
    """What a data-quality check of the stored versions finds (all zero when they are sound)."""

    repeated_keys: int
    """Rows of `item_versions` or `property_versions` whose (product, version, id) another row has too."""
    unresolved_items: int
    """Properties of a complete version whose item (draft-scoped id) is not in that version."""
    unresolved_parents: int
    """Items of a complete version whose parent (draft-scoped id) is not in that version."""
    miscounted_versions: int
    """Complete versions whose stored items or properties differ from the counts listed."""

    @property
    def sound(self) -> bool:
        return not (
            self.repeated_keys or self.unresolved_items or self.unresolved_parents or self.miscounted_versions
        )


def check_versions(warehouse: Warehouse) -> VersionChecks:
    """Keys unique, references resolved within each complete version, counts as listed: one query each."""
    items, properties, versions = (
        qualified(warehouse.schema, table.name, warehouse.dialect)
        for table in (ITEM_VERSIONS, PROPERTY_VERSIONS, PRODUCT_VERSIONS)
    )
    same_version = "v.product_id = {row}.product_id AND v.version_number = {row}.version_number"
    complete = f"EXISTS (SELECT 1 FROM {versions} AS v WHERE {same_version} AND v.status = 'complete')"
    in_version = (
        f"EXISTS (SELECT 1 FROM {items} AS i WHERE i.product_id = {{row}}.product_id "
        f"AND i.version_number = {{row}}.version_number AND COALESCE(i.draft_item_id, i.id) = {{ref}})"
    )

    def count(sql: str) -> int:
        return int(warehouse.query(f"SELECT COUNT(*) AS n FROM ({sql}) AS found")["n"].iloc[0])

    repeated = sum(
        count(
            f"SELECT product_id, version_number, id FROM {table} "
            "GROUP BY product_id, version_number, id HAVING COUNT(*) > 1"
        )
        for table in (items, properties)
    )
    counted = (
        f"SELECT v.product_id, v.version_number, v.item_count, v.property_count, "
        f"(SELECT COUNT(*) FROM {items} AS i WHERE {same_version.format(row='i')}) AS stored_items, "
        f"(SELECT COUNT(*) FROM {properties} AS p WHERE {same_version.format(row='p')}) AS stored_properties "
        f"FROM {versions} AS v WHERE v.status = 'complete'"
    )
    return VersionChecks(
        repeated_keys=repeated,
        unresolved_items=count(
            f"SELECT 1 FROM {properties} AS p WHERE {complete.format(row='p')} "
            f"AND NOT {in_version.format(row='p', ref='p.item_id')}"
        ),
        unresolved_parents=count(
            f"SELECT 1 FROM {items} AS c WHERE c.parent_item_id IS NOT NULL AND {complete.format(row='c')} "
            f"AND NOT {in_version.format(row='c', ref='c.parent_item_id')}"
        ),
        miscounted_versions=count(
            f"SELECT 1 FROM ({counted}) AS c WHERE c.stored_items IS DISTINCT FROM c.item_count "
            "OR c.stored_properties IS DISTINCT FROM c.property_count"
        ),
    )
