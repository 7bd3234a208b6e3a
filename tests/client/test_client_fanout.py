"""Fan-out yields in input order, equals sequential fetching, and keeps its in-flight work bounded."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
from client_helpers import ClientFactory

from poelis_pipelines.client import NotFoundError, ordered_fan_out
from poelis_pipelines.fake_api import Faults


def test_fan_out_matches_sequential_fetching_in_input_order(
    fake_api: Any, make_client: ClientFactory
) -> None:
    item_ids = [item["id"] for item in fake_api.dataset.items]
    random.Random(1).shuffle(item_ids)
    item_ids.append(item_ids[0])  # a repeated key is answered twice, in place
    sequential_client = make_client(max_concurrency=1)
    sequential = [(item_id, list(sequential_client.iter_properties(item_id))) for item_id in item_ids]
    fake_api.faults = Faults(latency=(0.0, 0.01), seed=2)  # completion order differs from input order

    fanned_out = list(make_client(max_concurrency=8).fetch_properties_for_items(item_ids))

    assert fanned_out == sequential
    assert any(properties for _, properties in fanned_out)


def test_a_failure_surfaces_in_its_turn(fake_api: Any, make_client: ClientFactory) -> None:
    item_ids = [item["id"] for item in fake_api.dataset.items[:3]]
    client = make_client(max_concurrency=4)
    results = client.fan_out(client.get_item, [*item_ids, "00000000-0000-0000-0000-000000000000"])

    first_three = [next(results) for _ in item_ids]
    assert [key for key, _ in first_three] == item_ids
    assert [item["id"] for _, item in first_three] == item_ids
    with pytest.raises(NotFoundError):
        next(results)


def test_in_flight_work_stays_bounded_and_keys_are_read_lazily() -> None:
    running = 0
    peak = 0
    lock = threading.Lock()
    keys_read = 0

    def keys() -> Any:
        nonlocal keys_read
        for key in range(1000):
            keys_read += 1
            yield key

    def slow_square(key: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.001)
        with lock:
            running -= 1
        return key * key

    results = ordered_fan_out(slow_square, keys(), workers=3, in_flight=6)
    first_ten = [next(results) for _ in range(10)]
    results.close()

    assert first_ten == [(key, key * key) for key in range(10)]
    assert peak <= 3
    assert keys_read <= 10 + 6
