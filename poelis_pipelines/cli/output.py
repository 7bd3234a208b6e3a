"""How the CLI talks to people: one scrubbed line per error, tracebacks only when asked for."""

from __future__ import annotations

import logging
import math
import re
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from poelis_pipelines.client import AuthenticationError, ConfigurationError, PermissionDeniedError
from poelis_pipelines.client.client import logger as client_logger
from poelis_pipelines.client.secrets import scrub
from poelis_pipelines.warehouse import WarehouseError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2

_OS_REASON = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")
# The client's INFO record of a retry (already formatted: records are scrubbed, so their args are gone).
_UNREACHABLE_CAUSES = ("connection", "timeout")  # the client's retry causes that mean "cannot reach"
_RETRY_RECORD = re.compile(r"Retrying after (\S+) \(attempt \d+ of \d+\) in [\d.]+ s: (.*)", re.DOTALL)


class Output:
    def __init__(self, *, debug: bool = False) -> None:
        self.debug = debug
        self.interactive = sys.stdout.isatty()

    def line(self, text: str = "") -> None:
        print(scrub(text), flush=True)

    def error(self, text: str) -> None:
        print(f"error: {scrub(text)}", file=sys.stderr, flush=True)

    def warning(self, text: str) -> None:
        print(f"warning: {scrub(text)}", file=sys.stderr, flush=True)

    def fail(self, error: BaseException, exit_code: int, *, context: str = "") -> int:
        """Report an exception as one line (a scrubbed traceback too with --debug); return the exit code."""
        if self.debug:
            print(scrub("".join(traceback.format_exception(error))), file=sys.stderr, flush=True)
        message = first_line(error)
        self.error(f"{context}: {message}" if context else message)
        return exit_code

    @staticmethod
    def is_configuration_error(error: BaseException) -> bool:
        """A setting to fix (the key, a URL, a --workspace value, the warehouse): exit 2."""
        return isinstance(
            error, ConfigurationError | AuthenticationError | PermissionDeniedError | WarehouseError
        )


def fixed_width(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows of cells as lines of left-aligned columns, two spaces apart."""
    widths = [max(len(row[index]) for row in rows) for index in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def retry_budget_seconds(max_attempts: int, backoff_seconds: float, max_backoff_seconds: float) -> float:
    """The longest the client's back-off between a request's attempts can add up to (jitter included)."""
    return sum(
        min(max_backoff_seconds, backoff_seconds * 2.0**attempt + backoff_seconds)
        for attempt in range(max_attempts - 1)
    )


class RetryNotice(logging.Handler):
    """One warning line at the first retry of each way of not reaching the API (connection, timeout).

    The client retries quietly (it logs each retry at INFO); without this, an unreachable API is tens of
    seconds of silence before the error. An API that answers badly (5xx, 429, a broken body) is left to its
    one error line, should the retries not mend it.
    """

    def __init__(self, output: Output, base_url: str, retry_seconds: float) -> None:
        super().__init__(logging.INFO)
        self._output = output
        self._base_url = base_url
        self._retry_seconds = retry_seconds
        self._told: set[str] = set()
        self._told_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        retry = _RETRY_RECORD.match(record.getMessage())
        if retry is None:
            return
        cause, error = retry.group(1), retry.group(2)
        if cause not in _UNREACHABLE_CAUSES:
            return
        with self._told_lock:
            if cause in self._told:
                return
            self._told.add(cause)
        retrying = f"retrying for up to {math.ceil(self._retry_seconds)} s"
        if cause == "connection":
            reason = _OS_REASON.search(error)
            why = reason.group(1).strip().lower() if reason else "the connection broke"
            self._output.warning(f"cannot reach {self._base_url} ({why}); {retrying}")
        else:
            self._output.warning(f"no answer from {self._base_url} ({error.strip().rstrip('.')}); {retrying}")


@contextmanager
def retry_notices(output: Output, base_url: str, retry_seconds: float) -> Iterator[None]:
    """Attach a `RetryNotice` to the client's logger for the block."""
    handler = RetryNotice(output, base_url, retry_seconds)
    level = client_logger.level
    client_logger.addHandler(handler)
    if client_logger.getEffectiveLevel() > logging.INFO:
        client_logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        client_logger.removeHandler(handler)
        client_logger.setLevel(level)
