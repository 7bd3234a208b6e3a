"""HTTP client of the Poelis Public API: auth, paging, retries, pacing, fan-out, stats, secret scrubbing.

No Dagster and no pandas here: this layer only imports `poelis_pipelines.settings`.
"""

from .client import PoelisClient
from .errors import (
    AuthenticationError,
    ConfigurationError,
    NoAPIAtBaseURLError,
    NotFoundError,
    PermissionDeniedError,
    PoelisAPIError,
    PoelisError,
    ProtocolError,
    RateLimitedError,
    RequestBudgetExhausted,
    ServerError,
    TransportError,
    ValidationError,
)
from .fanout import ordered_fan_out
from .ratelimit import RateLimiter
from .secrets import (
    ScrubbedError,
    fingerprint,
    get_logger,
    register_secret,
    scrub,
    scrub_whole_process,
    without_secrets,
)
from .stats import ClientStats, StatsSnapshot

__all__ = [
    "AuthenticationError",
    "ClientStats",
    "ConfigurationError",
    "NoAPIAtBaseURLError",
    "NotFoundError",
    "PermissionDeniedError",
    "PoelisAPIError",
    "PoelisClient",
    "PoelisError",
    "ProtocolError",
    "RateLimitedError",
    "RateLimiter",
    "RequestBudgetExhausted",
    "ScrubbedError",
    "ServerError",
    "StatsSnapshot",
    "TransportError",
    "ValidationError",
    "fingerprint",
    "get_logger",
    "ordered_fan_out",
    "register_secret",
    "scrub",
    "scrub_whole_process",
    "without_secrets",
]
