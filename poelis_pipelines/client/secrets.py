"""Secret hygiene by value: the text this package lets out (its log records, warnings, messages) is scrubbed.

Scrubbing by value (`poelis_pipelines.redaction`, re-exported here), not by field name, is what catches a
key that some library formats into a message we never wrote. Every `PoelisClient` registers its key. A
library lives in someone else's process (their Dagster project, their Airflow worker), so the scrubbing
stays inside this package: its modules log through `get_logger`, and the records of any other logger under
`poelis_pipelines` are scrubbed before they propagate to the handlers above it. Only the CLI, whose process
is ours and where urllib3 or Dagster could print the key too, scrubs every record and warning of the process
(`scrub_whole_process`).
"""

from __future__ import annotations

import logging
import threading
import traceback
import warnings
from collections.abc import Callable
from typing import Any

from poelis_pipelines.redaction import fingerprint, register_secret, scrub

__all__ = [
    "ScrubbedError",
    "SecretScrubbingFilter",
    "fingerprint",
    "get_logger",
    "register_secret",
    "scrub",
    "scrub_whole_process",
    "without_secrets",
]

_PACKAGE = __name__.partition(".")[0]
_lock = threading.Lock()


class SecretScrubbingFilter(logging.Filter):
    """Rewrites a record in place so its message, traceback and stack text hold no secret; never drops it.

    On a logger it scrubs that logger's own records (not those propagated from its children); on a handler,
    every record the handler gets.
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


_SCRUBBING_FILTER = SecretScrubbingFilter()


class ScrubbedError(Exception):
    """Stands in for an exception whose text held a secret: its type and message scrubbed, and its scrubbed
    traceback (causes included) as a note, which tracebacks and Dagster's error records print."""


def without_secrets(error: Exception) -> Exception:
    """`error` itself when its text (traceback and causes included) holds no secret, else a `ScrubbedError`.

    For handing an exception to a framework that records its text as it is (Dagster's event log), where no
    logging filter of ours can reach it.
    """
    formatted = "".join(traceback.format_exception(error)).rstrip("\n")
    clean = scrub(formatted)
    if clean == formatted:
        return error
    stand_in = ScrubbedError(scrub("".join(traceback.format_exception_only(error)).strip()))
    stand_in.add_note(clean)
    return stand_in


class _ScrubBeforePropagating(logging.Handler):
    """On the package logger: scrubs the records of every logger below it, before the handlers above it (the
    root's, Dagster's) see them. It prints nothing itself; a record that meets no other handler goes to
    Python's last resort (stderr), as it would if the package had added no handler."""

    def handle(self, record: logging.LogRecord) -> bool:
        _SCRUBBING_FILTER.filter(record)
        last_resort = logging.lastResort
        if last_resort and record.levelno >= last_resort.level and not self._others_on_the_way(record.name):
            last_resort.handle(record)
        return True

    def _others_on_the_way(self, name: str) -> bool:
        """Whether a record of logger `name` meets a handler besides this one (what `Logger.callHandlers`
        counts before it falls back to the last resort)."""
        logger: logging.Logger | None = logging.getLogger(name)
        while logger is not None:
            if any(handler is not self for handler in logger.handlers):
                return True
            logger = logger.parent if logger.propagate else None
        return False

    def emit(self, record: logging.LogRecord) -> None:
        """Nothing: `handle` did the work."""


def get_logger(name: str) -> logging.Logger:
    """`logging.getLogger(name)` for a module of this package: its records are scrubbed before any handler,
    even one attached to this very logger (as Dagster's managed loggers are), or with propagation off."""
    logger = logging.getLogger(name)
    logger.addFilter(_SCRUBBING_FILTER)  # a no-op when the filter is already there
    return logger


get_logger(_PACKAGE).addHandler(_ScrubBeforePropagating())


class _ScrubbedRecordFactory:
    """The process's log-record factory, wrapped so every record is scrubbed at creation."""

    def __init__(self, make_record: Callable[..., logging.LogRecord]) -> None:
        self._make_record = make_record

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self._make_record(*args, **kwargs)
        _SCRUBBING_FILTER.filter(record)
        return record


class _ScrubbedWarningFormatter:
    """The process's `warnings.formatwarning`, wrapped so every warning it formats is scrubbed."""

    def __init__(self, format_warning: Callable[..., str]) -> None:
        self._format_warning = format_warning

    def __call__(
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        line: str | None = None,
    ) -> str:
        return scrub(self._format_warning(message, category, filename, lineno, line))


def scrub_whole_process() -> None:
    """For the CLI's process only, which is ours: scrub every log record and warning, whoever made them.

    There any library (urllib3, Dagster) could print the key. A library must never do this in its host's
    process, so `PoelisClient` does not. Idempotent and thread-safe.
    """
    with _lock:
        make_record = logging.getLogRecordFactory()
        if not isinstance(make_record, _ScrubbedRecordFactory):
            logging.setLogRecordFactory(_ScrubbedRecordFactory(make_record))
        if not isinstance(warnings.formatwarning, _ScrubbedWarningFormatter):
            warnings.formatwarning = _ScrubbedWarningFormatter(warnings.formatwarning)
