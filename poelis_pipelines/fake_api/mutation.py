"""Changes to an organization's draft between two syncs, as its users would make them.

`apply_mutation(dataset, seed)` edits property values (bumping `updatedAt`), soft-deletes items, removes
properties outright, creates items and properties, and adds a never-seen field to some records. The
returned `Mutation` lists every id it touched, so tests can check a sync picked each change up.
Published versions never change.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

from poelis_pipelines.fake_api.dataset import FakeDataset, random_uuid, random_value, slug
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
        return self.mutation

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
