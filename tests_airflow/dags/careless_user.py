"""A DAG whose own code logs and prints the Poelis key after the hook has built a client: Airflow's secrets
masker must hide it in the task log all the same (the hook registered it)."""

from __future__ import annotations

import logging
import os

from airflow.sdk import dag, task

from poelis_pipelines import settings
from poelis_pipelines.airflow.hooks import PoelisHook


@task
def careless() -> None:
    PoelisHook().get_client().close()
    key = os.environ[settings.ENV_API_KEY]
    logging.getLogger("careless_user").warning("the key is %s", key)
    print(f"printed key: {key}")


@dag(dag_id="careless_user", schedule=None)
def careless_user() -> None:
    careless()


careless_user()
