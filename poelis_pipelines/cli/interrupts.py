"""Ctrl-C and SIGTERM: one clean stop with exit status 128 + the signal's number, never a traceback.

Until a command says otherwise, the first signal raises `KeyboardInterrupt` (as Ctrl-C does by default, and
for SIGTERM too) and later ones are ignored, so the clean-up cannot be interrupted in turn. A sync or demo
switches to stopping between two commits: the first signal only sets `sync.STOP`, the levels stop before
their next merge (a merge in progress commits or rolls back as a whole) and the command returns normally; a
second signal ends the process at once, which loses nothing committed either (the next sync marks the
abandoned run failed and resumes).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)
SHOW_CURSOR = b"\x1b[?25h"  # the live progress display hides it


class _State:
    received: int | None = None  # the first signal
    stop: threading.Event | None = None  # `sync.STOP` once a sync stops between commits


def _write(fd: int, text: bytes) -> None:
    """`os.write`, not `print`: a handler may run in the middle of a print, which must not be re-entered."""
    with contextlib.suppress(OSError):  # the terminal is gone: nothing to tell
        os.write(fd, text)


def signal_name(signum: int | None) -> str:
    """How a person knows the signal: Ctrl-C for SIGINT, else its name."""
    if signum is None:
        return "stop requested"
    return "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name


def _handle(signum: int, _frame: FrameType | None) -> None:
    if _State.received is not None:
        if _State.stop is not None:
            if os.isatty(1):
                _write(1, SHOW_CURSOR + b"\n")
            _write(
                2,
                f"error: stopped at once ({signal_name(signum)}); a merge in progress rolls back, what was "
                "committed stays; the next sync resumes\n".encode(),
            )
            os._exit(128 + signum)
        return
    _State.received = signum
    if _State.stop is None:
        raise KeyboardInterrupt
    _State.stop.set()
    if not sys.stdout.isatty():  # on a terminal the live display says it
        _write(2, f"{stopping_message(signum)}\n".encode())


def stopping_message(signum: int | None) -> str:
    return (
        f"stopping ({signal_name(signum)}): a merge in progress commits, nothing new starts; "
        f"{signal_name(signum)} again stops at once"
    )


def install() -> None:
    """From the first line of `main`: a signal at any moment ends the command cleanly."""
    for signum in SIGNALS:
        signal.signal(signum, _handle)
    # A parent of ours (the demo) starts this process with the signals blocked, so one that arrived while it
    # was starting is pending rather than lost: it is handled now.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)


def stop_between_commits() -> None:
    """For a sync: from now on the first signal asks the sync to stop before its next merge.

    Imported here, not at the top: `sync` brings pandas, which the other commands do without.
    """
    from poelis_pipelines import sync

    _State.stop = sync.STOP


def received() -> int | None:
    """The first signal received, if any."""
    return _State.received


def end_process(exit_code: int) -> None:
    """Exit now, not through the interpreter's shutdown, once a stopped sync has said everything.

    A stopped level does not wait for the fetch in flight (it may be waiting out a rate-limit window): that
    thread, and the fan-out's, would hold the shutdown that long, and DuckDB objects they keep alive would
    be reported as leaks after the last line. Everything that matters is committed and closed by now.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)


def exit_code() -> int:
    """The shell's convention for a process ended by a signal: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + (_State.received or signal.SIGINT)
