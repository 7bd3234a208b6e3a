"""Materialization metadata: what the Dagster UI shows for each load (the table, what it did, a preview).

Each entry means one thing however the sync ran: the table's entries (`dagster/row_count`, the schema)
describe the whole table as it stands; a workspace partition's entries (counts, HTTP cost, preview) describe
that workspace alone, also when one step synced a range of partitions (the CLI).
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import dagster as dg
import pandas as pd

from poelis_pipelines.budget import estimate_backlog, shortfall
from poelis_pipelines.client import PoelisClient
from poelis_pipelines.client.secrets import scrub
from poelis_pipelines.incremental import REASONS, Freshness, IncrementalReport
from poelis_pipelines.plan import quota_per_minute
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
    if figures.incremental is not None:
        metadata.update(incremental_metadata(figures.incremental))
    return metadata


def _hours(staleness: timedelta | None) -> float:
    """Staleness in hours, numeric so the UI charts it (NaN: no item listed yet)."""
    return math.nan if staleness is None else round(staleness.total_seconds() / 3600, 4)


def incremental_metadata(report: IncrementalReport) -> dict[str, Any]:
    """An incremental properties run for one workspace (or the step): items listed per reason, what changed,
    and the freshness and backlog it left. `rotation_items_changed` is the self-check: property changes found
    on items no item-level hint pointed at (0 run after run: the hints catch the organization's edits)."""
    metadata: dict[str, Any] = {f"items_listed_{reason}": report.listed[reason] for reason in REASONS}
    metadata.update({f"{reason}_items_changed": report.changed[reason] for reason in REASONS})
    metadata["items_resumed"] = report.resumed
    metadata["vanished_items"] = report.vanished_items
    if report.freshness is not None:
        metadata.update(freshness_metadata(report.freshness))
    return metadata


def freshness_metadata(left: Freshness) -> dict[str, Any]:
    return {
        "live_items": left.live_items,
        "never_listed_items": left.never_listed,
        "backlog_items": sum(left.backlog.values()),
        "backlog": dg.MetadataValue.json({str(reason): count for reason, count in left.backlog.items()}),
        "p95_staleness_hours": _hours(left.p95_staleness),
        "max_staleness_hours": _hours(left.max_staleness),
    }


def budget_metadata(
    client: PoelisClient, result: LevelResult, left: Freshness, bound: timedelta
) -> dict[str, Any]:
    """The step's request budget and what it left (every workspace of the step together): the requests the
    run's client sent and may still send, whether the budget ran out, the backlog and the time to clear it at
    the quota share, the runs of this budget it still needs, and whether the bound can hold."""
    rate = quota_per_minute(client.advertised_rate_limit)
    estimate = estimate_backlog(
        left, bound, share=client.quota_share, per_minute=rate, max_requests=client.max_requests
    )
    metadata: dict[str, Any] = {
        "sync_mode": "incremental" if result.incremental is not None else "full",
        "staleness_bound_hours": _hours(bound),
        "run_requests": client.stats.as_dict()["requests"],
        "max_requests": client.max_requests if client.max_requests is not None else math.nan,
        "budget_exhausted": result.budget_exhausted,
        "quota_share": client.quota_share,
        "minutes_to_clear_backlog": round(estimate.minutes_to_clear, 2),
        "bound_holds": estimate.bound_holds and not estimate.backlog_items,
        **{f"step_{name}": value for name, value in freshness_metadata(left).items()},
    }
    if estimate.runs_to_clear is not None:
        metadata["runs_to_clear_backlog"] = estimate.runs_to_clear
    note = shortfall(estimate, bound, share=client.quota_share, per_minute=rate)
    if note is not None:
        metadata["shortfall"] = note
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
