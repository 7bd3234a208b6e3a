"""`poelis-pipelines query`: lists the example queries, runs one in any schema, refuses bad input with 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from process_helpers import run_cli

from poelis_pipelines.warehouse.queries import example_queries, summary


def test_query_without_a_name_lists_every_query_with_what_it_answers(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    result = run_cli("query", env=cli_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name, path in example_queries().items():
        assert any(
            line.startswith(name) and line.endswith(summary(path.read_text()))
            for line in result.stdout.splitlines()
        ), name
    assert not (tmp_path / "warehouse.duckdb").exists(), "listing must not touch the warehouse"


def test_query_runs_a_named_query_against_the_schema_a_sync_wrote(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    sync = run_cli("sync", "--schema", "analytics", env=cli_env, cwd=tmp_path)
    assert sync.returncode == 0, sync.stderr

    result = run_cli("query", "numeric_by_category", "--schema", "analytics", env=cli_env, cwd=tmp_path)
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

    # the default schema has no views
    elsewhere = run_cli("query", "numeric_by_category", env=cli_env, cwd=tmp_path)
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
    args: list[str], message: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    result = run_cli(*args, env=cli_env, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "warehouse.duckdb").exists()
