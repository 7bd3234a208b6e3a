"""How the CLI talks to people: one scrubbed line per error, tracebacks only when asked for."""

from __future__ import annotations

import sys
import traceback

from poelis_pipelines.client import ConfigurationError
from poelis_pipelines.client.secrets import scrub
from poelis_pipelines.warehouse import WarehouseError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2


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
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        self.error(f"{context}: {message}" if context else message)
        return exit_code

    @staticmethod
    def is_configuration_error(error: BaseException) -> bool:
        return isinstance(error, ConfigurationError | WarehouseError)
