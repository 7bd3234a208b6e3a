"""Shapes, headers, paging, filters and versions of every GET endpoint, over real HTTP (SPEC 3-9)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from poelis_pipelines import settings
from poelis_pipelines.fake_api import UNITS_BY_CATEGORY, FakeDataset, FakeOrganization, FakePoelisServer

EXAMPLES = Path("/work/shared/poelis-api/examples")
LEGACY_KEYS = {"position", "has_changes", "owner", "has_formula_dependency_changes"}
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def example_keys(file_name: str) -> set[str]:
    records = json.loads((EXAMPLES / file_name).read_text())["items"]
    return set().union(*(record.keys() for record in records))


def assert_common_headers(response: Any) -> None:
    assert response.headers["Content-Type"] == "application/json"
    uuid.UUID(response.headers["X-Request-ID"])
    for name in RATE_HEADERS:
        assert response.headers[name].isdigit(), (name, response.headers.get(name))


def first_ids(api: Any) -> dict[str, str]:
    workspace = api.json("/workspaces")["items"][0]
    product = api.json("/products", workspace_id=workspace["id"])["items"][0]
    item = api.json("/items", product_id=product["id"])["items"][0]
    prop = api.json("/properties", item_id=item["id"])["items"][0]
    return {
        "workspace": workspace["id"],
        "product": product["id"],
        "item": item["id"],
        "property": prop["id"],
    }


@pytest.mark.parametrize(
    ("path", "example", "parent"),
    [
        ("/workspaces", "workspaces.json", None),
        ("/products", "products.json", ("workspace_id", "workspace")),
        ("/items", "items.json", ("product_id", "product")),
        ("/properties", "properties.json", ("item_id", "item")),
        ("/organization/users", "organization_users.json", None),
    ],
)
def test_list_and_get_match_the_example_payload_shapes(
    api: Any, path: str, example: str, parent: tuple[str, str] | None
) -> None:
    ids = first_ids(api)
    params = {parent[0]: ids[parent[1]]} if parent else {}
    response = api.get(path, include_deleted="true", **params)
    assert response.status_code == 200
    assert_common_headers(response)
    body = response.json()
    assert set(body) == {"items", "count"}
    assert body["count"] == len(body["items"]) > 0
    documented = example_keys(example)
    extra_allowed = {"orgId", "unit_system", "x_internal_rank", "tags", "metadata"}
    for record in body["items"]:
        unexpected = set(record) - documented - LEGACY_KEYS - extra_allowed
        assert not unexpected, unexpected
        assert {"id", "name"} <= set(record)
    if path != "/organization/users":
        assert any(set(record) == documented for record in body["items"]), "no record carries the full shape"
        single = api.get(f"{path}/{body['items'][0]['id']}")
        assert_common_headers(single)
        assert single.json() == body["items"][0]


def test_property_values_follow_their_types(server: FakePoelisServer) -> None:
    properties = list(server.dataset.properties)
    seen = {prop["type"] for prop in properties}
    assert seen == set(settings.PROPERTY_TYPES)
    for prop in properties:
        value, kind = prop["value"], prop["type"]
        if kind in ("numeric", "matrix"):
            assert prop["display_unit"] in UNITS_BY_CATEGORY[prop["category"]]
        if kind == "numeric":
            assert isinstance(value, int | float)
            assert prop["category"]
            assert prop["display_unit"]
        elif kind == "matrix":
            matrix = json.loads(value)
            assert isinstance(matrix, list)
            assert all(isinstance(row, list) for row in matrix)
            assert prop["category"]
            assert prop["display_unit"]
        elif kind == "formula":
            assert value is None or isinstance(value, str)
            assert prop["category"] is None
            assert prop["display_unit"] is None
            assert prop["formula_expression"].startswith("@{")
        elif kind == "date":
            assert len(value) == 10
            assert value[4] == value[7] == "-"
        elif kind == "status":
            assert value in settings.STATUS_VALUES
        else:
            assert isinstance(value, str)
    assert max(len(prop["value"]) for prop in properties if prop["type"] == "text") >= 100_000
    assert any("\n" in prop["value"] for prop in properties if prop["type"] == "text")


def test_item_trees_are_several_levels_deep_and_resolve(server: FakePoelisServer) -> None:
    items = {item["id"]: item for item in server.dataset.items}
    depths = []
    for item in items.values():
        depth, parent = 1, item.get("parent_item_id")
        while parent is not None:
            assert items[parent]["product_id"] == item["product_id"]
            depth, parent = depth + 1, items[parent].get("parent_item_id")
        depths.append(depth)
    assert max(depths) >= 3


@pytest.mark.parametrize(
    "bad", [{"limit": 0}, {"limit": 201}, {"limit": -1}, {"limit": "abc"}, {"offset": -1}]
)
def test_out_of_range_paging_is_a_422_validation_error(api: Any, bad: dict[str, Any]) -> None:
    response = api.get("/workspaces", **bad)
    assert response.status_code == 422
    assert_common_headers(response)
    assert response.json()["error"] == "validation_error"
    assert response.json()["details"]["field"] in bad


@pytest.mark.parametrize(("path", "field"), [("/products", "workspace_id"), ("/items", "product_id")])
def test_missing_parent_id_is_a_422(api: Any, path: str, field: str) -> None:
    response = api.get(path)
    assert response.status_code == 422
    assert response.json()["details"]["field"] == field


def test_paging_walks_a_wide_product_once_in_creation_order(server: FakePoelisServer, api: Any) -> None:
    wide = next(p for p in server.dataset.products if len(api.all_pages("/items", product_id=p["id"])) > 200)
    first = api.json("/items", product_id=wide["id"])
    assert first["count"] == settings.DEFAULT_API_PAGE_SIZE
    paged = api.all_pages("/items", product_id=wide["id"], include_deleted="true")
    expected = [item for item in server.dataset.items if item["product_id"] == wide["id"]]
    assert paged == expected
    assert [item["createdAt"] for item in paged] == sorted(item["createdAt"] for item in paged)
    past_end = api.json("/items", product_id=wide["id"], offset=10_000)
    assert past_end == {"items": [], "count": 0}


def test_an_item_with_more_than_a_page_of_properties(server: FakePoelisServer, api: Any) -> None:
    counts: dict[str, int] = {}
    for prop in server.dataset.properties:
        counts[prop["item_id"]] = counts.get(prop["item_id"], 0) + 1
    wide_item = max(counts, key=counts.__getitem__)
    assert counts[wide_item] > 200
    assert len(api.all_pages("/properties", item_id=wide_item, include_deleted="true")) == counts[wide_item]


def test_include_deleted_and_type_filter(server: FakePoelisServer, api: Any) -> None:
    deleted = next(prop for prop in server.dataset.properties if prop["deleted"])
    item_id = deleted["item_id"]
    live = api.all_pages("/properties", item_id=item_id)
    everything = api.all_pages("/properties", item_id=item_id, include_deleted="true")
    assert deleted["id"] not in {prop["id"] for prop in live}
    assert deleted in everything
    assert [prop for prop in everything if not prop["deleted"]] == live
    kind = live[0]["type"]
    filtered = api.all_pages("/properties", item_id=item_id, type=kind.upper())
    assert filtered == [prop for prop in live if prop["type"] == kind]
    assert api.get("/properties", item_id=item_id, type="vector").status_code == 422
    deleted_item = next(item for item in server.dataset.items if item["deleted"])
    product_items = api.all_pages("/items", product_id=deleted_item["product_id"])
    assert deleted_item["id"] not in {item["id"] for item in product_items}


def test_published_versions_serve_copies_with_draft_links(server: FakePoelisServer, api: Any) -> None:
    dataset = server.dataset
    product_id, versions = next((pid, numbers) for pid, numbers in dataset.versions.items() if numbers)
    product = api.json(f"/products/{product_id}")
    baseline = product["baseline_version_number"]
    number = max(versions)
    draft_ids = {item["id"] for item in dataset.items}
    items = api.all_pages("/items", product_id=product_id, version=number, include_deleted="true")
    assert items == list(versions[number].items)
    copies = [item for item in items if item.get("draft_item_id")]
    assert copies
    assert all(item["id"] not in draft_ids and item["draft_item_id"] in draft_ids for item in copies)
    assert api.all_pages("/items", product_id=product_id, version="baseline", include_deleted="true") == list(
        versions[baseline].items
    )
    copy = copies[0]
    assert api.json(f"/items/{copy['id']}", version=number) == copy
    assert api.get(f"/items/{copy['id']}").status_code == 404  # a version copy is not a draft record
    properties = api.all_pages("/properties", item_id=copy["id"], version=number, include_deleted="true")
    assert properties == [
        prop for prop in versions[number].properties if prop["item_id"] == copy["draft_item_id"]
    ]
    changed = next(prop for prop in versions[number].properties if prop.get("draft_property_id"))
    assert api.json(f"/properties/{changed['id']}", version=number) == changed
    for unknown in (number + 1, 999):
        response = api.get("/items", product_id=product_id, version=unknown)
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
    unversioned = next(p for p in dataset.products if p["id"] not in dataset.versions)
    assert api.get("/items", product_id=unversioned["id"], version="baseline").status_code == 404
    assert api.get("/items", product_id=product_id, version="latest").status_code == 422


def test_unknown_paths_404_and_unimplemented_methods_405(server: FakePoelisServer, api: Any) -> None:
    for path in ("/nothing", "/v1/public/files", "/v1/public/items/x/children", "/v2/public/workspaces"):
        response = api.session.get(server.base_url + path)
        assert response.status_code == 404, path
        assert response.json() == {"error": "not_found", "message": "Resource not found"}
        assert_common_headers(response)
    for method, path in (
        ("POST", "/items"),
        ("POST", "/items/abc"),
        ("DELETE", "/items/abc"),
        ("PUT", "/properties/abc"),
        ("PATCH", "/workspaces/abc"),
        ("DELETE", "/workspaces"),
    ):
        response = api.session.request(method, f"{server.base_url}/v1/public{path}", json={"name": "x"})
        assert response.status_code == 405, (method, path)
        assert response.json() == {"error": "method_not_allowed", "message": "Method Not Allowed"}
        assert_common_headers(response)
    assert api.get("/items/not-an-id").json() == {"error": "not_found", "message": "Resource not found"}


def test_the_examples_fixture_is_served_as_is(make_api: Any) -> None:
    dataset = FakeDataset.from_examples(EXAMPLES)
    with FakePoelisServer([FakeOrganization(dataset)]) as server:
        api = make_api(server)
        for path, file_name, params in (
            ("/workspaces", "workspaces.json", {}),
            ("/products", "products.json", {"workspace_id": "550e8400-e29b-41d4-a716-446655440000"}),
            ("/items", "items.json", {"product_id": "660e8400-e29b-41d4-a716-446655440000"}),
            ("/properties", "properties.json", {"item_id": "770e8400-e29b-41d4-a716-446655440001"}),
            ("/organization/users", "organization_users.json", {}),
        ):
            assert api.json(path, **params) == json.loads((EXAMPLES / file_name).read_text()), path


def test_q_filters_by_name_and_type_hint_must_match(server: FakePoelisServer, api: Any) -> None:
    workspace = server.dataset.workspaces[0]
    word = workspace["name"].split()[0].upper()
    found = api.json("/workspaces", q=word)["items"]
    assert workspace in found
    assert all(word.lower() in item["name"].lower() for item in found)
    assert api.json("/workspaces", q="no such name at all") == {"items": [], "count": 0}
    prop = server.dataset.properties[0]
    assert api.json(f"/properties/{prop['id']}", type=prop["type"].upper()) == prop
    other_type = next(kind for kind in settings.PROPERTY_TYPES if kind != prop["type"])
    assert api.get(f"/properties/{prop['id']}", type=other_type).status_code == 404
