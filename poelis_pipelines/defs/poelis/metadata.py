"""Materialization metadata: what the Dagster UI shows for each load (the table, what it did, a preview).

Each entry means one thing however the sync ran: the table's entries (`dagster/row_count`, the schema)
describe the whole table as it stands; a workspace partition's entries (counts, HTTP cost, preview) describe
that workspace alone, also when one step synced a range of partitions (the CLI).
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import pandas as pd

from poelis_pipelines.client.secrets import scrub
from poelis_pipelines.sync import LevelResult
from poelis_pipelines.tables import Table, merged_tables
from poelis_pipelines.warehouse import Warehouse
from poelis_pipelines.warehouse.inspection import count_rows, readable_rows

PREVIEW_ROWS = 5
PREVIEW_CELL_CHARACTERS = 60
TYPED_VALUE_COLUMNS = ("value_number", "value_text", "value_date", "value_matrix", "value_unit")
"""A property's value by type, and its unit: the preview shows them as one `value` column."""
PREVIEW_COLUMNS: dict[str, tuple[str, ...]] = {
    "workspaces": ("id", "readable_id", "name"),
    "products": ("name", "readable_id", "status_name"),
    "items": ("name", "readable_id", "parent_item_id"),
    "properties": ("item_id", "name", "type", *TYPED_VALUE_COLUMNS),
    "users": ("name", "email", "org_role"),
}
"""What the preview shows of each table's rows: what an analyst reads (a foreign key as the name it names)."""


def column_schema(table: str) -> dg.TableSchema:
    """The Dagster column schema, derived from the one table declaration."""
    return schema_of(merged_tables()[table])


def schema_of(declaration: Table) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=column.name,
                type=column.type,
                description=column.description,
                constraints=dg.TableColumnConstraints(nullable=column.nullable),
            )
            for column in declaration.columns
        ]
    )


def materialization_metadata(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    table: str,
    result: LevelResult,
    workspace_ids: list[str] | None,
) -> dict[str, Any]:
    """The metadata of the `MaterializeResult`, which Dagster copies to every partition the step covers: the
    table's entries (and, for the unpartitioned `workspaces`, the whole load's).

    Each workspace partition's own figures go through `context.add_asset_metadata(..., partition_key=...)`,
    which Dagster merges into that partition's materialization only, so a step over a partition range still
    writes exactly one materialization per partition. Yielding an `AssetMaterialization` per partition would
    add a second materialization beside the one Dagster writes for the output.
    """
    metadata = table_metadata(warehouse, table)
    if workspace_ids is None:
        metadata.update(load_metadata(warehouse, table, result))
    for workspace_id in workspace_ids or ():
        context.add_asset_metadata(
            load_metadata(warehouse, table, result.for_workspace(workspace_id), workspace_id),
            partition_key=workspace_id,
        )
    return metadata


def table_metadata(warehouse: Warehouse, table: str) -> dict[str, Any]:
    """The table as it stands, whatever partitions the step synced: its row count is every row the table
    holds (`SELECT COUNT(*)`: removed and soft-deleted rows included), its columns and name."""
    return {
        "dagster/row_count": count_rows(warehouse, table),
        "dagster/column_schema": column_schema(table),
        "dagster/table_name": f"{warehouse.schema}.{table}",
    }


def load_metadata(
    warehouse: Warehouse, table: str, figures: LevelResult, workspace_id: str | None = None
) -> dict[str, Any]:
    """What a load did for one workspace (`figures` are that workspace's), or for the whole table."""
    scope = {} if workspace_id is None else {"workspace_id": workspace_id}
    metadata: dict[str, Any] = (
        {} if workspace_id is None else {"workspace": scrub(workspace_label(warehouse, workspace_id))}
    )
    metadata.update(
        {
            "records_from_api": figures.records_from_api,
            "inserted": figures.inserted,
            "updated": figures.updated,
            "unchanged": figures.unchanged,
            "removed": figures.removed,
            "scopes_synced": len(figures.scopes_synced),
            "scopes_resumed": len(figures.scopes_resumed),
            "http_requests": figures.http.get("requests", 0),
            "http_retries": dg.MetadataValue.json(figures.http.get("retries", {})),
            "http_429s": figures.http.get("rate_limited", 0),
            "seconds_waited": round(float(figures.http.get("seconds_waited", 0.0)), 3),
            "preview": dg.MetadataValue.md(scrub(_markdown(readable_preview(warehouse, table, **scope)))),
        }
    )
    return metadata


def workspace_label(warehouse: Warehouse, workspace_id: str) -> str:
    """A workspace as people know it, e.g. "Aerospace Engineering (aerospace_engineering)"; the partition
    keys stay the ids, which never change."""
    rows = readable_rows(warehouse, "workspaces", ("name", "readable_id"), 1, id=workspace_id)
    if rows.empty:
        return workspace_id
    name, readable_id = (None if pd.isna(value) else str(value) for value in rows.iloc[0])
    if name and readable_id:
        return f"{name} ({readable_id})"
    return name or readable_id or workspace_id


def readable_preview(warehouse: Warehouse, table: str, **filters: str) -> pd.DataFrame:
    """The first live rows, as `PREVIEW_COLUMNS` says, with a property's typed value as one `value`."""
    frame = readable_rows(warehouse, table, PREVIEW_COLUMNS[table], PREVIEW_ROWS, **filters)
    if "value_unit" not in frame.columns:
        return frame
    values = [_readable_value(*row) for row in frame[list(TYPED_VALUE_COLUMNS)].itertuples(index=False)]
    return frame.drop(columns=list(TYPED_VALUE_COLUMNS)).assign(value=values)


def _readable_value(number: Any, text: Any, day: Any, matrix: Any, unit: Any) -> str:
    """The text as received (a formula's result carries its unit), else the date, else the number or matrix
    with its unit."""
    if not pd.isna(text):
        return str(text)
    if not pd.isna(day):
        return pd.Timestamp(day).date().isoformat()
    value = f"{number:.10g}" if not pd.isna(number) else matrix
    if pd.isna(value):
        return ""
    return f"{value} {unit}" if not pd.isna(unit) else str(value)


def _markdown(frame: pd.DataFrame) -> str:
    return frame.map(_cell).to_markdown(index=False)


def _cell(value: Any) -> str:
    """One Markdown table cell: empty for null, one line, no column separator, and short."""
    if pd.isna(value):
        return ""
    text = " ".join(str(value).split()).replace("|", "\\|")
    if len(text) > PREVIEW_CELL_CHARACTERS:
        return text[: PREVIEW_CELL_CHARACTERS - 1] + "…"
    return text
