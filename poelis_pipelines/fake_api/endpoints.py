"""The read endpoints (SPEC sections 5 and 7) and the parameter rules every endpoint shares.

Each endpoint takes a `Call` and returns the success body (already JSON bytes) or raises `ApiError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from poelis_pipelines import settings
from poelis_pipelines.fake_api.dataset import FakeDataset, ProductVersion
from poelis_pipelines.fake_api.store import Children, StoredRecord

Query = Mapping[str, str]

_TRUE_VALUES = {"true", "1", "yes", "on"}
_FALSE_VALUES = {"false", "0", "no", "off"}


@dataclass(frozen=True)
class Call:
    """One routed, authenticated request."""

    dataset: FakeDataset
    resource_id: str  # the `{id}` path segment; "" on collection paths
    query: Query
    body: bytes
    ignore_offset: bool  # the `Faults.ignore_offset` switch


class ApiError(Exception):
    """An error response raised from inside an endpoint (SPEC section 9)."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> bytes:
    body: dict[str, Any] = {"error": code, "message": message}
    if details:
        body["details"] = details
    return json.dumps(body).encode()


def not_found() -> ApiError:
    return ApiError(404, "not_found", "Resource not found")


def invalid(field_name: str, reason: str, message: str = "Invalid request parameters") -> ApiError:
    return ApiError(422, "validation_error", message, {"field": field_name, "reason": reason})


# --- query parameters ---


def _integer(query: Query, name: str, default: int, low: int, high: int | None) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name, f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f">= {low}"
        raise invalid(name, f"{name} must be {bounds}")
    return value


def _boolean(query: Query, name: str) -> bool:
    raw = query.get(name, "false").lower()
    if raw in _TRUE_VALUES:
        return True
    if raw in _FALSE_VALUES:
        return False
    raise invalid(name, f"{name} must be a boolean")


def required(query: Query, name: str) -> str:
    value = query.get(name)
    if not value:
        raise invalid(name, "field required")
    return value


def _version(query: Query) -> int | str | None:
    """None for the draft, "baseline", or a version number."""
    raw = query.get("version", "")
    if raw in ("", "null"):
        return None
    if raw.lower() == "baseline":
        return "baseline"
    try:
        return int(raw)
    except ValueError:
        raise invalid("version", "version must be an integer or 'baseline'") from None


def property_type(query: Query) -> str | None:
    """The optional `type` parameter, case-insensitive."""
    raw = query.get("type")
    if not raw:
        return None
    if raw.lower() not in settings.PROPERTY_TYPES:
        raise invalid("type", f"type must be one of {', '.join(settings.PROPERTY_TYPES)}")
    return raw.lower()


def _page(records: Sequence[StoredRecord], call: Call) -> bytes:
    """The list envelope `{"items": [...], "count": n}` for one page, joined from encoded records."""
    limit = _integer(call.query, "limit", settings.DEFAULT_API_PAGE_SIZE, 1, settings.MAX_PAGE_SIZE)
    offset = _integer(call.query, "offset", 0, 0, None)
    search = call.query.get("q", "").lower()
    if search:
        records = [record for record in records if _matches(record, search)]
    page = records[0 if call.ignore_offset else offset :][:limit]
    return b'{"items":[' + b",".join(record.body for record in page) + b'],"count":%d}' % len(page)


def _matches(record: StoredRecord, search: str) -> bool:
    """The free-text `q` filter: a case-insensitive substring of the name (or email)."""
    decoded = json.loads(record.body)
    return any(search in str(decoded.get(key) or "").lower() for key in ("name", "email"))


def _children(children: Children, include_deleted: bool) -> list[StoredRecord]:
    return children.all if include_deleted else children.live


def _version_of(dataset: FakeDataset, product_id: str | None, requested: int | str) -> ProductVersion:
    version = dataset.version(product_id, requested) if product_id else None
    if version is None:
        raise ApiError(404, "not_found", f"Version {requested} not found")
    return version


def body_of(stored: StoredRecord | None) -> bytes:
    if stored is None:
        raise not_found()
    return stored.body


# --- endpoints ---


def list_workspaces(call: Call) -> bytes:
    return _page(call.dataset.workspace_store.children(None).all, call)


def get_workspace(call: Call) -> bytes:
    return body_of(call.dataset.workspace_store.get(call.resource_id))


def list_products(call: Call) -> bytes:
    workspace_id = required(call.query, "workspace_id")
    if workspace_id not in call.dataset.workspace_store:
        raise not_found()
    return _page(call.dataset.product_store.children(workspace_id).all, call)


def get_product(call: Call) -> bytes:
    return body_of(call.dataset.product_store.get(call.resource_id))


def list_items(call: Call) -> bytes:
    dataset = call.dataset
    product_id = required(call.query, "product_id")
    include_deleted = _boolean(call.query, "include_deleted")
    requested = _version(call.query)
    if product_id not in dataset.product_store:
        raise not_found()
    dataset.materialise(product_id)
    store = (
        dataset.item_store if requested is None else _version_of(dataset, product_id, requested).item_store
    )
    return _page(_children(store.children(product_id), include_deleted), call)


def get_item(call: Call) -> bytes:
    dataset, item_id = call.dataset, call.resource_id
    requested = _version(call.query)
    dataset.materialise_on_miss(dataset.item_store, item_id)
    if requested is None:
        return body_of(dataset.item_store.get(item_id))
    product_id = dataset.product_of_item(item_id)
    if product_id is None:
        raise not_found()
    return body_of(_version_of(dataset, product_id, requested).find_item(item_id))


def list_properties(call: Call) -> bytes:
    dataset = call.dataset
    item_id = required(call.query, "item_id")
    include_deleted = _boolean(call.query, "include_deleted")
    requested = _version(call.query)
    wanted_type = property_type(call.query)
    product_id = dataset.product_of_item(item_id)
    if product_id is None:
        raise not_found()
    if requested is None:
        if item_id not in dataset.item_store:
            raise not_found()
        children = dataset.property_store.children(item_id)
    else:
        version = _version_of(dataset, product_id, requested)
        draft_item_id = version.draft_item_id(item_id)
        if draft_item_id is None:
            raise not_found()
        children = version.property_store.children(draft_item_id)
    records = _children(children, include_deleted)
    if wanted_type is not None:
        records = [record for record in records if record.type == wanted_type]
    return _page(records, call)


def get_property(call: Call) -> bytes:
    dataset, property_id = call.dataset, call.resource_id
    requested = _version(call.query)
    wanted_type = property_type(call.query)
    if requested is None:
        dataset.materialise_on_miss(dataset.property_store, property_id)
        stored = dataset.property_store.get(property_id)
    else:
        product_id = dataset.product_of_property(property_id)
        if product_id is None:
            raise not_found()
        stored = _version_of(dataset, product_id, requested).find_property(property_id)
    if stored is not None and wanted_type is not None and stored.type != wanted_type:
        stored = None
    return body_of(stored)


def list_users(call: Call) -> bytes:
    return _page(call.dataset.user_store.children(None).all, call)
