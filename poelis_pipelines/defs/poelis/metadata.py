"""Materialization metadata: what the Dagster UI shows for each load (schema, counts, HTTP cost, preview)."""

from __future__ import annotations

from typing import Any

import dagster as dg

from poelis_pipelines.sync import LevelResult
from poelis_pipelines.tables import TABLES
from poelis_pipelines.warehouse import Warehouse
from poelis_pipelines.warehouse.inspection import count_rows, preview

PREVIEW_ROWS = 5
PREVIEW_COLUMNS = 6


def column_schema(table: str) -> dg.TableSchema:
    """The Dagster column schema, derived from the one table declaration."""
    declaration = TABLES[table]
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
    warehouse: Warehouse, table: str, result: LevelResult, workspace_ids: list[str] | None
) -> dict[str, Any]:
    """What one step loaded. A step over several workspace partitions (a CLI sync) reports its totals over
    all of them, which Dagster attaches to each partition's materialization; the preview shows the first."""
    scopes: list[dict[str, str]] = (
        [{}] if workspace_ids is None else [{"workspace_id": workspace_id} for workspace_id in workspace_ids]
    )
    sample = preview(warehouse, table, PREVIEW_ROWS, **scopes[0])
    metadata: dict[str, Any] = {
        "dagster/row_count": sum(count_rows(warehouse, table, **scope) for scope in scopes),
        "dagster/column_schema": column_schema(table),
        "dagster/table_name": f"{warehouse.schema}.{table}",
        "records_from_api": result.records_from_api,
        "inserted": result.inserted,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "removed": result.removed,
        "scopes_synced": len(result.scopes_synced),
        "scopes_resumed": len(result.scopes_resumed),
        "http_requests": result.http.get("requests", 0),
        "http_retries": dg.MetadataValue.json(result.http.get("retries", {})),
        "http_429s": result.http.get("rate_limited", 0),
        "seconds_waited": float(result.http.get("seconds_waited", 0.0)),
        "preview": dg.MetadataValue.md(sample.iloc[:, :PREVIEW_COLUMNS].to_markdown(index=False)),
    }
    if workspace_ids is not None:
        metadata["workspaces"] = len(workspace_ids)
    return metadata
