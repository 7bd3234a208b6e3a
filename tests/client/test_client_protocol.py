"""Answers the API contract excludes, served over real HTTP by a tiny scripted server."""

from __future__ import annotations

import json
import math
import threading
import time
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

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        status, body = self.script.pop(0)
        return status, {}, body


class AlignedWindowServer(ScriptedServer):
    """A rate limiter of another kind than the fake's: fixed windows aligned to the clock, exact `Reset`."""

    def __init__(self, capacity: int, window: int) -> None:
        super().__init__()
        self.capacity, self.window = capacity, window
        self.lock = threading.Lock()
        self.used: dict[int, int] = {}
        self.statuses: list[int] = []

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            now = time.time()
            index = math.floor(now / self.window)
            self.used[index] = used = self.used.get(index, 0) + 1
            reset = (index + 1) * self.window
            headers = {
                "X-RateLimit-Limit": str(self.capacity),
                "X-RateLimit-Remaining": str(max(self.capacity - used, 0)),
                "X-RateLimit-Reset": str(reset),
            }
            status = 200 if used <= self.capacity else 429
            self.statuses.append(status)
        if status == 429:
            headers["Retry-After"] = str(math.ceil(reset - now))
            return status, headers, b'{"error": "rate_limit_exceeded", "message": "Too many requests"}'
        return status, headers, json.dumps({"id": f"r{used}"}).encode()


class ScriptedHandler(BaseHTTPRequestHandler):
    server: ScriptedServer

    def do_GET(self) -> None:
        self.server.seen_headers.append(dict(self.headers))
        status, headers, body = self.server.answer()
        self.send_response(status)  # also sends a Date header, as real servers do
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def serve(server: ScriptedServer) -> Iterator[ScriptedServer]:
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    yield from serve(ScriptedServer())


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


def test_pacing_copes_with_clock_aligned_windows() -> None:
    """Windows aligned to the clock with an exact Reset: at most one early probe, then never a 429."""
    server = AlignedWindowServer(capacity=20, window=1)
    for running in serve(server):
        with client_of(running, max_concurrency=4) as client:
            results = list(client.fan_out(client.get_workspace, [f"w{index}" for index in range(20 * 6)]))

        assert len(results) == 120
        assert server.statuses.count(429) <= 1
        assert 429 not in server.statuses[len(server.statuses) // 2 :]
