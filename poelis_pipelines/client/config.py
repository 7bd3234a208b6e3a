"""Where the key, the base URL, the quota and the retry knobs come from, and the checks that refuse a bad one
before any request. Every caller (the Dagster resource, the CLI, the Airflow hook) builds its client with
these defaults, so one environment configures them all."""

from __future__ import annotations

import ipaddress
import math
import os
from pathlib import Path
from urllib.parse import urlsplit

from poelis_pipelines import settings

from .errors import ConfigurationError
from .secrets import scrub

_KEY_ALPHABET = frozenset(settings.API_KEY_ALPHABET)
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def resolve_api_key(api_key: str | None = None) -> str:
    """The key from the argument, else `POELIS_API_KEY`, else the file named by `POELIS_API_KEY_FILE`.

    Read at call time (never at import), so a rotated key file is picked up by the next client.
    """
    if api_key is not None:
        return validate_api_key(api_key.strip(), source="the api_key argument")
    from_env = os.environ.get(settings.ENV_API_KEY, "").strip()
    if from_env:
        return validate_api_key(from_env, source=f"${settings.ENV_API_KEY}")
    key_file = os.environ.get(settings.ENV_API_KEY_FILE, "").strip()
    if key_file:
        return validate_api_key(read_key_file(Path(key_file)), source=f"the file {key_file}")
    raise ConfigurationError(
        f"No Poelis API key: set {settings.ENV_API_KEY} to the key, or {settings.ENV_API_KEY_FILE} to a file "
        f"holding it ({settings.KEY_MANAGEMENT_HINT})."
    )


