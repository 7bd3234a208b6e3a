"""A full crawl with the client and the fake's own view of the same data, shared by the client tests and
`benchmarks/bench_client.py`; a tiny scripted HTTP server for answers the fake never gives."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from typing import Any, TypeVar

from poelis_pipelines import settings
from poelis_pipelines.client import PoelisClient

Record = dict[str, Any]
Crawl = dict[str, dict[str, Record]]
ClientFactory = Callable[..., PoelisClient]
Server = TypeVar("Server", bound=HTTPServer)

# A full key (a fingerprint has "…" after the prefix) anywhere in captured text is a leak.
FULL_KEY = re.compile(re.escape(settings.API_KEY_PREFIX) + r"[A-Za-z0-9_\-]{8,}")


def assert_no_key(text: str) -> None:
    """`text` (a message, a repr, a log) names no API key in full."""
    assert not FULL_KEY.search(text), "an API key leaked"


def crawl(client: PoelisClient) -> Crawl:
    """Workspaces -> products -> items -> properties (soft-deleted included), each table by id."""
    workspaces = {record["id"]: record for record in client.iter_workspaces()}
    products = {
        record["id"]: record for workspace_id in workspaces for record in client.iter_products(workspace_id)
    }
    items = {record["id"]: record for product_id in products for record in client.iter_items(product_id)}
    properties = {
        record["id"]: record for _, records in client.fetch_properties_for_items(items) for record in records
    }
    return {"workspaces": workspaces, "products": products, "items": items, "properties": properties}


def expected(dataset: Any) -> Crawl:
    """The fake's data (draft view, soft-deleted included) in the shape `crawl` returns."""
    return {
        table: {record["id"]: record for record in getattr(dataset, table)}
        for table in ("workspaces", "products", "items", "properties")
    }


def minimum_requests(dataset: Any, page_size: int) -> int:
    """The fewest list requests a full crawl can make: the API has no total, so a listing of n records
    needs floor(n / page_size) + 1 pages (the last one short or empty)."""

    def pages(count: int) -> int:
        return count // page_size + 1

    children: dict[str, dict[str, int]] = {"products": {}, "items": {}, "properties": {}}
    parents = {"products": "workspace_id", "items": "product_id", "properties": "item_id"}
    for table, parent_key in parents.items():
        for record in getattr(dataset, table):
            children[table][record[parent_key]] = children[table].get(record[parent_key], 0) + 1
    total = pages(len(dataset.workspaces))
    for table, parent_table in (("products", "workspaces"), ("items", "products"), ("properties", "items")):
        total += sum(pages(children[table].get(record["id"], 0)) for record in getattr(dataset, parent_table))
    return total


class ScriptedServer(ThreadingHTTPServer):
    """Answers every GET with the next scripted `(status, body)`; records the requests' headers."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        self.script: list[tuple[int, bytes]] = []
        self.seen_headers: list[dict[str, str]] = []

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        status, body = self.script.pop(0)
        return status, {}, body


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


def serve(server: Server) -> Iterator[Server]:
    """Run `server` on a thread for the duration of the (generator) fixture."""
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
