"""What this package hands to Dagster holds no key, in a process that is not ours: the records of our loggers
that a run captures (Dagster's managed Python loggers) and the text of an exception a step raises. The user's
own records, captured by the same run, stay as they were."""

import logging
from typing import Any

import dagster as dg
import pytest
import urllib3
from sync_helpers import SyncTarget, asset_key

from poelis_pipelines import settings
from poelis_pipelines.client import PoelisClient, fingerprint, get_logger
from poelis_pipelines.defs.poelis.assets import NO_STEP_RETRIES_TAG, failures_explained


@pytest.mark.parametrize("step_retries", [True, False], ids=["retried", "cli-no-step-retries"])
def test_a_run_gets_our_records_and_errors_scrubbed_and_the_users_records_as_they_are(
    fake_api: Any, step_retries: bool
) -> None:
    key = fake_api.api_key
    instance = dg.DagsterInstance.ephemeral(
        settings={"python_logs": {"managed_python_loggers": ["poelis_pipelines", "users"]}}
    )

    @dg.asset
    def leaky(context: dg.AssetExecutionContext) -> None:
        PoelisClient(key, fake_api.base_url).close()
        get_logger("poelis_pipelines.sync").warning("ours: key=%s", key)
        logging.getLogger("poelis_pipelines.fake_api.transport").warning("ours too: key=%s", key)
        logging.getLogger("users.app").warning("theirs: key=%s", key)
        with failures_explained(context):
            raise RuntimeError(f"broke with {key}")

    tags = {} if step_retries else {NO_STEP_RETRIES_TAG: "true"}
    result = dg.materialize([leaky], instance=instance, tags=tags, raise_on_error=False)

    assert not result.success
    entries = instance.all_logs(result.run_id)
    messages = [entry.user_message for entry in entries]
    assert f"ours: key={fingerprint(key)}" in messages
    assert f"ours too: key={fingerprint(key)}" in messages
    assert f"theirs: key={key}" in messages
    recorded = [dg.serialize_value(entry) for entry in entries if "theirs:" not in entry.user_message]
    assert not any(key in text for text in recorded)
    (failure,) = result.get_step_failure_events()
    assert f"broke with {fingerprint(key)}" in str(failure.step_failure_data.error)


def test_the_key_in_the_organizations_own_data_is_kept_in_the_warehouse_and_masked_in_the_runs_metadata(
    duckdb_target: SyncTarget, api_environment: Any
) -> None:
    """Someone pasted the key into a product's name: the warehouse copies the data as it is, while the
    preview Dagster shows (a workspace's first products by id) names it by its fingerprint."""
    key = api_environment.api_key
    dataset = api_environment.dataset
    workspace_id = sorted(workspace["id"] for workspace in dataset.workspaces)[0]
    product_id = min(product["id"] for product in dataset.products if product["workspace_id"] == workspace_id)
    renamed = urllib3.request(
        "PATCH",
        f"{api_environment.base_url}{settings.API_PREFIX}/products/{product_id}",
        json={"name": f"Rover {key}"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert renamed.status == 200, renamed.data

    summary = duckdb_target.sync()

    assert summary.succeeded, summary.failures
    with duckdb_target.warehouse() as warehouse:
        assert warehouse.query(f"SELECT name FROM {{{{schema}}}}.products WHERE id = '{product_id}'")[
            "name"
        ].tolist() == [f"Rover {key}"]
    (materialization,) = [
        record.asset_materialization
        for record in duckdb_target.instance.fetch_materializations(asset_key("products"), limit=100).records
        if record.partition_key == workspace_id
    ]
    assert materialization is not None
    assert f"Rover {fingerprint(key)}" in str(materialization.metadata["preview"].value)
    for run_id in summary.run_ids:
        for entry in duckdb_target.instance.all_logs(run_id):
            assert key not in dg.serialize_value(entry)
