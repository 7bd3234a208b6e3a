"""Failures that must not be retried, and the paging loop guard, proven by the fake's request counters."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from client_helpers import ClientFactory, assert_no_key

from poelis_pipelines import settings
from poelis_pipelines.client import (
    AuthenticationError,
    NotFoundError,
    ProtocolError,
    ServerError,
    TransportError,
    ValidationError,
)
from poelis_pipelines.fake_api import Faults


def test_a_revoked_key_fails_at_once_with_a_clear_message(fake_api: Any, make_client: ClientFactory) -> None:
    client = make_client()
    fake_api.revoke_key(fake_api.api_key)

    with pytest.raises(AuthenticationError) as raised:
        list(client.iter_workspaces())

    assert fake_api.total_requests == 1
    message = str(raised.value)
    assert "invalid or revoked" in message
    assert settings.KEY_MANAGEMENT_HINT in message
    assert fake_api.api_key[-4:] in message  # named by its fingerprint only
    assert raised.value.status == 401
    assert raised.value.request_id
    assert raised.value.request_id in message
    assert_no_key(message)
    assert_no_key(repr(raised.value))


def test_not_found_is_not_retried(fake_api: Any, make_client: ClientFactory) -> None:
    client = make_client()

    with pytest.raises(NotFoundError) as raised:
        client.get_item("00000000-0000-0000-0000-000000000000")

    assert fake_api.total_requests == 1
    assert raised.value.status == 404
    assert "/v1/public/items/" in str(raised.value)
    assert sum(client.stats.retries.values()) == 0


def test_validation_errors_are_not_retried(fake_api: Any, make_client: ClientFactory) -> None:
    client = make_client()
    item_id = fake_api.dataset.items[0]["id"]

    with pytest.raises(ValidationError) as raised:
        list(client.iter_properties(item_id, type="not_a_type"))

    assert fake_api.total_requests == 1
    assert raised.value.status in {400, 422}
    assert sum(client.stats.retries.values()) == 0


def test_single_resources_are_returned_bare(fake_api: Any, make_client: ClientFactory) -> None:
    client = make_client()
    dataset = fake_api.dataset

    assert client.get_workspace(dataset.workspaces[0]["id"]) == dataset.workspaces[0]
    assert client.get_product(dataset.products[0]["id"]) == dataset.products[0]
    assert client.get_item(dataset.items[0]["id"]) == dataset.items[0]
    assert client.get_property(dataset.properties[0]["id"]) == dataset.properties[0]


def test_a_server_ignoring_offset_stops_the_paging_loop(fake_api: Any, make_client: ClientFactory) -> None:
    product_id = next(
        product_id
        for product_id in {item["product_id"] for item in fake_api.dataset.items}
        if sum(item["product_id"] == product_id for item in fake_api.dataset.items) > 2
    )
    fake_api.faults = Faults(ignore_offset=True)
    client = make_client(page_size=2)

    with pytest.raises(ProtocolError, match="ignores paging") as raised:
        list(client.iter_items(product_id))

    assert fake_api.total_requests == 2  # the first page, then its repetition
    assert "/v1/public/items" in str(raised.value)


def test_timeouts_are_retried_then_reported(fake_api: Any, make_client: ClientFactory) -> None:
    fake_api.faults = Faults(latency=(0.3, 0.3))
    client = make_client(timeout=0.05, max_attempts=2)

    with pytest.raises(TransportError) as raised:
        list(client.iter_workspaces())

    assert raised.value.kind == "timeout"
    assert "no answer within 0.05 s" in str(raised.value)
    assert client.stats.retries["timeout"] == 1
    assert client.stats.requests == 2


def test_server_errors_are_retried_up_to_max_attempts(fake_api: Any, make_client: ClientFactory) -> None:
    fake_api.faults = Faults(error_503=1.0)
    client = make_client(max_attempts=3)

    with pytest.raises(ServerError) as raised:
        list(client.iter_workspaces())

    assert raised.value.status == 503
    assert fake_api.counters == Counter({("/v1/public/workspaces", 503): 3})
    assert client.stats.retries["5xx"] == 2
    assert raised.value.request_id
    assert raised.value.request_id in str(raised.value)
