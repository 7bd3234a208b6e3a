"""The fake API's request handling, independent of the HTTP transport (SPEC sections 1, 4-9).

`FakeApi.handle(method, target, authorization)` turns one request into a `Response`. Order of checks,
as a gateway in front of the real service would do them:

1. the key is resolved to an organization (a missing, unknown or revoked key resolves to none);
2. requests with a valid key count against their organization's fixed window; over it -> 429;
   requests without a valid key are not counted (they cannot be attributed to an organization);
3. unknown path -> 404, known path with another method -> 405 (no key needed for either);
4. no valid key -> 401;
5. configured faults (drop, 500, 503, 429, latency, malformed JSON);
6. the endpoint: 422 for bad parameters, 404 for ids the organization cannot see, else 200.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from poelis_pipelines import settings
from poelis_pipelines.fake_api.dataset import FakeDataset, ProductVersion, api_key_for
from poelis_pipelines.fake_api.store import Children, StoredRecord

Query = Mapping[str, str]

UNKNOWN_ROUTE = "(unknown)"
DROPPED = 0  # the "status" counted for a connection closed without a response


@dataclass(frozen=True)
class RateLimit:
    """Per-organization fixed window admitting `limit + burst` requests (SPEC section 8).

    `X-RateLimit-Limit` reports `limit`; `Retry-After` is the whole seconds until the window resets.
    `window <= 0` switches limiting off (the headers are still sent).
    """

    limit: int = settings.DEFAULT_RATE_LIMIT_PER_MINUTE
    burst: int = settings.DEFAULT_RATE_LIMIT_BURST
    window: float = settings.RATE_LIMIT_WINDOW_SECONDS

    def __post_init__(self) -> None:
        if self.limit < 1 or self.burst < 0 or self.window < 0:
            raise ValueError(f"RateLimit needs limit >= 1, burst >= 0 and window >= 0, got {self}")


@dataclass(frozen=True)
class Faults:
    """Misbehaviour to inject into authenticated, routed requests; probabilities are per request.

    Drawn in this order from one RNG seeded by `seed`: `drop_connection` (close the socket without a
    response), `error_500`, `error_503`, `error_429` (with `Retry-After: retry_after`), then `latency`
    (uniform seconds added) and `malformed_json` (a 200 whose body is cut in half). `ignore_offset`
    serves the first page whatever the offset, to exercise client loop guards.
    """

    error_500: float = 0.0
    error_503: float = 0.0
    error_429: float = 0.0
    retry_after: int = 1
    drop_connection: float = 0.0
    latency: tuple[float, float] = (0.0, 0.0)
    malformed_json: float = 0.0
    ignore_offset: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("error_500", "error_503", "error_429", "drop_connection", "malformed_json"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"Faults.{name} is a probability between 0 and 1, got {getattr(self, name)}")
        low, high = self.latency
        if not 0.0 <= low <= high:
            raise ValueError(
                f"Faults.latency must be (low, high) seconds with 0 <= low <= high, got {self.latency}"
            )
        if self.retry_after < 0:
            raise ValueError(f"Faults.retry_after must be >= 0 seconds, got {self.retry_after}")


@dataclass
class FakeOrganization:
    """One organization the server hosts: its data and the key that reaches it."""

    dataset: FakeDataset
    api_key: str = field(default="", repr=False)
    id: str = ""

    def __post_init__(self) -> None:
        self.id = self.id or self.dataset.organization_id
        if not self.api_key:
            self.api_key = api_key_for(
                self.dataset.seed if self.dataset.seed is not None else self.dataset.organization_id
            )


class Response(NamedTuple):
    status: int
    body: bytes
    headers: dict[str, str]
    delay: float = 0.0
    drop: bool = False  # close the connection without answering


class ApiError(Exception):
    """An error response raised from inside an endpoint."""

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


_NOT_FOUND = ("not_found", "Resource not found")
_UNAUTHORIZED = error_body("unauthorized", "Invalid or missing API key")
_METHOD_NOT_ALLOWED = error_body("method_not_allowed", "Method Not Allowed")
_RATE_LIMITED = error_body("rate_limit_exceeded", "Too many requests")
_INTERNAL_ERROR = error_body("internal_error", "An internal error occurred")
_UNAVAILABLE = error_body("service_unavailable", "Service temporarily unavailable")
_TRUE_VALUES = {"true", "1", "yes", "on"}
_FALSE_VALUES = {"false", "0", "no", "off"}


class _Window:
    """One organization's fixed window: when it started and how many requests it admitted."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.used = 0


