"""The one declaration of every warehouse table: columns, logical types, keys, lineage and documentation.

Everything else is derived from here: the DDL of each dialect (`warehouse.ddl`), the pandas dtypes of the
normalized frames (`normalize`), the Dagster column schemas and checks (`defs`) and `docs/tables.md`. Change a
table here, regenerate the DDL and docs (`python -m poelis_pipelines.warehouse.ddl`), and `Warehouse.ensure()`
adds the new columns to existing warehouses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

LogicalType = Literal["text", "bigint", "double", "boolean", "timestamp", "date", "json"]
Origin = Literal["api", "lineage", "derived", "bookkeeping"]
"""Where a column's value comes from: a field of the API record (`api`), an id the caller passes because
the record does not carry it (`lineage`), a value computed from the record (`derived`), or the loader."""

PANDAS_DTYPES: dict[LogicalType, str] = {
    "text": "string[pyarrow]",
    "json": "string[pyarrow]",
    "bigint": "Int64",
    "boolean": "boolean",
    "double": "double[pyarrow]",
    "timestamp": "datetime64[us, UTC]",
    "date": "date32[pyarrow]",
}
"""The pandas dtype of each logical type, as a dtype string (this module stays free of pandas).

Nullable extension dtypes throughout; Arrow-backed where pandas has no faithful alternative: `double[pyarrow]`
keeps NaN apart from null (pandas' `Float64` folds NaN into NA) and `date32[pyarrow]` is a true date."""

SYNCED_AT = "_synced_at"
REMOVED_AT = "_removed_at"
EXTRA = "_extra"
VALID_FROM = "_valid_from"
VALID_TO = "_valid_to"
CHANGE = "_change"
CHANGE_KINDS = ("insert", "update", "delete", "remove")


@dataclass(frozen=True)
class Column:
    """One warehouse column.

    `path` is the key path inside the API record (`("createdBy", "id")` reads `record["createdBy"]["id"]`);
    it is empty for lineage, derived and bookkeeping columns. `required` marks fields the API documents as
    always present: checks flag their nulls, but the DDL does not enforce them so a faulty record still loads.
    """

    name: str
    type: LogicalType
    description: str
    origin: Origin = "api"
    path: tuple[str, ...] = ()
    nullable: bool = True
    required: bool = False

    @property
    def source(self) -> str:
        """A human-readable statement of where the value comes from (used in the docs)."""
        if self.origin == "api":
            return ".".join(self.path)
        return self.origin


@dataclass(frozen=True)
class ForeignKey:
    """A reference for data-quality checks (not enforced in DDL: parents may arrive later or be removed)."""

    column: str
    ref_table: str
    ref_column: str = "id"


@dataclass(frozen=True)
class Table:
    """One warehouse table: current state, one row per `primary_key`."""

    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ("id",)
    scope_column: str | None = None
    """The parent whose complete listing defines this table's rows (None: the whole table is one listing)."""
    narrower_scope_columns: tuple[str, ...] = ()
    """Parents finer than `scope_column` whose listing is complete too (a properties listing is per item), so
    a merge may be scoped by them instead."""
    foreign_keys: tuple[ForeignKey, ...] = ()
    history: bool = True
    """Whether a `<name>_history` table keeps every version of every row."""

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"table {self.name!r} has no column {name!r}")

    @property
    def scope_columns(self) -> tuple[str, ...]:
        """Every column a merge may be scoped by: `scope_column`, then the narrower ones."""
        return (self.scope_column, *self.narrower_scope_columns) if self.scope_column else ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def describe(self) -> Iterator[tuple[str, LogicalType, str]]:
        """`(name, logical type, description)` per column, e.g. for Dagster's `TableSchema` metadata."""
        for column in self.columns:
            yield column.name, column.type, column.description

    @property
    def versioned_columns(self) -> tuple[Column, ...]:
        """The columns whose change makes a new version: the data and `_extra`, not the sync timestamps."""
        return tuple(column for column in self.columns if column.name not in (SYNCED_AT, REMOVED_AT))

    @property
    def history_name(self) -> str:
        return f"{self.name}_history"


def _api(
    name: str, type_: LogicalType, description: str, *path: str, required: bool = False, nullable: bool = True
) -> Column:
    return Column(name, type_, description, "api", path or (name,), nullable=nullable, required=required)


