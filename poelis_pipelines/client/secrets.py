"""Secret hygiene by value: whatever text leaves the process (log records, warnings, messages) is scrubbed.

Scrubbing by value, not by field name, is what catches a key that some library formats into a message we
never wrote. Every `PoelisClient` registers its key; `install_log_scrubbing()` hooks the logging record
factory, so the records of *every* logger are clean before any handler, filter or formatter sees them.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
import warnings
from typing import Any

from poelis_pipelines import settings

REDACTED = "***"
_MIN_SECRET_LENGTH = 8  # shorter values would redact innocent words
_BEARER = re.compile(r"(?i)\b(bearer)\s+[^\s'\",;]+")
_KEY_SHAPED = re.compile(re.escape(settings.API_KEY_PREFIX) + r"[A-Za-z0-9_\-]{4,}")

_lock = threading.Lock()
_secrets: set[str] = set()
_installed = False


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


class SecretScrubbingFilter(logging.Filter):
    """Rewrites a record in place so its message, traceback and stack text hold no secret; never drops it.

    Usable on any handler; `install_log_scrubbing()` applies it to every record at creation.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed format: keep the pieces the handler would print anyway
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = scrub(message), None
        if record.exc_info and record.exc_info[1] is not None:
            formatted = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            clean = scrub(formatted)
            record.exc_text = clean
            if clean != formatted:  # a formatter reading exc_info itself would re-print the secret
                record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


def install_log_scrubbing() -> None:
    """Scrub every log record and warning of this process from now on. Idempotent and thread-safe."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    record_filter = SecretScrubbingFilter()
    make_record = logging.getLogRecordFactory()

    def scrubbed_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        record_filter.filter(record)
        return record

    logging.setLogRecordFactory(scrubbed_record)
    format_warning = warnings.formatwarning

    def scrubbed_warning(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        line: str | None = None,
    ) -> str:
        return scrub(format_warning(message, category, filename, lineno, line))

    warnings.formatwarning = scrubbed_warning
