"""Schema creation and migration, generated files, identifiers, connection errors, locking and the views."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from process_helpers import ready_process
from warehouse_helpers import spec_batches, spec_examples

from poelis_pipelines.normalize import normalize
from poelis_pipelines.tables import PROPERTIES, TABLES, WORKSPACES, Column
from poelis_pipelines.warehouse import (
    Batch,
    TableCounts,
    Warehouse,
    WarehouseBusyError,
    WarehouseConfigError,
    WarehouseReadOnlyError,
    WarehouseUnavailableError,
    quote,
)
from poelis_pipelines.warehouse.ddl import DOCS_FILE, GENERATED_DIALECTS, render_ddl
from poelis_pipelines.warehouse.docs import render_tables_doc
from poelis_pipelines.warehouse.statements import SQL_DIR, create_table, dialect_of, qualified

REGENERATE = "regenerate with: python -m poelis_pipelines.warehouse.ddl"
SYNCED = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize("dialect", GENERATED_DIALECTS)
def test_checked_in_ddl_matches_the_declarations(dialect: str) -> None:
    path = SQL_DIR / "ddl" / f"{dialect}.sql"
    assert path.read_text(encoding="utf-8") == render_ddl(dialect), f"{path} is stale; {REGENERATE}"  # type: ignore[arg-type]


def test_checked_in_table_docs_match_the_declarations() -> None:
    assert DOCS_FILE.read_text(encoding="utf-8") == render_tables_doc(), f"{DOCS_FILE} is stale; {REGENERATE}"
    for table in TABLES.values():
        for column in table.columns:
            assert f"| `{column.name}` |" in DOCS_FILE.read_text(encoding="utf-8")


def test_the_sql_ships_inside_the_package() -> None:
    repository = Path(__file__).resolve().parents[2]
    assert repository / "poelis_pipelines" / "sql" == SQL_DIR
    assert SQL_DIR.resolve() == repository / "sql", "poelis_pipelines/sql must link to the repository's sql/"
    assert (SQL_DIR / "views" / "property_values.sql").is_file()


def test_ensure_is_idempotent_and_adds_a_newly_declared_column_without_losing_rows(
    warehouse_url_and_schema: tuple[str, str],
) -> None:
    url, schema = warehouse_url_and_schema
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    dialect = dialect_of(engine.dialect.name)
    old_properties = dataclasses.replace(
        PROPERTIES, columns=tuple(c for c in PROPERTIES.columns if c.name not in ("value_unit", "_extra"))
    )
    with engine.begin() as connection:
        if dialect != "generic":
            connection.exec_driver_sql(f"CREATE SCHEMA {quote(schema)}")
        connection.exec_driver_sql(create_table(old_properties, schema, dialect))
        connection.execute(
            sa.text(
                f"INSERT INTO {qualified(schema, 'properties', dialect)} "
                "(id, item_id, product_id, type, _synced_at) VALUES ('old', 'i', 'p', 'text', :ts)"
            ),
            {"ts": SYNCED.isoformat(sep=" ") if dialect == "generic" else SYNCED},
        )
    engine.dispose()
    with Warehouse(url, schema) as warehouse:
        warehouse.ensure()
        warehouse.ensure()
        stored = warehouse.read_table("properties")
        assert stored["id"].tolist() == ["old"]
        assert stored["value_unit"].isna().all()
        records = [{"id": "new", "item_id": "i", "type": "numeric", "value": 1, "display_unit": "kg", "x": 1}]
        frame = normalize("properties", records, endpoint="e", product_id="p", workspace_id="w")
        report = warehouse.merge([Batch("properties", frame, {"product_id": "p"})], synced_at=SYNCED)
        assert report.tables["properties"] == TableCounts(inserted=1, removed=1)
        assert warehouse.read_table("properties").set_index("id").loc["new", "value_unit"] == "kg"


DDL_VERBS = ("CREATE", "ALTER", "COMMENT", "DROP", "INSERT", "UPDATE", "DELETE")


@contextmanager
def executed_statements() -> Iterator[list[str]]:
    """Every statement any engine sends while the block runs."""
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    sa.event.listen(sa.Engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", record)


def writes(statements: list[str]) -> list[str]:
    return [statement for statement in statements if statement.lstrip().upper().startswith(DDL_VERBS)]


def test_ensure_of_a_current_warehouse_only_reads(warehouse_url_and_schema: tuple[str, str]) -> None:
    url, schema = warehouse_url_and_schema
    with Warehouse(url, schema) as warehouse, executed_statements() as statements:
        warehouse.ensure()
        assert writes(statements), "the first ensure creates the tables"
        statements.clear()
        warehouse.ensure()
    assert statements, "it looks"
    assert writes(statements) == []
    with Warehouse(url, schema) as warehouse, executed_statements() as statements:
        warehouse.ensure()
    assert writes(statements) == [], "the fingerprint is kept in the warehouse, not in the object"


def test_ensure_restores_a_dropped_column_and_applies_a_changed_declaration(
    warehouse_url_and_schema: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, schema = warehouse_url_and_schema
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    dialect = dialect_of(engine.dialect.name)
    workspaces = qualified(schema, "workspaces", dialect)
    with Warehouse(url, schema) as warehouse:
        warehouse.ensure()
        with engine.begin() as connection:
            connection.exec_driver_sql(f'ALTER TABLE {workspaces} DROP COLUMN "name"')
        with executed_statements() as statements:
            warehouse.ensure()
        assert any('ADD COLUMN "name"' in statement for statement in statements)

        region = Column("region", "text", "Where the workspace's data lives.")
        changed = dataclasses.replace(WORKSPACES, columns=(*WORKSPACES.columns, region))
        monkeypatch.setitem(TABLES, "workspaces", changed)
        warehouse.ensure()
        with executed_statements() as statements:
            warehouse.ensure()
        assert writes(statements) == []
    with engine.begin() as connection:
        assert connection.exec_driver_sql(f'SELECT "name", "region" FROM {workspaces}').all() == []
        history = qualified(schema, "workspaces_history", dialect)
        assert connection.exec_driver_sql(f'SELECT "region" FROM {history}').all() == []
    engine.dispose()


def url_and_schema_of(dialect: str, request: pytest.FixtureRequest) -> tuple[str, str]:
    """A fresh warehouse of `dialect`: a DuckDB file, or a PostgreSQL schema (needing the server)."""
    if dialect == "postgresql":
        request.applymarker(pytest.mark.postgres)
        return request.getfixturevalue("postgres_url"), request.getfixturevalue("postgres_schema")
    return request.getfixturevalue("duckdb_url"), "poelis"


@pytest.mark.parametrize("dialect", GENERATED_DIALECTS)
def test_a_changed_description_is_annotated_again(
    dialect: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    url, schema = url_and_schema_of(dialect, request)
    with Warehouse(url, schema) as warehouse:
        warehouse.ensure()
        monkeypatch.setitem(TABLES, "workspaces", dataclasses.replace(WORKSPACES, description="Renamed."))
        with executed_statements() as statements:
            warehouse.ensure()
    assert f"COMMENT ON TABLE {qualified(schema, 'workspaces', dialect)} IS 'Renamed.'" in statements  # type: ignore[arg-type]


@pytest.mark.parametrize("dialect", GENERATED_DIALECTS)
def test_descriptions_reach_the_warehouse_verbatim_percent_signs_included(
    dialect: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    url, schema = url_and_schema_of(dialect, request)
    if dialect == "postgresql":
        read_back = (
            "SELECT col_description(c.oid, a.attnum) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid "
            "WHERE n.nspname = :schema AND c.relname = 'workspaces' AND a.attname = 'name'"
        )
    else:
        read_back = (
            "SELECT comment FROM duckdb_columns() "
            "WHERE schema_name = :schema AND table_name = 'workspaces' AND column_name = 'name'"
        )
    description = "50 % is 0.5; not a placeholder: %s %(name)s %% 'quoted'"
    columns = tuple(
        dataclasses.replace(column, description=description) if column.name == "name" else column
        for column in WORKSPACES.columns
    )
    monkeypatch.setitem(TABLES, "workspaces", dataclasses.replace(WORKSPACES, columns=columns))
    with Warehouse(url, schema) as warehouse:
        warehouse.ensure()
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        assert connection.execute(sa.text(read_back), {"schema": schema}).scalar_one() == description
    engine.dispose()


def test_views_return_the_right_rows(view_warehouse: Warehouse) -> None:
    warehouse = view_warehouse
    properties = spec_examples("properties")
    properties[0] = {**properties[0], "deleted": True}  # max_power: soft-deleted, so not live
    batches = spec_batches(properties=properties)
    warehouse.merge(batches, synced_at=SYNCED)
    views = [
        "baseline_property_values",
        "freshness",
        "item_tree",
        "item_version_tree",
        "product_summary",
        "property_changes_since_baseline",
        "property_values",
    ]
    assert warehouse.create_views() == views
    assert warehouse.create_views() == views  # idempotent

    tree = warehouse.query(
        "SELECT item_name, depth, path FROM {{schema}}.item_tree ORDER BY depth, item_name"
    )
    assert tree.values.tolist() == [
        ["Engine Assembly", 0, "Engine Assembly"],
        ["Combustor", 1, "Engine Assembly / Combustor"],
        ["Compressor Stage 1", 1, "Engine Assembly / Compressor Stage 1"],
    ]

    values = warehouse.query("SELECT * FROM {{schema}}.property_values ORDER BY property_readable_id")
    assert values["property_readable_id"].tolist() == [
        "design_freeze",
        "material",
        "power_to_mass",
        "pressure_map",
        "review_state",
        "stage_mass",
    ]
    assert set(values["item_path"]) == {"Engine Assembly / Compressor Stage 1"}
    assert set(values["workspace_name"]) == {"Aerospace Engineering"}
    assert set(values["product_name"]) == {"Jet Engine Specifications"}
    formula = values.set_index("property_readable_id").loc["power_to_mass"]
    assert (formula["value_number"], formula["value_unit"]) == (0.34, "kW/kg")

    summary = warehouse.query("SELECT * FROM {{schema}}.product_summary ORDER BY product_readable_id")
    jet = summary.set_index("product_readable_id").loc["jet_engine_specs"]
    assert (jet["items"], jet["properties"], jet["numeric_properties"], jet["matrix_properties"]) == (
        3,
        6,
        1,
        1,
    )
    assert jet["last_updated_at"] == datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    blade = summary.set_index("product_readable_id").loc["turbine_blade_design"]
    assert (blade["items"], blade["properties"]) == (0, 0)


@pytest.mark.parametrize("name", ["bad-name", 'x"; DROP TABLE items; --', "1starts_with_digit", "a" * 64, ""])
def test_unsafe_identifiers_are_rejected(name: str, duckdb_url: str) -> None:
    with pytest.raises(WarehouseConfigError, match="is not allowed"):
        Warehouse(duckdb_url, name)
    with pytest.raises(WarehouseConfigError):
        quote(name)


def test_a_63_character_schema_is_accepted(duckdb_url: str) -> None:
    with Warehouse(duckdb_url, "s" * 63) as warehouse:
        warehouse.ensure()
        assert warehouse.row_count("items") == 0


@pytest.mark.parametrize("url", ["not a url", "nosuchdriver://host/db"])
def test_a_bad_url_is_a_config_error(url: str) -> None:
    with pytest.raises(WarehouseConfigError):
        Warehouse(url)


def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    warehouse = Warehouse("postgresql+psycopg://analyst:s3cretpw@127.0.0.1:1/db?connect_timeout=2")
    assert "s3cretpw" not in repr(warehouse)
    with pytest.raises(WarehouseUnavailableError, match="cannot open the warehouse") as raised:
        warehouse.ensure()
    assert "s3cretpw" not in str(raised.value)
    assert "***" in str(raised.value)


def test_a_duckdb_file_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_directory"
    blocker.write_text("")
    with pytest.raises(WarehouseReadOnlyError, match="cannot create the directory"):
        Warehouse(f"duckdb:///{blocker}/warehouse.duckdb").ensure()


def test_the_duckdb_parent_directory_is_created(tmp_path: Path) -> None:
    path = tmp_path / "data" / "nested" / "warehouse.duckdb"
    with Warehouse(f"duckdb:///{path}") as warehouse:
        warehouse.ensure()
    assert path.is_file()


def test_a_duckdb_file_held_by_another_process_is_a_busy_error(duckdb_url: str) -> None:
    path = duckdb_url.removeprefix("duckdb:///")
    Warehouse(duckdb_url).ensure()
    holder_script = (
        "import duckdb, sys; db = duckdb.connect(sys.argv[1]); print('ready', flush=True); input()"
    )
    with ready_process(holder_script, path) as holder:
        held_by = re.escape(f"the file {path} is open in another process (pid {holder.pid})")
        with pytest.raises(WarehouseBusyError, match=held_by):
            Warehouse(duckdb_url).row_count("items")
    assert Warehouse(duckdb_url).row_count("items") == 0, "the lock is released with the other process"


@pytest.mark.postgres
def test_concurrent_merges_into_one_postgresql_schema_serialise_cleanly(
    postgres_url: str, postgres_schema: str
) -> None:
    with Warehouse(postgres_url, postgres_schema) as warehouse:
        warehouse.ensure()
    errors: list[BaseException] = []

    def sync(product_id: str) -> None:
        try:
            with Warehouse(postgres_url, postgres_schema) as own:
                own.ensure()
                for round_number in range(5):
                    records = [
                        {"id": f"{product_id}-{n}", "product_id": product_id, "name": f"r{round_number}"}
                        for n in range(50)
                    ]
                    frame = normalize("items", records, endpoint="it", workspace_id="w")
                    own.merge(
                        [Batch("items", frame, {"product_id": product_id})],
                        synced_at=SYNCED + timedelta(minutes=round_number),
                    )
        except BaseException as error:  # collected and re-raised in the test thread
            errors.append(error)

    threads = [threading.Thread(target=sync, args=(product,)) for product in ("p1", "p2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    with Warehouse(postgres_url, postgres_schema) as warehouse:
        assert warehouse.row_count("items") == 100
        assert warehouse.row_count("items_history") == 100 * 5  # an insert and four updates per item
        current = warehouse.read_table("items")
        assert set(current["name"]) == {"r4"}


def test_a_duckdb_session_holds_the_file_until_it_ends(duckdb_url: str) -> None:
    path = duckdb_url.removeprefix("duckdb:///")
    probe = [sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()", path]
    with Warehouse(duckdb_url) as warehouse:
        warehouse.ensure()
        assert subprocess.run(probe, capture_output=True, check=False).returncode == 0, (
            "free between operations"
        )
        with warehouse.session():
            assert warehouse.row_count("items") == 0
            held = subprocess.run(probe, capture_output=True, text=True, check=False)
            assert held.returncode != 0
            assert "lock" in held.stderr.lower()
        assert subprocess.run(probe, capture_output=True, check=False).returncode == 0, "released after"


@pytest.mark.parametrize(
    ("query", "limit", "threads"),
    [("", "122.0 MiB", 1), ("?memory_limit=1GB&threads=2", "953.6 MiB", 2)],
)
def test_duckdb_file_connections_have_a_bounded_memory_limit_the_url_overrides(
    duckdb_url: str, query: str, limit: str, threads: int
) -> None:
    with Warehouse(duckdb_url + query) as warehouse:
        setting = warehouse.query(
            "SELECT current_setting('memory_limit') AS memory_limit, current_setting('threads') AS threads"
        )
    assert setting[["memory_limit", "threads"]].values.tolist() == [[limit, threads]]


def test_duckdb_tables_carry_no_in_memory_key_index_so_a_bounded_memory_limit_holds_at_any_size(
    duckdb_url: str,
) -> None:
    """A DuckDB primary key is an ART index that must fit in memory (~100 bytes a row): under the bounded
    `memory_limit` a large organization's merge would fail. Uniqueness is the merge's job (and a check's)."""
    with Warehouse(duckdb_url) as warehouse:
        warehouse.ensure()
        keys = warehouse.query(
            "SELECT table_name FROM duckdb_constraints() "
            "WHERE schema_name = :schema AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')",
            {"schema": warehouse.schema},
        )
        indexes = warehouse.query(
            "SELECT index_name FROM duckdb_indexes() WHERE schema_name = :schema",
            {"schema": warehouse.schema},
        )
    assert keys.empty
    assert indexes.empty


def test_a_duckdb_file_created_with_primary_keys_is_rebuilt_without_them_keeping_its_rows(
    duckdb_url: str,
) -> None:
    """Files written before the keys were dropped must not keep an ART index the memory limit cannot hold."""
    engine = sa.create_engine(duckdb_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE SCHEMA poelis")
        unkeyed = create_table(WORKSPACES, "poelis", "duckdb")
        connection.exec_driver_sql(unkeyed.removesuffix("\n)") + ',\n    PRIMARY KEY ("id")\n)')
        connection.exec_driver_sql(
            "INSERT INTO poelis.workspaces (id, name, _synced_at) VALUES ('w-1', 'A', now())"
        )
        connection.exec_driver_sql("CREATE VIEW poelis.names AS SELECT name FROM poelis.workspaces")
    engine.dispose()

    with Warehouse(duckdb_url) as warehouse:
        warehouse.ensure()
        keys = warehouse.query("SELECT 1 FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'")
        not_null = warehouse.query(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'poelis' "
            "AND table_name = 'workspaces' AND NOT is_nullable ORDER BY column_name"
        )
        rows = warehouse.read_table("workspaces")
    assert keys.empty
    assert not_null["column_name"].tolist() == sorted(c.name for c in WORKSPACES.columns if not c.nullable)
    assert rows[["id", "name"]].values.tolist() == [["w-1", "A"]]
