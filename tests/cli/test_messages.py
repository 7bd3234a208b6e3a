"""What the CLI says when something is wrong: one line, the right knob, the right exit code."""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path

import dagster as dg
import pytest
from process_helpers import ready_process
from test_cli import cli_env, closed_loopback_port, run_cli  # noqa: F401 - cli_env is a fixture

from poelis_pipelines import settings
from poelis_pipelines.client import ConfigurationError, PoelisClient
from poelis_pipelines.defs.poelis.resources import PoelisResource
from poelis_pipelines.warehouse import Warehouse

NON_LOOPBACK_HTTP = "http://api.example.invalid"
LINE_DEADLINE_SECONDS = 120.0


@pytest.fixture
def env(cli_env: dict[str, str]) -> dict[str, str]:  # noqa: F811 - the fixture imported above
    """The CLI's environment with a configured Dagster instance: Dagster's first-run banner is not ours."""
    (Path(cli_env["DAGSTER_HOME"]) / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return cli_env


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a bad input may print (on stderr; nothing on stdout)."""
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout + result.stderr
    assert lines[0] in result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


# --- plain http ------------------------------------------------------------------------------------------


def test_the_plain_http_refusal_names_the_variable_and_the_flag(env: dict[str, str], tmp_path: Path) -> None:
    env[settings.ENV_BASE_URL] = NON_LOOPBACK_HTTP
    result = run_cli("sync", env=env, cwd=tmp_path)
    assert result.returncode == 2
    line = one_error_line(result)
    assert f"{settings.ENV_ALLOW_INSECURE_HTTP}=1" in line
    assert "--allow-insecure-http" in line
    assert "allow_insecure_http=True" in line


@pytest.mark.parametrize(
    ("arguments", "variable"),
    [(("--allow-insecure-http",), None), ((), "yes"), ((), "1")],
    ids=["flag", "variable-yes", "variable-1"],
)
def test_the_flag_or_the_variable_lets_doctor_use_plain_http(
    env: dict[str, str], tmp_path: Path, arguments: tuple[str, ...], variable: str | None
) -> None:
    env[settings.ENV_BASE_URL] = NON_LOOPBACK_HTTP
    env[settings.ENV_MAX_ATTEMPTS] = "1"  # the host does not exist: fail at the first attempt
    if variable is not None:
        env[settings.ENV_ALLOW_INSECURE_HTTP] = variable
    result = run_cli("doctor", *arguments, env=env, cwd=tmp_path)
    assert "ok    API key and URL: key poelis_api_" in result.stdout, result.stdout + result.stderr
    assert f"for {NON_LOOPBACK_HTTP}" in result.stdout
    assert "FAIL  API reachable" in result.stdout  # it did try the host, over plain http


def test_a_garbled_insecure_http_variable_is_one_line_and_exit_code_2(
    env: dict[str, str], tmp_path: Path
) -> None:
    env[settings.ENV_ALLOW_INSECURE_HTTP] = "sure"
    result = run_cli("sync", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert settings.ENV_ALLOW_INSECURE_HTTP in one_error_line(result)


def test_the_resource_takes_its_plain_http_default_from_the_environment(
    fake_api: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = fake_api.api_key  # type: ignore[attr-defined]
    monkeypatch.delenv(settings.ENV_ALLOW_INSECURE_HTTP, raising=False)
    with pytest.raises(ConfigurationError, match=settings.ENV_ALLOW_INSECURE_HTTP):
        PoelisResource(api_key=key, base_url=NON_LOOPBACK_HTTP).get_client()
    monkeypatch.setenv(settings.ENV_ALLOW_INSECURE_HTTP, "true")
    resource = PoelisResource(api_key=key, base_url=NON_LOOPBACK_HTTP)
    assert resource.get_client().base_url == NON_LOOPBACK_HTTP
    resource.teardown_after_execution(dg.build_init_resource_context())
    with pytest.raises(ConfigurationError):  # an explicit False wins over the environment
        PoelisResource(api_key=key, base_url=NON_LOOPBACK_HTTP, allow_insecure_http=False).get_client()


# --- arguments -------------------------------------------------------------------------------------------


def test_debug_is_accepted_after_the_command_too(env: dict[str, str], tmp_path: Path) -> None:
    env[settings.ENV_WAREHOUSE_URL] = "nosuchdialect://x/y"
    result = run_cli("sync", "--debug", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" in result.stderr
    without = run_cli("sync", env=env, cwd=tmp_path)
    assert "Traceback" not in without.stderr


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (("demo", "--scale", "huge"), "'tiny', 'small', 'medium', 'large'"),
        (("demo", "--seed", "many"), "--seed"),
        (("sync", "--no-such-option"), "--no-such-option"),
        (("sync", "--workspace"), "--workspace"),
        (("doctor", "extra"), "extra"),
        (("workspaces", "--scale", "tiny"), "--scale"),
        (("fake-api", "--port", "http"), "--port"),
        (("no-such-command",), "no-such-command"),
        ((), "COMMAND"),
    ],
    ids=[
        "demo-scale",
        "demo-seed",
        "sync-option",
        "sync-workspace-value",
        "doctor",
        "workspaces",
        "fake-api",
        "command",
        "nothing",
    ],
)
def test_bad_arguments_are_one_line_and_exit_code_2(
    env: dict[str, str], tmp_path: Path, arguments: tuple[str, ...], expected: str
) -> None:
    result = run_cli(*arguments, env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    line = one_error_line(result)
    assert expected in line
    assert "--help" in line


@pytest.mark.parametrize(
    "arguments",
    [("--rate-limit", "0"), ("--port", "99999"), ("--host", "192.0.2.1")],
    ids=["rate-limit", "port", "host"],
)
def test_fake_api_refuses_bad_values_in_one_line_with_exit_code_2(
    env: dict[str, str], tmp_path: Path, arguments: tuple[str, ...]
) -> None:
    result = run_cli("fake-api", *arguments, env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert [line for line in result.stderr.splitlines() if line.strip()] == [result.stderr.strip()]
    assert result.stdout == ""


# --- workspaces --------------------------------------------------------------------------------------------


def test_workspaces_lists_id_readable_id_and_name_in_one_request(
    env: dict[str, str], tmp_path: Path, fake_api: object
) -> None:
    with PoelisClient(fake_api.api_key, fake_api.base_url) as client:  # type: ignore[attr-defined]
        expected = list(client.iter_workspaces())
    before = fake_api.total_requests  # type: ignore[attr-defined]
    result = run_cli("workspaces", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert fake_api.total_requests - before == 1  # type: ignore[attr-defined]
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "readable_id", "name"]
    assert len(lines) == 1 + len(expected)
    for workspace in expected:
        row = next(line for line in lines if line.startswith(workspace["id"]))
        assert re.fullmatch(
            rf"{workspace['id']}\s+{re.escape(workspace['readable_id'])}\s+{re.escape(workspace['name'])}",
            row,
        )


def test_sync_takes_a_readable_workspace_id(env: dict[str, str], tmp_path: Path, fake_api: object) -> None:
    with PoelisClient(fake_api.api_key, fake_api.base_url) as client:  # type: ignore[attr-defined]
        chosen = next(iter(client.iter_workspaces()))
    result = run_cli("sync", "--workspace", chosen["readable_id"], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    with Warehouse(env[settings.ENV_WAREHOUSE_URL]) as warehouse:
        synced = warehouse.query("SELECT DISTINCT workspace_id FROM {{schema}}.products")
    assert list(synced["workspace_id"]) == [chosen["id"]]


def test_an_unknown_workspace_is_one_line_pointing_at_the_workspaces_command(
    env: dict[str, str], tmp_path: Path
) -> None:
    result = run_cli("sync", "--workspace", "no_such_workspace", env=env, cwd=tmp_path)
    assert result.returncode == 2
    line = one_error_line(result)
    assert "no_such_workspace" in line
    assert "poelis-pipelines workspaces" in line


def test_a_refused_key_is_one_line_and_nothing_else(
    env: dict[str, str], tmp_path: Path, fake_api: object
) -> None:
    fake_api.revoke_key(fake_api.api_key)  # type: ignore[attr-defined]
    for _attempt in ("first", "again: nothing was committed, so nothing is announced as resumed"):
        result = run_cli("sync", env=env, cwd=tmp_path)
        assert result.returncode == 2
        assert "Manage REST API Keys" in one_error_line(result)


# --- a busy DuckDB file ------------------------------------------------------------------------------------

HOLDER = """
import sys, duckdb, filelock
path, how = sys.argv[1], sys.argv[2]
duckdb.connect(path).close()
if how == "sync-lock":
    held = filelock.FileLock(path + sys.argv[3]); held.acquire()
else:
    held = duckdb.connect(path, read_only=how == "read-only")
print("ready", flush=True)
sys.stdin.readline()
"""


def another_process_holding(path: Path, how: str) -> AbstractContextManager[subprocess.Popen[str]]:
    return ready_process(HOLDER, str(path), how, settings.SYNC_LOCK_SUFFIX)


@pytest.mark.parametrize("how", ["read-only", "read-write"])
def test_a_duckdb_file_open_in_another_process_is_said_so_with_exit_code_2(
    env: dict[str, str], tmp_path: Path, how: str
) -> None:
    path = tmp_path / "warehouse.duckdb"
    with another_process_holding(path, how) as holder:
        result = run_cli("sync", env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    line = one_error_line(result)
    assert f"the file {path} is open in another process (pid {holder.pid})" in line
    assert "close it, or use PostgreSQL for concurrent readers" in line
    assert run_cli("sync", env=env, cwd=tmp_path).returncode == 0, "the file is free once it is closed"


def test_another_sync_is_still_exit_code_1(env: dict[str, str], tmp_path: Path) -> None:
    with another_process_holding(tmp_path / "warehouse.duckdb", "sync-lock"):
        result = run_cli("sync", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "another sync into" in one_error_line(result)


# --- an unreachable API -------------------------------------------------------------------------------------


def _lines(stream: object, into: queue.Queue[str | None]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)
    into.put(None)


def test_an_unreachable_api_is_announced_while_it_is_retried(env: dict[str, str], tmp_path: Path) -> None:
    port = closed_loopback_port()
    env[settings.ENV_BASE_URL] = f"http://127.0.0.1:{port}"
    env[settings.ENV_BACKOFF_SECONDS] = "2"  # the retries then last over a minute after the first one
    sync = subprocess.Popen(
        [sys.executable, "-m", "poelis_pipelines", "sync"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_lines, args=(sync.stderr, stderr), daemon=True).start()
    try:
        deadline = time.monotonic() + LINE_DEADLINE_SECONDS
        line = stderr.get(timeout=LINE_DEADLINE_SECONDS)
        while line is not None and not line.startswith("warning: cannot reach"):
            line = stderr.get(timeout=max(deadline - time.monotonic(), 0.1))
        assert line is not None, "the sync ended without saying it was retrying"
        assert sync.poll() is None, "said while the sync is still retrying, not after it gave up"
        assert re.fullmatch(
            rf"warning: cannot reach http://127\.0\.0\.1:{port} \(connection refused\); "
            r"retrying for up to \d+ s\n",
            line,
        )
    finally:
        sync.kill()
        sync.wait(timeout=60)
