"""Fixtures for the fake API's own tests: a fresh server per test and an authenticated session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from poelis_pipelines import settings
from poelis_pipelines.fake_api import FakePoelisServer


class Api:
    """A thin `requests` wrapper that prefixes `/v1/public` and sends the server's key."""

    def __init__(self, server: FakePoelisServer, api_key: str | None = None) -> None:
        self.server = server
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key or server.api_key}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(
            f"{self.server.base_url}{settings.API_PREFIX}{path}", params=params, timeout=10
        )

    def json(self, path: str, **params: Any) -> Any:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def all_pages(self, path: str, **params: Any) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        while True:
            page = self.json(path, limit=200, offset=len(records), **params)
            records.extend(page["items"])
            if page["count"] < 200:
                return records


@pytest.fixture
def server() -> Iterator[FakePoelisServer]:
    with FakePoelisServer(seed=11, scale="tiny") as running:
        yield running


@pytest.fixture
def api(server: FakePoelisServer) -> Iterator[Api]:
    client = Api(server)
    yield client
    client.session.close()


@pytest.fixture
def make_api() -> Iterator[Callable[[FakePoelisServer, str | None], Api]]:
    clients: list[Api] = []

    def make(server: FakePoelisServer, api_key: str | None = None) -> Api:
        clients.append(Api(server, api_key))
        return clients[-1]

    yield make
    for client in clients:
        client.session.close()
