"""The HTTP layer itself, over raw sockets: pipelining, connection handling and malformed requests."""

from __future__ import annotations

import json
import socket

from poelis_pipelines.fake_api import FakePoelisServer


def exchange(server: FakePoelisServer, raw: bytes) -> bytes:
    """Send raw bytes and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(raw)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def request(server: FakePoelisServer, path: str, *, extra: str = "", version: str = "HTTP/1.1") -> bytes:
    return (
        f"GET {path} {version}\r\nHost: x\r\nAuthorization: Bearer {server.api_key}\r\n{extra}\r\n"
    ).encode()


def test_pipelined_requests_are_answered_in_order(server: FakePoelisServer) -> None:
    workspace_id = server.dataset.workspaces[0]["id"]
    raw = request(server, "/v1/public/workspaces") + request(
        server, f"/v1/public/workspaces/{workspace_id}", extra="Connection: close\r\n"
    )
    reply = exchange(server, raw)
    assert reply.count(b"HTTP/1.1 200 OK") == 2
    first_body_at = reply.index(b'{"items"')
    second_status_at = reply.index(b"HTTP/1.1 200 OK", 1)
    assert first_body_at < second_status_at
    assert json.loads(reply.rpartition(b"\r\n\r\n")[2]) == server.dataset.workspaces[0]
    assert b"Connection: close" in reply


def test_http_1_0_closes_after_one_response(server: FakePoelisServer) -> None:
    reply = exchange(server, request(server, "/v1/public/workspaces", version="HTTP/1.0"))
    assert reply.startswith(b"HTTP/1.1 200 OK")
    assert reply.count(b"HTTP/1.1") == 1


def test_a_request_body_is_skipped_and_the_connection_stays_in_sync(server: FakePoelisServer) -> None:
    body = b'{"name": "x"}'
    post = f"POST /v1/public/items HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    reply = exchange(server, post + request(server, "/v1/public/workspaces", extra="Connection: close\r\n"))
    assert reply.startswith(b"HTTP/1.1 405 Method Not Allowed")
    assert b"HTTP/1.1 200 OK" in reply


def test_head_gets_headers_without_a_body(server: FakePoelisServer) -> None:
    reply = exchange(server, b"HEAD /v1/public/workspaces HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 405")
    assert body == b""


def test_garbage_gets_a_json_400_with_the_usual_headers(server: FakePoelisServer) -> None:
    reply = exchange(server, b"NONSENSE\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request")
    assert b"X-Request-ID: " in head
    assert b"X-RateLimit-Limit: " in head
    assert json.loads(body)["error"] == "validation_error"
