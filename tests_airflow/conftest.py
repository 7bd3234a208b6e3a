"""The Airflow provider's tests: the real `airflow dags test poelis_sync` in a subprocess, on a SQLite Airflow
metadata database of its own, against the fake API in this process.

They run in `.venv-airflow` (`make airflow-test`); the Dagster venv's pytest never collects them (its
testpaths are `tests/`). The PostgreSQL fixtures are the main suite's, loaded from tests/conftest.py.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
from airflow_helpers import EXAMPLE_DAG, REPOSITORY, airflow_environment, run_airflow

_spec = importlib.util.spec_from_file_location("poelis_main_conftest", REPOSITORY / "tests" / "conftest.py")
assert _spec is not None
assert _spec.loader is not None
_main_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_main_conftest)
postgres_url = _main_conftest.postgres_url
postgres_schema = _main_conftest.postgres_schema


@pytest.fixture(scope="session")
def migrated_airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A metadata database migrated once, with the `poelis_api` pool of one slot the README prescribes."""
    home = tmp_path_factory.mktemp("airflow_template")
    env = airflow_environment(home)
    for command in (("db", "migrate"), ("pools", "set", "poelis_api", "1", "Poelis API quota")):
        result = run_airflow(env, *command)
        assert result.returncode == 0, result.stdout + result.stderr
    return home


@pytest.fixture
def airflow_home(tmp_path: Path, migrated_airflow_home: Path) -> Path:
    """A fresh Airflow home per test: a copy of the migrated database, and the example DAG copied into its
    DAGs folder as the README says."""
    home = tmp_path / "airflow_home"
    (home / "dags").mkdir(parents=True)
    shutil.copy(migrated_airflow_home / "airflow.db", home / "airflow.db")
    shutil.copy(EXAMPLE_DAG, home / "dags" / EXAMPLE_DAG.name)
    return home
