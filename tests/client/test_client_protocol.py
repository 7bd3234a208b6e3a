"""Answers the API contract excludes, served over real HTTP by a tiny scripted server."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from client_helpers import ScriptedServer, serve

from poelis_pipelines import settings
from poelis_pipelines.client import PoelisAPIError, PoelisClient, ProtocolError, ValidationError

KEY = settings.API_KEY_PREFIX + "protocolTestKey_" + "p" * 24


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


class RedirectingServer(ScriptedServer):
    """Answers every GET with a redirect to `location`, as a moved or hijacked API might."""

    def __init__(self, location: str) -> None:
        super().__init__()
        self.location = location

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        return 302, {"Location": self.location, "X-Request-ID": "req-redirect"}, b""


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
    """Windows aligned to the clock with an exact Reset. The window-length estimate is built for windows
    opened on demand; here it is never contradicted, so it ends one way or the other: an early probe's 429
    (the only one) or its learning probes running out. Either way it is dropped, and Reset rules alone.

    Which comes first depends on timing, so the test asserts the outcome, not the path."""
    server = AlignedWindowServer(capacity=10, window=1)
    for running in serve(server):
        with client_of(running, max_concurrency=4) as client:
            results = list(client.fan_out(client.get_workspace, [f"w{index}" for index in range(10 * 11)]))

        assert len(results) == 110
        throttled = server.statuses.count(429)
        assert throttled <= 1
        assert client.stats.rate_limited == throttled
        # White box: the estimate itself, whose only other visible effect is timing.
        assert not client._limiter._length.enabled, "eleven aligned windows must have dropped the estimate"


@pytest.mark.parametrize("relative", [False, True])
def test_a_redirect_is_reported_never_followed(scripted: ScriptedServer, relative: bool) -> None:
    """A redirect to another host must not receive the key, so none is followed, even to the same host."""
    host, port = scripted.server_address[:2]
    elsewhere = f"http://{host!s}:{port}"
    location = "/v1/public/workspaces?moved=1" if relative else f"{elsewhere}/v1/public/workspaces?limit=200"
    for redirecting in serve(RedirectingServer(location)):
        with client_of(redirecting, max_attempts=3) as client, pytest.raises(PoelisAPIError) as raised:
            list(client.iter_workspaces())

        own_host, own_port = redirecting.server_address[:2]
        target = f"http://{own_host!s}:{own_port}" if relative else elsewhere
        assert f"redirected (302) to {target};" in str(raised.value)
        assert "follows no redirect" in str(raised.value)
        assert raised.value.status == 302
        assert raised.value.request_id == "req-redirect"
        assert len(redirecting.seen_headers) == 1, "a redirect is not worth a retry"
        assert client.stats.requests == 1
    assert scripted.seen_headers == [], "the redirect target never heard from the client"
