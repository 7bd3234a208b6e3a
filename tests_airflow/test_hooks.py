"""Where the hooks find the key and the warehouse: Airflow connections (defined in the environment, as
`AIRFLOW_CONN_*`), or the CLI's environment variables when the connection does not exist."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from poelis_pipelines import settings
from poelis_pipelines.client import ConfigurationError, ServerError, scrub
from poelis_pipelines.fake_api import FakePoelisServer, Faults

PASSWORD = "warehouse-Passw0rd-for-tests"


@pytest.fixture
def hooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The hooks module, Airflow configured in the test's folder, and no POELIS_* setting of the machine."""
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    for name in (
        settings.ENV_API_KEY,
        settings.ENV_API_KEY_FILE,
        settings.ENV_BASE_URL,
        settings.ENV_WAREHOUSE_URL,
        settings.ENV_WAREHOUSE_SCHEMA,
    ):
        monkeypatch.delenv(name, raising=False)
    from poelis_pipelines.airflow import hooks

    return hooks


def define_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: object) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


def test_the_poelis_connection_gives_the_key_and_the_base_url(
    hooks: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakePoelisServer(seed=7, scale="tiny") as server:
        define_connection(
            monkeypatch, "poelis_default", conn_type="poelis", host=server.base_url, password=server.api_key
        )
        with hooks.PoelisHook().get_client() as client:
            assert [workspace["id"] for workspace in client.iter_workspaces()] == [
                workspace["id"] for workspace in server.dataset.workspaces
            ]


def test_a_host_without_scheme_is_https(hooks: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    define_connection(
        monkeypatch,
        "poelis_default",
        conn_type="poelis",
        host="api.example.com",
        port=8443,
        password=settings.API_KEY_PREFIX + "a" * 40,
    )
    with hooks.PoelisHook().get_client() as client:
        assert client.base_url == "https://api.example.com:8443"


def test_without_connections_the_environment_applies(
    hooks: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with FakePoelisServer(seed=7, scale="tiny") as server:
        monkeypatch.setenv(settings.ENV_API_KEY, server.api_key)
        monkeypatch.setenv(settings.ENV_BASE_URL, server.base_url)
        monkeypatch.setenv(settings.ENV_WAREHOUSE_URL, f"duckdb:///{tmp_path}/warehouse.duckdb")
        monkeypatch.setenv(settings.ENV_WAREHOUSE_SCHEMA, "elsewhere")
        with hooks.PoelisHook().get_client() as client:
            assert client.base_url == server.base_url
            assert len(list(client.iter_workspaces())) == len(server.dataset.workspaces)
        assert hooks.PoelisWarehouseHook().target() == (f"duckdb:///{tmp_path}/warehouse.duckdb", "elsewhere")


def test_the_hooks_client_retries_as_the_environment_says(
    hooks: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`POELIS_MAX_ATTEMPTS` and `POELIS_BACKOFF_SECONDS` reach the tasks' client as they reach the CLI's."""
    with FakePoelisServer(seed=7, scale="tiny", faults=Faults(error_503=1.0)) as server:
        define_connection(
            monkeypatch, "poelis_default", conn_type="poelis", host=server.base_url, password=server.api_key
        )
        monkeypatch.setenv(settings.ENV_MAX_ATTEMPTS, "2")
        monkeypatch.setenv(settings.ENV_BACKOFF_SECONDS, "0.01")
        with hooks.PoelisHook().get_client() as client, pytest.raises(ServerError):
            list(client.iter_workspaces())
        assert server.total_requests == 2  # unset: 6 attempts
        assert client.stats.as_dict()["seconds_waited"] < 0.5  # one planned back-off of 10-20 ms, not 0.5-1 s


def test_a_malformed_key_in_the_connection_is_refused_naming_the_connection(
    hooks: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    define_connection(monkeypatch, "poelis_default", conn_type="poelis", password="not-a-poelis-key-at-all")
    with pytest.raises(ConfigurationError, match="the Airflow connection 'poelis_default'") as raised:
        hooks.PoelisHook().get_client()
    assert "not-a-poelis-key-at-all" not in str(raised.value)


def test_the_warehouse_connection_adds_its_password_to_the_url_and_masks_it(
    hooks: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    define_connection(
        monkeypatch,
        "poelis_warehouse_default",
        conn_type="poelis_warehouse",
        host="postgresql+psycopg://etl@db.internal:5432/analytics",
        schema="poelis_raw",
        password=PASSWORD,
    )
    url, schema = hooks.PoelisWarehouseHook().target()
    assert (url, schema) == (f"postgresql+psycopg://etl:{PASSWORD}@db.internal:5432/analytics", "poelis_raw")
    assert PASSWORD not in scrub(f"could not connect to {url}")


def test_a_postgres_connection_names_the_warehouse(
    hooks: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    define_connection(
        monkeypatch,
        "analytics",
        conn_type="postgres",
        host="db.internal",
        port=5432,
        login="etl",
        password=PASSWORD,
        schema="analytics",
    )
    assert hooks.PoelisWarehouseHook("analytics").target() == (
        f"postgresql+psycopg://etl:{PASSWORD}@db.internal:5432/analytics",
        settings.DEFAULT_WAREHOUSE_SCHEMA,
    )


def test_a_connection_of_another_type_is_refused_in_one_line(
    hooks: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    define_connection(monkeypatch, "web", conn_type="http", host="example.com", password=PASSWORD)
    with pytest.raises(
        ConfigurationError, match="'web' is of type 'http', which names no warehouse"
    ) as raised:
        hooks.PoelisWarehouseHook("web").target()
    assert "\n" not in str(raised.value)
    assert PASSWORD not in str(raised.value)
