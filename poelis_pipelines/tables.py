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
    foreign_keys: tuple[ForeignKey, ...] = ()
    history: bool = True
    """Whether a `<name>_history` table keeps every version of every row."""

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"table {self.name!r} has no column {name!r}")

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
            "Matrix value as compact JSON text of a 2-D array; null when the received matrix is malformed.",
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
            "Parent listed completely (workspace or product id), or '*' for all.",
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


def all_tables() -> tuple[Table, ...]:
    """Every table the warehouse holds, in creation order: synced tables, their histories, `sync_runs`."""
    return (*TABLES.values(), *(history_table(table) for table in TABLES.values()), SYNC_RUNS)
