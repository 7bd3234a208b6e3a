"""The fake Poelis API in its own process, so a measured sync's RSS and CPU are its own.

    python -m benchmarks.fake_child --scale medium [--rate-limit 100 --burst 10 --window 5]

It builds the whole dataset before it serves (the fake otherwise generates products lazily, on first
listing, which would bill the generation to whichever peer runs first), then prints one JSON line: the base
URL, the key, the entity counts and the fewest list requests a full crawl can make. On stdin it answers
`counters` with the requests served since the last `counters` (by status), the seconds from the first
to the last of them and the most requests one rate-limit window served, so the parent counts every peer's
requests at the server, the same way for all; and `mutate SEED` by changing the organization as its users
would (`FakePoelisServer.mutate`), answering the ids of the items it added.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable

from poelis_pipelines import settings
from poelis_pipelines.fake_api import FakePoelisServer, RateLimit
from tests.client.client_helpers import minimum_requests

TABLES = ("workspaces", "products", "items", "properties")


class RequestClock:
    """When the first and the last request since the last reset were served (wraps the fake's counter)."""

    def __init__(self, count: Callable[[str, int], None]) -> None:
        self._count = count
        self._lock = threading.Lock()
        self.first: float | None = None
        self.last: float | None = None

    def __call__(self, route: str, status: int) -> None:
        now = time.monotonic()
        with self._lock:
            self.first = self.first if self.first is not None else now
            self.last = now
        self._count(route, status)

    def span_and_reset(self) -> float:
        with self._lock:
            span = self.last - self.first if self.first is not None and self.last is not None else 0.0
            self.first = self.last = None
        return span


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rate-limit", type=int, default=None)
    parser.add_argument("--burst", type=int, default=settings.DEFAULT_RATE_LIMIT_BURST)
    parser.add_argument("--window", type=float, default=settings.RATE_LIMIT_WINDOW_SECONDS)
    args = parser.parse_args(argv)
    limit = RateLimit(args.rate_limit, args.burst, args.window) if args.rate_limit is not None else None
    with FakePoelisServer(seed=args.seed, scale=args.scale, rate_limit=limit) as server:
        dataset = server.dataset
        dataset.materialise()
        clock = RequestClock(server._api.count)
        server._api.count = clock  # type: ignore[method-assign]
        counts = {table: len(list(getattr(dataset, table))) for table in TABLES}
        ready = {
            "base_url": server.base_url,
            "api_key": server.api_key,
            "counts": counts,
            "minimum_requests": minimum_requests(dataset, page_size=settings.MAX_PAGE_SIZE),
        }
        print(json.dumps(ready), flush=True)
        for line in sys.stdin:
            command, *arguments = line.split()
            if command == "counters":
                by_status: dict[str, int] = {}
                for (_route, status), count in server.counters.items():
                    by_status[str(status)] = by_status.get(str(status), 0) + count
                per_window: Counter[str] = Counter()
                for (window, _route, _status), count in server.window_counters.items():
                    per_window[window] += count
                server.reset_counters()
                answer = {
                    "statuses": by_status,
                    "span": clock.span_and_reset(),
                    "most_in_a_window": max(per_window.values(), default=0),
                }
                print(json.dumps(answer), flush=True)
            elif command == "mutate":
                mutation = server.mutate(int(arguments[0]))
                print(json.dumps({"added_items": mutation.added_items}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
