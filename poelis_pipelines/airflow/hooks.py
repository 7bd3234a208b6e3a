"""Where an Airflow task finds the Poelis API key and the warehouse.

From an Airflow connection when one exists: `poelis` (password = the key, host = the base URL) and
`poelis_warehouse` (host = a SQLAlchemy URL, schema = the tables' schema, optional password), or a
`postgres` connection for the warehouse. Without one, from the CLI's environment variables
(`POELIS_API_KEY`, `POELIS_API_KEY_FILE`, `POELIS_BASE_URL`, `POELIS_ALLOW_INSECURE_HTTP`,
`POELIS_WAREHOUSE_URL`, `POELIS_WAREHOUSE_SCHEMA`), so one environment serves the CLI, Dagster and Airflow.
Both are read when a task runs, never when the DAG is parsed: a rotated key takes effect on the next try.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from airflow.sdk import BaseHook, Connection
from airflow.sdk.exceptions import AirflowNotFoundException
from airflow.sdk.log import mask_secret

from poelis_pipelines import settings
from poelis_pipelines.airflow.provider_info import POELIS_CONNECTION_TYPE, WAREHOUSE_CONNECTION_TYPE
from poelis_pipelines.client import ConfigurationError, PoelisClient, register_secret
from poelis_pipelines.client.config import resolve_allow_insecure_http, resolve_api_key, validate_api_key
from poelis_pipelines.warehouse import Warehouse

# Connection types whose fields map onto a SQLAlchemy URL of a supported warehouse.
_URL_DRIVERS = {"postgres": "postgresql+psycopg"}


def connection_or_none(conn_id: str) -> Connection | None:
    """The Airflow connection, or None when it is not defined (the environment variables apply then)."""
    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def hide(secret: str | None) -> None:
    """Mask a secret in Airflow's task logs (its secrets masker) and in what this package lets out."""
    if secret:
        mask_secret(secret)
        register_secret(secret)


class PoelisHook(BaseHook):
    """The Poelis Public API client of a task, configured from a `poelis` connection or the environment."""

    conn_name_attr = "poelis_conn_id"
    default_conn_name = "poelis_default"
    conn_type = POELIS_CONNECTION_TYPE
    hook_name = "Poelis"

    def __init__(self, poelis_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.poelis_conn_id = poelis_conn_id

    def get_conn(self) -> PoelisClient:
        return self.get_client()

    def get_client(
        self, *, quota_share: float | None = None, max_requests: int | None = None
    ) -> PoelisClient:
        """A new client (the caller closes it). The key is masked before the client can log anything;
        `quota_share` and `max_requests` default to `POELIS_QUOTA_SHARE` and `POELIS_MAX_REQUESTS`."""
        connection = connection_or_none(self.poelis_conn_id)
        if connection is not None and connection.password:
            key = validate_api_key(
                connection.password.strip(), source=f"the Airflow connection {self.poelis_conn_id!r}"
            )
        else:
            key = resolve_api_key()
        hide(key)
        return PoelisClient(
            key,
            self._base_url(connection),
            quota_share=quota_share,
            max_requests=max_requests,
            allow_insecure_http=self._allow_insecure_http(connection),
        )

    @staticmethod
    def _base_url(connection: Connection | None) -> str | None:
        """The connection's host as a base URL (https unless it names a scheme); None: the environment's."""
        if connection is None or not connection.host:
            return None
        if "://" in connection.host:
            return connection.host
        port = f":{connection.port}" if connection.port else ""
        return f"https://{connection.host}{port}"

    @staticmethod
    def _allow_insecure_http(connection: Connection | None) -> bool:
        if connection is not None and "allow_insecure_http" in connection.extra_dejson:
            return bool(connection.extra_dejson["allow_insecure_http"])
        return resolve_allow_insecure_http()


class PoelisWarehouseHook(BaseHook):
    """The warehouse of a task, from a `poelis_warehouse` or `postgres` connection or the environment."""

    conn_name_attr = "warehouse_conn_id"
    default_conn_name = "poelis_warehouse_default"
    conn_type = WAREHOUSE_CONNECTION_TYPE
    hook_name = "Poelis warehouse"

    def __init__(self, warehouse_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.warehouse_conn_id = warehouse_conn_id

    def get_conn(self) -> Warehouse:
        return self.get_warehouse()

    def get_warehouse(self) -> Warehouse:
        """The warehouse with its tables created or migrated; the caller closes it."""
        url, schema = self.target()
        warehouse = Warehouse(url, schema)
        try:
            warehouse.ensure()
        except BaseException:
            warehouse.close()
            raise
        return warehouse

    def target(self) -> tuple[str, str]:
        """The SQLAlchemy URL (its password masked in the logs) and the schema."""
        schema = os.environ.get(settings.ENV_WAREHOUSE_SCHEMA) or settings.DEFAULT_WAREHOUSE_SCHEMA
        connection = connection_or_none(self.warehouse_conn_id)
        source = f"the Airflow connection {self.warehouse_conn_id!r}"
        if connection is None:
            source = f"${settings.ENV_WAREHOUSE_URL}"
            url = os.environ.get(settings.ENV_WAREHOUSE_URL) or settings.DEFAULT_WAREHOUSE_URL
        elif connection.conn_type == WAREHOUSE_CONNECTION_TYPE and connection.host:
            url = connection.host
            if connection.password:
                url = sa.make_url(url).set(password=connection.password).render_as_string(hide_password=False)
            schema = connection.schema or schema
        elif connection.conn_type in _URL_DRIVERS:
            url = sa.URL.create(
                _URL_DRIVERS[connection.conn_type],
                username=connection.login,
                password=connection.password,
                host=connection.host,
                port=connection.port,
                database=connection.schema,
            ).render_as_string(hide_password=False)
        else:
            raise ConfigurationError(
                f"The Airflow connection {self.warehouse_conn_id!r} is of type {connection.conn_type!r}, "
                f"which names no warehouse: use a {WAREHOUSE_CONNECTION_TYPE} connection with a SQLAlchemy "
                "URL as its host, or a postgres connection."
            )
        try:
            hide(sa.make_url(url).password)
        except sa.exc.ArgumentError:
            raise ConfigurationError(
                f"The warehouse URL from {source} is not a SQLAlchemy URL (e.g. duckdb:///data/warehouse.duckdb)."
            ) from None
        return url, schema
