"""Running another command on behalf of this one (`demo`'s sync, `dev`'s Dagster), signals passed through."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from types import FrameType

FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_child(command: Sequence[str], env: Mapping[str, str], *, ours: bool = False) -> int:
    """Run `command` with exactly `env` until it ends, and return its exit code (128 + N when signal N
    ended it, as a shell reports it).

    `ours`: the child is this package's own CLI, which takes the signals it was started with blocked as
    pending (see `interrupts.install`): a Ctrl-C forwarded while it is still starting then stops it cleanly
    once it can, instead of killing it with a traceback or being lost.

    The child gets its own session, so a Ctrl-C reaches it once, forwarded from here (as does a SIGTERM sent
    to this process); this process then waits while the child shuts down in its own way (`dagster dev` stops
    its webserver and daemon, a sync keeps its committed scopes), and ends what the child left running.
    """
    process: subprocess.Popen[bytes] | None = None

    pending: list[int] = []

    def forward(signal_number: int, _frame: FrameType | None) -> None:
        if process is None:  # being started: handed over as soon as it exists
            pending.append(signal_number)
            return
        process.send_signal(signal_number)

    # Installed before the start, so the child begins with default handlers even where this process was
    # started with SIGINT ignored (a `&` job of a script), and a forwarded Ctrl-C does stop it.
    previous = {number: signal.signal(number, forward) for number in FORWARDED_SIGNALS}
    try:
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED_SIGNALS) if ours else None
        try:  # a child inherits the signal mask of the thread that starts it
            process = subprocess.Popen(list(command), env=dict(env), start_new_session=True)
        finally:
            if blocked is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        for signal_number in pending:
            process.send_signal(signal_number)
        returncode = process.wait()
        return 128 - returncode if returncode < 0 else returncode
    finally:
        if process is not None:
            _end_leftovers(process.pid)
        for number, handler in previous.items():
            signal.signal(number, handler)


def _end_leftovers(session_leader: int) -> None:
    """Stop what is left of the child's session once the child has ended: `dagster dev` leaves its code
    server (until a heartbeat timeout) and the log tailers of interrupted runs behind."""
    with contextlib.suppress(ProcessLookupError):  # nothing was left
        os.killpg(session_leader, signal.SIGTERM)
