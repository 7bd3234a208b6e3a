"""Where the key and URL come from, and the refusals that happen before any request is sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from client_helpers import assert_no_key

from poelis_pipelines import settings
from poelis_pipelines.client import AuthenticationError, ConfigurationError, PoelisClient, ServerError
from poelis_pipelines.fake_api import Faults, RateLimit

WELL_FORMED_UNKNOWN_KEY = settings.API_KEY_PREFIX + "Zq3" * 14 + "x"


def test_a_missing_key_names_the_variables_to_set(fake_api: Any) -> None:
    with pytest.raises(ConfigurationError) as raised:
        PoelisClient(base_url=fake_api.base_url)

    assert settings.ENV_API_KEY in str(raised.value)
    assert settings.ENV_API_KEY_FILE in str(raised.value)
    assert fake_api.total_requests == 0


@pytest.mark.parametrize(
    ("make_key", "problem"),
    [
        (lambda key: "poelis_live_" + key.removeprefix(settings.API_KEY_PREFIX), "does not start with"),
        (lambda key: key[:20] + " " + key[21:], "characters"),
        (lambda key: key[:-4] + "\u00e9abc", "characters"),
        (lambda key: key[:20], "characters long"),
        (lambda key: key * 3, "characters long"),
        (lambda key: "", "No Poelis API key"),
    ],
)
def test_malformed_keys_are_refused_before_any_request(fake_api: Any, make_key: Any, problem: str) -> None:
    bad_key = make_key(fake_api.api_key)

    with pytest.raises(ConfigurationError, match=problem) as raised:
        PoelisClient(api_key=bad_key or None, base_url=fake_api.base_url)

    assert fake_api.total_requests == 0
    assert_no_key(str(raised.value))
    if bad_key:
        assert bad_key not in str(raised.value)


@pytest.mark.parametrize(
    "base_url",
    ["ftp://api.poelis.com", "https://", "api.poelis.com", "https://host:notaport", "https://h/?q=1"],
)
def test_malformed_base_urls_are_refused(base_url: str) -> None:
    with pytest.raises(ConfigurationError, match="base URL"):
        PoelisClient(api_key=WELL_FORMED_UNKNOWN_KEY, base_url=base_url)


def test_plain_http_to_a_remote_host_is_refused_unless_allowed() -> None:
    with pytest.raises(ConfigurationError, match="plain http") as raised:
        PoelisClient(api_key=WELL_FORMED_UNKNOWN_KEY, base_url="http://api.poelis.com")
    assert_no_key(str(raised.value))

    with PoelisClient(
        api_key=WELL_FORMED_UNKNOWN_KEY, base_url="http://proxy.internal:8080/", allow_insecure_http=True
    ) as client:
        assert client.base_url == "http://proxy.internal:8080"


def test_base_url_defaults_to_production_and_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with PoelisClient(api_key=WELL_FORMED_UNKNOWN_KEY) as client:
        assert client.base_url == settings.DEFAULT_BASE_URL
    monkeypatch.setenv(settings.ENV_BASE_URL, "https://eu.example.com/v1/public/")
    with PoelisClient(api_key=WELL_FORMED_UNKNOWN_KEY) as client:
        assert client.base_url == "https://eu.example.com"


def test_the_key_comes_from_the_environment(fake_api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.ENV_API_KEY, fake_api.api_key)

    with PoelisClient(base_url=fake_api.base_url) as client:
        assert [workspace["id"] for workspace in client.iter_workspaces()] == [
            workspace["id"] for workspace in fake_api.dataset.workspaces
        ]


def test_a_rotated_key_file_is_picked_up_by_the_next_client(
    fake_api: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key_file = tmp_path / "poelis.key"
    key_file.write_text(f"  {WELL_FORMED_UNKNOWN_KEY}\n")
    monkeypatch.setenv(settings.ENV_API_KEY_FILE, str(key_file))
    with PoelisClient(base_url=fake_api.base_url) as old_client, pytest.raises(AuthenticationError) as raised:
        list(old_client.iter_workspaces())
    assert_no_key(str(raised.value))

    key_file.write_text(fake_api.api_key + "\n")

    with PoelisClient(base_url=fake_api.base_url) as new_client:
        assert len(list(new_client.iter_workspaces())) == len(fake_api.dataset.workspaces)


def test_a_missing_key_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(settings.ENV_API_KEY_FILE, str(tmp_path / "absent.key"))

    with pytest.raises(ConfigurationError, match=r"absent\.key"):
        PoelisClient()


def test_repr_shows_a_fingerprint_only(fake_api: Any) -> None:
    with PoelisClient(api_key=fake_api.api_key, base_url=fake_api.base_url) as client:
        text = repr(client)
    assert fake_api.api_key[-4:] in text
    assert_no_key(text)


def test_the_fingerprint_and_advertised_limit_are_what_people_may_see(
    fake_api: Any, make_client: Any
) -> None:
    fake_api.rate_limit = RateLimit(limit=120, burst=10, window=60.0)
    client = make_client()
    assert client.advertised_rate_limit is None, "nothing is known before the first answer"

    next(iter(client.iter_workspaces()))

    assert client.advertised_rate_limit == 120
    assert client.key_fingerprint.startswith(settings.API_KEY_PREFIX)
    assert client.key_fingerprint.endswith(fake_api.api_key[-4:])
    assert fake_api.api_key not in client.key_fingerprint
    assert client.key_fingerprint in repr(client)


def test_quota_share_and_request_budget_come_from_the_arguments_else_the_environment(
    fake_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = {"api_key": fake_api.api_key, "base_url": fake_api.base_url}
    with PoelisClient(**options) as client:
        assert (client.quota_share, client.max_requests) == (settings.DEFAULT_QUOTA_SHARE, None)

    monkeypatch.setenv(settings.ENV_QUOTA_SHARE, "0.25")
    monkeypatch.setenv(settings.ENV_MAX_REQUESTS, " 40 ")
    with PoelisClient(**options) as client:
        assert (client.quota_share, client.max_requests, client.requests_remaining) == (0.25, 40, 40)
    with PoelisClient(**options, quota_share=1.0, max_requests=7) as client:
        assert (client.quota_share, client.max_requests) == (1.0, 7)


@pytest.mark.parametrize("value", ["0", "-0.5", "1.2", "half", "nan"])
def test_a_bad_quota_share_is_one_sentence_naming_the_variable(
    fake_api: Any, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(settings.ENV_QUOTA_SHARE, value)
    with pytest.raises(ConfigurationError) as raised:
        PoelisClient(api_key=fake_api.api_key, base_url=fake_api.base_url)

    message = str(raised.value)
    assert message.startswith(f"${settings.ENV_QUOTA_SHARE} must be a number above 0 and at most 1")
    assert repr(value) in message
    assert ". " not in message, "one sentence"


@pytest.mark.parametrize("value", ["0", "-3", "2.5", "many"])
def test_a_bad_request_budget_is_one_sentence_naming_the_variable(
    fake_api: Any, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(settings.ENV_MAX_REQUESTS, value)
    with pytest.raises(ConfigurationError, match=rf"^\${settings.ENV_MAX_REQUESTS} must be a positive whole"):
        PoelisClient(api_key=fake_api.api_key, base_url=fake_api.base_url)


@pytest.mark.parametrize("options", [{"quota_share": 0.0}, {"quota_share": 1.5}, {"max_requests": 0}])
def test_bad_quota_arguments_are_refused_before_any_request(fake_api: Any, options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match=rf"^{next(iter(options))} must be"):
        PoelisClient(api_key=fake_api.api_key, base_url=fake_api.base_url, **options)
    assert fake_api.total_requests == 0


def test_retry_knobs_come_from_the_arguments_else_the_environment(
    fake_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every caller's client (Dagster resource, CLI, Airflow hook) retries as `POELIS_MAX_ATTEMPTS` and
    `POELIS_BACKOFF_SECONDS` say: three attempts, waits planned from a 10 ms back-off (6 and 0.5 s unset)."""
    fake_api.faults = Faults(error_503=1.0)
    monkeypatch.setenv(settings.ENV_MAX_ATTEMPTS, "3")
    monkeypatch.setenv(settings.ENV_BACKOFF_SECONDS, "0.01")
    with PoelisClient(api_key=fake_api.api_key, base_url=fake_api.base_url) as client:
        with pytest.raises(ServerError):
            list(client.iter_workspaces())
        assert client.stats.requests == 3
        # the planned back-offs: 10 ms, then 20 ms, each plus up to 10 ms of jitter (unset: at least 1.5 s)
        assert 0.03 <= client.stats.as_dict()["seconds_waited"] < 1.0

    fake_api.reset_counters()
    options = {"api_key": fake_api.api_key, "base_url": fake_api.base_url, "max_attempts": 2}
    with PoelisClient(**options) as client, pytest.raises(ServerError):  # the argument wins
        list(client.iter_workspaces())
    assert fake_api.total_requests == 2


@pytest.mark.parametrize("variable", [settings.ENV_MAX_ATTEMPTS, settings.ENV_BACKOFF_SECONDS])
@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_bad_retry_knob_is_refused_naming_the_variable(
    fake_api: Any, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=rf"^\${variable} must be a positive number, got '{value}'$"):
        PoelisClient(api_key=fake_api.api_key, base_url=fake_api.base_url)
    assert fake_api.total_requests == 0
