"""The documented writes: products, items and properties change in the draft only (SPEC 5.2-5.4, 12)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from poelis_pipelines.fake_api import FakePoelisServer

PREFIX = "/v1/public"


def send(api: Any, method: str, path: str, body: Any = None, **params: Any) -> Any:
    url = f"{api.server.base_url}{PREFIX}{path}"
    return api.session.request(method, url, json=body, params=params, timeout=10)


def test_create_and_update_a_product(server: FakePoelisServer, api: Any) -> None:
    workspace_id = server.dataset.workspaces[0]["id"]
    created = send(
        api, "POST", "/products", {"workspace_id": workspace_id, "name": "Rover", "readable_id": "rover"}
    )
    assert created.status_code == 201
    product = created.json()
    assert product["workspace_id"] == workspace_id
    assert product["createdAt"] == product["updatedAt"]
    assert product in api.all_pages("/products", workspace_id=workspace_id)
    assert api.json(f"/products/{product['id']}") == product
    assert api.json("/items", product_id=product["id"]) == {"items": [], "count": 0}
    duplicate = send(
        api, "POST", "/products", {"workspace_id": workspace_id, "name": "R2", "readable_id": "rover"}
    )
    assert duplicate.status_code == 422
    assert duplicate.json()["details"]["field"] == "readable_id"
    renamed = send(api, "PATCH", f"/products/{product['id']}", {"name": "Rover II", "description": "Mk 2"})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Rover II"
    assert renamed.json()["description"] == "Mk 2"
    assert renamed.json()["readable_id"] == "rover"
    assert renamed.json()["updatedAt"] > product["updatedAt"]
    no_such_version = send(api, "PATCH", f"/products/{product['id']}", {"baseline_version_number": 1})
    assert no_such_version.status_code == 422


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "X", "readable_id": "x"}, 422, "workspace_id"),
        ({"workspace_id": "WS", "readable_id": "x"}, 422, "name"),
        ({"workspace_id": "WS", "name": "X", "readable_id": "Bad-Id"}, 422, "readable_id"),
        ({"workspace_id": "WS", "name": "", "readable_id": "x"}, 422, "name"),
        ({"workspace_id": "unknown", "name": "X", "readable_id": "x"}, 404, None),
    ],
)
def test_product_creation_validates(
    server: FakePoelisServer, api: Any, body: dict[str, Any], status: int, field: str | None
) -> None:
    if body.get("workspace_id") == "WS":
        body = {**body, "workspace_id": server.dataset.workspaces[0]["id"]}
    response = send(api, "POST", "/products", body)
    assert response.status_code == status
    if field:
        assert response.json()["details"]["field"] == field


def test_malformed_json_body_is_a_400(api: Any) -> None:
    response = api.session.post(
        f"{api.server.base_url}{PREFIX}/products",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"


def test_move_and_rename_items_but_never_into_a_cycle(server: FakePoelisServer, api: Any) -> None:
    product_id = server.dataset.products[0]["id"]
    items = api.all_pages("/items", product_id=product_id)
    child = next(item for item in items if item.get("parent_item_id"))
    parent_id = child["parent_item_id"]
    moved = send(api, "PATCH", f"/items/{parent_id}", {"parent_item_id": child["id"]})
    assert moved.status_code == 422  # under its own child
    root = send(api, "PATCH", f"/items/{child['id']}", {"parent_item_id": None, "name": "Loose part"})
    assert root.status_code == 200
    assert root.json()["parent_item_id"] is None
    assert root.json()["name"] == "Loose part"
    back = send(api, "PATCH", f"/items/{child['id']}", {"parent_item_id": parent_id})
    assert back.json()["parent_item_id"] == parent_id
    other_product_item = api.all_pages("/items", product_id=server.dataset.products[1]["id"])[0]
    assert (
        send(api, "PATCH", f"/items/{child['id']}", {"parent_item_id": other_product_item["id"]}).status_code
        == 422
    )
    assert send(api, "PATCH", "/items/missing", {"name": "x"}).status_code == 404


def test_create_properties_of_each_writable_type(server: FakePoelisServer, api: Any) -> None:
    item_id = server.dataset.items[0]["id"]
    cases = [
        ({"type": "numeric", "value": 12.5, "category": "mass", "display_unit": "kg"}, 12.5),
        (
            {"type": "matrix", "value": [[1, 2], [3, 4]], "category": "LENGTH", "display_unit": "mm"},
            "[[1,2],[3,4]]",
        ),
        ({"type": "text", "value": 'Say "hi"\n'}, 'Say "hi"\n'),
        ({"type": "date", "value": "2027-02-03"}, "2027-02-03"),
        ({"type": "status", "value": "UNDER_REVIEW"}, "Under Review"),
    ]
    for index, (fields, stored_value) in enumerate(cases):
        body = {"item_id": item_id, "name": f"New {index}", "readable_id": f"new_{index}", **fields}
        response = send(api, "POST", "/properties", body)
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["value"] == stored_value
        assert created["type"] == fields["type"]
        assert api.json(f"/properties/{created['id']}") == created
        assert created in api.all_pages("/properties", item_id=item_id)
    assert api.json(f"/properties/{created['id']}")["category"] is None


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        ({"type": "formula", "value": "1 kg"}, 422, "validation_error"),
        ({"type": "numeric", "value": 1, "category": "MASS", "display_unit": "parsec"}, 400, "invalid_unit"),
        ({"type": "numeric", "value": 1, "category": "FLUX", "display_unit": "kg"}, 400, "invalid_unit"),
        ({"type": "numeric", "value": 1}, 422, "validation_error"),
        ({"type": "numeric", "value": "12", "category": "MASS", "display_unit": "kg"}, 400, "invalid_value"),
        ({"type": "matrix", "value": [1, 2], "category": "MASS", "display_unit": "kg"}, 400, "invalid_value"),
        ({"type": "date", "value": "03/02/2027"}, 400, "invalid_value"),
        ({"type": "status", "value": "Approved"}, 400, "invalid_value"),
        ({"type": "text", "value": 7}, 400, "invalid_value"),
    ],
)
def test_property_creation_validates(
    server: FakePoelisServer, api: Any, fields: dict[str, Any], status: int, error: str
) -> None:
    body = {"item_id": server.dataset.items[0]["id"], "name": "Bad", "readable_id": "bad", **fields}
    response = send(api, "POST", "/properties", body)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error


def test_update_a_property_in_the_draft_only(server: FakePoelisServer, api: Any) -> None:
    versions = next(numbers for numbers in server.dataset.versions.values() if numbers)
    number = max(versions)
    unchanged = next(
        prop
        for prop in versions[number].properties
        if not prop.get("draft_property_id") and prop["type"] == "numeric"
    )
    assert send(api, "PATCH", f"/properties/{unchanged['id']}", {"value": 1.0}).status_code == 422  # no type
    updated = send(
        api,
        "PATCH",
        f"/properties/{unchanged['id']}",
        {"value": 99.5, "display_unit": unchanged["display_unit"]},
        type="NUMERIC",
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["value"] == 99.5
    assert updated.json()["updatedAt"] > unchanged["updatedAt"]
    assert api.json(f"/properties/{unchanged['id']}", version=number) == unchanged
    bad_unit = send(
        api, "PATCH", f"/properties/{unchanged['id']}", {"display_unit": "parsec"}, type="numeric"
    )
    assert bad_unit.status_code == 400
    assert bad_unit.json()["error"] == "invalid_unit"
    formula = next(prop for prop in server.dataset.properties if prop["type"] == "formula")
    assert (
        send(api, "PATCH", f"/properties/{formula['id']}", {"name": "x"}, type="formula").status_code == 422
    )


def test_writes_cannot_reach_another_organization(server: FakePoelisServer, make_api: Any) -> None:
    other = make_api(server, server.organizations[1].api_key)
    item_id = server.dataset.items[0]["id"]
    assert send(other, "PATCH", f"/items/{item_id}", {"name": "hijack"}).status_code == 404
    body = {"item_id": item_id, "type": "text", "name": "x", "readable_id": "x", "value": "x"}
    assert send(other, "POST", "/properties", body).status_code == 404
    assert json.dumps(server.dataset.items[0]).find("hijack") == -1
