"""`poelis-pipelines query`: lists the example queries, runs one in any schema, refuses bad input with 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from poelis_pipelines import settings
from poelis_pipelines.warehouse.queries import example_queries, summary


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "poelis_pipelines", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.fixture
def env(fake_api: Any, tmp_path: Path) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("POELIS_") and key != "DAGSTER_HOME"
    }
    (tmp_path / "dagster_home").mkdir()
    environment.update(
        {
            settings.ENV_API_KEY: fake_api.api_key,
            settings.ENV_BASE_URL: fake_api.base_url,
            settings.ENV_WAREHOUSE_URL: f"duckdb:///{tmp_path}/warehouse.duckdb",
            "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        }
    )
    return environment


def test_query_without_a_name_lists_every_query_with_what_it_answers(
    env: dict[str, str], tmp_path: Path
) -> None:
    result = cli("query", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name, path in example_queries().items():
        assert any(
            line.startswith(name) and line.endswith(summary(path.read_text()))
            for line in result.stdout.splitlines()
        ), name
    assert not (tmp_path / "warehouse.duckdb").exists(), "listing must not touch the warehouse"


def test_query_runs_a_named_query_against_the_schema_a_sync_wrote(
    env: dict[str, str], tmp_path: Path
) -> None:
    sync = cli("sync", "--schema", "analytics", env=env, cwd=tmp_path)
    assert sync.returncode == 0, sync.stderr

    result = cli("query", "numeric_by_category", "--schema", "analytics", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == [
        "category",
        "si_unit",
        "properties",
        "display_units",
        "total_si",
        "min_si",
        "max_si",
    ]
    assert {row.split()[0] for row in rows} >= {"MASS", "POWER", "TEMPERATURE"}
    assert any(row.split()[:2] == ["POWER", "W"] for row in rows)

    elsewhere = cli("query", "numeric_by_category", env=env, cwd=tmp_path)  # the default schema has no views
    assert elsewhere.returncode == 2
    assert elsewhere.stderr.startswith("error: query numeric_by_category failed")
    assert len(elsewhere.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "no_such_query"], "no query named 'no_such_query'; the queries are: "),
        (["query", "status_by_product", "--schema", "bad;name"], "is not allowed"),
        (["query", "status_by_product"], "run `poelis-pipelines sync` first"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, env: dict[str, str], tmp_path: Path
) -> None:
    result = cli(*args, env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "warehouse.duckdb").exists()