class RateLimiter:
    """Fixed windows per organization; thread-safe; reconfigurable at run time."""

    def __init__(self, rate_limit: RateLimit | None) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}
        self._rate_limit = rate_limit

    @property
    def rate_limit(self) -> RateLimit | None:
        return self._rate_limit

    @rate_limit.setter
    def rate_limit(self, value: RateLimit | None) -> None:
        with self._lock:
            self._rate_limit = value
            self._windows.clear()

    def admit(self, organization_id: str | None, now: float) -> tuple[bool, dict[str, str]]:
        """Count one request (when it belongs to an organization); return (admitted, headers)."""
        with self._lock:
            rate_limit = self._rate_limit
            limit = rate_limit.limit if rate_limit else settings.DEFAULT_RATE_LIMIT_PER_MINUTE
            if rate_limit is None or rate_limit.window <= 0:
                return True, _rate_headers(limit, limit, now)
            capacity = rate_limit.limit + rate_limit.burst
            if organization_id is None:
                return True, _rate_headers(limit, capacity, now + rate_limit.window)
            window = self._windows.get(organization_id)
            if window is None or now >= window.started + rate_limit.window:
                window = self._windows[organization_id] = _Window(now)
            reset_at = window.started + rate_limit.window
            if window.used >= capacity:
                headers = _rate_headers(limit, 0, reset_at)
                headers["Retry-After"] = str(max(1, math.ceil(reset_at - now)))
                return False, headers
            window.used += 1
            return True, _rate_headers(limit, capacity - window.used, reset_at)


def _rate_headers(limit: int, remaining: int, reset_at: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(math.ceil(reset_at)),
    }


class _FaultInjector:
    """Draws faults from a seeded RNG under a lock, so a sequential run is reproducible."""

    def __init__(self, faults: Faults | None) -> None:
        self._lock = threading.Lock()
        self.faults = faults or Faults()
        self._rng = random.Random(self.faults.seed)

    def draw(self) -> tuple[str | None, float, bool]:
        """(error kind or None, latency seconds, malformed body?) for one request."""
        faults = self.faults
        with self._lock:
            kind = None
            for name, probability in (
                ("drop", faults.drop_connection),
                ("500", faults.error_500),
                ("503", faults.error_503),
                ("429", faults.error_429),
            ):
                if probability > 0 and self._rng.random() < probability:
                    kind = name
                    break
            low, high = faults.latency
            delay = self._rng.uniform(low, high) if high > 0 else 0.0
            malformed = faults.malformed_json > 0 and self._rng.random() < faults.malformed_json
        return kind, delay, malformed


class _Route(NamedTuple):
    name: str  # the template, e.g. /v1/public/items/{id}
    handler: Callable[[FakeDataset, str | None, Query, bool], bytes]


