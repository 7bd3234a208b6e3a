"""Published versions in the fake: numbered 1..N, `baseline` resolves, unknown ones are 404 `not_found`,
`mutate` never changes a published version but may publish a new one or move a baseline."""

from __future__ import annotations

from typing import Any

import pytest

from poelis_pipelines.fake_api import FakePoelisServer


def versioned_products(server: FakePoelisServer) -> dict[str, dict[int, Any]]:
    return {product_id: numbers for product_id, numbers in server.dataset.versions.items() if numbers}


def snapshot(server: FakePoelisServer) -> dict[tuple[str, int], tuple[list[bytes], list[bytes]]]:
    """Every published version's exact bytes, items and properties."""
    return {
        (product_id, number): (
            [stored.body for stored in version.item_store],
            [stored.body for stored in version.property_store],
        )
        for product_id, numbers in server.dataset.versions.items()
        for number, version in numbers.items()
    }


def test_versions_are_numbered_from_one_and_the_baseline_is_one_of_them(server: FakePoelisServer) -> None:
    products = versioned_products(server)
    assert products
    for product_id, numbers in products.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1))
        product = server.dataset.products.get(product_id)
        assert product is not None
        assert product["baseline_version_number"] in numbers


def test_a_version_lists_its_items_and_properties_and_baseline_resolves(
    server: FakePoelisServer, api: Any
) -> None:
    product_id, numbers = next(iter(versioned_products(server).items()))
    baseline = server.dataset.products.get(product_id)["baseline_version_number"]  # type: ignore[index]
    for number, version in numbers.items():
        listed = api.all_pages("/items", product_id=product_id, version=number, include_deleted="true")
        assert listed == list(version.items)
        item = listed[0]
        properties = api.all_pages("/properties", item_id=item["id"], version=number, include_deleted="true")
        draft_item_id = item["draft_item_id"] or item["id"]
        assert properties == [prop for prop in version.properties if prop["item_id"] == draft_item_id]
        assert api.json(f"/items/{item['id']}", version=number) == item
    by_baseline = api.all_pages("/items", product_id=product_id, version="baseline", include_deleted="true")
    assert by_baseline == list(numbers[baseline].items)


def test_changed_records_in_a_version_are_copies_pointing_back_at_the_draft(server: FakePoelisServer) -> None:
    draft_items = {item["id"] for item in server.dataset.items}
    draft_properties = {prop["id"] for prop in server.dataset.properties}
    copies = 0
    for numbers in versioned_products(server).values():
        for version in numbers.values():
            for item in version.items:
                if item["id"] not in draft_items:
                    assert item["draft_item_id"] in draft_items
                    copies += 1
            for prop in version.properties:
                if prop["id"] not in draft_properties:
                    assert prop["draft_property_id"] in draft_properties
                assert prop["item_id"] in draft_items  # parent links are draft-scoped (SPEC 11 #8)
    assert copies


@pytest.mark.parametrize("version", ["99", "0"])
def test_an_unknown_version_is_404_not_found_for_listings_and_gets(
    server: FakePoelisServer, api: Any, version: str
) -> None:
    product_id, numbers = next(iter(versioned_products(server).items()))
    item = next(iter(numbers[1].items))
    prop = next(iter(numbers[1].properties))
    for path, params in (
        ("/items", {"product_id": product_id}),
        ("/properties", {"item_id": item["id"]}),
        (f"/items/{item['id']}", {}),
        (f"/properties/{prop['id']}", {}),
    ):
        response = api.get(path, version=version, **params)
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found"


def test_a_product_without_versions_answers_404_for_version_one_and_for_baseline(
    server: FakePoelisServer, api: Any
) -> None:
    bare = [
        product["id"] for product in server.dataset.products if not server.dataset.versions.get(product["id"])
    ]
    assert bare
    for requested in ("1", "baseline"):
        response = api.get("/items", product_id=bare[0], version=requested, limit=1)
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


def test_mutate_never_changes_a_published_version_and_may_publish_a_new_one(
    server: FakePoelisServer, api: Any
) -> None:
    before = snapshot(server)
    mutation = server.mutate(seed=1)
    assert mutation.updated_properties
    assert mutation.published_versions

    after = snapshot(server)
    assert {key: after[key] for key in before} == before
    [(product_id, number)] = mutation.published_versions
    assert set(after) - set(before) == {(product_id, number)}
    assert number == max((n for p, n in before if p == product_id), default=0) + 1
    published = api.all_pages("/items", product_id=product_id, version=number, include_deleted="true")
    draft = api.all_pages("/items", product_id=product_id, include_deleted="true")
    assert [item["draft_item_id"] or item["id"] for item in published] == [item["id"] for item in draft]
    for item in published:  # the draft as published: a copy carries the draft's values under a new id
        if item["draft_item_id"]:
            original = next(record for record in draft if record["id"] == item["draft_item_id"])
            assert {**item, "id": original["id"], "draft_item_id": None} == original
    assert api.get("/items", product_id=product_id, version=number + 1, limit=1).status_code == 404


def test_mutate_may_move_a_baseline_to_another_existing_version() -> None:
    with FakePoelisServer(seed=7, scale="tiny") as server:
        mutation = server.mutate(seed=3)
        assert mutation.moved_baselines  # seed 3 moves one on this fake
        [(product_id, old, new)] = mutation.moved_baselines
        assert old != new
        assert new in server.dataset.versions[product_id]
        product = server.dataset.products.get(product_id)
        assert product is not None
        assert product["baseline_version_number"] == new
        assert server.dataset.version(product_id, "baseline") is server.dataset.versions[product_id][new]
