"""`FakePoelisServer`: the fake API on a loopback port, for the demo, the tests and the benchmarks.

Transport: `http.server.ThreadingHTTPServer` with HTTP/1.1 keep-alive, one thread per connection. Each
response is written with a single `send` of pre-built header bytes and a pre-serialised body (see
`benchmarks/bench_fake_api.py` for the measured throughput).
"""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from poelis_pipelines import settings
from poelis_pipelines.fake_api.api import FakeApi, FakeOrganization, Faults, RateLimit, Response, error_body
from poelis_pipelines.fake_api.dataset import FakeDataset, generate_organization
from poelis_pipelines.fake_api.mutation import Mutation, apply_mutation

_REASONS = {
    0: "",
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class _HttpServer(ThreadingHTTPServer):
    """Tracks open connections so `stop()` can cut kept-alive clients off like a real outage."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], api: FakeApi, family: socket.AddressFamily) -> None:
        self.address_family = family
        self.api = api
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def close_open_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.open_connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakePoelis/1.0"
    disable_nagle_algorithm = True
    server: _HttpServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.open_connections.discard(self.connection)
        super().finish()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)  # keep the connection in sync; writes are not implemented
        response = self.server.api.handle(self.command, self.path, self.headers.get("Authorization"))
        if response.delay:
            time.sleep(response.delay)
        if response.drop:
            self.close_connection = True
            return
        self._write(response)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def _write(self, response: Response) -> None:
        head = [f"HTTP/1.1 {response.status} {_REASONS.get(response.status, '')}"]
        head.append("Content-Type: application/json")
        head.append(f"Content-Length: {len(response.body)}")
        head.extend(f"{name}: {value}" for name, value in response.headers.items())
        if self.close_connection:
            head.append("Connection: close")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests (bad request line, huge headers, unknown method) get a JSON error too."""
        self.close_connection = True
        _, headers = self.server.api.limiter.admit(None, time.time())
        headers["X-Request-ID"] = secrets.token_hex(16)
        self._write(Response(code, error_body("validation_error", message or "Bad request"), headers))

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request logs would drown test output (and must never carry keys)."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class FakePoelisServer:
    """A faithful fake of the Poelis Public API serving one or more organizations on loopback.

    With no `organizations`, it generates two from `seed` and `scale` (the second, tiny, so cross-
    organization tests have somewhere to look). Use as a context manager or call `start()`/`stop()`.
    `faults` and `rate_limit` may be reassigned while it runs.
    """

    def __init__(
        self,
        organizations: Sequence[FakeOrganization] | None = None,
        *,
        seed: int = 0,
        scale: str = "tiny",
        rate_limit: RateLimit | None = None,
        faults: Faults | None = None,
        host: str = settings.FAKE_API_HOST,
        port: int = 0,
        allow_non_loopback: bool = False,
    ) -> None:
        if not allow_non_loopback and not _is_loopback(host):
            raise ValueError(
                f"refusing to serve the fake API on non-loopback host {host!r}; pass allow_non_loopback=True"
            )
        if organizations is None:
            organizations = [
                FakeOrganization(generate_organization(seed, scale)),
                FakeOrganization(generate_organization(seed + 1, "tiny")),
            ]
        if not organizations:
            raise ValueError("a fake server needs at least one organization")
        self.organizations: list[FakeOrganization] = list(organizations)
        self._api = FakeApi(self.organizations, rate_limit, faults)
        self._host = host
        self._port = port
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._mutation_lock = threading.Lock()

    # --- lifecycle ---

    def start(self) -> FakePoelisServer:
        if self._httpd is not None:
            return self
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        self._httpd = _HttpServer((self._host, self._port), self._api, family)
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="fake-poelis-api",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut every open connection (clients see a reset, as in an outage)."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.close_open_connections()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (for the command line)."""
        self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(timeout=0.5)
        finally:
            self.stop()

    def __enter__(self) -> FakePoelisServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # --- what clients need ---

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`, without the `/v1/public` prefix (like `https://api.poelis.com`)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    @property
    def api_key(self) -> str:
        """The first organization's key."""
        return self.organizations[0].api_key

    @property
    def dataset(self) -> FakeDataset:
        """The first organization's `FakeDataset`."""
        return self.organizations[0].dataset

    def revoke_key(self, api_key: str) -> None:
        """Make `api_key` invalid from the next request on (401)."""
        self._api.revoke_key(api_key)

    def issue_key(self, organization: FakeOrganization | None = None) -> str:
        """Mint an additional valid key for an organization (default: the first), e.g. for rotation."""
        api_key = settings.API_KEY_PREFIX + secrets.token_urlsafe(32)
        self._api.add_key(api_key, organization or self.organizations[0])
        return api_key

    @property
    def faults(self) -> Faults:
        return self._api.faults

    @faults.setter
    def faults(self, value: Faults | None) -> None:
        self._api.faults = value

    @property
    def rate_limit(self) -> RateLimit | None:
        return self._api.limiter.rate_limit

    @rate_limit.setter
    def rate_limit(self, value: RateLimit | None) -> None:
        self._api.limiter.rate_limit = value

    def mutate(self, seed: int, organization: FakeOrganization | None = None) -> Mutation:
        """Change the draft of an organization (default: the first) as users would between two syncs."""
        with self._mutation_lock:
            return apply_mutation((organization or self.organizations[0]).dataset, seed)

    @property
    def counters(self) -> Counter[tuple[str, int]]:
        """Requests so far by (route template, status); a dropped connection counts as status 0."""
        return self._api.counters

    @property
    def total_requests(self) -> int:
        return sum(self._api.counters.values())

    def reset_counters(self) -> None:
        self._api.reset_counters()

    def __repr__(self) -> str:
        state = "running" if self._httpd else "stopped"
        return f"<FakePoelisServer {self.base_url} {state} organizations={len(self.organizations)}>"