def _user(role: str, api_key: str) -> tuple[Column, ...]:
    """A PublicUser flattened to id and display name (the avatar URL is not kept)."""
    return (
        _api(f"{role}_id", "text", f"User id (`auth0|…`) of the {role.replace('_', ' ')}.", api_key, "id"),
        _api(f"{role}_name", "text", f"Display name of the {role.replace('_', ' ')}.", api_key, "userName"),
    )


_ID = _api("id", "text", "The API's stable UUID of the record.", nullable=False, required=True)
_READABLE_ID = _api(
    "readable_id", "text", "Human-readable slug; users can change it, so join on `id`.", required=True
)
_NAME = _api("name", "text", "Display name.", required=True)
_DELETED = _api("deleted", "boolean", "The API's soft-delete flag (deleted records are kept).", required=True)
_AUDIT = (
    *_user("created_by", "createdBy"),
    _api("created_at", "timestamp", "When the record was created (UTC).", "createdAt"),
    _api("updated_at", "timestamp", "When the record was last updated (UTC).", "updatedAt"),
    *_user("updated_by", "updatedBy"),
)
_LEGACY = (
    _api("position", "double", "Legacy: sort order among siblings (older API snapshot)."),
    _api("has_changes", "boolean", "Legacy: the draft has unpublished changes (older API snapshot)."),
)
_OWNERS = (
    *_user("owner", "owner"),
    Column(
        "owner_text",
        "text",
        "Legacy: free-text owner such as 'Engineering Team' (older snapshots send `owner` as a string).",
        "derived",
    ),
)
BOOKKEEPING = (
    Column(
        SYNCED_AT,
        "timestamp",
        "When the last sync run that saw this row ran (UTC).",
        "bookkeeping",
        nullable=False,
    ),
    Column(
        REMOVED_AT,
        "timestamp",
        "When the row vanished from a complete listing of its parent (UTC); null while the API lists it.",
        "bookkeeping",
    ),
    Column(
        EXTRA,
        "json",
        "JSON object of unknown API fields and of values that did not fit their column type.",
        "bookkeeping",
    ),
)

WORKSPACES = Table(
    name="workspaces",
    description="Workspaces of the organization, one row per workspace id.",
    columns=(_ID, _READABLE_ID, _NAME, *BOOKKEEPING),
)

PRODUCTS = Table(
    name="products",
    description="Products of every workspace, one row per product id (archived ones included).",
    columns=(
        _ID,
        _READABLE_ID,
        _api("workspace_id", "text", "Parent workspace.", nullable=False, required=True),
        _NAME,
        _api("description", "text", "Free-text description."),
        _api("baseline_version_number", "bigint", "Published version chosen as the baseline."),
        _api("archived", "boolean", "Archived flag; null when the API omits it (its default is false)."),
        _api("status_id", "text", "Workflow status id (workspace-level).", "status", "id"),
        _api("status_name", "text", "Workflow status name, e.g. 'In Progress'.", "status", "name"),
        _api("status_color", "text", "Workflow status colour, hex.", "status", "color"),
        _api("status_group_key", "text", "Workflow status group, e.g. 'started'.", "status", "groupKey"),
        _api(
            "excluded_status_ids",
            "json",
            "JSON array of workspace statuses hidden for this product.",
            "excludedStatusIds",
        ),
        *_user("owner", "owner"),
        *_AUDIT,
        *BOOKKEEPING,
    ),
    scope_column="workspace_id",
    foreign_keys=(ForeignKey("workspace_id", "workspaces"),),
)

ITEMS = Table(
    name="items",
    description="Items (the product trees), draft view, one row per item id (soft-deleted kept).",
    columns=(
        _ID,
        _READABLE_ID,
        _api("product_id", "text", "Parent product.", nullable=False, required=True),
        Column("workspace_id", "text", "Workspace of the product (lineage for analysts).", "lineage"),
        _NAME,
        _DELETED,
        _api("parent_item_id", "text", "Parent item in the tree; null for a root item."),
        _api("draft_item_id", "text", "Draft id of a versioned copy; null for the draft itself."),
        *_AUDIT,
        *_OWNERS,
        *_LEGACY,
        *BOOKKEEPING,
    ),
    scope_column="product_id",
    foreign_keys=(ForeignKey("product_id", "products"), ForeignKey("parent_item_id", "items")),
)

