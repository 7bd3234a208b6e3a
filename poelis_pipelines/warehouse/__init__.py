"""The SQL warehouse: DDL from the declared tables, native bulk staging, keyed merge, history, sync runs."""

from poelis_pipelines.warehouse.errors import (
    BatchError,
    WarehouseBusyError,
    WarehouseConfigError,
    WarehouseError,
    WarehouseReadOnlyError,
    WarehouseUnavailableError,
)
from poelis_pipelines.warehouse.identifiers import quote, validate_identifier
from poelis_pipelines.warehouse.merge import TableCounts
from poelis_pipelines.warehouse.warehouse import Batch, MergeReport, SyncStatus, Warehouse

__all__ = [
    "Batch",
    "BatchError",
    "MergeReport",
    "SyncStatus",
    "TableCounts",
    "Warehouse",
    "WarehouseBusyError",
    "WarehouseConfigError",
    "WarehouseError",
    "WarehouseReadOnlyError",
    "WarehouseUnavailableError",
    "quote",
    "validate_identifier",
]
