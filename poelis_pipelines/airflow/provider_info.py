"""The provider metadata Airflow reads through the `apache_airflow_provider` entry point (pyproject.toml).

Declarative, as Airflow 3.2+ prefers: the connection forms are described here, so listing the connection
types imports no hook.
"""

from __future__ import annotations

from typing import Any

from poelis_pipelines import settings

POELIS_CONNECTION_TYPE = "poelis"
WAREHOUSE_CONNECTION_TYPE = "poelis_warehouse"


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "poelis-pipelines",
        "name": "Poelis",
        "description": "Syncs a Poelis organization (workspaces, products, items, properties) into a SQL "
        "warehouse.",
        "connection-types": [
            {
                "connection-type": POELIS_CONNECTION_TYPE,
                "hook-class-name": "poelis_pipelines.airflow.hooks.PoelisHook",
                "hook-name": "Poelis",
                "conn-fields": {
                    "allow_insecure_http": {
                        "label": "Allow plain http to a non-loopback host (behind a TLS-terminating proxy)",
                        "schema": {"type": ["boolean", "null"], "default": False},
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "login", "port"],
                    "relabeling": {"host": "Base URL", "password": "API key"},
                    "placeholders": {
                        "host": settings.DEFAULT_BASE_URL,
                        "password": f"{settings.API_KEY_PREFIX}...",
                    },
                },
            },
            {
                "connection-type": WAREHOUSE_CONNECTION_TYPE,
                "hook-class-name": "poelis_pipelines.airflow.hooks.PoelisWarehouseHook",
                "hook-name": "Poelis warehouse",
                "ui-field-behaviour": {
                    "hidden-fields": ["login", "port", "extra"],
                    "relabeling": {
                        "host": "SQLAlchemy URL",
                        "schema": "Schema of the tables and views",
                        "password": "Password (added to the URL)",
                    },
                    "placeholders": {
                        "host": "postgresql+psycopg://user@host:5432/analytics",
                        "schema": settings.DEFAULT_WAREHOUSE_SCHEMA,
                    },
                },
            },
        ],
    }