PROPERTIES = Table(
    name="properties",
    description="Properties of every item, draft view, one row per property id (soft-deleted included).",
    columns=(
        _ID,
        _READABLE_ID,
        _api("item_id", "text", "Parent item.", nullable=False, required=True),
        Column(
            "product_id",
            "text",
            "Product of the item (lineage; the scope a sync lists completely).",
            "lineage",
            nullable=False,
        ),
        Column("workspace_id", "text", "Workspace of the product (lineage for analysts).", "lineage"),
        _NAME,
        _api(
            "type",
            "text",
            "numeric, text, date, status, matrix or formula (unknown types are kept).",
            required=True,
        ),
        _api(
            "value",
            "json",
            'The value exactly as received, as JSON text (non-finite numbers as the strings "NaN", '
            '"Infinity", "-Infinity").',
        ),
        Column(
            "value_number",
            "double",
            "Numeric value: the number of a numeric property, or the leading number of a formula result "
            "such as '10 kg'. NaN and ±Infinity are kept as IEEE values where the warehouse supports them.",
            "derived",
        ),
        Column(
            "value_unit",
            "text",
            "Unit of the value: `display_unit` of numeric and matrix, the unit parsed from a formula result.",
            "derived",
        ),
        Column(
            "value_si",
            "double",
            "`value_number` in SI units (`si_unit`), so the values of a category add up whatever unit each "
            "was entered in: 2 t is 2000 kg, 20 °C is 293.15 K, `%` is 0.01, 12 pcs is 12. Converted only "
            "when the unit fits the category (kg for MASS, not pcs) or, without a known category (formula "
            "results, custom categories), from familiar engineering units only; else null, as when pint "
            "cannot read `value_unit`, and for matrices: their cells stay in `value_unit`.",
            "derived",
        ),
        Column(
            "si_unit",
            "text",
            "SI unit of `value_si` (kg, m, W, Pa, K, s, W/kg, ...; N*m for TORQUE, J for ENERGY; 1 when "
            "dimensionless, e.g. `-`, `%` or pcs): what `value_unit` converts to, matrices included. Null "
            "when `value_unit` is not converted (see `value_si`).",
            "derived",
        ),
        Column("value_text", "text", "Text value of text, status and formula properties.", "derived"),
        Column(
            "value_date",
            "date",
            "Date value of date properties (null if the value is not an ISO date).",
            "derived",
        ),
        Column(
            "value_matrix",
            "json",
            "Matrix value as compact JSON text of a 2-D array (`[]` when empty); null when the received "
            "matrix is malformed.",
            "derived",
        ),
        _DELETED,
        _api("category", "text", "Category of numeric and matrix properties, e.g. 'POWER'."),
        _api("display_unit", "text", "Display unit of numeric and matrix properties, e.g. 'kW'."),
        _api("formula_expression", "text", "Formula with `@{property_id}` tokens (formula properties only)."),
        _api("draft_property_id", "text", "Draft id of a versioned copy; null for the draft itself."),
        _api("references", "json", "JSON array of source-document citations `{item_document_id, page}`."),
        *_AUDIT,
        *_OWNERS,
        *_LEGACY,
        _api(
            "has_formula_dependency_changes",
            "boolean",
            "Legacy: a formula input changed (older API snapshot).",
        ),
        *BOOKKEEPING,
    ),
    scope_column="product_id",
    narrower_scope_columns=("item_id",),
    foreign_keys=(ForeignKey("item_id", "items"),),
)

TABLES: dict[str, Table] = {table.name: table for table in (WORKSPACES, PRODUCTS, ITEMS, PROPERTIES)}
"""The four synced tables, in parent-before-child order."""


def history_table(table: Table) -> Table:
    """`<table>_history`: every version of every row; an unchanged row writes nothing."""
    kept = tuple(column for column in table.columns if column.name != SYNCED_AT)
    return Table(
        name=table.history_name,
        description=f"Every version of every row of `{table.name}`: the row as it was from `_valid_from` "
        "until `_valid_to` (null = current version).",
        columns=(
            *kept,
            Column(
                VALID_FROM,
                "timestamp",
                "Sync time this version was first seen.",
                "bookkeeping",
                nullable=False,
            ),
            Column(
                VALID_TO,
                "timestamp",
                "Sync time this version stopped being current; null = current.",
                "bookkeeping",
            ),
            Column(
                CHANGE,
                "text",
                "What made this version: insert (new or reappeared row), update, delete (the API's soft "
                "delete turned on) or remove (vanished from its parent's complete listing).",
                "bookkeeping",
                nullable=False,
            ),
        ),
        primary_key=(),
        history=False,
    )


