"""Typed exceptions: callers decide on the class, people read one clear sentence that never holds a key."""

from __future__ import annotations


class PoelisError(Exception):
    """Base class of everything the client raises on purpose."""


class ConfigurationError(PoelisError):
    """The client cannot be built as configured (missing or malformed key, bad URL, insecure transport)."""


class RequestBudgetExhausted(PoelisError):
    """The run's request budget (`max_requests`) is spent; raised before sending, so nothing went out."""

    def __init__(self, message: str, *, max_requests: int) -> None:
        super().__init__(message)
        self.max_requests = max_requests


class PoelisAPIError(PoelisError):
    """The API answered with an error status; `status`, `code`, `message` and `request_id` say which."""

    def __init__(
        self,
        summary: str,
        *,
        status: int,
        code: str | None = None,
        message: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(summary)
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status}, code={self.code!r}, request_id={self.request_id!r})"
        )


class AuthenticationError(PoelisAPIError):
    """401: the key is missing, unknown or revoked."""


class PermissionDeniedError(PoelisAPIError):
    """403: the key is valid but may not reach this resource."""


class NotFoundError(PoelisAPIError):
    """404: the resource does not exist or is not visible to the key's organization."""


class NoAPIAtBaseURLError(NotFoundError, ConfigurationError):
    """404 on the workspace listing, the one route every key can read: the base URL is not a Poelis API."""


class ValidationError(PoelisAPIError):
    """400 or 422: the request was well formed but its parameters were refused."""


class RateLimitedError(PoelisAPIError):
    """429 on the last attempt; `retry_after` is the server's advice in seconds, when it gave one."""

    def __init__(
        self,
        summary: str,
        *,
        status: int = 429,
        code: str | None = None,
        message: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(summary, status=status, code=code, message=message, request_id=request_id)
        self.retry_after = retry_after


class ServerError(PoelisAPIError):
    """5xx: the server failed (after the retries, for the transient ones)."""


class ProtocolError(PoelisError):
    """The server answered 2xx with something the API contract excludes: bad JSON, a bad shape, a paging loop.

    `retryable` marks the transient kind (a body that is not valid JSON, e.g. cut short by a proxy).
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class TransportError(PoelisError):
    """No usable HTTP answer (connection refused or dropped, timeout) after every attempt.

    `kind` is "connection" or "timeout", the same names the retry statistics use.
    """

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind
