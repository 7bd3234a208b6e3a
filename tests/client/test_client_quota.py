"""The quota as the organization feels it, over real HTTP against the fake: 429s that are not the quota's, the
share left to other integrations, and a run's request budget (counted by the fake)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest
import urllib3
from client_helpers import ClientFactory

from poelis_pipelines import settings
from poelis_pipelines.client import RequestBudgetExhausted
from poelis_pipelines.client.ratelimit import forget_shared_limiters
from poelis_pipelines.fake_api import Faults, RateLimit

PROPERTIES = f"{settings.API_PREFIX}/properties"
WORKSPACES = f"{settings.API_PREFIX}/workspaces"
RETRY_AFTER_JITTER = 0.2  # what the client adds to a Retry-After (client._RETRY_AFTER_JITTER_SECONDS)


def properties_by_item(dataset: Any, item_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    expected: dict[str, list[dict[str, Any]]] = {item_id: [] for item_id in item_ids}
    for record in dataset.properties:
        expected.get(record["item_id"], []).append(record)
    return expected


def test_a_429_with_budget_left_costs_its_retry_after_not_the_rest_of_the_window(
    fake_api: Any, make_client: ClientFactory
) -> None:
    """429s from an overloaded host in front of the API, in a 60 s window with budget left: each costs its
    Retry-After (1 s), where waiting for the window's end would cost up to a minute each."""
    fake_api.rate_limit = RateLimit(limit=1000, burst=0, window=60.0)
    fake_api.faults = Faults(error_429_overloaded=0.15, retry_after=1, seed=4)
    client = make_client(max_concurrency=1)  # one thread: its waits are the crawl's waits
    item_ids = [item["id"] for item in fake_api.dataset.items[:40]]

    assert dict(client.fetch_properties_for_items(item_ids)) == properties_by_item(fake_api.dataset, item_ids)

    throttled = client.stats.rate_limited
    assert throttled >= 3, "the seed must inject several 429s"
    assert fake_api.counters[(PROPERTIES, 429)] == throttled
    assert throttled * 1.0 <= client.stats.seconds_waited <= throttled * (1.0 + RETRY_AFTER_JITTER) + 0.5


def test_a_quota_429_still_waits_for_the_window_to_end(fake_api: Any, make_client: ClientFactory) -> None:
    limit = RateLimit(limit=5, burst=0, window=2.0)
    fake_api.rate_limit = limit
    item_id = fake_api.dataset.items[0]["id"]
    other = make_client(quota_share=1.0)  # another process of the organization spends the window...
    for _ in range(limit.limit):
        other.get_item(item_id)
    forget_shared_limiters()  # ...with a limiter of its own

    client = make_client(quota_share=1.0)
    client.get_item(item_id)

    assert client.stats.rate_limited == 1, "one 429, then no retry before the window's end"
    assert fake_api.counters[("/v1/public/items/{id}", 429)] == 1
    assert client.stats.seconds_waited >= 1.0  # the fake's Retry-After is at least 1 s


def test_a_share_leaves_the_rest_of_every_window_to_another_integration(
    fake_api: Any, make_client: ClientFactory
) -> None:
    """Our crawl at share 0.5 spends at most 10 of the 20 + 5 a window admits; another integration of the
    organization (same key, pacing of its own) sends the other 15 in each window it uses, without a 429."""
    limit = RateLimit(limit=20, burst=5, window=2.0)
    share = 0.5
    ours_per_window = int(share * limit.limit)
    theirs_per_window = limit.limit + limit.burst - ours_per_window
    fake_api.rate_limit = limit
    client = make_client(quota_share=share, max_concurrency=4)
    item_ids = [item["id"] for item in fake_api.dataset.items[: 3 * ours_per_window]]
    crawl_done = threading.Event()
    their_statuses: Counter[int] = Counter()

    def other_integration() -> None:
        """Rounds of 15 requests; each round starts once the windows of the last one have surely ended, so no
        window holds more than one round."""
        with urllib3.PoolManager(headers={"Authorization": f"Bearer {fake_api.api_key}"}) as http:
            while not crawl_done.is_set():
                resets = []
                for _ in range(theirs_per_window):
                    response = http.request("GET", f"{fake_api.base_url}{WORKSPACES}", retries=False)
                    their_statuses[response.status] += 1
                    resets.append(float(response.headers["X-RateLimit-Reset"]))
                crawl_done.wait(max(resets) - time.time() + 0.05)

    other = threading.Thread(target=other_integration)
    other.start()
    try:
        fetched = dict(client.fetch_properties_for_items(item_ids))
    finally:
        crawl_done.set()
        other.join(timeout=30)

    assert fetched == properties_by_item(fake_api.dataset, item_ids)
    assert their_statuses.total() > 0
    assert their_statuses == Counter({200: their_statuses.total()})
    assert {status for (_route, status) in fake_api.counters} == {200}, "nobody met a 429"
    ours: Counter[str] = Counter()
    for (window, route, _status), count in fake_api.window_counters.items():
        if route == PROPERTIES:
            ours[window] += count
    assert max(ours.values()) == ours_per_window, "ours spent its share in a window, and never more"


def test_the_request_budget_is_never_exceeded_and_says_so_before_sending(
    fake_api: Any, make_client: ClientFactory
) -> None:
    client = make_client(max_requests=5, page_size=1)
    assert client.requests_remaining == 5

    list(client.iter_workspaces())  # 3 pages for 2 workspaces
    with pytest.raises(RequestBudgetExhausted, match=r"budget of 5 requests .* was not sent") as raised:
        list(client.iter_products(fake_api.dataset.workspaces[0]["id"]))  # 4 pages for 3 products

    assert raised.value.max_requests == 5
    assert fake_api.total_requests == client.stats.requests == 5
    assert client.requests_remaining == 0


def test_retries_count_against_the_request_budget(fake_api: Any, make_client: ClientFactory) -> None:
    fake_api.faults = Faults(error_500=0.3, error_429_overloaded=0.1, retry_after=0, seed=2)
    client = make_client(max_requests=12, max_attempts=12)
    item_ids = [item["id"] for item in fake_api.dataset.items]

    with pytest.raises(RequestBudgetExhausted):
        list(client.fetch_properties_for_items(item_ids))

    assert fake_api.total_requests == 12
    assert sum(client.stats.retries.values()) > 0, "the budget was spent partly on retries"


def test_concurrent_fan_out_reserves_the_budget_before_each_request(
    fake_api: Any, make_client: ClientFactory
) -> None:
    fake_api.faults = Faults(latency=(0.0, 0.01), seed=1)  # answers out of order, workers racing
    client = make_client(max_requests=13, max_concurrency=4)
    item_ids = [item["id"] for item in fake_api.dataset.items[100:140]]  # one page each
    expected = properties_by_item(fake_api.dataset, item_ids)
    fetched = []

    def consume() -> None:
        for item_id, properties in client.fetch_properties_for_items(item_ids):
            assert properties == expected[item_id]
            fetched.append(item_id)

    with pytest.raises(RequestBudgetExhausted):
        consume()

    assert fake_api.total_requests == 13
    assert fetched == item_ids[: len(fetched)], "what came before the budget ran out, in order"
    assert len(fetched) <= 13
    assert client.requests_remaining == 0


def test_an_unlimited_client_has_no_remaining_count(fake_api: Any, make_client: ClientFactory) -> None:
    client = make_client()
    list(client.iter_workspaces())
    assert client.max_requests is None
    assert client.requests_remaining is None