SYNC_RUNS = Table(
    name="sync_runs",
    description="One row per (run, table, scope) a sync merged: timing, outcome, API traffic and row counts.",
    columns=(
        Column("run_id", "text", "Id of the sync run (the Dagster run id).", "bookkeeping", nullable=False),
        Column(
            "table_name",
            "text",
            "Table the run merged, or '(cli sync)' for the row recording a whole CLI sync's outcome.",
            "bookkeeping",
            nullable=False,
        ),
        Column(
            "scope",
            "text",
            "Parent listed completely (workspace or product id), or '*' for all; for an incremental "
            "properties run, `<product id>:<first item id>:<n>` (n items of the product listed "
            "completely) or '(vanished items)'.",
            "bookkeeping",
            nullable=False,
        ),
        Column("started_at", "timestamp", "When this scope started (UTC).", "bookkeeping"),
        Column(
            "finished_at", "timestamp", "When this scope finished (UTC); null while running.", "bookkeeping"
        ),
        Column(
            "status",
            "text",
            "running, success, failed, or interrupted (a CLI sync stopped by Ctrl-C or SIGTERM).",
            "bookkeeping",
            nullable=False,
        ),
        Column("requests", "bigint", "HTTP requests sent.", "bookkeeping"),
        Column("retries", "bigint", "Requests retried.", "bookkeeping"),
        Column("rate_limited", "bigint", "429 responses received.", "bookkeeping"),
        Column(
            "seconds_waited", "double", "Seconds spent waiting for rate limits and back-off.", "bookkeeping"
        ),
        Column("rows_inserted", "bigint", "Rows inserted (new or reappeared).", "bookkeeping"),
        Column("rows_updated", "bigint", "Rows whose data changed (soft deletes included).", "bookkeeping"),
        Column("rows_unchanged", "bigint", "Rows seen again without a change.", "bookkeeping"),
        Column("rows_removed", "bigint", "Rows that vanished from the scope's listing.", "bookkeeping"),
        Column(
            "error", "text", "Error text of a failed scope (secrets scrubbed by the caller).", "bookkeeping"
        ),
    ),
    primary_key=("run_id", "table_name", "scope"),
    history=False,
)

SYNC_RUN_STATUSES = ("running", "success", "failed", "interrupted")


ITEM_SYNC_STATE = Table(
    name="item_sync_state",
    description="When each item's properties were last listed, and the item's listing record at that time: "
    "what an incremental sync chooses the items to re-list from. Written in the same transaction as the "
    "item's properties, by full and incremental syncs.",
    columns=(
        Column("item_id", "text", "The item (`items.id`).", "bookkeeping", nullable=False),
        Column("product_id", "text", "Product of the item when listed.", "bookkeeping", nullable=False),
        Column("workspace_id", "text", "Workspace of the product when listed.", "bookkeeping"),
        Column(
            "properties_listed_at",
            "timestamp",
            "When the listing of the item's properties started (UTC): its properties are at least this "
            "fresh. Null once the item vanished from its product's listing (its properties were removed).",
            "bookkeeping",
        ),
        Column(
            "properties_count",
            "bigint",
            "Properties the listing returned (deleted ones included).",
            "bookkeeping",
        ),
        Column(
            "listed_item_updated_at",
            "timestamp",
            "The item's `updated_at` when its properties were listed (a change hints at property edits).",
            "bookkeeping",
        ),
        Column("listed_item_name", "text", "The item's name when its properties were listed.", "bookkeeping"),
        Column(
            "listed_parent_item_id",
            "text",
            "The item's parent when its properties were listed.",
            "bookkeeping",
        ),
        Column(
            "deleted_when_listed",
            "boolean",
            "The item's soft-delete flag when its properties were listed: a soft-deleted item is listed once "
            "after its deletion is seen, then left alone.",
            "bookkeeping",
        ),
        Column(
            "run_id",
            "text",
            "The sync run that listed them (a resumed run skips its own items).",
            "bookkeeping",
        ),
    ),
    primary_key=("item_id",),
    history=False,
)


def all_tables() -> tuple[Table, ...]:
    """Every table the warehouse holds, in creation order: merged tables (the hierarchy, `users`), their
    histories, `item_sync_state`, the published versions, `sync_runs`."""
    return (
        *merged_tables().values(),
        *(history_table(table) for table in merged_tables().values()),
        ITEM_SYNC_STATE,
        *VERSION_TABLES,
        SYNC_RUNS,
    )


