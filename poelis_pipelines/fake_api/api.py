"""The fake API's request handling, independent of the HTTP transport (SPEC sections 1, 4-9).

`FakeApi.handle(method, target, authorization, body)` turns one request into a `Response`. Order of checks,
as a gateway in front of the real service would do them:

1. the key is resolved to an organization (a missing, unknown or revoked key resolves to none);
2. requests with a valid key count against their organization's fixed window; over it -> 429;
   requests without a valid key are not counted (they cannot be attributed to an organization);
3. unknown path -> 404, known path with another method -> 405 (no key needed for either);
4. no valid key -> 401;
5. configured faults (drop, 500, 503, 429, latency, malformed JSON);
6. the endpoint (`endpoints` for reads, `writes` for the documented writes): 422 for bad parameters,
   404 for ids the organization cannot see, else 200 (201 for creates).
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import parse_qsl

from poelis_pipelines import settings
from poelis_pipelines.fake_api import endpoints, writes
from poelis_pipelines.fake_api.dataset import FakeDataset, api_key_for
from poelis_pipelines.fake_api.endpoints import ApiError, Call, error_body

UNKNOWN_ROUTE = "(unknown)"
DROPPED = 0  # the "status" counted for a connection closed without a response


@dataclass(frozen=True)
class RateLimit:
    """Per-organization fixed window admitting `limit + burst` requests (SPEC section 8).

    `X-RateLimit-Limit` reports `limit`; `X-RateLimit-Remaining` counts down from `limit + burst`;
    `X-RateLimit-Reset` is the window's end (Unix seconds, rounded up); `Retry-After` is the whole seconds
    until then (at least 1). A window opens with the first request after the previous one ended.
    `window == 0` switches limiting off (the headers are still sent, Remaining = Limit).
    """

    limit: int = settings.DEFAULT_RATE_LIMIT_PER_MINUTE
    burst: int = settings.DEFAULT_RATE_LIMIT_BURST
    window: float = settings.RATE_LIMIT_WINDOW_SECONDS

    def __post_init__(self) -> None:
        if self.limit < 1 or self.burst < 0 or self.window < 0:
            raise ValueError(f"RateLimit needs limit >= 1, burst >= 0 and window >= 0, got {self}")


CORRUPTIONS = ("not_json", "not_object", "missing_id")


@dataclass(frozen=True)
class Faults:
    """Misbehaviour to inject into authenticated, routed requests; probabilities are per request.

    Drawn in this order from one RNG seeded by `seed`: `drop_connection` (close the socket without a
    response), `error_500`, `error_503`, `error_429` (with `Retry-After: retry_after` and
    `X-RateLimit-Remaining: 0`), `error_429_overloaded` (an overloaded host in front of the API: a 429 with
    `Retry-After: retry_after` while the rate headers still tell what the window has left), then `latency`
    (uniform seconds added) and `malformed_json` (a 200 whose body is cut in half). `ignore_offset`
    serves the first page whatever the offset, to exercise client loop guards. `corrupt_route` (a route
    template such as `/v1/public/items`) breaks EVERY successful answer of that route the same way,
    `corruption`: `not_json` (an HTML error page), `not_object` (the page's records as a bare JSON array) or
    `missing_id` (the first record without its `id`), to exercise contract errors no retry can fix.
    """

    error_500: float = 0.0
    error_503: float = 0.0
    error_429: float = 0.0
    error_429_overloaded: float = 0.0
    retry_after: int = 1
    drop_connection: float = 0.0
    latency: tuple[float, float] = (0.0, 0.0)
    malformed_json: float = 0.0
    ignore_offset: bool = False
    corrupt_route: str | None = None
    corruption: str = "not_json"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in (
            "error_500",
            "error_503",
            "error_429",
            "error_429_overloaded",
            "drop_connection",
            "malformed_json",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"Faults.{name} is a probability between 0 and 1, got {getattr(self, name)}")
        low, high = self.latency
        if not 0.0 <= low <= high:
            raise ValueError(
                f"Faults.latency must be (low, high) seconds with 0 <= low <= high, got {self.latency}"
            )
        if self.retry_after < 0:
            raise ValueError(f"Faults.retry_after must be >= 0 seconds, got {self.retry_after}")
        if self.corruption not in CORRUPTIONS:
            raise ValueError(f"Faults.corruption must be one of {CORRUPTIONS}, got {self.corruption!r}")


def corrupt(body: bytes, corruption: str) -> bytes:
    """A 2xx body broken as `Faults.corruption` says (see `Faults`)."""
    if corruption == "not_json":
        return b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    decoded = json.loads(body)
    records = decoded.get("items", [decoded]) if isinstance(decoded, dict) else decoded
    if corruption == "not_object":
        return json.dumps(records).encode()
    if records:
        records[0].pop("id", None)
    return json.dumps(decoded).encode()


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


_UNAUTHORIZED = error_body("unauthorized", "Invalid or missing API key")
_METHOD_NOT_ALLOWED = error_body("method_not_allowed", "Method Not Allowed")
_RATE_LIMITED = error_body("rate_limit_exceeded", "Too many requests")
_INTERNAL_ERROR = error_body("internal_error", "An internal error occurred")
_UNAVAILABLE = error_body("service_unavailable", "Service temporarily unavailable")


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
                ("429_overloaded", faults.error_429_overloaded),
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
    endpoint: Callable[[Call], bytes]
    status: int = 200


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
        self._window_counters: Counter[tuple[str, str, int]] = Counter()
        prefix = settings.API_PREFIX
        workspaces, products = f"{prefix}/workspaces", f"{prefix}/products"
        items, properties = f"{prefix}/items", f"{prefix}/properties"
        users = f"{prefix}/organization/users"
        self._collections: dict[str, dict[str, _Route]] = {
            workspaces: {"GET": _Route(workspaces, endpoints.list_workspaces)},
            products: {
                "GET": _Route(products, endpoints.list_products),
                "POST": _Route(products, writes.create_product, 201),
            },
            items: {"GET": _Route(items, endpoints.list_items)},
            properties: {
                "GET": _Route(properties, endpoints.list_properties),
                "POST": _Route(properties, writes.create_property, 201),
            },
            users: {"GET": _Route(users, endpoints.list_users)},
        }
        self._resources: dict[str, dict[str, _Route]] = {
            workspaces: {"GET": _Route(f"{workspaces}/{{id}}", endpoints.get_workspace)},
            products: {
                "GET": _Route(f"{products}/{{id}}", endpoints.get_product),
                "PATCH": _Route(f"{products}/{{id}}", writes.update_product),
            },
            items: {
                "GET": _Route(f"{items}/{{id}}", endpoints.get_item),
                "PATCH": _Route(f"{items}/{{id}}", writes.update_item),
            },
            properties: {
                "GET": _Route(f"{properties}/{{id}}", endpoints.get_property),
                "PATCH": _Route(f"{properties}/{{id}}", writes.update_property),
            },
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

    def _count_in_window(self, headers: dict[str, str], route: str, status: int) -> None:
        """One answer to an organization, in the rate-limit window its `X-RateLimit-Reset` names."""
        with self._counter_lock:
            self._window_counters[(headers["X-RateLimit-Reset"], route, status)] += 1

    @property
    def counters(self) -> Counter[tuple[str, int]]:
        with self._counter_lock:
            return Counter(self._counters)

    @property
    def window_counters(self) -> Counter[tuple[str, str, int]]:
        """Authenticated requests by (rate-limit window, as its `X-RateLimit-Reset`; route; status)."""
        with self._counter_lock:
            return Counter(self._window_counters)

    def reset_counters(self) -> None:
        with self._counter_lock:
            self._counters.clear()
            self._window_counters.clear()

    # --- requests ---

    def _route(self, path: str) -> tuple[dict[str, _Route] | None, str]:
        """The routes of a path by method, and the `{id}` segment ("" for collections)."""
        methods = self._collections.get(path)
        if methods is not None:
            return methods, ""
        parent, _, resource_id = path.rpartition("/")
        methods = self._resources.get(parent)
        if methods is not None and resource_id:
            return methods, resource_id
        return None, ""

    def handle(self, method: str, target: str, authorization: str | None, body: bytes = b"") -> Response:
        """Answer one request; also counts it in `counters` (a dropped connection counts as status 0)."""
        path, _, query_string = target.partition("?")
        organization = self._organization(authorization)
        admitted, headers = self.limiter.admit(organization.id if organization else None, time.time())
        methods, resource_id = self._route(path)
        route = methods.get(method) if methods else None
        route_name = next(iter(methods.values())).name if methods else UNKNOWN_ROUTE
        delay = 0.0
        if not admitted:
            status, content = 429, _RATE_LIMITED
        elif methods is None:
            status, content = 404, error_body("not_found", "Resource not found")
        elif route is None:
            status, content = 405, _METHOD_NOT_ALLOWED
        elif organization is None:
            status, content = 401, _UNAUTHORIZED
        else:
            fault, delay, malformed = self._faults.draw()
            if fault == "drop":
                self.count(route_name, DROPPED)
                self._count_in_window(headers, route_name, DROPPED)
                return Response(DROPPED, b"", headers, delay, drop=True)
            if fault == "500":
                status, content = 500, _INTERNAL_ERROR
            elif fault == "503":
                status, content = 503, _UNAVAILABLE
            elif fault == "429":
                status, content = 429, _RATE_LIMITED
                headers = {
                    **headers,
                    "X-RateLimit-Remaining": "0",
                    "Retry-After": str(self.faults.retry_after),
                }
            elif fault == "429_overloaded":
                status, content = 429, _RATE_LIMITED
                headers = {**headers, "Retry-After": str(self.faults.retry_after)}
            else:
                call = Call(
                    organization.dataset,
                    resource_id,
                    dict(parse_qsl(query_string, keep_blank_values=True)),
                    body,
                    self.faults.ignore_offset,
                )
                status, content = self._endpoint(route, call)
                if status < 300 and route_name == self.faults.corrupt_route:
                    content = corrupt(content, self.faults.corruption)
                elif malformed and status < 300:
                    content = content[: len(content) // 2]
        self.count(route_name, status)
        if organization is not None:
            self._count_in_window(headers, route_name, status)
        headers["X-Request-ID"] = str(uuid.uuid4())
        return Response(status, content, headers, delay)

    @staticmethod
    def _endpoint(route: _Route, call: Call) -> tuple[int, bytes]:
        try:
            return route.status, route.endpoint(call)
        except ApiError as error:
            return error.status, error_body(error.code, error.message, error.details)

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
