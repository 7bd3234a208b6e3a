"""Bad input the CLI tests do not cover yet: one clear line, the right exit code, nothing half-written.

Covered in tests/cli already: missing, malformed and revoked keys, a bad warehouse URL, a non-http(s) base
URL, plain http to a non-loopback host, an unreachable host.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from chaos_helpers import Cli

from poelis_pipelines import settings
from poelis_pipelines.fake_api import Faults
from poelis_pipelines.normalize.errors import UnknownPropertyTypeWarning

pytestmark = pytest.mark.chaos

ITEMS_ROUTE = f"{settings.API_PREFIX}/items"
PROPERTIES_ROUTE = f"{settings.API_PREFIX}/properties"


def the_error_line(result: subprocess.CompletedProcess[str], exit_code: int) -> str:
    """The one `error:` line on stderr (no traceback); the exit code must match."""
    assert result.returncode == exit_code, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def rows(cli: Cli, table: str) -> int:
    with cli.warehouse() as warehouse:
        return warehouse.row_count(table)


def test_a_base_url_where_no_poelis_api_answers_is_a_configuration_error(duckdb_cli: Cli) -> None:
    duckdb_cli.env[settings.ENV_BASE_URL] = f"{duckdb_cli.server.base_url}/not-the-api"
    line = the_error_line(duckdb_cli.run("sync"), 2)
    assert settings.ENV_BASE_URL in line
    assert rows(duckdb_cli, "workspaces") == 0
    duckdb_cli.assert_key_absent()


@pytest.mark.parametrize(
    ("warehouse_path", "reason"),
    [("a-file/warehouse.duckdb", "a file is in the way"), ("/proc/warehouse.duckdb", "cannot create")],
    ids=["under-a-file", "unwritable-filesystem"],
)
def test_a_warehouse_that_cannot_be_written_is_exit_2_and_creates_nothing(
    duckdb_cli: Cli, warehouse_path: str, reason: str
) -> None:
    """As root, chmod does not stop writes: a path under a regular file, and /proc, do."""
    (duckdb_cli.folder / "a-file").write_text("not a directory")
    target = Path(warehouse_path) if warehouse_path.startswith("/") else duckdb_cli.folder / warehouse_path
    duckdb_cli.env[settings.ENV_WAREHOUSE_URL] = f"duckdb:///{target}"
    line = the_error_line(duckdb_cli.run("sync"), 2)
    assert "warehouse" in line
    assert reason in line
    assert not target.exists()
    assert duckdb_cli.server.total_requests == 0


def test_a_schema_name_that_is_not_an_identifier_is_exit_2_and_creates_nothing(duckdb_cli: Cli) -> None:
    line = the_error_line(duckdb_cli.run("sync", "--schema", "poelis; drop table x"), 2)
    assert "schema" in line
    assert not (duckdb_cli.folder / "warehouse.duckdb").exists()
    assert duckdb_cli.server.total_requests == 0


@pytest.mark.parametrize(
    ("route", "corruption", "phrase"),
    [
        (ITEMS_ROUTE, "not_json", "not valid JSON"),
        (ITEMS_ROUTE, "not_object", "not an object"),
        (PROPERTIES_ROUTE, "missing_id", "without a string `id`"),
    ],
    ids=["not-json-every-time", "json-array", "record-without-id"],
)
def test_a_broken_page_fails_its_workspace_in_one_line_and_commits_none_of_that_level(
    duckdb_cli: Cli, route: str, corruption: str, phrase: str
) -> None:
    duckdb_cli.server.faults = Faults(corrupt_route=route, corruption=corruption)
    duckdb_cli.env[settings.ENV_MAX_ATTEMPTS] = "2"  # a broken page stays broken: no need to wait long
    workspace_id = duckdb_cli.server.dataset.workspaces[0]["id"]
    line = the_error_line(duckdb_cli.run("sync", "--workspace", workspace_id), 1)
    assert phrase in line
    assert workspace_id in line
    broken_level = "items" if route == ITEMS_ROUTE else "properties"
    assert rows(duckdb_cli, broken_level) == 0
    with duckdb_cli.warehouse() as warehouse:
        failed = warehouse.query(
            "SELECT error FROM {{schema}}.sync_runs WHERE table_name = :table AND status = 'failed'",
            {"table": broken_level},
        )
    assert len(failed) > 0
    assert phrase in failed["error"].iloc[0]
    duckdb_cli.assert_key_absent()


def test_an_unknown_property_type_keeps_the_row_and_says_so_in_one_warning(duckdb_cli: Cli) -> None:
    dataset = duckdb_cli.server.dataset
    with dataset.lock:
        record = dict(dataset.properties[0])
        record["type"] = "tensor"
        dataset.property_store.replace(record)

    workspace_id = dataset.products.get(dataset.items.get(record["item_id"])["product_id"])["workspace_id"]
    result = duckdb_cli.sync("--workspace", workspace_id)

    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1, result.stderr
    assert "'tensor'" in warnings[0]
    assert "kept 1 properties of unknown type" in warnings[0]
    with pytest.warns(UnknownPropertyTypeWarning):  # normalizing the expected rows warns too
        duckdb_cli.assert_matches_fake({workspace_id})
    with duckdb_cli.warehouse() as warehouse:
        kept = warehouse.read_table("properties").set_index("id").loc[record["id"]]
    assert kept["type"] == "tensor"
    assert json.loads(kept["value"]) == record["value"]
    duckdb_cli.assert_key_absent()


@pytest.mark.parametrize("variable", [settings.ENV_MAX_ATTEMPTS, settings.ENV_BACKOFF_SECONDS])
def test_a_retry_setting_that_is_not_a_positive_number_is_exit_2(duckdb_cli: Cli, variable: str) -> None:
    duckdb_cli.env[variable] = "-1"
    line = the_error_line(duckdb_cli.run("sync"), 2)
    assert variable in line
    assert duckdb_cli.server.total_requests == 0