@dataclass(frozen=True)
class View:
    """An analyst view, created from `sql/views/<name>.sql`. Its columns are declared here for the docs; a
    test creates the view and fails when its columns or their types differ from this declaration."""

    name: str
    description: str
    columns: tuple[Column, ...]


def _shown(table: Table, name: str, *, as_name: str | None = None, description: str | None = None) -> Column:
    """A table's column as a view shows it: same type, its description unless given another."""
    column = table.column(name)
    return Column(as_name or name, column.type, description or column.description, "derived")


def _computed(name: str, type_: LogicalType, description: str) -> Column:
    return Column(name, type_, description, "derived")


_LIVE = "not soft-deleted (`deleted`) and still listed by the API (`_removed_at` null)"

_VALUE_COLUMNS = (  # a property's typed value, as the views show it
    "value_number",
    "value_unit",
    "value_si",
    "si_unit",
    "value_text",
    "value_date",
    "value_matrix",
    "value",
    "category",
    "display_unit",
    "updated_at",
)

PROPERTY_VALUES = View(
    name="property_values",
    description="One row per live property, with the names around it and its typed value, also in SI units: "
    f"the property is {_LIVE}, and so is its item; its product is still listed. Sum `value_si` grouped by "
    "`category` and `si_unit` to add up values entered in different units.",
    columns=(
        _shown(PROPERTIES, "id", as_name="property_id", description="The property's API id."),
        _shown(PROPERTIES, "readable_id", as_name="property_readable_id"),
        _shown(PROPERTIES, "name", as_name="property_name", description="The property's display name."),
        _shown(PROPERTIES, "type", as_name="property_type"),
        _shown(PROPERTIES, "workspace_id"),
        _shown(WORKSPACES, "name", as_name="workspace_name", description="The workspace's display name."),
        _shown(PROPERTIES, "product_id", description="The property's product."),
        _shown(PRODUCTS, "name", as_name="product_name", description="The product's display name."),
        _shown(PROPERTIES, "item_id"),
        _shown(ITEMS, "name", as_name="item_name", description="The item's display name."),
        _computed("item_path", "text", "The item's path from its tree's root, e.g. 'Engine / Compressor'."),
        *(_shown(PROPERTIES, name) for name in (*_VALUE_COLUMNS, SYNCED_AT)),
    ),
)

ITEM_TREE = View(
    name="item_tree",
    description="Every item (gone ones included, see `is_gone`) with its depth and path from the root of its "
    "product's tree. Roots are items without a parent, or whose parent is not in the warehouse.",
    columns=(
        _shown(ITEMS, "id", as_name="item_id", description="The item's API id."),
        _shown(ITEMS, "readable_id", as_name="item_readable_id"),
        _shown(ITEMS, "name", as_name="item_name", description="The item's display name."),
        _shown(ITEMS, "product_id"),
        _shown(ITEMS, "workspace_id"),
        _shown(ITEMS, "parent_item_id"),
        _computed("root_item_id", "text", "The root item of the tree this item is in."),
        _computed("depth", "bigint", "Levels below the root: 0 for a root item."),
        _computed("path", "text", "Names from the root down to this item, joined by ' / '."),
        _computed("is_gone", "boolean", "The item is soft-deleted or no longer listed by the API."),
    ),
)

_COUNTED_TYPES = ("numeric", "text", "date", "status", "matrix", "formula")

PRODUCT_SUMMARY = View(
    name="product_summary",
    description="One row per product the API still lists: its live items and properties (counted by type; "
    f"live means {_LIVE}, and a live property is on a live item) and when anything in it last changed.",
    columns=(
        _shown(PRODUCTS, "id", as_name="product_id", description="The product's API id."),
        _shown(PRODUCTS, "readable_id", as_name="product_readable_id"),
        _shown(PRODUCTS, "name", as_name="product_name", description="The product's display name."),
        _shown(PRODUCTS, "workspace_id"),
        _shown(WORKSPACES, "name", as_name="workspace_name", description="The workspace's display name."),
        _shown(PRODUCTS, "archived"),
        _computed("items", "bigint", "Live items of the product."),
        _computed("properties", "bigint", "Live properties of the product."),
        *(
            _computed(f"{kind}_properties", "bigint", f"Live properties of type {kind}.")
            for kind in _COUNTED_TYPES
        ),
        _computed(
            "last_updated_at",
            "timestamp",
            "Latest `updated_at` of the product, its live items and its live properties (UTC).",
        ),
        _shown(
            PRODUCTS, SYNCED_AT, as_name="last_synced_at", description="When a sync last saw the product."
        ),
    ),
)

FRESHNESS = View(
    name="freshness",
    description="One row per product the API still lists: how fresh the properties of its items are, "
    "from `item_sync_state`. The staleness bound is a setting of each sync, so compare `max_age_hours` with "
    "yours; `never_listed` items are the backlog of a first load.",
    columns=(
        _shown(PRODUCTS, "id", as_name="product_id", description="The product's API id."),
        _shown(PRODUCTS, "name", as_name="product_name", description="The product's display name."),
        _shown(PRODUCTS, "workspace_id"),
        _computed("live_items", "bigint", "Items of the product that are not soft-deleted and still listed."),
        _computed("listed_items", "bigint", "Live items whose properties were listed at least once."),
        _computed("never_listed", "bigint", "Live items whose properties were never listed (the backlog)."),
        _computed(
            "soft_deleted_items",
            "bigint",
            "Soft-deleted items (their properties are listed once after the deletion is seen, then left "
            "alone).",
        ),
        _computed("oldest_listed_at", "timestamp", "The oldest listing of a live item's properties (UTC)."),
        _computed("newest_listed_at", "timestamp", "The newest listing of a live item's properties (UTC)."),
        _computed(
            "max_age_hours", "double", "Hours since `oldest_listed_at`: the product's worst staleness."
        ),
    ),
)


# --- Organization users and published versions (appended: the hierarchy above is unchanged) ---

USERS = Table(
    name="users",
    description="Users of the organization (`GET /organization/users`), one row per user id: who they are "
    "and what they may see. Records name their creator and last editor already (`created_by_name`, "
    "`updated_by_name`); views fall back on this table for a record that carries only the user id.",
    columns=(
        _ID,
        _api("name", "text", "Display name.", required=True),
        _api("email", "text", "E-mail address."),
        _api("org_role", "text", "Role in the organization, e.g. 'admin'."),
        _api(
            "workspace_access",
            "json",
            "JSON array of `{workspace_id, workspace_name, role}`: the workspaces the user may open.",
            "workspaceAccess",
        ),
        _api(
            "product_access",
            "json",
            "JSON array of `{product_id, product_name, workspace_id, role}`; a product role overrides the "
            "workspace role.",
            "productAccess",
        ),
        *BOOKKEEPING,
    ),
)


def merged_tables() -> dict[str, Table]:
    """Every table merged by id from complete listings, with history: the hierarchy (`TABLES`, read at each
    call) and `users`."""
    return {**TABLES, USERS.name: USERS}


_VERSION_NUMBER = Column(
    "version_number",
    "bigint",
    "The published version (1, 2, ...) this row belongs to.",
    "lineage",
    nullable=False,
)
_STORED_AT = Column(
    SYNCED_AT,
    "timestamp",
    "When the sync stored this row (UTC). A published version never changes, so it is stored once.",
    "bookkeeping",
    nullable=False,
)


def _version_table(draft: Table, name: str, description: str) -> Table:
    """A published version's copy of a draft table: the same columns and typed values, keyed by (product,
    version, id), without `_removed_at` or history, since a published version is immutable."""
    columns: list[Column] = []
    for column in draft.columns:
        if column.name == REMOVED_AT:
            continue
        columns.append(_STORED_AT if column.name == SYNCED_AT else column)
        if column.name == "product_id":
            columns.append(_VERSION_NUMBER)
    return Table(
        name=name,
        description=description,
        columns=tuple(columns),
        primary_key=("product_id", "version_number", "id"),
        foreign_keys=(ForeignKey("product_id", "products"),),
        history=False,
    )


ITEM_VERSIONS = _version_table(
    ITEMS,
    "item_versions",
    "Items of every stored published version, one row per (product, version, item id), as `GET "
    "/items?version=N` lists them (soft-deleted included). An item unchanged since the draft keeps the "
    "draft's id; a changed one is a copy with a new `id` and `draft_item_id` pointing at the draft. "
    "`parent_item_id` holds draft-scoped ids: join a parent on `COALESCE(draft_item_id, id)`. A row means "
    "the item's properties of that version are stored too.",
)

PROPERTY_VERSIONS = _version_table(
    PROPERTIES,
    "property_versions",
    "Properties of every stored published version, one row per (product, version, property id), as `GET "
    "/properties?version=N` lists them (soft-deleted included), with the same typed values as "
    "`properties`. `item_id` is the draft-scoped item id (`COALESCE(item_versions.draft_item_id, "
    "item_versions.id)`); match a property across versions and the draft on `COALESCE(draft_property_id, "
    "id)`.",
)

