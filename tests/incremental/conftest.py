"""Incremental fixtures: the sync layer in process against the fake, into DuckDB or PostgreSQL."""

from __future__ import annotations

import pytest
from incremental_helpers import Org
from org_helpers import duckdb_org, org, postgres_org  # noqa: F401 - fixtures, of the Org below


@pytest.fixture
def org_type() -> type[Org]:
    return Org
