"""`Faults.corrupt_route`: every successful answer of one route broken the same way, the others intact."""

from __future__ import annotations

import json
from typing import Any

import pytest

from poelis_pipelines.fake_api import FakePoelisServer, Faults

ITEMS = "/v1/public/items"


def test_not_json_breaks_every_answer_of_the_route_only(server: FakePoelisServer, api: Any) -> None:
    server.faults = Faults(corrupt_route=ITEMS, corruption="not_json")
    product_id = api.json("/products", workspace_id=server.dataset.workspaces[0]["id"])["items"][0]["id"]
    for _ in range(2):
        response = api.get("/items", product_id=product_id)
        assert response.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.content)
    assert api.json("/workspaces")["items"]


def test_not_object_sends_the_records_as_a_bare_array(server: FakePoelisServer, api: Any) -> None:
    server.faults = Faults(corrupt_route="/v1/public/workspaces", corruption="not_object")
    body = api.json("/workspaces")
    assert isinstance(body, list)
    assert [record["id"] for record in body] == [record["id"] for record in server.dataset.workspaces]


def test_missing_id_drops_the_first_records_id(server: FakePoelisServer, api: Any) -> None:
    server.faults = Faults(corrupt_route="/v1/public/workspaces", corruption="missing_id")
    records = api.json("/workspaces")["items"]
    assert "id" not in records[0]
    assert all("id" in record for record in records[1:])


def test_an_unknown_corruption_is_refused() -> None:
    with pytest.raises(ValueError, match="corruption"):
        Faults(corrupt_route=ITEMS, corruption="garbled")