PRODUCT_VERSIONS = Table(
    name="product_versions",
    description="The published versions the sync knows of, one row per (product, version): found from "
    "`baseline_version_number` and by probing `version=N` (no endpoint lists versions), and how far "
    "their content is stored. Only `complete` versions are whole in `item_versions` / "
    "`property_versions`; a complete version is never requested again.",
    columns=(
        Column("product_id", "text", "The product (`products.id`).", "bookkeeping", nullable=False),
        Column("workspace_id", "text", "Workspace of the product.", "bookkeeping"),
        Column("version_number", "bigint", "The published version.", "bookkeeping", nullable=False),
        Column(
            "is_baseline",
            "boolean",
            "The version is the product's `baseline_version_number` (as the last sync saw the product).",
            "bookkeeping",
        ),
        Column(
            "status",
            "text",
            "`pending` (found, content not or not wholly stored), `complete` (every item and every item's "
            "properties stored) or `missing` (the API answered 404 for it at `last_probe_at`: not "
            "published yet, or a baseline number that points at no version).",
            "bookkeeping",
            nullable=False,
        ),
        Column("item_count", "bigint", "Items the version lists (soft-deleted included).", "bookkeeping"),
        Column(
            "property_count",
            "bigint",
            "Properties stored for the version so far (all of them once `complete`).",
            "bookkeeping",
        ),
        Column("discovered_at", "timestamp", "When the sync first found the version (UTC).", "bookkeeping"),
        Column("completed_at", "timestamp", "When its content was wholly stored (UTC).", "bookkeeping"),
        Column(
            "last_probe_at",
            "timestamp",
            "When the API was last asked for the version without completing it (a 404, an empty or "
            "broken listing); it is asked again a day later (UTC). On a `missing` row, when the product "
            "was last probed for a newer version.",
            "bookkeeping",
        ),
        Column("note", "text", "Why the version is missing or not complete yet, when known.", "bookkeeping"),
    ),
    primary_key=("product_id", "version_number"),
    foreign_keys=(ForeignKey("product_id", "products"),),
    history=False,
)

VERSION_TABLES: tuple[Table, ...] = (PRODUCT_VERSIONS, ITEM_VERSIONS, PROPERTY_VERSIONS)
"""Published versions: stored once, replaced by key (never merged: an id recurs across versions)."""

_DRAFT_ITEM = "The item's draft-scoped id (`items.id`): the same item in the draft and in every version."
_DRAFT_PROPERTY = (
    "The property's draft id (`properties.id`): the same property in the draft and every version."
)
_UPDATED_BY_NAME = "Display name of the last editor: the record's own, else the `users` table's for its id."

ITEM_VERSION_TREE = View(
    name="item_version_tree",
    description="The item tree of every stored published version: each item with its depth and path from "
    "its root. A version's parent links are draft-scoped ids, matched on `COALESCE(draft_item_id, id)`; "
    "roots are items without a parent, or whose parent is not in the version.",
    columns=(
        _shown(ITEM_VERSIONS, "product_id"),
        _shown(ITEM_VERSIONS, "version_number"),
        _shown(ITEM_VERSIONS, "id", as_name="item_id", description="The item's id in the version."),
        _computed("draft_item_id", "text", _DRAFT_ITEM),
        _shown(ITEM_VERSIONS, "readable_id", as_name="item_readable_id"),
        _shown(ITEM_VERSIONS, "name", as_name="item_name", description="The item's name in the version."),
        _shown(ITEM_VERSIONS, "workspace_id"),
        _shown(ITEM_VERSIONS, "parent_item_id"),
        _computed("root_item_id", "text", "The draft-scoped id of the root of the item's tree."),
        _computed("depth", "bigint", "Levels below the root: 0 for a root item."),
        _computed("path", "text", "Names in the version from the root down to this item, joined by ' / '."),
        _shown(ITEM_VERSIONS, "deleted", description="The item is soft-deleted in the version."),
    ),
)

