"""Changes to an organization's draft between two syncs, as its users would make them.

`apply_mutation(dataset, seed)` edits property values (bumping `updatedAt`), soft-deletes items, removes
properties outright, creates items and properties, and adds a never-seen field to some records. The
returned `Mutation` lists every id it touched, so tests can check a sync picked each change up.
Published versions never change, but a mutation may publish a new one (the draft as it is, as a change
request would) or move a product's baseline to another existing version, from its own random stream, so the
draft edits of a seed stay what they were.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

from poelis_pipelines.fake_api.dataset import FakeDataset, ProductVersion, random_uuid, random_value, slug
from poelis_pipelines.fake_api.store import Record, RecordStore, StoredRecord

NEW_FIELD = "review_comment"  # the unknown field a mutation introduces


@dataclass
class Mutation:
    """What `apply_mutation` changed, by id."""

    organization_id: str
    updated_properties: list[str] = field(default_factory=list)  # new value and updatedAt
    soft_deleted_items: list[str] = field(default_factory=list)  # deleted=true and updatedAt
    removed_properties: list[str] = field(default_factory=list)  # gone outright, not soft-deleted
    added_items: list[str] = field(default_factory=list)
    added_properties: list[str] = field(default_factory=list)
    new_field: str = NEW_FIELD
    records_with_new_field: list[str] = field(default_factory=list)  # item and property ids
    published_versions: list[tuple[str, int]] = field(default_factory=list)  # (product id, new version)
    moved_baselines: list[tuple[str, int | None, int]] = field(default_factory=list)  # (product, old, new)

    @property
    def changed_ids(self) -> set[str]:
        return {
            *self.updated_properties,
            *self.soft_deleted_items,
            *self.removed_properties,
            *self.added_items,
            *self.added_properties,
            *self.records_with_new_field,
        }


class _Mutator:
    def __init__(self, dataset: FakeDataset, seed: int) -> None:
        self.dataset = dataset
        self.rng = random.Random(f"mutation:{seed}")
        self.release_rng = random.Random(f"release:{seed}")
        self.mutation = Mutation(dataset.organization_id)

    def now(self) -> str:
        return self.dataset.now(self.rng.randint(1_000, 600_000))

    def person(self) -> Record | None:
        return self.rng.choice(self.dataset.people) if self.dataset.people else None

    def run(self) -> Mutation:
        rng = self.rng
        products = [product.id for product in self.dataset.product_store]
        chosen = rng.sample(products, k=min(2, len(products)))
        for product_id in chosen:
            self.dataset.materialise(product_id)
        items = [item for product in chosen for item in self.dataset.item_store.children(product).live]
        if not items:
            return self.mutation
        properties = [prop for item in items for prop in self.dataset.property_store.children(item.id).live]
        rng.shuffle(properties)
        update_count = max(3, len(properties) // 20)
        for stored in properties[:update_count]:
            self.update_property(stored)
        for stored in properties[update_count : update_count + 2]:
            self.dataset.property_store.remove(stored.id)
            self.mutation.removed_properties.append(stored.id)
        for stored in properties[update_count + 2 : update_count + 4]:
            self.add_new_field(self.dataset.property_store, stored)
        targets = rng.sample(items, k=min(len(items), 5))
        for stored in targets[:2]:
            self.add_item(parent=stored, property_count=3)
        for stored in targets[2:3]:
            self.add_property(stored.id)
        for stored in targets[3:4]:
            self.add_new_field(self.dataset.item_store, stored)
        for stored in targets[4:5]:
            self.soft_delete_item(stored)
        self.release(products)
        return self.mutation

    def release(self, products: list[str]) -> None:
        """Now and then publish the draft of one product as its next version, and move another product's
        baseline to one of its other versions (never to the version just published)."""
        rng = self.release_rng
        if rng.random() < 0.5:
            self.publish(rng.choice(products))
        movable = [
            product_id
            for product_id in products
            if len(self.dataset.versions.get(product_id, {})) >= 2
            and product_id not in {published for published, _ in self.mutation.published_versions}
        ]
        if movable and rng.random() < 0.5:
            self.move_baseline(rng.choice(movable))

    def publish(self, product_id: str) -> None:
        """The product's draft as version max+1: records as they are, 15% of them (as if changed since the
        last version) as copies with new ids pointing back with `draft_item_id` / `draft_property_id`."""
        dataset = self.dataset
        dataset.materialise(product_id)
        number = max(dataset.versions.get(product_id, {}), default=0) + 1
        version = ProductVersion(product_id, number)
        for item in dataset.item_store.children(product_id).all:
            version.add_item(self.maybe_copied(version.item_store, item, "draft_item_id"), item.id)
            for prop in dataset.property_store.children(item.id).all:
                version.add_property(
                    self.maybe_copied(version.property_store, prop, "draft_property_id"), prop.id
                )
        dataset.add_version(version)
        self.mutation.published_versions.append((product_id, number))

    def maybe_copied(self, store: RecordStore, stored: StoredRecord, back_link: str) -> StoredRecord:
        if self.release_rng.random() >= 0.15:
            return stored
        record = json.loads(stored.body)
        return store.stored({**record, "id": random_uuid(self.release_rng), back_link: stored.id})

    def move_baseline(self, product_id: str) -> None:
        record = json.loads(self.dataset.product_store.get(product_id).body)  # type: ignore[union-attr]
        old = record.get("baseline_version_number")
        choices = [number for number in sorted(self.dataset.versions[product_id]) if number != old]
        new = self.release_rng.choice(choices)
        record["baseline_version_number"] = new
        self.stamp(record)
        self.dataset.product_store.replace(record)
        self.dataset.baselines[product_id] = new
        self.mutation.moved_baselines.append((product_id, old, new))

    def stamp(self, record: Record) -> None:
        record["updatedAt"] = self.now()
        person = self.person()
        if person is not None:
            record["updatedBy"] = person

    def update_property(self, stored: StoredRecord) -> None:
        record = json.loads(stored.body)
        if record["type"] == "formula":
            record["value"] = f"{round(self.rng.uniform(0.01, 500), 2)} kg"
        else:
            record["value"] = random_value(self.rng, record["type"])[1]
        self.stamp(record)
        self.dataset.property_store.replace(record)
        self.mutation.updated_properties.append(record["id"])

    def soft_delete_item(self, stored: StoredRecord) -> None:
        record = json.loads(stored.body)
        record["deleted"] = True
        self.stamp(record)
        self.dataset.item_store.replace(record)
        self.mutation.soft_deleted_items.append(record["id"])

    def add_new_field(self, store: RecordStore, stored: StoredRecord) -> None:
        """A field no client has seen before; `updatedAt` is untouched, as in a server-side schema change."""
        record = json.loads(stored.body)
        record[NEW_FIELD] = "Checked by the design authority ✔"
        store.replace(record)
        self.mutation.records_with_new_field.append(record["id"])

    def add_item(self, parent: StoredRecord, property_count: int) -> None:
        created = self.now()
        person = self.person()
        name = f"New Part {len(self.mutation.added_items) + 1}"
        record: Record = {
            "id": random_uuid(self.rng),
            "readable_id": f"{slug(name)}_{self.rng.randint(1000, 9999)}",
            "product_id": parent.parent_id,
            "name": name,
            "deleted": False,
            "parent_item_id": parent.id,
            "draft_item_id": None,
            "createdBy": person,
            "createdAt": created,
            "updatedAt": created,
            "updatedBy": person,
        }
        self.dataset.item_store.add(record)
        self.mutation.added_items.append(record["id"])
        for _ in range(property_count):
            self.add_property(record["id"])

    def add_property(self, item_id: str) -> None:
        property_type = self.rng.choice(("numeric", "text", "date", "status", "matrix"))
        name, value, category, unit, _ = random_value(self.rng, property_type)
        created = self.now()
        person = self.person()
        record: Record = {
            "id": random_uuid(self.rng),
            "readable_id": f"{slug(name)}_{self.rng.randint(1000, 9999)}",
            "item_id": item_id,
            "name": name,
            "type": property_type,
            "value": value,
            "deleted": False,
            "category": category,
            "display_unit": unit,
            "draft_property_id": None,
            "references": [],
            "formula_expression": None,
            "createdBy": person,
            "createdAt": created,
            "updatedAt": created,
            "updatedBy": person,
        }
        self.dataset.property_store.add(record)
        self.mutation.added_properties.append(record["id"])


def apply_mutation(dataset: FakeDataset, seed: int) -> Mutation:
    """Mutate the draft of `dataset` (deterministically for a seed and a starting state)."""
    with dataset.lock:
        return _Mutator(dataset, seed).run()
