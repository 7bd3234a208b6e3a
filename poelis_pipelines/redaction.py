"""The secret values of this process and `scrub`, which masks them in any text.

Stdlib and settings only, so every layer builds its messages with `scrub`: normalize's warnings too, which
may not import the HTTP client. The logging side (`client.secrets`) is built on it.
"""

from __future__ import annotations

import re
import threading

from poelis_pipelines import settings

REDACTED = "***"
_MIN_SECRET_LENGTH = 8  # shorter values would redact innocent words
_BEARER = re.compile(r"(?i)\b(bearer)\s+[^\s'\",;]+")
_KEY_SHAPED = re.compile(re.escape(settings.API_KEY_PREFIX) + r"[A-Za-z0-9_\-]{4,}")

_lock = threading.Lock()
_secrets: set[str] = set()


def fingerprint(key: str) -> str:
    """A name for a key that is safe to show: the public prefix and at most the last 4 characters."""
    if len(key) < 16:
        return REDACTED
    prefix = settings.API_KEY_PREFIX if key.startswith(settings.API_KEY_PREFIX) else ""
    return f"{prefix}…{key[-4:]}"


def register_secret(value: str) -> None:
    """Remember a value that must never appear in output; very short values are ignored."""
    if len(value) >= _MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value)


def scrub(text: str) -> str:
    """`text` with every registered secret, every key-shaped token and every `Bearer` credential masked."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, fingerprint(secret))
    text = _BEARER.sub(rf"\1 {REDACTED}", text)
    return _KEY_SHAPED.sub(lambda match: fingerprint(match.group(0)), text)
