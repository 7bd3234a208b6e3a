"""Full crawls over real HTTP against the fake: exact data under faults, pacing under a scaled rate limit."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from client_helpers import ClientFactory, crawl, expected, minimum_requests

from poelis_pipelines.client.ratelimit import forget_shared_limiters
from poelis_pipelines.fake_api import Faults, RateLimit


def test_crawl_returns_exactly_the_dataset_with_the_minimum_requests(
    fake_api: Any, make_client: ClientFactory
) -> None:
    client = make_client(page_size=3)  # small pages so listings span several pages

    assert crawl(client) == expected(fake_api.dataset)
    assert client.stats.requests == fake_api.total_requests == minimum_requests(fake_api.dataset, page_size=3)
    assert sum(client.stats.retries.values()) == 0


def test_crawl_under_a_fault_mix_returns_exactly_the_dataset(
    fake_api: Any, make_client: ClientFactory
) -> None:
    fake_api.faults = Faults(
        error_500=0.10,
        error_503=0.05,
        error_429=0.05,
        retry_after=1,
        drop_connection=0.02,
        latency=(0.0, 0.004),
        seed=3,
    )
    client = make_client(max_attempts=12, max_concurrency=8)

    assert crawl(client) == expected(fake_api.dataset)

    statuses = {status for (_route, status) in fake_api.counters}
    assert {500, 503, 429} <= statuses
    retries = client.stats.retries
    assert retries["5xx"] > 0
    assert retries["429"] == client.stats.rate_limited > 0
    assert retries["connection"] > 0


def test_invalid_json_bodies_are_retried(fake_api: Any, make_client: ClientFactory) -> None:
    item_ids = [item["id"] for item in fake_api.dataset.items[:40]]
    expected_properties = {item_id: [] for item_id in item_ids}
    for record in fake_api.dataset.properties:
        expected_properties.get(record["item_id"], []).append(record)
    fake_api.faults = Faults(malformed_json=0.3, seed=5)
    client = make_client(max_attempts=12)

    assert dict(client.fetch_properties_for_items(item_ids)) == expected_properties
    assert client.stats.retries["invalid_json"] > 0


def test_paced_requests_cross_many_windows_without_a_429(fake_api: Any, make_client: ClientFactory) -> None:
    # Whole-second windows are the hard case: the fake rounds Reset up to whole seconds, so the client learns
    # the window's length from the windows it opens and ends each window by that estimate, before Reset says
    # so. An estimate that ended a window too soon would show here as a 429. How much of the budget the
    # client spends is a speed, measured in `python -m benchmarks.bench_client` (section 2), not here.
    limit = RateLimit(limit=40, burst=10, window=2.0)
    fake_api.rate_limit = limit
    client = make_client(max_concurrency=4, quota_share=1.0)  # the whole window: the server's budget runs out
    item_ids = [item["id"] for item in fake_api.dataset.items]
    work = [item_ids[index % len(item_ids)] for index in range(6 * (limit.limit + limit.burst) + 1)]

    fetched = [item["id"] for _, item in client.fan_out(client.get_item, work)]

    assert fetched == work
    assert client.stats.rate_limited == 0
    assert fake_api.counters == Counter({("/v1/public/items/{id}", 200): len(work)})
    assert client.stats.seconds_waited > 0, "six windows' worth of requests cannot go without waiting"
    length = client._limiter._length  # white box: windows were ended by the estimate, not by Reset alone
    assert length.usable
    assert length.low <= limit.window <= length.high


def test_requests_per_minute_caps_our_own_rate(fake_api: Any, make_client: ClientFactory) -> None:
    client = make_client(requests_per_minute=1200)  # one request every 50 ms at most
    workspace_id = fake_api.dataset.workspaces[0]["id"]

    started = time.monotonic()
    for _ in range(6):
        client.get_workspace(workspace_id)
    elapsed = time.monotonic() - started

    assert elapsed >= 5 * 0.05  # a lower bound the cap guarantees, however fast the machine
    assert client.stats.seconds_waited > 0


def test_organization_users_are_listed(fake_api: Any, make_client: ClientFactory) -> None:
    assert list(make_client(page_size=2).iter_organization_users()) == list(fake_api.dataset.users)


def test_a_client_starting_in_a_window_another_client_opened_still_learns_its_length(
    fake_api: Any, make_client: ClientFactory
) -> None:
    """Each run the daemon launches is a process with its own limiter, which often starts in a window an
    earlier run opened. Taking that window for its own would contradict the window-length estimate and drop
    it for good, so every later window would start up to a second late (the fake rounds Reset up)."""
    limit = RateLimit(limit=40, burst=10, window=2.0)
    fake_api.rate_limit = limit
    item_ids = [item["id"] for item in fake_api.dataset.items]
    make_client().get_item(item_ids[0])  # the earlier run opens the window...
    forget_shared_limiters()  # (in another process, with a limiter of its own)
    time.sleep(limit.window / 2)  # ...and the next run starts halfway through it

    client = make_client(max_concurrency=4, quota_share=1.0)
    work = [item_ids[index % len(item_ids)] for index in range(4 * (limit.limit + limit.burst))]
    assert len(list(client.fan_out(client.get_item, work))) == len(work)

    assert client.stats.rate_limited == 0
    length = client._limiter._length  # white box: the estimate itself; its effect is only timing
    assert length.usable, "the window-length estimate was dropped"
    assert length.low <= limit.window <= length.high


def test_clients_of_one_key_share_the_budget(fake_api: Any, make_client: ClientFactory) -> None:
    """The quota is the organization's: a client built while another has spent the window (the next
    Dagster run in the same process, say) waits for the window's end instead of earning a 429."""
    limit = RateLimit(limit=5, burst=0, window=2.0)
    fake_api.rate_limit = limit
    item_id = fake_api.dataset.items[0]["id"]
    first = make_client(quota_share=1.0)
    for _ in range(limit.limit):
        first.get_item(item_id)

    second = make_client(quota_share=1.0)
    second.get_item(item_id)

    assert fake_api.counters == Counter({("/v1/public/items/{id}", 200): limit.limit + 1})
    assert second.stats.seconds_waited > 0, "the window was spent: the second client had to wait"
