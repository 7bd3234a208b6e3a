"""Warehouse errors: one class per thing the operator must do differently; one-sentence messages."""

from __future__ import annotations


class WarehouseError(Exception):
    """Base class of every error the warehouse layer raises on purpose."""


class WarehouseConfigError(WarehouseError):
    """The URL, schema or a table name is not usable as configured (fix the configuration)."""


class WarehouseUnavailableError(WarehouseError):
    """The warehouse cannot be reached or opened (server down, wrong host, missing permissions)."""


class WarehouseReadOnlyError(WarehouseUnavailableError):
    """The warehouse can be read but not written (a read-only file or directory)."""


class WarehouseBusyError(WarehouseError):
    """The warehouse is taken: another sync holds it (retry later), or another process has the file open."""


class WarehouseInUseError(WarehouseBusyError):
    """Another process has the DuckDB file open (a notebook, a read-only query): it must close it first."""


class BatchError(WarehouseError):
    """A batch does not match its table (columns, scope, duplicate keys); nothing was written."""
