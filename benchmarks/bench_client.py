"""How fast can a real sync be? The client's request economy, budget use and crawl throughput, on the fake.

    python -m benchmarks.bench_client

1. requests a full crawl makes vs the fewest possible (goal 1.00);
2. request rate achieved under a scaled rate-limit window vs the rate the window allows (goal >= 0.95);
3. crawl throughput with rate limiting off, with 1, 4 and 8 workers, on loopback and with simulated latency.

The fake runs in this process (threads), so on 2 cores it competes with the client for the CPU: the
throughput figures are lower bounds, comparable with each other within one run.
"""

from __future__ import annotations

import time
from typing import Any

from poelis_pipelines.client import PoelisClient
from poelis_pipelines.fake_api import FakePoelisServer, Faults, RateLimit
from tests.client.client_helpers import crawl, expected, minimum_requests

WINDOWS = 5  # full windows measured per rate scenario


def client_for(server: Any, **options: Any) -> PoelisClient:
    return PoelisClient(api_key=server.api_key, base_url=server.base_url, **options)


def request_economy(scale: str) -> dict[str, Any]:
    with FakePoelisServer(seed=11, scale=scale) as server, client_for(server) as client:
        assert crawl(client) == expected(server.dataset), "the crawl must return the fake's data"
        minimum = minimum_requests(server.dataset, page_size=client.page_size)
        return {"scale": scale, "requests": client.stats.requests, "minimum": minimum}


def budget_use(limit: RateLimit, workers: int) -> dict[str, Any]:
    """Steady-state rate: WINDOWS windows timed from the start of the second window to that of the last + 1.

    The first window is skipped: it opened at a random phase of the fake's whole-second Reset, which costs
    a one-off fraction of a second that says nothing about the client.
    """
    per_window = limit.limit + limit.burst
    with FakePoelisServer(seed=11, scale="tiny") as server:
        server.rate_limit = limit
        item_ids = [item["id"] for item in server.dataset.items]
        work = [item_ids[index % len(item_ids)] for index in range((WINDOWS + 1) * per_window + 1)]
        warm_up, measured = work[: per_window + 1], work[per_window + 1 :]  # the last warm-up opens window 2
        with client_for(server, max_concurrency=workers) as client:
            for _ in client.fan_out(client.get_item, warm_up):
                pass
            started = time.monotonic()
            for _ in client.fan_out(client.get_item, measured):
                pass
            elapsed = time.monotonic() - started
        rejected = sum(count for (_route, status), count in server.counters.items() if status == 429)
    achieved = (len(measured) - 1) / elapsed  # the last request opens the window after the measured ones
    allowed = per_window / limit.window
    return {"window": limit.window, "achieved": achieved, "allowed": allowed, "429s": rejected}


def throughput(workers: int, latency: tuple[float, float]) -> dict[str, Any]:
    with FakePoelisServer(seed=11, scale="tiny") as server:
        server.faults = Faults(latency=latency, seed=1)
        entities = sum(
            len(getattr(server.dataset, table)) for table in ("workspaces", "products", "items", "properties")
        )
        with client_for(server, max_concurrency=workers) as client:
            started = time.monotonic()
            crawl(client)
            elapsed = time.monotonic() - started
            requests = client.stats.requests
    return {
        "workers": workers,
        "latency": latency,
        "entities_per_s": entities / elapsed,
        "requests_per_s": requests / elapsed,
    }


def main() -> None:
    print("1. Requests for a full crawl (page size 200) vs the minimum possible")
    for scale in ("tiny", "small"):
        row = request_economy(scale)
        print(
            f"   {row['scale']:<6} {row['requests']:>6} requests, minimum {row['minimum']:>6}: "
            f"ratio {row['requests'] / row['minimum']:.2f}"
        )

    print(
        f"2. Achieved vs allowed request rate, limit 100 + burst 10 per window, 4 workers, {WINDOWS} windows"
    )
    for window in (2.9, 3.0):
        row = budget_use(RateLimit(limit=100, burst=10, window=window), workers=4)
        print(
            f"   window {window:>4} s: {row['achieved']:6.1f}/s of {row['allowed']:6.1f}/s allowed: "
            f"ratio {row['achieved'] / row['allowed']:.3f}, 429s received {row['429s']}"
        )
    print("   (the fake's X-RateLimit-Reset is whole seconds, rounded up: a window restarts on the next")
    print(
        "    whole second at best, which costs up to 1 s per window and all of it with whole-second windows)"
    )

    print("3. Full crawl throughput, rate limiting off (tiny scale: 2 workspaces, 6 products, 291 items)")
    baseline: dict[tuple[float, float], float] = {}
    for latency in ((0.0, 0.0), (0.02, 0.04)):
        for workers in (1, 4, 8):
            row = throughput(workers, latency)
            baseline.setdefault(latency, row["entities_per_s"])
            print(
                f"   latency {latency[0] * 1000:>2.0f}-{latency[1] * 1000:>2.0f} ms, {workers} workers: "
                f"{row['entities_per_s']:8.0f} entities/s, {row['requests_per_s']:6.0f} requests/s, "
                f"x{row['entities_per_s'] / baseline[latency]:.2f} vs 1 worker"
            )


if __name__ == "__main__":
    main()
