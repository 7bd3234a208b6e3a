"""Each query of sql/queries/ runs as written (schema `poelis`) on DuckDB and PostgreSQL, with right answers.

"As written" means the file's text, unchanged, through the database's own driver (and psql): what an analyst
pasting it into a shell or a BI tool gets.
"""

from __future__ import annotations

import math
import subprocess
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pint
import psycopg
import pytest
import sqlalchemy as sa
from process_helpers import run_cli, user_environment
from warehouse_helpers import properties_batch, spec_batches, spec_examples

from poelis_pipelines import settings
from poelis_pipelines.client import PoelisClient
from poelis_pipelines.levels import level
from poelis_pipelines.versions import sync_versions
from poelis_pipelines.warehouse import Batch, Warehouse
from poelis_pipelines.warehouse.inspection import live_ids
from poelis_pipelines.warehouse.queries import QUERIES_DIR, example_queries, in_schema

SI_UNIT_OF_CATEGORY = {  # what the fake's categories (SPEC section 6) add up in
    "POWER": "W",
    "MASS": "kg",
    "LENGTH": "m",
    "PRESSURE": "Pa",
    "TEMPERATURE": "K",
    "TIME": "s",
    "DIMENSIONLESS": "1",
}
UNITS = pint.UnitRegistry()


def run_as_written(url: str, sql: str) -> list[tuple[Any, ...]]:
    """The rows of `sql`, sent unchanged through the database's own driver (no SQLAlchemy, no templating)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "duckdb":
        with duckdb.connect(parsed.database) as connection:
            return connection.execute(sql).fetchall()
    with psycopg.connect(libpq_url(url)) as connection:
        return connection.execute(sql).fetchall()  # type: ignore[arg-type]


def libpq_url(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def cli_sync(url: str, fake_api: Any, home: Path) -> None:
    """A real `poelis-pipelines sync` of the fake into `url`, default schema."""
    result = run_cli("sync", env=user_environment(fake_api, url, home), cwd=home)
    assert result.returncode == 0, result.stderr


def sync_baselines_and_users(url: str, fake_api: Any) -> None:
    """What the CLI does not run yet: the products' baseline versions and the organization's users."""
    with PoelisClient(fake_api.api_key, fake_api.base_url) as client, Warehouse(url) as warehouse:
        level("users").run(client, warehouse, run_key="queries")
        sync_versions(client, warehouse, live_ids(warehouse, "workspaces"), mode=settings.VERSIONS_BASELINE)


def si_value(value: float, unit: str) -> float:
    """One value in SI, asked of pint directly (the loader converts per unit; this is the per-value truth)."""
    if unit == "-":
        return value
    return float(UNITS.Quantity(value, unit).to_base_units().magnitude)


def expected_numeric_by_category(dataset: Any) -> list[tuple[Any, ...]]:
    """numeric_by_category's answer, from the fake's records: live numeric properties on live items."""
    live_items = {item["id"] for item in dataset.items if not item["deleted"]}
    groups: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for prop in dataset.properties:
        if prop["type"] == "numeric" and not prop["deleted"] and prop["item_id"] in live_items:
            groups[prop["category"]].append((float(prop["value"]), prop["display_unit"]))
    rows = []
    for category in sorted(groups):
        values = [si_value(value, unit) for value, unit in groups[category]]
        units = {unit for _value, unit in groups[category]}
        si_unit = SI_UNIT_OF_CATEGORY[category]
        rows.append((category, si_unit, len(values), len(units), sum(values), min(values), max(values)))
    return rows


def test_every_query_runs_as_written_on_a_synced_warehouse_and_sums_the_fake_in_si(
    default_schema_url: str, fake_api: Any, tmp_path: Path
) -> None:
    cli_sync(default_schema_url, fake_api, tmp_path / "dagster_home")
    sync_baselines_and_users(default_schema_url, fake_api)
    for name, path in example_queries().items():
        rows = run_as_written(default_schema_url, path.read_text(encoding="utf-8"))
        assert rows, f"{name} returned nothing on the fake's data"
        if default_schema_url.startswith("postgresql"):
            psql = subprocess.run(
                ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(path), libpq_url(default_schema_url)],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert psql.returncode == 0, psql.stderr

    got = run_as_written(default_schema_url, (QUERIES_DIR / "numeric_by_category.sql").read_text())
    want = expected_numeric_by_category(fake_api.dataset)
    assert [row[:4] for row in got] == [row[:4] for row in want]
    for got_row, want_row in zip(got, want, strict=True):
        assert got_row[4:] == pytest.approx(want_row[4:], rel=1e-9), got_row[0]
    assert {row[1] for row in got} == set(SI_UNIT_OF_CATEGORY.values())
    assert any(row[3] > 1 for row in got), "the fake mixes display units within a category"

    with Warehouse(default_schema_url) as warehouse:  # every landed value_si is pint's value for its row
        landed = warehouse.read_table("properties")
    numbers = landed[landed["value_si"].notna()]
    assert len(numbers) > 100
    for value, unit, value_si in zip(
        numbers["value_number"], numbers["value_unit"], numbers["value_si"], strict=True
    ):
        expected = si_value(value, unit)
        assert value_si == pytest.approx(expected, rel=1e-12) or (
            math.isnan(value_si) and math.isnan(expected)
        )


def spec_properties(**stage_mass: Any) -> Batch:
    records = [
        {**record, **stage_mass} if record["readable_id"] == "stage_mass" else record
        for record in spec_examples("properties")
    ]
    return properties_batch(records)


def test_a_change_of_unit_shows_in_recent_changes_and_not_in_the_si_sums(default_schema_url: str) -> None:
    with Warehouse(default_schema_url) as warehouse:
        warehouse.ensure()
        first = spec_batches()
        warehouse.merge(first, synced_at=datetime(2026, 3, 1, tzinfo=UTC))
        warehouse.create_views()
        queries = {name: path.read_text(encoding="utf-8") for name, path in example_queries().items()}
        before = run_as_written(default_schema_url, queries["mass_by_product"])
        edited = spec_properties(value=0.442, display_unit="t")
        warehouse.merge([edited], synced_at=datetime(2026, 3, 2, tzinfo=UTC))
    assert before == [("Jet Engine Specifications", "Stage Mass", 1, 442.0)]
    assert run_as_written(default_schema_url, queries["mass_by_product"]) == before

    changes = run_as_written(default_schema_url, queries["recent_property_changes"])
    stage_mass = [row for row in changes if row[1] == "Stage Mass"]
    assert [row[2] for row in stage_mass] == ["update", "insert"]
    _id, _name, _change, _at, value_before, unit_before, value_after, unit_after = stage_mass[0]
    assert (value_before, unit_before, value_after, unit_after) == ("442.0", "kg", "0.442", "t")


def test_a_query_is_pointed_at_another_schema_only_where_it_names_a_warehouse_relation() -> None:
    sql = "SELECT 'poelis.x', p.poelis FROM poelis.property_values AS p JOIN poelis.items_history USING (id)"
    assert in_schema(sql, "analytics") == (
        'SELECT \'poelis.x\', p.poelis FROM "analytics".property_values AS p JOIN "analytics".items_history '
        "USING (id)"
    )
    for path in QUERIES_DIR.glob("*.sql"):
        assert "poelis." not in in_schema(path.read_text(encoding="utf-8"), "analytics"), path.name
