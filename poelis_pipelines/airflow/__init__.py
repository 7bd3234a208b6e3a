"""Airflow provider of poelis-pipelines: the same sync as the Dagster assets, as Airflow hooks and tasks.

Importable only where Airflow is installed (`pip install 'poelis-pipelines[airflow]'`); nothing else in the
package imports it. It sits beside `defs` and calls the same Dagster-free layers (client, warehouse, sync):

- `provider_info.get_provider_info`: the `apache_airflow_provider` entry point, so Airflow lists the
  `poelis` and `poelis_warehouse` connection types;
- `hooks`: `PoelisHook` (the API key and base URL) and `PoelisWarehouseHook` (the SQLAlchemy URL and schema),
  each falling back to the CLI's environment variables when its connection does not exist;
- `tasks`: the TaskFlow tasks of the levels, with the one-line permanent failures and resumable run keys;
- `example_dags/poelis_sync.py`: the `poelis_sync` DAG built from them.

This module imports nothing, so Airflow's provider discovery can load the entry point cheaply.
"""
