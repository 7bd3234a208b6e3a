"""A missing or bad key, as the UI and the daemon meet it: the run fails with the CLI's one sentence (no
config error, no retry), and the sensor skips with that sentence instead of failing its tick."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from sync_helpers import STANDALONE, asset_key

from poelis_pipelines import PoelisResource, build_poelis_defs, settings
from poelis_pipelines.client import ConfigurationError, PoelisClient
from poelis_pipelines.defs.poelis.assets import FAILURE_KIND
from poelis_pipelines.defs.poelis.sensors import build_workspace_sensor

MALFORMED_KEY = "poelis_api_short!"


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch, duckdb_url: str) -> None:
    """No key anywhere, as on a fresh machine; the warehouse is a real file so only the key can fail."""
    monkeypatch.delenv(settings.ENV_API_KEY, raising=False)
    monkeypatch.delenv(settings.ENV_API_KEY_FILE, raising=False)
    monkeypatch.setenv(settings.ENV_WAREHOUSE_URL, duckdb_url)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


def the_cli_sentence() -> str:
    """What `poelis-pipelines sync` prints for the current environment: the client's ConfigurationError."""
    with pytest.raises(ConfigurationError) as raised:
        PoelisClient()
    return str(raised.value)


def materialize_workspaces(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """What the UI's Materialize button runs: the job of the loaded definitions, with no run config."""
    job = build_poelis_defs().resolve_job_def(STANDALONE.job_name)
    return job.execute_in_process(
        instance=instance, asset_selection=[asset_key("workspaces")], raise_on_error=False
    )


def assert_failed_with_one_sentence(result: dg.ExecuteInProcessResult, sentence: str) -> None:
    assert not result.success
    failures = result.get_step_failure_events()
    assert len(failures) == 1, "one attempt only: a configuration error is never retried"
    user_failure = failures[0].step_failure_data.user_failure_data
    assert user_failure is not None, failures[0].step_failure_data.error
    assert user_failure.description == sentence
    assert user_failure.metadata[FAILURE_KIND].value == "configuration"
    for event in result.all_events:
        assert "DagsterInvalidConfigError" not in str(event.message or "")
        assert "DagsterInvalidConfigError" not in str(event.event_specific_data or "")


@pytest.mark.usefixtures("no_key")
def test_materializing_with_no_key_fails_the_run_with_the_cli_sentence(instance: dg.DagsterInstance) -> None:
    sentence = the_cli_sentence()
    assert settings.ENV_API_KEY in sentence
    assert_failed_with_one_sentence(materialize_workspaces(instance), sentence)


@pytest.mark.usefixtures("no_key")
def test_a_malformed_key_fails_the_run_with_the_cli_sentence_and_never_shows_the_key(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(settings.ENV_API_KEY, MALFORMED_KEY)
    sentence = the_cli_sentence()
    result = materialize_workspaces(instance)
    assert_failed_with_one_sentence(result, sentence)
    assert all(MALFORMED_KEY not in str(event) for event in result.all_events)


@pytest.mark.usefixtures("no_key")
def test_a_key_file_that_does_not_exist_fails_the_run_with_the_cli_sentence(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(settings.ENV_API_KEY_FILE, str(tmp_path / "missing-key"))
    sentence = the_cli_sentence()
    assert "does not exist" in sentence
    assert_failed_with_one_sentence(materialize_workspaces(instance), sentence)


@pytest.mark.usefixtures("no_key")
def test_a_revoked_key_fails_the_run_once_with_the_api_sentence(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch, fake_api: object
) -> None:
    monkeypatch.setenv(settings.ENV_API_KEY, fake_api.api_key)  # type: ignore[attr-defined]
    monkeypatch.setenv(settings.ENV_BASE_URL, fake_api.base_url)  # type: ignore[attr-defined]
    fake_api.revoke_key(fake_api.api_key)  # type: ignore[attr-defined]
    result = materialize_workspaces(instance)
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert failure is not None
    assert "Manage REST API Keys" in (failure.description or "")
    assert_failed_with_one_sentence(result, failure.description or "")


@pytest.mark.usefixtures("no_key")
def test_the_sensor_skips_with_the_sentence_when_no_key_is_configured(instance: dg.DagsterInstance) -> None:
    sentence = the_cli_sentence()
    with dg.build_sensor_context(instance=instance, resources={"poelis": PoelisResource()}) as context:
        result = build_workspace_sensor(STANDALONE).evaluate_tick(context)
    assert not result.run_requests
    assert sentence in (result.skip_message or "")


@pytest.mark.usefixtures("no_key")
def test_the_sensor_skips_with_the_sentence_when_the_key_is_revoked(
    instance: dg.DagsterInstance, fake_api: object
) -> None:
    fake_api.revoke_key(fake_api.api_key)  # type: ignore[attr-defined]
    resource = PoelisResource(api_key=fake_api.api_key, base_url=fake_api.base_url)  # type: ignore[attr-defined]
    with dg.build_sensor_context(instance=instance, resources={"poelis": resource}) as context:
        result = build_workspace_sensor(STANDALONE).evaluate_tick(context)
    assert not result.run_requests
    assert "Manage REST API Keys" in (result.skip_message or "")
    assert fake_api.api_key not in (result.skip_message or "")  # type: ignore[attr-defined]