BASELINE_PROPERTY_VALUES = View(
    name="baseline_property_values",
    description="One row per live property of each product's baseline version (`baseline_version_number`, "
    "once `product_versions` says it is `complete`), with the names around it and its typed value, also "
    "in SI units: the property is not soft-deleted in the version, nor is its item; the product is still "
    "listed.",
    columns=(
        _shown(PROPERTY_VERSIONS, "product_id"),
        _shown(PRODUCTS, "name", as_name="product_name", description="The product's display name."),
        _shown(PRODUCTS, "workspace_id"),
        _shown(WORKSPACES, "name", as_name="workspace_name", description="The workspace's display name."),
        _shown(PROPERTY_VERSIONS, "version_number", as_name="baseline_version"),
        _shown(
            PROPERTY_VERSIONS, "id", as_name="property_id", description="The property's id in the version."
        ),
        _computed("draft_property_id", "text", _DRAFT_PROPERTY),
        _shown(PROPERTY_VERSIONS, "readable_id", as_name="property_readable_id"),
        _shown(PROPERTY_VERSIONS, "name", as_name="property_name", description="The name in the version."),
        _shown(PROPERTY_VERSIONS, "type", as_name="property_type"),
        _shown(PROPERTY_VERSIONS, "item_id", description=_DRAFT_ITEM),
        _shown(ITEM_VERSIONS, "name", as_name="item_name", description="The item's name in the version."),
        *(_shown(PROPERTY_VERSIONS, name) for name in _VALUE_COLUMNS),
        _computed("updated_by_name", "text", _UPDATED_BY_NAME),
    ),
)

_CHANGED = "Only when the unit (`old_unit`, `new_unit`) is the same; null otherwise, and for non-numbers."

PROPERTY_CHANGES_SINCE_BASELINE = View(
    name="property_changes_since_baseline",
    description="For each product with a `complete` baseline version: every live property of the draft "
    "that differs from the baseline, matched on the draft id (`COALESCE(draft_property_id, id)`): `added` "
    "(in the draft only), `removed` (in the baseline only: deleted since, or on an item deleted since) or "
    "`changed` (value, unit, name or type), with both values and the difference in the property's unit "
    "and in SI units. Unchanged properties are left out.",
    columns=(
        _shown(PRODUCTS, "id", as_name="product_id", description="The product's API id."),
        _shown(PRODUCTS, "name", as_name="product_name", description="The product's display name."),
        _shown(PRODUCTS, "workspace_id"),
        _shown(PROPERTY_VERSIONS, "version_number", as_name="baseline_version"),
        _computed("draft_property_id", "text", _DRAFT_PROPERTY),
        _shown(PROPERTIES, "item_id", description=_DRAFT_ITEM),
        _shown(ITEMS, "name", as_name="item_name", description="The item's name (draft, else baseline)."),
        _shown(PROPERTIES, "name", as_name="property_name", description="The name (draft, else baseline)."),
        _shown(PROPERTIES, "type", as_name="property_type"),
        _computed("change", "text", "added, removed or changed."),
        _shown(
            PROPERTIES, "value", as_name="old_value", description="The value in the baseline (JSON text)."
        ),
        _shown(PROPERTIES, "value", as_name="new_value", description="The value in the draft (JSON text)."),
        _shown(PROPERTIES, "value_number", as_name="old_value_number", description="The baseline's number."),
        _shown(PROPERTIES, "value_number", as_name="new_value_number", description="The draft's number."),
        _shown(PROPERTIES, "value_unit", as_name="old_unit", description="The baseline's unit."),
        _shown(PROPERTIES, "value_unit", as_name="new_unit", description="The draft's unit."),
        _computed("difference", "double", f"`new_value_number - old_value_number`. {_CHANGED}"),
        _shown(PROPERTIES, "value_si", as_name="old_value_si", description="The baseline's number in SI."),
        _shown(PROPERTIES, "value_si", as_name="new_value_si", description="The draft's number in SI."),
        _computed("si_unit", "text", "The SI unit of both values; null when they differ or are not set."),
        _computed("difference_si", "double", "`new_value_si - old_value_si`, when both have one `si_unit`."),
        _shown(PROPERTIES, "updated_at", description="When the draft's property was last updated (UTC)."),
        _computed("updated_by_name", "text", _UPDATED_BY_NAME + " (the draft's property)"),
    ),
)

VIEWS: dict[str, View] = {
    view.name: view
    for view in (
        ITEM_TREE,
        PRODUCT_SUMMARY,
        PROPERTY_VALUES,
        FRESHNESS,
        ITEM_VERSION_TREE,
        BASELINE_PROPERTY_VALUES,
        PROPERTY_CHANGES_SINCE_BASELINE,
    )
}
"""The analyst views (created in file-name order: `property_changes_since_baseline` reads
`baseline_property_values`, `property_values` reads `item_tree`)."""
