"""Running the real Airflow CLI on an Airflow home of the test's own."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
EXAMPLE_DAG = REPOSITORY / "poelis_pipelines" / "airflow" / "example_dags" / "poelis_sync.py"
AIRFLOW_TIMEOUT_SECONDS = 240
API_SERVER_START_SECONDS = 120


def airflow_environment(home: Path) -> dict[str, str]:
    """An Airflow of its own in `home` (SQLite metadata, the DAGs folder a user would set up), and no
    POELIS_* or AIRFLOW* setting of the machine's."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("POELIS_", "AIRFLOW_", "AIRFLOW__"))
    }
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        }
    )
    return env


def run_airflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        env=env,
        cwd=env["AIRFLOW_HOME"],
        capture_output=True,
        text=True,
        timeout=AIRFLOW_TIMEOUT_SECONDS,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def api_server(env: dict[str, str]) -> Iterator[None]:
    """Airflow's API server, which real task processes (an executor's) report to: `env` is changed so the
    commands run with it reach this one. Stopped at the end."""
    port = free_port()
    env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://127.0.0.1:{port}/execution/"
    env["AIRFLOW__API_AUTH__JWT_SECRET"] = secrets.token_hex(16)
    log = Path(env["AIRFLOW_HOME"]) / "api-server.out"
    with log.open("w") as output:
        command = ["api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        server = subprocess.Popen(
            [sys.executable, "-m", "airflow", *command],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + API_SERVER_START_SECONDS
        while not _healthy(port):
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"no API server after {API_SERVER_START_SECONDS} s"
            time.sleep(0.2)
        yield
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False
