"""The documented writes (SPEC 5.2, 5.3, 5.4, 12 #4-#8): create/update products, move/rename items,
create/update properties. Drafts only; published versions never change.

Decisions where the SPEC is silent: a duplicate `readable_id` is a 422 `validation_error`; an unknown
category is a 400 `invalid_unit` like an unknown unit; `parent_item_id: null` makes an item a root; an
explicit `null` for `name` or `readable_id` leaves it unchanged; the acting user is the organization's
first user (keys carry no user).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import re
from typing import Any

from poelis_pipelines import settings
from poelis_pipelines.fake_api.dataset import UNITS_BY_CATEGORY, FakeDataset, random_uuid
from poelis_pipelines.fake_api.endpoints import ApiError, Call, invalid, not_found, property_type, required
from poelis_pipelines.fake_api.store import Record, RecordStore

_READABLE_ID = re.compile(r"^[a-z0-9_]+$")
_STATUS_ENUM = {"DRAFT": "Draft", "UNDER_REVIEW": "Under Review", "DONE": "Done"}
_WRITABLE_PROPERTY_TYPES = ("numeric", "matrix", "text", "date", "status")


def _body(call: Call) -> dict[str, Any]:
    try:
        body = json.loads(call.body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "validation_error", "Malformed request body: not JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "validation_error", "Malformed request body: expected a JSON object")
    return body


def _text(body: dict[str, Any], name: str, *, needed: bool) -> str | None:
    value = body.get(name)
    if value is None:
        if needed:
            raise invalid(name, "field required", "Invalid data format")
        return None
    if not isinstance(value, str) or not value:
        raise invalid(name, f"{name} must be at least 1 character", "Invalid data format")
    return value


def _readable_id(body: dict[str, Any], *, needed: bool, taken: set[str]) -> str | None:
    value = _text(body, "readable_id", needed=needed)
    if value is not None and not _READABLE_ID.match(value):
        raise invalid("readable_id", "readable_id must match ^[a-z0-9_]+$", "Invalid data format")
    if value is not None and value in taken:
        raise invalid(
            "readable_id", f"readable_id {value!r} already exists in this scope", "Invalid data format"
        )
    return value


def _siblings_readable_ids(store: RecordStore, parent_id: str, exclude: str = "", **match: Any) -> set[str]:
    taken = set()
    for stored in store.children(parent_id).all:
        record = json.loads(stored.body)
        if stored.id != exclude and all(record.get(key) == value for key, value in match.items()):
            taken.add(record.get("readable_id"))
    return taken


def _stamp(dataset: FakeDataset, record: Record, *, created: bool = False) -> None:
    now = dataset.now()
    person = dataset.people[0] if dataset.people else None
    record["updatedAt"] = now
    record["updatedBy"] = person
    if created:
        record["createdAt"] = now
        record["createdBy"] = person


def _load(store: RecordStore, record_id: str) -> Record:
    stored = store.get(record_id)
    if stored is None:
        raise not_found()
    record: Record = json.loads(stored.body)
    return record


# --- products ---


def create_product(call: Call) -> bytes:
    dataset, body = call.dataset, _body(call)
    workspace_id = _text(body, "workspace_id", needed=True)
    name = _text(body, "name", needed=True)
    if workspace_id not in dataset.workspace_store:
        raise not_found()
    taken = _siblings_readable_ids(dataset.product_store, workspace_id)  # type: ignore[arg-type]
    readable_id = _readable_id(body, needed=True, taken=taken)
    with dataset.lock:
        record: Record = {
            "id": random_uuid(dataset.write_rng),
            "readable_id": readable_id,
            "workspace_id": workspace_id,
            "name": name,
            "description": None,
            "baseline_version_number": None,
            "archived": False,
            "status": None,
            "excludedStatusIds": [],
            "owner": dataset.people[0] if dataset.people else None,
        }
        _stamp(dataset, record, created=True)
        dataset.add_product(record)
    return dataset.product_store.get(record["id"]).body  # type: ignore[union-attr]


def update_product(call: Call) -> bytes:
    dataset, body = call.dataset, _body(call)
    with dataset.lock:
        record = _load(dataset.product_store, call.resource_id)
        if body.get("name") is not None:
            record["name"] = _text(body, "name", needed=True)
        if body.get("readable_id") is not None:
            taken = _siblings_readable_ids(dataset.product_store, record["workspace_id"], record["id"])
            record["readable_id"] = _readable_id(body, needed=True, taken=taken)
        if "description" in body:
            if body["description"] is not None and not isinstance(body["description"], str):
                raise invalid("description", "description must be a string or null", "Invalid data format")
            record["description"] = body["description"]
        if "baseline_version_number" in body:
            number = body["baseline_version_number"]
            if number is not None and (
                isinstance(number, bool)
                or not isinstance(number, int)
                or dataset.version(record["id"], number) is None
            ):
                raise invalid("baseline_version_number", "must be an existing version of this product")
            record["baseline_version_number"] = number
            dataset.baselines[record["id"]] = number
        _stamp(dataset, record)
        dataset.product_store.replace(record)
    return dataset.product_store.get(record["id"]).body  # type: ignore[union-attr]


# --- items ---


def update_item(call: Call) -> bytes:
    dataset, body = call.dataset, _body(call)
    with dataset.lock:
        dataset.materialise_on_miss(dataset.item_store, call.resource_id)
        record = _load(dataset.item_store, call.resource_id)
        if "parent_item_id" in body:
            record["parent_item_id"] = _new_parent(dataset, record, body["parent_item_id"])
        if body.get("name") is not None:
            record["name"] = _text(body, "name", needed=True)
        if body.get("readable_id") is not None:
            taken = _siblings_readable_ids(
                dataset.item_store,
                record["product_id"],
                record["id"],
                parent_item_id=record.get("parent_item_id"),
            )
            record["readable_id"] = _readable_id(body, needed=True, taken=taken)
        _stamp(dataset, record)
        dataset.item_store.replace(record)
    return dataset.item_store.get(record["id"]).body  # type: ignore[union-attr]


def _new_parent(dataset: FakeDataset, record: Record, parent_id: object) -> str | None:
    """A valid new parent: null (root) or another item of the same product that is not a descendant."""
    if parent_id is None:
        return None
    if not isinstance(parent_id, str):
        raise invalid("parent_item_id", "parent_item_id must be a string or null", "Invalid data format")
    ancestor: str | None = parent_id
    while ancestor is not None:
        stored = dataset.item_store.get(ancestor)
        if stored is None or stored.parent_id != record["product_id"]:
            raise invalid("parent_item_id", "parent item not found in this product", "Invalid data format")
        if ancestor == record["id"]:
            raise invalid("parent_item_id", "an item cannot move under itself or its descendants")
        ancestor = json.loads(stored.body).get("parent_item_id")
    return parent_id


# --- properties ---


def create_property(call: Call) -> bytes:
    dataset, body = call.dataset, _body(call)
    item_id = _text(body, "item_id", needed=True)
    kind = _text(body, "type", needed=True)
    name = _text(body, "name", needed=True)
    kind = kind.lower()  # type: ignore[union-attr]
    if kind == "formula":
        raise invalid("type", "formula properties cannot be created")
    if kind not in _WRITABLE_PROPERTY_TYPES:
        raise invalid("type", f"type must be one of {', '.join(_WRITABLE_PROPERTY_TYPES)}")
    with dataset.lock:
        dataset.materialise_on_miss(dataset.item_store, item_id)  # type: ignore[arg-type]
        if item_id not in dataset.item_store:
            raise not_found()
        taken = _siblings_readable_ids(dataset.property_store, item_id)  # type: ignore[arg-type]
        readable_id = _readable_id(body, needed=True, taken=taken)
        category = unit = None
        if kind in ("numeric", "matrix"):
            category = _text(body, "category", needed=True).upper()  # type: ignore[union-attr]
            unit = _unit(category, _text(body, "display_unit", needed=True))
        record: Record = {
            "id": random_uuid(dataset.write_rng),
            "readable_id": readable_id,
            "item_id": item_id,
            "name": name,
            "type": kind,
            "value": _value(kind, body["value"]) if body.get("value") is not None else None,
            "deleted": False,
            "category": category,
            "display_unit": unit,
            "draft_property_id": None,
            "references": [],
            "formula_expression": None,
        }
        _stamp(dataset, record, created=True)
        dataset.property_store.add(record)
    return dataset.property_store.get(record["id"]).body  # type: ignore[union-attr]


def update_property(call: Call) -> bytes:
    dataset, body = call.dataset, _body(call)
    kind = property_type(call.query) or required(call.query, "type")
    with dataset.lock:
        dataset.materialise_on_miss(dataset.property_store, call.resource_id)
        record = _load(dataset.property_store, call.resource_id)
        if record["type"] != kind:
            raise invalid("type", f"the property is of type {record['type']}, not {kind}")
        if kind == "formula":
            raise invalid("type", "formula properties cannot be updated")
        if body.get("name") is not None:
            record["name"] = _text(body, "name", needed=True)
        if body.get("readable_id") is not None:
            taken = _siblings_readable_ids(dataset.property_store, record["item_id"], record["id"])
            record["readable_id"] = _readable_id(body, needed=True, taken=taken)
        if "value" in body:
            record["value"] = None if body["value"] is None else _value(kind, body["value"])
        if body.get("display_unit") is not None:
            if kind not in ("numeric", "matrix"):
                raise ApiError(400, "invalid_unit", f"{kind} properties have no unit")
            record["display_unit"] = _unit(record["category"], body["display_unit"])
        _stamp(dataset, record)
        dataset.property_store.replace(record)
    return dataset.property_store.get(record["id"]).body  # type: ignore[union-attr]


def _unit(category: str, unit: object) -> str:
    if unit not in UNITS_BY_CATEGORY.get(category, ()):
        raise ApiError(400, "invalid_unit", f"Unit {unit!r} is not allowed for category {category!r}")
    return unit  # type: ignore[return-value]


def _value(kind: str, value: Any) -> Any:
    """The stored form of a written value, or 400 `invalid_value` when it does not fit the type."""

    def wrong(reason: str) -> ApiError:
        return ApiError(400, "invalid_value", f"Invalid value for a {kind} property: {reason}")

    if kind == "numeric":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise wrong("expected a finite number")
        return value
    if kind == "matrix":
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise wrong("expected a 2-D array") from None
        if isinstance(value, list) and not all(isinstance(row, list) for row in value):
            raise wrong("expected a 2-D array")
        if not isinstance(value, list | dict):
            raise wrong("expected a 2-D array or an object")
        return json.dumps(value, separators=(",", ":"))
    if kind == "date":
        if isinstance(value, str) and len(value) == 10:
            with contextlib.suppress(ValueError):
                return dt.date.fromisoformat(value).isoformat()
        raise wrong("expected an ISO date YYYY-MM-DD")
    if kind == "status":
        display = _STATUS_ENUM.get(value, value) if isinstance(value, str) else None
        if display not in settings.STATUS_VALUES:
            raise wrong(f"expected one of {', '.join(settings.STATUS_VALUES)}")
        return display
    if not isinstance(value, str):
        raise wrong("expected a string")
    return value
