"""Client test fixtures: fast-backoff clients, a clean key environment, and a key-leak guard on every test."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from client_helpers import FULL_KEY, ClientFactory

from poelis_pipelines import settings
from poelis_pipelines.client import PoelisClient

# Read by the client's transport: a developer's proxy or CA bundle must not change what the tests reach.
PROXY_VARIABLES = [f"{scheme}_proxy" for scheme in ("http", "https", "all", "no")]
TRANSPORT_VARIABLES = [
    *PROXY_VARIABLES,
    *(name.upper() for name in PROXY_VARIABLES),
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "CURL_CA_BUNDLE",
]


@pytest.fixture(autouse=True)
def clean_key_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's own POELIS_* variables, proxies or CA bundle."""
    for name in (
        settings.ENV_API_KEY,
        settings.ENV_API_KEY_FILE,
        settings.ENV_BASE_URL,
        settings.ENV_QUOTA_SHARE,
        settings.ENV_MAX_REQUESTS,
    ):
        monkeypatch.delenv(name, raising=False)
    for name in TRANSPORT_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def no_key_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Capture every logger at DEBUG (urllib3 included) and fail the test if any record holds a key."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    yield
    assert not FULL_KEY.search(caplog.text), "an API key leaked into the logs"


@pytest.fixture
def make_client(fake_api: Any) -> Iterator[ClientFactory]:
    """Clients of the `fake_api` server with millisecond backoff, closed after the test."""
    clients: list[PoelisClient] = []

    def build(**options: Any) -> PoelisClient:
        defaults: dict[str, Any] = {
            "api_key": fake_api.api_key,
            "base_url": fake_api.base_url,
            "backoff_seconds": 0.005,
            "max_backoff_seconds": 0.05,
            "timeout": 5.0,
        }
        client = PoelisClient(**(defaults | options))
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()
