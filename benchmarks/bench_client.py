"""How fast can a real sync be? The client's request economy, budget use and crawl throughput, on the fake.

    python -m benchmarks.bench_client

1. requests a full crawl makes vs the fewest possible (goal 1.00);
2. request rate achieved under a scaled rate-limit window vs the rate the window allows (goal >= 0.95);
3. crawl throughput with rate limiting off, with 1, 4 and 8 workers, on loopback and with simulated latency;
4. the client's CPU time per request (the fake in another process), listing and fanning out.

In 1-3 the fake runs in this process (threads), so on 2 cores it competes with the client for the CPU: the
throughput figures are lower bounds, comparable with each other within one run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks.bench_sync import fake_api
from poelis_pipelines.client import PoelisClient
from poelis_pipelines.fake_api import FakePoelisServer, Faults, RateLimit
from tests.client.client_helpers import crawl, expected, minimum_requests

CPU_REPETITIONS = 5

WARM_UP_WINDOWS = 3  # the first window's random phase and the learning of the window length
WINDOWS = 5  # then the steady state


def client_for(server: Any, **options: Any) -> PoelisClient:
    return PoelisClient(api_key=server.api_key, base_url=server.base_url, **options)


def request_economy(scale: str) -> dict[str, Any]:
    with FakePoelisServer(seed=11, scale=scale) as server, client_for(server) as client:
        assert crawl(client) == expected(server.dataset), "the crawl must return the fake's data"
        minimum = minimum_requests(server.dataset, page_size=client.page_size)
        return {"scale": scale, "requests": client.stats.requests, "minimum": minimum}


def budget_use(limit: RateLimit, workers: int) -> dict[str, Any]:
    """Achieved / allowed request rate over the first WARM_UP_WINDOWS windows, then over WINDOWS more.

    Each phase is timed from a window's first request to the first request of the window after it. The
    warm-up includes the first window (opened at a random phase of the fake's whole-second Reset) and the
    client's learning of the window length (it holds back a probe or two to place the rounding usefully).
    """
    per_window = limit.limit + limit.burst
    allowed = per_window / limit.window
    ratios: list[float] = []
    with FakePoelisServer(seed=11, scale="tiny") as server:
        server.rate_limit = limit
        item_ids = [item["id"] for item in server.dataset.items]
        with client_for(server, max_concurrency=workers, quota_share=1.0) as client:  # the whole window
            for windows in (WARM_UP_WINDOWS, WINDOWS):
                # the first window was opened by the previous phase's last request (or is opened now)
                count = windows * per_window + (1 if not ratios else 0)
                work = [item_ids[index % len(item_ids)] for index in range(count)]
                started = time.monotonic()
                for _ in client.fan_out(client.get_item, work):
                    pass
                ratios.append(windows * per_window / (time.monotonic() - started) / allowed)
        rejected = sum(count for (_route, status), count in server.counters.items() if status == 429)
    return {"warm_up": ratios[0], "steady": ratios[1], "allowed": allowed, "429s": rejected}


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
        "entities": entities,
        "entities_per_s": entities / elapsed,
        "requests_per_s": requests / elapsed,
    }


def cpu_per_request(scale: str) -> dict[str, list[float]]:
    """CPU milliseconds of this process per request, per repetition: 300 workspace listings, and the
    properties of 400 items fanned out over the default workers. Only the client runs here."""
    with fake_api(scale) as fake, client_for(fake.info) as client:
        product_id = next(client.iter_products(next(client.iter_workspaces())["id"]))["id"]
        item_ids = [item["id"] for item in client.iter_items(product_id)]
        items = [item_ids[index % len(item_ids)] for index in range(400)]

        def measured(work: Callable[[], object]) -> float:
            requests, started = client.stats.requests, time.process_time()
            work()
            return 1000 * (time.process_time() - started) / (client.stats.requests - requests)

        results: dict[str, list[float]] = {"iter_workspaces": [], "fetch_properties_for_items": []}
        for _ in range(CPU_REPETITIONS):
            listings = measured(lambda: [list(client.iter_workspaces()) for _ in range(300)])
            results["iter_workspaces"].append(listings)
            fan_out = measured(lambda: list(client.fetch_properties_for_items(items)))
            results["fetch_properties_for_items"].append(fan_out)
    return results


def main() -> None:
    print("1. Requests for a full crawl (page size 200) vs the minimum possible")
    for scale in ("tiny", "small"):
        row = request_economy(scale)
        print(
            f"   {row['scale']:<6} {row['requests']:>6} requests, minimum {row['minimum']:>6}: "
            f"ratio {row['requests'] / row['minimum']:.2f}"
        )

    print("2. Achieved / allowed request rate, limit 100 + burst 10 per window, 4 workers")
    for window in (2.9, 3.0, 5.0):
        row = budget_use(RateLimit(limit=100, burst=10, window=window), workers=4)
        print(
            f"   window {window:>4} s ({row['allowed']:5.1f}/s allowed): first {WARM_UP_WINDOWS} windows "
            f"{row['warm_up']:.3f}, next {WINDOWS} windows {row['steady']:.3f}; 429s received {row['429s']}"
        )
    print("   (the fake rounds X-RateLimit-Reset up to whole seconds; the client learns the window length")
    print("    from the windows it opens, instead of restarting up to a second late every window)")

    print("3. Full crawl throughput (workspaces -> properties), rate limiting off, tiny scale")
    baseline: dict[tuple[float, float], float] = {}
    for latency in ((0.0, 0.0), (0.02, 0.04)):
        for workers in (1, 4, 8):
            row = throughput(workers, latency)
            baseline.setdefault(latency, row["entities_per_s"])
            print(
                f"   latency {latency[0] * 1000:>2.0f}-{latency[1] * 1000:>2.0f} ms, {workers} workers, "
                f"{row['entities']} entities: "
                f"{row['entities_per_s']:8.0f} entities/s, {row['requests_per_s']:6.0f} requests/s, "
                f"x{row['entities_per_s'] / baseline[latency]:.2f} vs 1 worker"
            )

    print(f"4. Client CPU per request, fake in another process, small scale (median of {CPU_REPETITIONS})")
    for call, samples in cpu_per_request("small").items():
        print(
            f"   {call:<27} {statistics.median(samples):.3f} ms CPU/request "
            f"(range {min(samples):.3f}-{max(samples):.3f})"
        )


if __name__ == "__main__":
    main()