class FakeApi:
    """Organizations, keys, limiter, faults and counters behind every request."""

    def __init__(
        self,
        organizations: Sequence[FakeOrganization],
        rate_limit: RateLimit | None = None,
        faults: Faults | None = None,
    ) -> None:
        self.organizations = list(organizations)
        self._keys = {organization.api_key: organization for organization in self.organizations}
        if len(self._keys) != len(self.organizations):
            raise ValueError("every organization needs its own API key (two share one)")
        self.limiter = RateLimiter(rate_limit)
        self._faults = _FaultInjector(faults)
        self._counter_lock = threading.Lock()
        self._counters: Counter[tuple[str, int]] = Counter()
        prefix = settings.API_PREFIX
        self._collections: dict[str, _Route] = {
            f"{prefix}/workspaces": _Route(f"{prefix}/workspaces", _list_workspaces),
            f"{prefix}/products": _Route(f"{prefix}/products", _list_products),
            f"{prefix}/items": _Route(f"{prefix}/items", _list_items),
            f"{prefix}/properties": _Route(f"{prefix}/properties", _list_properties),
            f"{prefix}/organization/users": _Route(f"{prefix}/organization/users", _list_users),
        }
        self._resources: dict[str, _Route] = {
            f"{prefix}/workspaces": _Route(f"{prefix}/workspaces/{{id}}", _get_workspace),
            f"{prefix}/products": _Route(f"{prefix}/products/{{id}}", _get_product),
            f"{prefix}/items": _Route(f"{prefix}/items/{{id}}", _get_item),
            f"{prefix}/properties": _Route(f"{prefix}/properties/{{id}}", _get_property),
        }

    # --- run-time configuration ---

    @property
    def faults(self) -> Faults:
        return self._faults.faults

    @faults.setter
    def faults(self, value: Faults | None) -> None:
        self._faults = _FaultInjector(value)

    def revoke_key(self, api_key: str) -> None:
        """Revocation takes effect on the next request (SPEC 1.2)."""
        self._keys.pop(api_key, None)

    def add_key(self, api_key: str, organization: FakeOrganization) -> None:
        self._keys[api_key] = organization

    # --- counters ---

    def count(self, route: str, status: int) -> None:
        with self._counter_lock:
            self._counters[(route, status)] += 1

    @property
    def counters(self) -> Counter[tuple[str, int]]:
        with self._counter_lock:
            return Counter(self._counters)

    def reset_counters(self) -> None:
        with self._counter_lock:
            self._counters.clear()

    # --- requests ---

    def _route(self, path: str) -> tuple[_Route | None, str | None]:
        route = self._collections.get(path)
        if route is not None:
            return route, None
        parent, _, resource_id = path.rpartition("/")
        route = self._resources.get(parent)
        if route is not None and resource_id:
            return route, resource_id
        return None, None

    def handle(self, method: str, target: str, authorization: str | None) -> Response:
        """Answer one request; also counts it in `counters` (a dropped connection counts as status 0)."""
        path, _, query_string = target.partition("?")
        organization = self._organization(authorization)
        admitted, headers = self.limiter.admit(organization.id if organization else None, time.time())
        route, resource_id = self._route(path)
        route_name = route.name if route else UNKNOWN_ROUTE
        delay = 0.0
        if not admitted:
            status, body = 429, _RATE_LIMITED
        elif route is None:
            status, body = 404, error_body(*_NOT_FOUND)
        elif method != "GET":
            status, body = 405, _METHOD_NOT_ALLOWED
        elif organization is None:
            status, body = 401, _UNAUTHORIZED
        else:
            fault, delay, malformed = self._faults.draw()
            if fault == "drop":
                self.count(route_name, DROPPED)
                return Response(DROPPED, b"", headers, delay, drop=True)
            if fault == "500":
                status, body = 500, _INTERNAL_ERROR
            elif fault == "503":
                status, body = 503, _UNAVAILABLE
            elif fault == "429":
                status, body = 429, _RATE_LIMITED
                headers = {
                    **headers,
                    "X-RateLimit-Remaining": "0",
                    "Retry-After": str(self.faults.retry_after),
                }
            else:
                status, body = self._endpoint(route, organization.dataset, resource_id, query_string)
                if malformed and status == 200:
                    body = body[: len(body) // 2]
        self.count(route_name, status)
        headers["X-Request-ID"] = str(uuid.uuid4())
        return Response(status, body, headers, delay)

    def protocol_error(self, status: int, message: str) -> Response:
        """An unparseable request or an endpoint bug: a JSON error with the usual headers."""
        _, headers = self.limiter.admit(None, time.time())
        headers["X-Request-ID"] = str(uuid.uuid4())
        self.count(UNKNOWN_ROUTE, status)
        return Response(
            status, error_body("internal_error" if status >= 500 else "validation_error", message), headers
        )

    def _organization(self, authorization: str | None) -> FakeOrganization | None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.startswith(settings.API_KEY_PREFIX):
            return None
        return self._keys.get(token.strip())

    def _endpoint(
        self, route: _Route, dataset: FakeDataset, resource_id: str | None, query_string: str
    ) -> tuple[int, bytes]:
        query = dict(parse_qsl(query_string, keep_blank_values=True))
        try:
            return 200, route.handler(dataset, resource_id, query, self.faults.ignore_offset)
        except ApiError as error:
            return error.status, error_body(error.code, error.message, error.details)


# --- parameters ---


def _invalid(field_name: str, reason: str) -> ApiError:
    return ApiError(
        422, "validation_error", "Invalid request parameters", {"field": field_name, "reason": reason}
    )


def _integer(query: Query, name: str, default: int, low: int, high: int | None) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _invalid(name, f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f">= {low}"
        raise _invalid(name, f"{name} must be {bounds}")
    return value


def _boolean(query: Query, name: str) -> bool:
    raw = query.get(name, "false").lower()
    if raw in _TRUE_VALUES:
        return True
    if raw in _FALSE_VALUES:
        return False
    raise _invalid(name, f"{name} must be a boolean")


def _required(query: Query, name: str) -> str:
    value = query.get(name)
    if not value:
        raise _invalid(name, "field required")
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
        raise _invalid("version", "version must be an integer or 'baseline'") from None


def _property_type(query: Query) -> str | None:
    raw = query.get("type")
    if not raw:
        return None
    if raw.lower() not in settings.PROPERTY_TYPES:
        raise _invalid("type", f"type must be one of {', '.join(settings.PROPERTY_TYPES)}")
    return raw.lower()


def _not_found() -> ApiError:
    return ApiError(404, *_NOT_FOUND)


def _page(records: Sequence[StoredRecord], query: Query, ignore_offset: bool) -> bytes:
    """The list envelope `{"items": [...], "count": n}` for one page, joined from encoded records."""
    limit = _integer(query, "limit", settings.DEFAULT_API_PAGE_SIZE, 1, settings.MAX_PAGE_SIZE)
    offset = _integer(query, "offset", 0, 0, None)
    search = query.get("q", "").lower()
    if search:
        records = [record for record in records if _matches(record, search)]
    page = records[0 if ignore_offset else offset :][:limit]
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


# --- endpoints (each returns the 200 body or raises ApiError) ---


def _list_workspaces(dataset: FakeDataset, _: str | None, query: Query, ignore_offset: bool) -> bytes:
    return _page(dataset.workspace_store.children(None).all, query, ignore_offset)


def _get_workspace(dataset: FakeDataset, workspace_id: str | None, _: Query, __: bool) -> bytes:
    return _body_of(dataset.workspace_store.get(workspace_id or ""))


def _list_products(dataset: FakeDataset, _: str | None, query: Query, ignore_offset: bool) -> bytes:
    workspace_id = _required(query, "workspace_id")
    if workspace_id not in dataset.workspace_store:
        raise _not_found()
    return _page(dataset.product_store.children(workspace_id).all, query, ignore_offset)


def _get_product(dataset: FakeDataset, product_id: str | None, _: Query, __: bool) -> bytes:
    return _body_of(dataset.product_store.get(product_id or ""))


def _list_items(dataset: FakeDataset, _: str | None, query: Query, ignore_offset: bool) -> bytes:
    product_id = _required(query, "product_id")
    include_deleted = _boolean(query, "include_deleted")
    requested = _version(query)
    if product_id not in dataset.product_store:
        raise _not_found()
    dataset.materialise(product_id)
    store = (
        dataset.item_store if requested is None else _version_of(dataset, product_id, requested).item_store
    )
    return _page(_children(store.children(product_id), include_deleted), query, ignore_offset)


def _get_item(dataset: FakeDataset, item_id: str | None, query: Query, _: bool) -> bytes:
    requested = _version(query)
    item_id = item_id or ""
    dataset.materialise_on_miss(dataset.item_store, item_id)
    if requested is None:
        return _body_of(dataset.item_store.get(item_id))
    product_id = dataset.product_of_item(item_id)
    if product_id is None:
        raise _not_found()
    return _body_of(_version_of(dataset, product_id, requested).find_item(item_id))


def _list_properties(dataset: FakeDataset, _: str | None, query: Query, ignore_offset: bool) -> bytes:
    item_id = _required(query, "item_id")
    include_deleted = _boolean(query, "include_deleted")
    requested = _version(query)
    property_type = _property_type(query)
    product_id = dataset.product_of_item(item_id)
    if product_id is None:
        raise _not_found()
    if requested is None:
        if item_id not in dataset.item_store:
            raise _not_found()
        children = dataset.property_store.children(item_id)
    else:
        version = _version_of(dataset, product_id, requested)
        draft_item_id = version.draft_item_id(item_id)
        if draft_item_id is None:
            raise _not_found()
        children = version.property_store.children(draft_item_id)
    records = _children(children, include_deleted)
    if property_type is not None:
        records = [record for record in records if record.type == property_type]
    return _page(records, query, ignore_offset)


def _get_property(dataset: FakeDataset, property_id: str | None, query: Query, _: bool) -> bytes:
    requested = _version(query)
    property_type = _property_type(query)
    property_id = property_id or ""
    if requested is None:
        dataset.materialise_on_miss(dataset.property_store, property_id)
        stored = dataset.property_store.get(property_id)
    else:
        product_id = dataset.product_of_property(property_id)
        if product_id is None:
            raise _not_found()
        stored = _version_of(dataset, product_id, requested).find_property(property_id)
    if stored is not None and property_type is not None and stored.type != property_type:
        stored = None
    return _body_of(stored)


def _list_users(dataset: FakeDataset, _: str | None, query: Query, ignore_offset: bool) -> bytes:
    return _page(dataset.user_store.children(None).all, query, ignore_offset)


def _body_of(stored: StoredRecord | None) -> bytes:
    if stored is None:
        raise _not_found()
    return stored.body
