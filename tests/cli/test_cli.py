"""The `poelis-pipelines` command as users run it: a real subprocess, real HTTP, real files."""

from __future__ import annotations

import socket
from pathlib import Path

import process_helpers
import pytest
from process_helpers import run_cli

from poelis_pipelines import settings

MALFORMED_KEY = "poelis_api_short!"
cli_env = process_helpers.cli_env  # the fixture (from tests/cli/conftest.py) for the files importing it here


def closed_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_key_absent(key: str, *texts: str, folders: tuple[Path, ...] = ()) -> None:
    for text in texts:
        assert key not in text
    needle = key.encode()
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                assert needle not in path.read_bytes(), f"the API key leaked into {path}"


def test_sync_succeeds_records_runs_in_dagster_home_and_never_leaks_the_key(
    cli_env: dict[str, str], tmp_path: Path, fake_api: object
) -> None:
    result = run_cli("sync", env=cli_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "succeeded" in result.stdout
    for table in ("workspaces", "products", "items", "properties"):
        assert table in result.stdout
    runs_db = Path(cli_env["DAGSTER_HOME"]) / "history" / "runs.db"
    assert runs_db.exists(), "CLI runs must be recorded in the instance at DAGSTER_HOME"
    assert_key_absent(
        fake_api.api_key,  # type: ignore[attr-defined]
        result.stdout,
        result.stderr,
        folders=(Path(cli_env["DAGSTER_HOME"]), tmp_path),
    )


@pytest.mark.parametrize(
    ("change", "expected_message"),
    [
        ({settings.ENV_API_KEY: None}, settings.ENV_API_KEY),
        ({settings.ENV_API_KEY: MALFORMED_KEY}, "key"),
        ({settings.ENV_WAREHOUSE_URL: "nosuchdialect://x/y"}, "warehouse"),
        ({settings.ENV_BASE_URL: "ftp://api.example.com"}, "URL"),
        ({settings.ENV_BASE_URL: "http://api.example.com"}, "http"),
    ],
    ids=["missing-key", "malformed-key", "bad-warehouse-url", "bad-base-url", "insecure-http"],
)
def test_bad_configuration_is_one_clear_line_and_exit_code_2(
    cli_env: dict[str, str], tmp_path: Path, change: dict[str, str | None], expected_message: str
) -> None:
    for variable, value in change.items():
        if value is None:
            cli_env.pop(variable, None)
        else:
            cli_env[variable] = value
    result = run_cli("sync", env=cli_env, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(error_lines) == 1, result.stderr
    assert error_lines[0].startswith("error: ")
    assert expected_message.lower() in error_lines[0].lower()
    assert "Traceback" not in result.stderr
    assert MALFORMED_KEY not in result.stderr + result.stdout


def test_a_revoked_key_fails_with_exit_code_2_and_names_where_to_get_a_new_one(
    cli_env: dict[str, str], tmp_path: Path, fake_api: object
) -> None:
    fake_api.revoke_key(fake_api.api_key)  # type: ignore[attr-defined]
    result = run_cli("sync", env=cli_env, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Manage REST API Keys" in result.stderr
    assert_key_absent(
        fake_api.api_key, result.stdout, result.stderr, folders=(Path(cli_env["DAGSTER_HOME"]),)
    )  # type: ignore[attr-defined]


def test_an_unreachable_host_fails_with_one_line_and_exit_code_1(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    cli_env[settings.ENV_BASE_URL] = f"http://127.0.0.1:{closed_loopback_port()}"
    cli_env[settings.ENV_BACKOFF_SECONDS] = "0.01"  # every attempt is still made, without the waits between
    result = run_cli("sync", env=cli_env, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert error_lines, result.stderr
    assert "127.0.0.1" in error_lines[0]
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(cli_env: dict[str, str], tmp_path: Path) -> None:
    cli_env[settings.ENV_WAREHOUSE_URL] = "nosuchdialect://x/y"
    result = run_cli("--debug", "sync", env=cli_env, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" in result.stderr


def test_doctor_passes_on_a_healthy_setup_and_names_the_problem_otherwise(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    healthy = run_cli("doctor", env=cli_env, cwd=tmp_path)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "all checks passed" in healthy.stdout

    cli_env[settings.ENV_API_KEY] = MALFORMED_KEY
    broken = run_cli("doctor", env=cli_env, cwd=tmp_path)
    assert broken.returncode == 2
    assert "FAIL  API key" in broken.stdout
    assert MALFORMED_KEY not in broken.stdout + broken.stderr
