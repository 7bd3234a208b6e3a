"""The hierarchy, declared once: every level the sync runs, in run order, with what each caller needs of it.

A level is one step of a sync: the table it merges into (declared in `poelis_pipelines.tables`), the levels
whose tables it reads (its parents: they run before it), whether it covers the whole organization or a
step's workspaces (a Dagster asset partitioned by workspace), how to run it, and what it holds for people.
The CLI's run and progress order, the Airflow tasks and `plan` read `LEVELS`; so will the Dagster assets.
Adding a level that lists each of its scopes with one request is one table declaration and one entry here.

Organization levels come first (the workspace partitions come from the first); the workspace levels then
run per workspace in this order, the published versions last: they spend what the draft's levels leave of a
run's request budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, cast

from poelis_pipelines import sync
from poelis_pipelines.client import PoelisClient
from poelis_pipelines.incremental import IncrementalSettings
from poelis_pipelines.sync import LevelResult, Listing
from poelis_pipelines.tables import ITEM_VERSIONS, PRODUCT_VERSIONS, PROPERTY_VERSIONS
from poelis_pipelines.versions import VersionsResult, sync_versions
from poelis_pipelines.warehouse import Warehouse

Scope = Literal["organization", "workspace"]
Result = TypeVar("Result", LevelResult, VersionsResult)


@dataclass(frozen=True)
class RunOptions:
    """What a run asks of the levels beyond the scopes: the key committed scopes are remembered under, the
    properties' incremental selection (None: every item) and the published versions to store (None:
    `POELIS_VERSIONS`). A level reads only what concerns it."""

    run_key: str
    incremental: IncrementalSettings | None = None
    versions: str | None = None


@dataclass(frozen=True)
class Level(Generic[Result]):
    """One level of the hierarchy. Either `listing` (one listing per scope, run by `sync.sync_listing`) or
    `sync` (a level with a shape of its own) says how it runs."""

    name: str
    """The level's name: its main table, its asset's name, its label in progress and summaries."""
    scope: Scope
    """`organization`: one run covers the whole table; `workspace`: a run covers some workspaces."""
    description: str
    deps: tuple[str, ...] = ()
    """The levels whose tables this one reads (its parents); each comes earlier in `LEVELS`."""
    listing: Listing | None = None
    sync: Callable[[PoelisClient, Warehouse, Sequence[str], RunOptions], Result] | None = None
    content_tables: tuple[str, ...] = ()
    """Further tables the level writes, beside `name` (a version's items and properties)."""

    def __post_init__(self) -> None:
        if (self.listing is None) == (self.sync is None):
            raise ValueError(f"level {self.name}: give either a listing or a sync function")

    @property
    def table(self) -> str:
        return self.name

    @property
    def tables(self) -> tuple[str, ...]:
        """Every table the level writes."""
        return (self.table, *self.content_tables)

    @property
    def partitioned(self) -> bool:
        """Whether its Dagster asset is partitioned by workspace."""
        return self.scope == "workspace"

    def run(
        self,
        client: PoelisClient,
        warehouse: Warehouse,
        workspace_ids: Sequence[str] = (),
        *,
        run_key: str,
        incremental: IncrementalSettings | None = None,
        versions: str | None = None,
    ) -> Result:
        """Sync the level: the whole table, or the workspaces `workspace_ids`."""
        options = RunOptions(run_key, incremental, versions)
        if self.sync is not None:
            return self.sync(client, warehouse, workspace_ids, options)
        assert self.listing is not None  # (__post_init__)
        listed = sync.sync_listing(
            self.table, self.listing, client, warehouse, workspace_ids, run_key=run_key
        )
        # A listing level's result is a LevelResult; mypy checks this body once per constraint of `Result`.
        return cast(Result, listed)  # type: ignore[redundant-cast,unused-ignore]


def _properties(
    client: PoelisClient, warehouse: Warehouse, workspace_ids: Sequence[str], options: RunOptions
) -> LevelResult:
    return sync.sync_properties(
        client, warehouse, workspace_ids, run_key=options.run_key, incremental=options.incremental
    )


def _versions(
    client: PoelisClient, warehouse: Warehouse, workspace_ids: Sequence[str], options: RunOptions
) -> VersionsResult:
    return sync_versions(client, warehouse, workspace_ids, mode=options.versions)


VERSIONS_LEVEL = PRODUCT_VERSIONS.name

LEVELS: tuple[Level[Any], ...] = (
    Level(
        "workspaces",
        "organization",
        "Every workspace the organization's key can see (the root of the hierarchy).",
        listing=Listing("organization", "GET /workspaces", lambda client, _scope: client.iter_workspaces()),
    ),
    Level(
        "users",
        "organization",
        "The organization's users: who the views name as a record's creator and last editor.",
        deps=("workspaces",),
        listing=Listing(
            "organization",
            "GET /organization/users",
            lambda client, _scope: client.iter_organization_users(),
        ),
    ),
    Level(
        "products",
        "workspace",
        "The products of one workspace: what its teams design.",
        deps=("workspaces",),
        listing=Listing("workspace", "GET /products?workspace_id={scope}", PoelisClient.iter_products),
    ),
    Level(
        "items",
        "workspace",
        "The item trees (assemblies, parts) of every product in one workspace, committed product by product.",
        deps=("products",),
        listing=Listing(
            "product",
            "GET /items?product_id={scope}",
            lambda client, product_id: client.iter_items(product_id, include_deleted=True),
        ),
    ),
    Level(
        "properties",
        "workspace",
        "Every property value (numbers with units, text, dates, statuses, matrices, formulas) of one "
        "workspace: incremental by default (new items, items whose record changed, then the items due under "
        "the staleness bound, oldest first), every item with `full`.",
        deps=("items",),
        sync=_properties,
    ),
    Level(
        VERSIONS_LEVEL,
        "workspace",
        "The published versions of one workspace's products (`product_versions`, with their content in "
        "`item_versions` and `property_versions`): baselines first, then (mode `all`) the newest versions; "
        "a complete version is never requested again.",
        deps=("products", "properties"),
        sync=_versions,
        content_tables=(ITEM_VERSIONS.name, PROPERTY_VERSIONS.name),
    ),
)
"""Every level, in run order: parents before children, organization levels before workspace levels."""


def level(name: str) -> Level[Any]:
    """The level called `name` (KeyError: no such level)."""
    for candidate in LEVELS:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no level {name!r}; the levels are {', '.join(names())}")


def names(levels: Sequence[Level[Any]] | None = None) -> tuple[str, ...]:
    return tuple(candidate.name for candidate in (LEVELS if levels is None else levels))


def organization_levels() -> tuple[Level[Any], ...]:
    """The levels a run over the whole organization syncs (the CLI's first run, Airflow's first task)."""
    return tuple(candidate for candidate in LEVELS if candidate.scope == "organization")


def workspace_levels() -> tuple[Level[Any], ...]:
    """The levels a run over some workspaces syncs, in order (one partition range, one mapped task)."""
    return tuple(candidate for candidate in LEVELS if candidate.scope == "workspace")
