"""`PoelisClient`: the one place that talks HTTP to the Poelis Public API.

It hides paging, retries transient failures with tenacity, paces itself from the rate-limit headers so a
sync spends its share of the organization's budget without a 429 (and a run no more requests than its
budget), fans property listings out over a bounded thread pool, and keeps the API key out of every message
it can produce.
"""

from __future__ import annotations

import email.utils
import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urljoin, urlsplit

import urllib3
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from urllib3.exceptions import NewConnectionError

from poelis_pipelines import __version__, settings

from .config import (
    resolve_api_key,
    resolve_backoff_seconds,
    resolve_base_url,
    resolve_max_attempts,
    resolve_max_requests,
    resolve_quota_share,
)
from .errors import (
    AuthenticationError,
    NoAPIAtBaseURLError,
    NotFoundError,
    PermissionDeniedError,
    PoelisAPIError,
    ProtocolError,
    RateLimitedError,
    RequestBudgetExhausted,
    ServerError,
    TransportError,
    ValidationError,
)
from .fanout import ordered_fan_out
from .ratelimit import limiter_for
from .secrets import fingerprint, get_logger, register_secret, scrub
from .stats import ClientStats
from .transport import Transport

logger = get_logger(__name__)

Record = dict[str, Any]
Key = TypeVar("Key")
Result = TypeVar("Result")
Version = int | str | None

_TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
_RETRY_AFTER_JITTER_SECONDS = 0.2
_ERROR_CLASSES: dict[int, type[PoelisAPIError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: ValidationError,
    429: RateLimitedError,
}


class PoelisClient:
    """A client for one organization's Poelis Public API key; use it as a context manager.

    The key comes from `api_key`, else `POELIS_API_KEY`, else the file named by `POELIS_API_KEY_FILE`;
    the base URL from `base_url`, else `POELIS_BASE_URL`, else production. Both are checked before any
    request. `max_attempts` (else `POELIS_MAX_ATTEMPTS`, else 6) and `backoff_seconds` (else
    `POELIS_BACKOFF_SECONDS`, else 0.5), with `max_backoff_seconds`, shape the retries (tests shrink them).

    `quota_share` (else `POELIS_QUOTA_SHARE`, else 0.8) is the part of each rate-limit window the client may
    spend (see `ratelimit.RateLimiter`); `max_requests` (else `POELIS_MAX_REQUESTS`, else no limit) caps the
    requests of this client, retries included: past it, a request raises `RequestBudgetExhausted` unsent.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = settings.DEFAULT_TIMEOUT_SECONDS,
        max_attempts: int | None = None,
        page_size: int = settings.MAX_PAGE_SIZE,
        max_concurrency: int = settings.DEFAULT_MAX_CONCURRENCY,
        requests_per_minute: int | None = None,
        quota_share: float | None = None,
        max_requests: int | None = None,
        allow_insecure_http: bool = False,
        backoff_seconds: float | None = None,
        max_backoff_seconds: float = settings.DEFAULT_MAX_BACKOFF_SECONDS,
    ) -> None:
        if not 1 <= page_size <= settings.MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {settings.MAX_PAGE_SIZE}, not {page_size}")
        max_attempts = resolve_max_attempts(max_attempts)
        if max_attempts < 1 or max_concurrency < 1:
            raise ValueError("max_attempts and max_concurrency must be at least 1")
        self._api_key = resolve_api_key(api_key)
        register_secret(self._api_key)
        self.base_url = resolve_base_url(base_url, allow_insecure_http=allow_insecure_http)
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.page_size = page_size
        self.max_concurrency = max_concurrency
        self._backoff_seconds = resolve_backoff_seconds(backoff_seconds)
        self._max_backoff_seconds = max_backoff_seconds
        self.stats = ClientStats()
        self.quota_share = resolve_quota_share(quota_share)
        self.max_requests = resolve_max_requests(max_requests)
        self._requests_reserved = 0
        self._budget_lock = threading.Lock()
        self._limiter = limiter_for(self.base_url, self._api_key, requests_per_minute, self.quota_share)
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/json",
            "User-Agent": f"poelis-pipelines/{__version__}",
            **urllib3.make_headers(accept_encoding=True),
        }
        # One connection more than the fan-out threads: a listing may page on the caller's thread meanwhile.
        self._transport = Transport(self.base_url, size=max_concurrency + 1, headers=headers, timeout=timeout)

    def __repr__(self) -> str:
        return f"PoelisClient(base_url={self.base_url!r}, api_key={self.key_fingerprint!r})"

    @property
    def key_fingerprint(self) -> str:
        """The key as people may see it: its prefix and last characters, never the whole."""
        return fingerprint(self._api_key)

    @property
    def advertised_rate_limit(self) -> int | None:
        """`X-RateLimit-Limit` as the server last sent it to a client of this key; None until one did."""
        return self._limiter.advertised_limit

    @property
    def requests_remaining(self) -> int | None:
        """Requests this client may still send under `max_requests`; None when unlimited."""
        if self.max_requests is None:
            return None
        with self._budget_lock:
            return self.max_requests - self._requests_reserved

    def __enter__(self) -> PoelisClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    # --- listings (paging hidden) -------------------------------------------------------------------------

    def iter_workspaces(self) -> Iterator[Record]:
        return self._iter_list("/workspaces", {})

    def iter_products(self, workspace_id: str) -> Iterator[Record]:
        return self._iter_list("/products", {"workspace_id": workspace_id})

    def iter_items(
        self, product_id: str, include_deleted: bool = True, version: Version = None
    ) -> Iterator[Record]:
        return self._iter_list(
            "/items", _query(product_id=product_id, include_deleted=include_deleted, version=version)
        )

    def iter_properties(
        self, item_id: str, include_deleted: bool = True, version: Version = None, type: str | None = None
    ) -> Iterator[Record]:
        query = _query(item_id=item_id, include_deleted=include_deleted, version=version, type=type)
        return self._iter_list("/properties", query)

    def iter_organization_users(self) -> Iterator[Record]:
        return self._iter_list("/organization/users", {})

    def probe_version(self, product_id: str, version: int | str) -> bool:
        """Whether a published version of a product exists, for one request: no endpoint lists versions, so
        the cheapest listing of it (one item) is asked, and a 404 means no such version."""
        query = _query(product_id=product_id, version=version, include_deleted=True, limit=1)
        try:
            _page_records(
                self._get_json("/items", query), f"GET {settings.API_PREFIX}/items?version={version}"
            )
        except NotFoundError:
            return False
        return True

    # --- single resources ---------------------------------------------------------------------------------

    def get_workspace(self, workspace_id: str) -> Record:
        return self._get_resource("/workspaces", workspace_id, {})

    def get_product(self, product_id: str) -> Record:
        return self._get_resource("/products", product_id, {})

    def get_item(self, item_id: str, version: Version = None) -> Record:
        return self._get_resource("/items", item_id, _query(version=version))

    def get_property(self, property_id: str, version: Version = None, type: str | None = None) -> Record:
        return self._get_resource("/properties", property_id, _query(version=version, type=type))

    # --- fan-out ------------------------------------------------------------------------------------------

    def fetch_properties_for_items(
        self, item_ids: Iterable[str], *, include_deleted: bool = True, version: Version = None
    ) -> Iterator[tuple[str, list[Record]]]:
        """`(item_id, properties)` for each item, in input order, fetched `max_concurrency` at a time."""

        def properties_of(item_id: str) -> list[Record]:
            return list(self.iter_properties(item_id, include_deleted=include_deleted, version=version))

        return self.fan_out(properties_of, item_ids)

    def fan_out(self, function: Callable[[Key], Result], keys: Iterable[Key]) -> Iterator[tuple[Key, Result]]:
        """`(key, function(key))` in input order, `max_concurrency` at a time, sharing the pacing."""
        return ordered_fan_out(function, keys, workers=self.max_concurrency)

    # --- internals ----------------------------------------------------------------------------------------

    def _iter_list(self, path: str, query: Mapping[str, str]) -> Iterator[Record]:
        """Every record of a listing, page by page, stopping on a short page and refusing to loop."""
        seen: set[str] = set()
        offset = 0
        while True:
            where = f"GET {settings.API_PREFIX}{path} at offset {offset}"
            records = _page_records(
                self._get_json(path, {**query, "limit": str(self.page_size), "offset": str(offset)}), where
            )
            fresh = 0
            for record in records:
                if record["id"] not in seen:  # a record shifted across pages by a concurrent insert
                    seen.add(record["id"])
                    fresh += 1
                    yield record
            if records and not fresh:
                raise ProtocolError(
                    f"{where} returned only records already received, so the server ignores paging; "
                    "stopped instead of looping."
                )
            if len(records) < self.page_size:
                return
            offset += len(records)

    def _get_resource(self, collection: str, resource_id: str, query: Mapping[str, str]) -> Record:
        path = f"{collection}/{quote(resource_id, safe='')}"
        body = self._get_json(path, query)
        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
            raise ProtocolError(
                f"GET {settings.API_PREFIX}{path} returned a body that is not a resource with an id."
            )
        return body

    def _get_json(self, path: str, query: Mapping[str, str]) -> Any:
        """The decoded JSON body of `GET path`, after the retries the failure allows."""
        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait_before_retry,
            retry=retry_if_exception(lambda error: _retry_cause(error) is not None),
            before_sleep=self._note_retry,
            sleep=self._sleep,
            reraise=True,
        )
        return retrying(self._attempt, path, query)

    def _attempt(self, path: str, query: Mapping[str, str]) -> Any:
        target = f"{settings.API_PREFIX}{path}"
        endpoint = f"GET {target}"
        self._reserve_request(endpoint)
        reservation = self._limiter.acquire()
        if reservation.waited:
            self.stats.record_wait(reservation.waited)
        try:
            response = self._transport.get(f"{target}?{urlencode(query)}" if query else target)
        except urllib3.exceptions.HTTPError as error:
            self._limiter.cancel(reservation)
            self.stats.record_failed_request()
            raise self._transport_error(endpoint, error) from error
        except BaseException:  # anything else is a bug or an interrupt: free the reservation, then raise
            self._limiter.cancel(reservation)
            raise
        body = response.data
        self.stats.record_response(len(body))
        logger.debug("%s -> %s (%d bytes)", endpoint, response.status, len(body))
        if response.status == 429:
            retry_after = _retry_after_seconds(response.headers)
            self.stats.record_rate_limited()
            self._limiter.throttled(reservation, response.headers, retry_after)
            raise self._api_error(response, endpoint, retry_after)
        self._limiter.record(reservation, response.headers)
        if response.status >= 300:
            raise self._api_error(response, endpoint, None)
        try:
            return json.loads(body)
        except ValueError:
            raise ProtocolError(
                f"{endpoint} answered {response.status} with a body that is not valid JSON "
                f"(X-Request-ID {response.headers.get('X-Request-ID', 'absent')}).",
                retryable=True,
            ) from None

    def _reserve_request(self, endpoint: str) -> None:
        """Take one request of the run's budget before anything is sent (atomic, for the fan-out threads)."""
        if self.max_requests is None:
            return
        with self._budget_lock:
            if self._requests_reserved >= self.max_requests:
                raise RequestBudgetExhausted(
                    f"The budget of {self.max_requests} requests for this run "
                    f"({settings.ENV_MAX_REQUESTS} or max_requests) is spent, so {endpoint} was not sent.",
                    max_requests=self.max_requests,
                )
            self._requests_reserved += 1

    def _transport_error(self, endpoint: str, error: urllib3.exceptions.HTTPError) -> TransportError:
        """A timeout (connecting or reading), or a broken connection: refused, reset, TLS, proxy, bad body."""
        # urllib3 derives NewConnectionError (refused, unresolvable) from ConnectTimeoutError, for history.
        if isinstance(error, urllib3.exceptions.TimeoutError) and not isinstance(error, NewConnectionError):
            return TransportError(f"{endpoint} got no answer within {self.timeout:g} s.", kind="timeout")
        return TransportError(
            f"{endpoint} failed: the connection to {self.base_url} broke ({scrub(_first_line(error))}).",
            kind="connection",
        )

    def _api_error(
        self, response: urllib3.BaseHTTPResponse, endpoint: str, retry_after: float | None
    ) -> PoelisAPIError:
        status = response.status
        code, message = _error_fields(response)
        request_id = response.headers.get("X-Request-ID")
        trace = f"X-Request-ID {request_id or 'absent'}"
        no_api_here = status == 404 and endpoint.endswith("/workspaces")  # the one route every key can list
        if status == 401:
            summary = (
                f"The Poelis API refused the key {fingerprint(self._api_key)} as invalid or revoked "
                f"({endpoint} -> 401 {code or 'unauthorized'}); {settings.KEY_MANAGEMENT_HINT} and set "
                f"{settings.ENV_API_KEY} or {settings.ENV_API_KEY_FILE} ({trace})."
            )
        elif status == 429:
            advice = f"; retry after {retry_after:g} s" if retry_after is not None else ""
            summary = f"{endpoint} was rate limited (429 {code or ''}: {message}){advice} ({trace})."
        elif status < 400:  # a redirect is never followed: the key must go to the configured host only
            summary = (
                f"{endpoint} was redirected ({status}) to {_redirect_target(self.base_url, response)}; the "
                f"client follows no redirect, so the key goes to {self.base_url} only: if the API moved, set "
                f"{settings.ENV_BASE_URL} to its new address ({trace})."
            )
        elif no_api_here:
            summary = (
                f"{endpoint} failed with 404 at {self.base_url}: no Poelis API answers there; check "
                f"{settings.ENV_BASE_URL} (e.g. {settings.DEFAULT_BASE_URL}) ({trace})."
            )
        else:
            summary = f"{endpoint} failed with {status} {code or ''}: {message} ({trace})."
        error_class = _ERROR_CLASSES.get(status, ServerError if status >= 500 else PoelisAPIError)
        if no_api_here:
            error_class = NoAPIAtBaseURLError
        fields: dict[str, Any] = {
            "status": status,
            "code": code,
            "message": message,
            "request_id": request_id,
        }
        if error_class is RateLimitedError:
            return RateLimitedError(scrub(summary), retry_after=retry_after, **fields)
        return error_class(scrub(summary), **fields)

    def _wait_before_retry(self, state: RetryCallState) -> float:
        """Retry-After plus a little jitter for a 429 that gave one, else jittered exponential backoff."""
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            return float(error.retry_after) + random.uniform(0, _RETRY_AFTER_JITTER_SECONDS)
        exponential = self._backoff_seconds * 2.0 ** (state.attempt_number - 1)
        return min(self._max_backoff_seconds, exponential + random.uniform(0, self._backoff_seconds))

    def _note_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        cause = _retry_cause(error) if error else None
        if cause is None:
            return
        self.stats.record_retry(cause)
        delay = state.next_action.sleep if state.next_action else 0.0
        logger.info(
            "Retrying after %s (attempt %d of %d) in %.2f s: %s",
            cause,
            state.attempt_number,
            self.max_attempts,
            delay,
            error,
        )

    def _sleep(self, seconds: float) -> None:
        self.stats.record_wait(seconds)
        time.sleep(seconds)


def _query(**values: str | int | bool | None) -> dict[str, str]:
    """Query parameters as the API spells them: booleans lower-case, `None` left out."""
    return {
        name: ("true" if value else "false") if isinstance(value, bool) else str(value)
        for name, value in values.items()
        if value is not None
    }


def _page_records(page: Any, where: str) -> list[Record]:
    """The records of a list envelope, refusing any shape the API contract excludes."""
    if not isinstance(page, dict) or not isinstance(page.get("items"), list):
        raise ProtocolError(f"{where} returned a page that is not an object with an `items` list.")
    records: list[Record] = page["items"]
    for position, record in enumerate(records):
        if not isinstance(record, dict) or not isinstance(record.get("id"), str) or not record["id"]:
            raise ProtocolError(f"{where} returned record {position} of the page without a string `id`.")
    return records


def _retry_cause(error: BaseException) -> str | None:
    """The statistics name of a transient failure, or None for one that retrying cannot fix."""
    if isinstance(error, RateLimitedError):
        return "429"
    if isinstance(error, ServerError) and error.status in _TRANSIENT_STATUSES:
        return "5xx"
    if isinstance(error, TransportError):
        return error.kind
    if isinstance(error, ProtocolError) and error.retryable:
        return "invalid_json"
    return None


def _error_fields(response: urllib3.BaseHTTPResponse) -> tuple[str | None, str]:
    """`(code, message)` from a `{error, message, details}` body or FastAPI's `{"detail": ...}`."""
    try:
        body = json.loads(response.data)
    except ValueError:
        body = None
    code: str | None = None
    message = ""
    if isinstance(body, dict):
        code = str(body["error"]) if body.get("error") else None
        if body.get("message"):
            message = str(body["message"])
        elif "detail" in body:
            message = _detail_text(body["detail"])
        details = body.get("details")
        if isinstance(details, dict) and details:
            message += " (" + ", ".join(f"{name}: {value}" for name, value in details.items()) + ")"
    return code, message or response.reason or "no message"


def _redirect_target(base_url: str, response: urllib3.BaseHTTPResponse) -> str:
    """The origin a redirect points at (`scheme://host[:port]`), a relative location resolved."""
    location = response.headers.get("Location")
    if not location:
        return "nowhere (no Location header)"
    try:
        parts = urlsplit(urljoin(base_url + "/", location))
    except ValueError:
        return "a malformed Location"
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"  # without any credentials in it


def _detail_text(detail: Any) -> str:
    """FastAPI's `detail`: a string, or a list of `{loc, msg}` validation entries."""
    if isinstance(detail, list):
        parts = []
        for entry in detail:
            if isinstance(entry, dict):
                location = ".".join(str(part) for part in entry.get("loc", []))
                parts.append(f"{location}: {entry.get('msg', '')}" if location else str(entry.get("msg", "")))
            else:
                parts.append(str(entry))
        return "; ".join(parts)
    return str(detail)


def _retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """`Retry-After` as seconds (it may be a number or an HTTP date), capped, or None when absent."""
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            retry_at = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return None
        server_date = headers.get("Date")  # measure against the server's clock, not ours
        try:
            now = email.utils.parsedate_to_datetime(server_date).timestamp() if server_date else time.time()
        except (TypeError, ValueError):
            now = time.time()
        seconds = retry_at - now
    return min(max(seconds, 0.0), settings.MAX_RETRY_AFTER_SECONDS)


def _first_line(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:300]
