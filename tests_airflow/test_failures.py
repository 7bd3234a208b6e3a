"""Which failures a task leaves to Airflow's retries: only the transient ones, and always scrubbed."""

from __future__ import annotations

from pathlib import Path

import pytest

from poelis_pipelines.client import (
    AuthenticationError,
    RequestBudgetExhausted,
    ScrubbedError,
    ServerError,
    TransportError,
    register_secret,
)
from poelis_pipelines.normalize import NormalizationError
from poelis_pipelines.warehouse import WarehouseConfigError

SECRET = "poelis_api_TestSecret0123456789abcdefghijklmn"


@pytest.fixture
def failures_for_airflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    """The tasks' failure mapping, with Airflow configured in the test's folder, not in ~/airflow."""
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    from poelis_pipelines.airflow.tasks import failures_for_airflow

    return failures_for_airflow


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationError(f"The Poelis API refused the key {SECRET}", status=401),
        NormalizationError("a record without an id", endpoint="GET /items"),
        WarehouseConfigError("The warehouse URL is malformed"),
        RequestBudgetExhausted("The run's request budget of 5 is spent", max_requests=5),
    ],
    ids=["configuration", "data", "warehouse", "budget"],
)
def test_permanent_failures_fail_without_retry_in_one_scrubbed_line(
    failures_for_airflow: object, error: Exception
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    register_secret(SECRET)
    with pytest.raises(AirflowFailException) as raised, failures_for_airflow():  # type: ignore[operator]
        raise error
    message = str(raised.value)
    assert "\n" not in message
    assert SECRET not in message
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


@pytest.mark.parametrize(
    "error",
    [
        ServerError(f"GET /v1/public/items -> 503 (key {SECRET})", status=503),
        TransportError("connection refused after 6 attempts", kind="connection"),
    ],
    ids=["server", "transport"],
)
def test_transient_failures_are_left_to_the_retries_scrubbed(
    failures_for_airflow: object, error: Exception
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    register_secret(SECRET)
    with pytest.raises((type(error), ScrubbedError)) as raised, failures_for_airflow():  # type: ignore[operator]
        raise error
    assert not isinstance(raised.value, AirflowFailException)
    assert SECRET not in str(raised.value)
    if SECRET not in str(error):
        assert raised.value is error, "an error without a secret is raised as it is"
