"""Proactive pacing: spend the organization's whole request budget without ever tripping a 429.

The server tells the truth on every response: `X-RateLimit-Remaining` is what is left in the window (burst
included) and `X-RateLimit-Reset` is when the window ends, in *server* Unix time. The limiter keeps a lower
bound of the budget left: each request reserves one unit before it is sent, and every response can only lower
the bound to `Remaining - requests still in flight` (those may not be counted yet), unless it shows a new
window. When the bound reaches zero, callers wait until the window's end, converted to the local clock through
a skew estimate learnt from the `Date` header (never by trusting the two clocks to agree), and then probe the
new window with a single request before spending it.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from poelis_pipelines import settings

_SAFETY_MARGIN_SECONDS = 0.02  # absorbs scheduling jitter between our clock read and the server's


@dataclass(frozen=True)
class Reservation:
    """One admitted request; its send time feeds the clock-skew estimate."""

    sent_at: float


class _SkewEstimate:
    """Bounds on `server clock - local clock`, narrowed by every `Date` header (1 s resolution).

    A response stamped `D` was produced between our send and receive times, at a server time in [D, D+1),
    so the skew lies in (D - received, D + 1 - sent). Intersecting many such intervals converges to the
    network latency; a clock step that empties the intersection restarts it.
    """

    def __init__(self) -> None:
        self.low: float | None = None
        self.high: float | None = None

    def observe(self, date_header: str, sent_at: float, received_at: float) -> None:
        try:
            server_time = email.utils.parsedate_to_datetime(date_header).timestamp()
        except (TypeError, ValueError):
            return
        low, high = server_time - received_at, server_time + 1.0 - sent_at
        if self.low is None or self.high is None or max(low, self.low) > min(high, self.high):
            self.low, self.high = low, high
        else:
            self.low, self.high = max(low, self.low), min(high, self.high)

    def latest_server_time(self, local_time: float) -> float:
        """The earliest the server clock can read now: waiting on it never starts a window too soon."""
        return local_time + (self.low if self.low is not None else 0.0)


class RateLimiter:
    """Thread-safe pacing shared by every request of one client (and its fan-out threads).

    `acquire()` blocks until a request may be sent and returns a reservation; pass it back to exactly one of
    `record()` (a response arrived), `throttled()` (the response was a 429) or `cancel()` (no response).
    `requests_per_minute` adds a fixed cap of our own below whatever the server allows.
    """

    def __init__(
        self,
        requests_per_minute: int | None = None,
        *,
        on_wait: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if requests_per_minute is not None and requests_per_minute <= 0:
            raise ValueError("requests_per_minute must be a positive integer")
        self._interval = (
            settings.RATE_LIMIT_WINDOW_SECONDS / requests_per_minute if requests_per_minute else 0.0
        )
        self._on_wait = on_wait
        self._clock = clock
        self._condition = threading.Condition()
        self._skew = _SkewEstimate()
        self._metered: bool | None = None  # None until a response says whether the server meters us
        self._limit: int | None = None
        self._budget = 0  # lower bound of requests left in the current window
        self._window_reset: float | None = None  # server Unix time at which the current window ends
        self._probing = False  # a request is exploring a window whose budget we do not know yet
        self._in_flight = 0
        self._next_send = 0.0  # earliest local time for the next request under our own cap

    @property
    def limit(self) -> int | None:
        """The server's advertised per-window limit, once seen (for logs and tests)."""
        return self._limit if self._metered else None

    def acquire(self) -> Reservation:
        """Wait until a request fits the budget, reserve it, and return its reservation."""
        waited = 0.0
        with self._condition:
            while True:
                now = self._clock()
                delay = self._delay(now)
                if delay <= 0:
                    break
                self._condition.wait(delay)
                waited += self._clock() - now
            self._admit(now)
            reservation = Reservation(sent_at=now)
        if waited and self._on_wait:
            self._on_wait(waited)
        return reservation

    def _delay(self, now: float) -> float:
        """Seconds until the next request may go; 0 means now. Called with the lock held."""
        pacing = self._next_send - now
        if self._metered is None:  # nothing learnt yet: one request at a time until the first answer
            return max(pacing, 0.0 if self._in_flight == 0 else 1.0)
        if not self._metered:
            return max(pacing, 0.0)
        server_now = self._skew.latest_server_time(now) - _SAFETY_MARGIN_SECONDS
        if self._window_reset is not None and server_now >= self._window_reset:
            self._start_unknown_window()
        if self._budget > 0:
            return max(pacing, 0.0)
        if self._probing:  # wait for the probe's answer (record/cancel wake us up)
            return max(pacing, 1.0)
        if self._window_reset is None:
            return max(pacing, 0.0)
        until_reset = self._window_reset - server_now
        return max(pacing, min(until_reset, settings.MAX_RETRY_AFTER_SECONDS))

    def _start_unknown_window(self) -> None:
        """The window we knew has ended: its budget is gone and the next one is explored by a probe."""
        self._window_reset = None
        self._budget = 0
        self._probing = False

    def _admit(self, now: float) -> None:
        self._in_flight += 1
        if self._interval:
            self._next_send = max(now, self._next_send) + self._interval
        if self._metered:
            if self._budget > 0:
                self._budget -= 1
            else:
                self._probing = True

    def record(self, reservation: Reservation, headers: Mapping[str, str]) -> None:
        """Learn from a response's headers and release its reservation."""
        received_at = self._clock()
        with self._condition:
            self._in_flight -= 1
            date_header = headers.get("Date")
            if date_header:
                self._skew.observe(date_header, reservation.sent_at, received_at)
            remaining = _int_header(headers, "X-RateLimit-Remaining")
            reset = _int_header(headers, "X-RateLimit-Reset")
            if remaining is None or reset is None:
                if self._metered is None:
                    self._metered = False
            else:
                self._metered = True
                self._limit = _int_header(headers, "X-RateLimit-Limit")
                self._learn(remaining, float(reset))
            self._condition.notify_all()

    def _learn(self, remaining: int, reset: float) -> None:
        """Narrow the budget bound; a later reset than the one known means the server opened a new window."""
        lower_bound = max(remaining - self._in_flight, 0)
        if self._window_reset is None or reset > self._window_reset:
            self._window_reset = reset
            self._budget = lower_bound
        elif reset == self._window_reset:
            self._budget = min(self._budget, lower_bound)
        else:  # an answer from a window that is already over
            return
        self._probing = False

    def throttled(
        self, reservation: Reservation, headers: Mapping[str, str], retry_after: float | None
    ) -> None:
        """A 429: nobody sends until the server's advice has passed (or the window it names has ended)."""
        self.record(reservation, headers)
        with self._condition:
            self._budget = 0
            if retry_after is not None:
                resume = self._skew.latest_server_time(self._clock()) + retry_after
                self._window_reset = max(self._window_reset or 0.0, resume)

    def cancel(self, reservation: Reservation) -> None:
        """Release a reservation whose request got no answer; its budget stays spent (it may have counted)."""
        with self._condition:
            self._in_flight -= 1
            self._probing = False
            self._condition.notify_all()


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None
