"""Real subprocesses for tests: the `poelis-pipelines` command and helper scripts, in an environment sealed
from the developer's own Poelis and Dagster settings, and waiting on them with a deadline (never for luck).

Importable from every test folder: pytest puts tests/ on sys.path for the root conftest.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from poelis_pipelines import settings

CLI_TIMEOUT_SECONDS = 240
WAIT_SECONDS = 60


def sealed_environment() -> dict[str, str]:
    """This process's environment without the developer's POELIS_* settings and DAGSTER_HOME."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("POELIS_") and key != "DAGSTER_HOME"
    }


def api_environment(server: Any) -> dict[str, str]:
    """The sealed environment plus the key and address of the fake API `server`."""
    return sealed_environment() | {
        settings.ENV_API_KEY: server.api_key,
        settings.ENV_BASE_URL: server.base_url,
    }


def user_environment(server: Any, warehouse_url: str, dagster_home: Path) -> dict[str, str]:
    """What a user sets to sync the fake `server` into `warehouse_url`, recording runs in `dagster_home`."""
    dagster_home.mkdir(exist_ok=True)
    return api_environment(server) | {
        settings.ENV_WAREHOUSE_URL: warehouse_url,
        "DAGSTER_HOME": str(dagster_home),
    }


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`poelis-pipelines <args>` to the end, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "poelis_pipelines", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )


@pytest.fixture
def cli_env(fake_api: Any, tmp_path: Path) -> dict[str, str]:
    """A user's environment for the fake API, a DuckDB file and a DAGSTER_HOME in the test's folder."""
    return user_environment(fake_api, f"duckdb:///{tmp_path}/warehouse.duckdb", tmp_path / "dagster_home")


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    """Poll a condition until it holds; fail naming it after `timeout` seconds (never sleep for luck)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.002)


def stop_group(process: subprocess.Popen[Any], timeout: float) -> None:
    """End a process started in a group of its own (a server and its children) with SIGTERM, and with SIGKILL
    when it is not gone within `timeout` seconds."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def kill_script_when(server: Any, condition: Callable[[], bool], what: str, script: str, *args: str) -> None:
    """`python -c script args` against the fake API `server`, killed with `kill -9` once `condition` holds;
    fails if the script ended before."""
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        env=api_environment(server),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: condition() or process.poll() is not None, what)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL, (
            f"the script finished before the kill: {process.communicate()[1]}"
        )
    finally:
        if process.poll() is None:
            process.kill()


@contextmanager
def ready_process(script: str, *args: str, timeout: float = 60) -> Iterator[subprocess.Popen[str]]:
    """`python -c script args` for as long as the block runs, once it printed `ready`; ended by closing its
    stdin."""
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        yield process
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=timeout)
