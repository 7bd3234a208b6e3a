"""A small HTTP/1.1 server on an asyncio event loop in a background thread.

Chosen by measurement over `http.server.ThreadingHTTPServer` (2 CPUs, `requests.Session` keep-alive
clients, tiny workspace lists): the threaded server peaked near 1,600 requests/s with two client processes
because its per-request header parsing and thread hand-offs cost more CPU than the clients; this loop does
the same work for a fraction of that (see `benchmarks/bench_fake_api.py`).

It speaks just enough HTTP for API clients: request line, headers, `Content-Length` bodies (up to
10 MB), keep-alive and pipelining (responses in request order), `Connection: close`, HTTP/1.0.
Anything else (chunked or huge bodies, huge headers, garbage) gets a JSON 400/413/431 and the connection
closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Callable

from poelis_pipelines.fake_api.api import Response

Handler = Callable[[str, str, "str | None", bytes], Response]
ErrorResponder = Callable[[int, str], Response]

_LOG = logging.getLogger(__name__)
_MAX_HEAD_BYTES = 64 * 1024
_MAX_BODY_BYTES = 10 * 1024 * 1024
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class _Request:
    __slots__ = ("authorization", "body_length", "keep_alive", "method", "target")

    def __init__(
        self, method: str, target: str, authorization: str | None, body_length: int, keep_alive: bool
    ):
        self.method = method
        self.target = target
        self.authorization = authorization
        self.body_length = body_length
        self.keep_alive = keep_alive


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _parse_head(head: bytes) -> _Request:
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
    except ValueError:
        raise _BadRequest(400, "Malformed request line") from None
    if not version.startswith("HTTP/1."):
        raise _BadRequest(400, "Unsupported HTTP version")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            raise _BadRequest(400, "Malformed header line")
        headers[name.strip().lower()] = value.strip()
    if "transfer-encoding" in headers:
        raise _BadRequest(400, "Chunked request bodies are not supported")
    try:
        body_length = int(headers.get("content-length", "0"))
    except ValueError:
        raise _BadRequest(400, "Invalid Content-Length") from None
    connection = headers.get("connection", "").lower()
    keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    return _Request(method, target, headers.get("authorization"), max(0, body_length), keep_alive)


def _serialise(response: Response, keep_alive: bool, include_body: bool) -> bytes:
    head = [
        f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Unknown')}",
        "Content-Type: application/json",
        f"Content-Length: {len(response.body)}",
    ]
    head.extend(f"{name}: {value}" for name, value in response.headers.items())
    if not keep_alive:
        head.append("Connection: close")
    head_bytes = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
    return head_bytes + response.body if include_body else head_bytes


class _Connection(asyncio.Protocol):
    """One client connection: parses requests in order, answers each before looking at the next."""

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.waiting = False  # a delayed response is pending; later requests wait for it
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.connections.add(self)
        with contextlib.suppress(OSError):
            transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.closing = True

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self.process()

    def process(self) -> None:
        while not self.waiting and not self.closing:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > _MAX_HEAD_BYTES:
                    self.fail(431, "Request headers too large")
                return
            try:
                request = _parse_head(bytes(self.buffer[:end]))
            except _BadRequest as error:
                self.fail(error.status, str(error))
                return
            if request.body_length > _MAX_BODY_BYTES:
                self.fail(413, "Request body too large")
                return
            body_end = end + 4 + request.body_length
            if len(self.buffer) < body_end:
                return  # the body has not fully arrived yet
            body = bytes(self.buffer[end + 4 : body_end])
            del self.buffer[:body_end]
            self.answer(request, body)

    def answer(self, request: _Request, body: bytes) -> None:
        try:
            response = self.server.handler(request.method, request.target, request.authorization, body)
        except Exception:  # a bug in an endpoint must not kill the connection loop
            _LOG.exception("fake API endpoint failed for %s %s", request.method, request.target.split("?")[0])
            response = self.server.error_responder(500, "An internal error occurred")
        if response.delay > 0:
            self.waiting = True
            asyncio.get_running_loop().call_later(response.delay, self.send_later, request, response)
        else:
            self.send(request, response)

    def send_later(self, request: _Request, response: Response) -> None:
        self.waiting = False
        self.send(request, response)
        self.process()

    def send(self, request: _Request, response: Response) -> None:
        if self.transport is None or self.closing:
            return
        if response.drop:
            self.close()
            return
        self.transport.write(_serialise(response, request.keep_alive, include_body=request.method != "HEAD"))
        if not request.keep_alive:
            self.close()

    def fail(self, status: int, message: str) -> None:
        if self.transport is not None:
            self.transport.write(_serialise(self.server.error_responder(status, message), False, True))
        self.close()

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.abort()


class HttpServer:
    """Listens on (host, port) in its own thread; `stop()` also cuts open connections (like an outage)."""

    def __init__(self, host: str, port: int, handler: Handler, error_responder: ErrorResponder) -> None:
        self.handler = handler
        self.error_responder = error_responder
        self.connections: set[_Connection] = set()
        self._loop = asyncio.new_event_loop()
        self._server = self._loop.run_until_complete(
            self._loop.create_server(lambda: _Connection(self), host, port, reuse_address=True)
        )
        self.port: int = self._server.sockets[0].getsockname()[1]
        self._thread = threading.Thread(target=self._run, name="fake-poelis-api", daemon=True)
        self._started = False
        self._finished = threading.Event()

    def _run(self) -> None:
        try:
            self._loop.run_forever()
        finally:
            self._finished.set()

    def start(self) -> None:
        self._thread.start()
        self._started = True

    def stop(self) -> None:
        async def shutdown() -> None:
            self._server.close()
            for connection in list(self.connections):
                connection.abort()
            await self._server.wait_closed()

        # A flag, not `Thread.is_alive()`: after Ctrl-C interrupted a join, CPython 3.11 may report a
        # running thread as finished.
        if self._started and not self._finished.is_set():
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._finished.wait(timeout=10)
        else:
            self._server.close()
        if not self._loop.is_running():
            self._loop.close()

    def wait(self, timeout: float) -> bool:
        """Block the caller up to `timeout` seconds (Ctrl-C-safe); True while the server still runs."""
        return not self._finished.wait(timeout)
