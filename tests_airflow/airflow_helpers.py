"""Running the real Airflow CLI on an Airflow home of the test's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
EXAMPLE_DAG = REPOSITORY / "poelis_pipelines" / "airflow" / "example_dags" / "poelis_sync.py"
AIRFLOW_TIMEOUT_SECONDS = 240


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