def read_key_file(path: Path, *, source: str = settings.ENV_API_KEY_FILE) -> str:
    """The key a file holds (the Kubernetes/Docker secret convention), stripped; `source` names the setting
    that named the file, in the error."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigurationError(f"{source} names {path}, which does not exist.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(
            f"{source} names {path}, which cannot be read ({type(error).__name__})."
        ) from None


def validate_api_key(key: str, *, source: str) -> str:
    """Refuse a key that cannot be a Poelis key, naming the problem and the source but never the key."""
    problem = None
    if not key:
        problem = "is empty"
    elif not key.startswith(settings.API_KEY_PREFIX):
        problem = f"does not start with {settings.API_KEY_PREFIX!r}"
    elif not set(key) <= _KEY_ALPHABET:
        problem = "contains characters that never occur in a key (whitespace, quotes or a line break?)"
    elif not settings.API_KEY_MIN_LENGTH <= len(key) <= settings.API_KEY_MAX_LENGTH:
        problem = (
            f"is {len(key)} characters long, outside the plausible "
            f"{settings.API_KEY_MIN_LENGTH}-{settings.API_KEY_MAX_LENGTH} (truncated or pasted twice?)"
        )
    if problem:
        raise ConfigurationError(
            f"The Poelis API key from {source} {problem}; copy it again or {settings.KEY_MANAGEMENT_HINT}."
        )
    return key


def resolve_base_url(base_url: str | None = None, *, allow_insecure_http: bool = False) -> str:
    """The API root (without `/v1/public`) from the argument, else `POELIS_BASE_URL`, else production.

    Plain http is refused for any host but loopback: the key would cross the network readable. Users behind
    a TLS-terminating proxy opt in with `allow_insecure_http=True` (the CLI and the Dagster resource set it
    from `--allow-insecure-http` or `POELIS_ALLOW_INSECURE_HTTP`).
    """
    raw = base_url or os.environ.get(settings.ENV_BASE_URL, "").strip() or settings.DEFAULT_BASE_URL
    try:
        parts = urlsplit(raw)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as error:
        raise ConfigurationError(f"The Poelis base URL {scrub(raw)!r} is malformed ({error}).") from None
    if parts.scheme not in {"http", "https"} or not host:
        raise ConfigurationError(
            f"The Poelis base URL {scrub(raw)!r} must look like https://api.poelis.com "
            "(scheme http or https, and a host)."
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigurationError(
            f"The Poelis base URL {parts.scheme}://{host} must not carry credentials, a query or a fragment."
        )
    if parts.scheme == "http" and not allow_insecure_http and not _is_loopback(host):
        raise ConfigurationError(
            f"Refusing to send the API key over plain http to {host}; use https, or, if a TLS-terminating "
            f"proxy sits in between, set {settings.ENV_ALLOW_INSECURE_HTTP}=1 or pass --allow-insecure-http "
            "(the CLI and the Dagster resource; allow_insecure_http=True for PoelisClient in Python)."
        )
    path = parts.path.rstrip("/")
    if path.endswith(settings.API_PREFIX):
        path = path[: -len(settings.API_PREFIX)]
    return f"{parts.scheme}://{parts.netloc}{path}"


def resolve_quota_share(quota_share: float | None = None) -> float:
    """The part of each rate-limit window the client may spend: the argument, else `POELIS_QUOTA_SHARE`,
    else the default; above 0 and at most 1."""
    raw = os.environ.get(settings.ENV_QUOTA_SHARE, "").strip() if quota_share is None else str(quota_share)
    if not raw:
        return settings.DEFAULT_QUOTA_SHARE
    try:
        share = float(raw)
    except ValueError:
        share = math.nan
    if not 0 < share <= 1:  # (NaN fails it too)
        source = f"${settings.ENV_QUOTA_SHARE}" if quota_share is None else "quota_share"
        raise ConfigurationError(
            f"{source} must be a number above 0 and at most 1 (the part of the rate limit to spend), "
            f"got {raw!r}."
        )
    return share


def resolve_max_requests(max_requests: int | None = None) -> int | None:
    """The requests one client may send: the argument, else `POELIS_MAX_REQUESTS`, else None (no limit)."""
    raw = os.environ.get(settings.ENV_MAX_REQUESTS, "").strip() if max_requests is None else str(max_requests)
    if not raw:
        return None
    try:
        budget = int(raw)
    except ValueError:
        budget = 0
    if budget < 1:
        source = f"${settings.ENV_MAX_REQUESTS}" if max_requests is None else "max_requests"
        raise ConfigurationError(f"{source} must be a positive whole number of requests, got {raw!r}.")
    return budget


def number_from_environment(variable: str, default: float) -> float:
    """A positive number from the environment (read when a client or run starts), else the default."""
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:  # (NaN fails it too)
        raise ConfigurationError(f"${variable} must be a positive number, got {raw!r}")
    return value


def flag_from_environment(variable: str) -> bool:
    """A yes/no switch from the environment (read when a client or run starts); unset means no."""
    raw = os.environ.get(variable, "").strip().lower()
    if raw in settings.TRUE_WORDS or raw in settings.FALSE_WORDS:
        return raw in settings.TRUE_WORDS
    words = ", ".join((*settings.TRUE_WORDS, *settings.FALSE_WORDS[1:]))
    raise ConfigurationError(f"${variable} must be one of {words} (yes or no), got {raw!r}")


def resolve_allow_insecure_http(allow_insecure_http: bool | None = None) -> bool:
    """Whether plain http may reach a non-loopback host: the argument, else `POELIS_ALLOW_INSECURE_HTTP`."""
    if allow_insecure_http is not None:
        return allow_insecure_http
    return flag_from_environment(settings.ENV_ALLOW_INSECURE_HTTP)


def resolve_max_attempts(max_attempts: int | None = None) -> int:
    """Attempts per request: the argument, else `POELIS_MAX_ATTEMPTS`, else the default."""
    if max_attempts is not None:
        return max_attempts
    return int(number_from_environment(settings.ENV_MAX_ATTEMPTS, settings.DEFAULT_MAX_ATTEMPTS))


def resolve_backoff_seconds(backoff_seconds: float | None = None) -> float:
    """The first back-off between attempts (it doubles each time): the argument, else
    `POELIS_BACKOFF_SECONDS`, else the default."""
    if backoff_seconds is not None:
        return backoff_seconds
    return number_from_environment(settings.ENV_BACKOFF_SECONDS, settings.DEFAULT_BACKOFF_SECONDS)


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
