"""Answers the API contract excludes, served over real HTTP by a tiny scripted server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from poelis_pipelines import settings
from poelis_pipelines.client import PoelisClient, ProtocolError, ValidationError

KEY = settings.API_KEY_PREFIX + "protocolTestKey_" + "p" * 24


class ScriptedServer(ThreadingHTTPServer):
    """Answers every GET with the next scripted `(status, body)`; records the requests' headers."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        self.script: list[tuple[int, bytes]] = []
        self.seen_headers: list[dict[str, str]] = []


class ScriptedHandler(BaseHTTPRequestHandler):
    server: ScriptedServer

    def do_GET(self) -> None:
        self.server.seen_headers.append(dict(self.headers))
        status, body = self.server.script.pop(0)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def client_of(server: ScriptedServer, **options: Any) -> PoelisClient:
    host, port = server.server_address[:2]
    return PoelisClient(api_key=KEY, base_url=f"http://{host!s}:{port}", backoff_seconds=0.001, **options)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([{"id": "a"}], "not an object with an `items` list"),
        ({"items": {"id": "a"}}, "not an object with an `items` list"),
        ({"items": [{"id": "a"}, {"name": "no id"}]}, "record 1 of the page without a string `id`"),
        ({"items": [{"id": 7}]}, "record 0 of the page without a string `id`"),
    ],
)
def test_malformed_pages_name_the_endpoint_and_position(
    scripted: ScriptedServer, body: Any, problem: str
) -> None:
    scripted.script = [(200, json.dumps(body).encode())]

    with client_of(scripted) as client, pytest.raises(ProtocolError) as raised:
        list(client.iter_workspaces())

    assert problem in str(raised.value)
    assert "GET /v1/public/workspaces at offset 0" in str(raised.value)


def test_requests_carry_the_documented_headers(scripted: ScriptedServer) -> None:
    scripted.script = [(200, b'{"items": [], "count": 0}')]

    with client_of(scripted) as client:
        assert list(client.iter_workspaces()) == []

    headers = scripted.seen_headers[0]
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"].startswith("poelis-pipelines/")


def test_fastapi_error_bodies_are_understood(scripted: ScriptedServer) -> None:
    detail = {"detail": [{"loc": ["query", "limit"], "msg": "must be at most 200"}]}
    scripted.script = [(422, json.dumps(detail).encode())]

    with (
        client_of(scripted) as client,
        pytest.raises(ValidationError, match=r"query\.limit: must be at most 200"),
    ):
        list(client.iter_workspaces())


def test_invalid_json_is_retried_then_reported(scripted: ScriptedServer) -> None:
    scripted.script = [(200, b'{"items": [')] * 3

    with client_of(scripted, max_attempts=3) as client, pytest.raises(ProtocolError, match="not valid JSON"):
        list(client.iter_workspaces())

    assert client.stats.retries["invalid_json"] == 2
    assert client.stats.requests == 3
