"""Proactive pacing: spend the organization's request budget (or our share of it) without tripping a 429.

The server tells the truth on every response: `X-RateLimit-Remaining` is what is left in the window (burst
included) and `X-RateLimit-Reset` is when the window ends, in *server* Unix time. The limiter keeps a lower
bound of the budget left, and each request reserves one unit of it before it is sent. Answers may arrive
out of order, but the lowest `Remaining` seen in a window is the server's count after every answered request
(a request counted later would have reported less), so `lowest Remaining - requests still in flight` is
always a safe bound, and the limiter takes it whenever it is better than its own. A later `Reset` means a
new window and a fresh bound. When the bound reaches zero, callers wait for the window's end, converted to the
local clock through a skew estimate learnt from the `Date` header (never by trusting two clocks to agree),
and a single probe explores the new window. Where the server opens windows on demand and rounds `Reset` up
to whole seconds, the window's length, learnt from the windows our own requests opened, ends it sooner.

The budget is the organization's, so every client of one key in a process shares one limiter
(`limiter_for`): a client built for each Dagster run starts from what the earlier runs learnt instead of
from nothing, and two clients alive at once cannot both spend the same budget.

The organization has other integrations too: below a quota share of 1, the limiter also counts its own
requests in each window and stops at `share x X-RateLimit-Limit`, leaving the rest of the window (and its
burst) to them. And a 429 is not always the quota's: a host in front of the API may send one while the window
has budget left. So a 429 holds every request back for its `Retry-After`, and only the headers it carries
(`Remaining: 0`) say whether the window's budget is gone too.
"""

from __future__ import annotations

import email.utils
import hashlib
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from poelis_pipelines import settings

_SAFETY_MARGIN_SECONDS = 0.02  # absorbs scheduling jitter between our clock read and the server's
_PROBE_POLL_SECONDS = 1.0  # upper bound on a wait that an answer normally ends sooner (notify)
_LENGTH_PRECISION_SECONDS = 0.1  # stop holding probes back to learn the window length beyond this
_MAX_LEARNING_PROBES = 8  # bisection needs ~5 (whole-number test, then halving 1 s down to 0.1 s)


@dataclass(frozen=True)
class Reservation:
    """One admitted request; its send time feeds the clock-skew estimate."""

    sent_at: float
    number: int = 0
    """Order of admission: tells, once a new window starts, which requests were in flight at its start."""
    waited: float = 0.0
    """Seconds the caller was held back before it could send (its client's statistics)."""
    probes_estimated_window: bool = False
    """Sent into a new window whose start only the length estimate vouched for: a 429 on it disproves it."""


class _SkewEstimate:
    """Bounds on `server clock - local clock`, narrowed by every `Date` header (1 s resolution).

    A response stamped `D` was produced between our send and receive times, at a server time in [D, D+1),
    so the skew lies in (D - received, D + 1 - sent). Intersecting many such intervals converges to the
    network latency; a clock step that empties the intersection restarts it. Without any `Date` header
    the clocks are assumed to agree.
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

    def bounds(self) -> tuple[float, float]:
        """(low, high) of the skew; (0, 0) until a `Date` header is seen."""
        return (self.low or 0.0, self.high or 0.0)


class _WindowLength:
    """What the server's window length can be, learnt from the windows our own requests opened.

    A window opened by a request admitted at server time `a` (between its send and its answer) that reports
    `Reset: R` rounded up to whole seconds lasts between R - 1 - a and R - a. Intersecting these bounds, with
    probes placed so that each rounding splits what is left (first at the likeliest value, a whole number of
    seconds, then in halves), pins the length down within a window or two. An empty intersection, or a 429
    after a window ended by this estimate, shows that the server works some other way (windows aligned to
    the clock, say), and the estimate is dropped for good: `Reset` rules alone. So is an estimate still not
    precise after `_MAX_LEARNING_PROBES` held-back probes: windows aligned to the clock never contradict it
    (each probe only says "shorter than what is left of this second"), and each held-back probe costs up
    to a second.
    """

    def __init__(self) -> None:
        self.low = -math.inf
        self.high = math.inf
        self.enabled = True
        self._admission_spread = 0.0  # how uncertain the last admission time was (its round trip)
        self._learning_probes = 0

    def observe(self, reset: float, admitted_low: float, admitted_high: float) -> None:
        low, high = max(self.low, reset - 1.0 - admitted_high), min(self.high, reset - admitted_low)
        if low > high:
            self.enabled = False
        else:
            self.low, self.high = low, high
            self._admission_spread = admitted_high - admitted_low

    @property
    def usable(self) -> bool:
        return self.enabled and self.high < math.inf

    @property
    def precise(self) -> bool:
        """Narrow enough, or just above a whole number of seconds it cannot be below (the common case)."""
        whole = math.floor(self.high)
        return self.high - self.low <= _LENGTH_PRECISION_SECONDS or (
            whole > self.low and self.high - whole <= _LENGTH_PRECISION_SECONDS
        )

    def learning_delay(self, probe_at: float) -> float:
        """How long to hold a probe due at server time `probe_at` so that the rounding of the window it
        opens tells on which side of a chosen split the length lies (a probe admitted at t splits at w
        when t + w is a whole number). 0 once the probes allowed for learning are spent (estimate dropped)."""
        if self._learning_probes >= _MAX_LEARNING_PROBES:
            self.enabled = False
            return 0.0
        self._learning_probes += 1
        whole = math.floor(self.high)
        if whole > self.low:  # is it a whole number of seconds? test just above it
            split = whole + _SAFETY_MARGIN_SECONDS + self._admission_spread
        else:
            split = (self.low + self.high) / 2
        return (-probe_at - split) % 1.0


class RateLimiter:
    """Thread-safe pacing shared by every request of one client (and its fan-out threads).

    `acquire()` blocks until a request may be sent and returns a reservation; pass it back to exactly one of
    `record()` (a response arrived), `throttled()` (the response was a 429) or `cancel()` (no response).

    Two caps of our own sit below whatever the server allows, and the stricter one rules at any moment:
    `quota_share` (0 < share <= 1) bounds the requests of each window to `share x X-RateLimit-Limit`, so it
    follows the organization's plan; `requests_per_minute` spaces requests evenly at a fixed rate, whatever
    the plan (and on a server that sends no rate headers). A share of 1 spends the whole window, burst
    included.
    """

    def __init__(self, requests_per_minute: int | None = None, quota_share: float = 1.0) -> None:
        if requests_per_minute is not None and requests_per_minute <= 0:
            raise ValueError("requests_per_minute must be a positive integer")
        if not 0 < quota_share <= 1:
            raise ValueError(f"quota_share must be above 0 and at most 1, not {quota_share}")
        self._quota_share = quota_share
        self._interval = (
            settings.RATE_LIMIT_WINDOW_SECONDS / requests_per_minute if requests_per_minute else 0.0
        )
        self._condition = threading.Condition()
        self._skew = _SkewEstimate()
        self._metered: bool | None = None  # None until an answer says whether the server meters us
        self._advertised_limit: int | None = None  # `X-RateLimit-Limit` as last sent (for people, not pacing)
        self._budget = 0  # lower bound of the requests left in the current window
        self._capacity = 0  # the most requests a window has been seen to admit (Remaining + 1)
        self._window_reset: float | None = None  # the current window's `Reset` (server Unix time)
        self._window_end: float | None = None  # local time by which the current window has surely ended
        self._ended_at = 0.0  # local time at which the last window was taken for over
        self._length = _WindowLength()
        # The first answer's (remaining, reset, sent, received), until a later window tells if it opened one.
        self._first_answer: tuple[int, float, float, float] | None = None
        self._ended_by_length = False  # the current window's end came from the length estimate
        self._lowest_remaining = 0  # the lowest `Remaining` answered in the current window
        self._probing = False  # a request is exploring a window whose budget is unknown
        self._in_flight = 0
        self._next_send = 0.0  # earliest local time of the next request under our own cap
        self._paused_until = 0.0  # local time before which a 429's `Retry-After` holds every request back
        self._admitted = 0  # requests admitted so far (numbers the reservations)
        self._spent_in_window = 0  # our requests in the current window (those in flight at its start, too)
        self._in_flight_before = 0  # reservations numbered below this were in flight when the window began

    @property
    def advertised_limit(self) -> int | None:
        """The server's `X-RateLimit-Limit` once seen; pacing relies on `Remaining`/`Reset`, not on it."""
        return self._advertised_limit

    def acquire(self) -> Reservation:
        """Wait until a request fits the budget, reserve it, and return its reservation."""
        waited = 0.0
        with self._condition:
            while True:
                now = time.time()
                delay = self._delay(now)
                if delay <= 0:
                    break
                self._condition.wait(delay)
                waited += time.time() - now
            # Decided now, not when the answer comes: by then another answer may have moved the window.
            probes_estimated_window = bool(self._metered) and self._budget <= 0 and self._ended_by_length
            number = self._admit(now)
        return Reservation(
            sent_at=now, number=number, waited=waited, probes_estimated_window=probes_estimated_window
        )

    def _delay(self, now: float) -> float:
        """Seconds until the next request may go; 0 means now. Called with the lock held."""
        pacing = max(self._next_send - now, self._paused_until - now, 0.0)
        if self._metered is None:  # nothing learnt yet: one request at a time until the first answer
            return pacing if self._in_flight == 0 else max(pacing, _PROBE_POLL_SECONDS)
        if not self._metered:
            return pacing
        if self._window_end is not None and now >= self._window_end:
            self._start_unknown_window(now)
        if self._available() > 0 or (self._window_end is None and not self._probing):
            return pacing
        if self._window_end is None:  # the probe's answer will tell (record/cancel wake us up)
            return max(pacing, _PROBE_POLL_SECONDS)
        return max(pacing, min(self._window_end - now, settings.MAX_RETRY_AFTER_SECONDS))

    def _available(self) -> int:
        """Requests that may go now in the known window: the server's budget, within our share of it.

        Our requests count against the share as far as the server counts them: never more than it has counted
        in the window (capacity - lowest `Remaining`) plus those in flight. A server whose `Remaining` never
        drops (no quota, like the fake with its rate limit off) takes nothing from the share.
        """
        if self._quota_share >= 1:
            return self._budget
        limit = self._advertised_limit or self._capacity
        allowance = max(1, math.floor(self._quota_share * limit + 1e-9))  # (0.29 x 100 is 28.99999...)
        counted = self._capacity - self._lowest_remaining + self._in_flight
        return min(self._budget, allowance - min(self._spent_in_window, counted))

    def _start_unknown_window(self, now: float) -> None:
        """The known window has ended: its budget is gone and a probe will explore the next one.

        Its `Reset` is kept, so that late answers from it are not mistaken for news of the next window.
        """
        self._window_end = None
        self._ended_at = now
        self._budget = 0
        self._probing = False

    def _admit(self, now: float) -> int:
        """Count a request in (budget, share, cap) and return its number."""
        self._in_flight += 1
        self._spent_in_window += 1
        self._admitted += 1
        if self._interval:
            self._next_send = max(now, self._next_send) + self._interval
        if self._metered:
            if self._budget > 0:
                self._budget -= 1
            else:
                self._probing = True
        return self._admitted

    def record(self, reservation: Reservation, headers: Mapping[str, str]) -> None:
        """Learn from a response's headers and release its reservation."""
        received_at = time.time()
        with self._condition:
            self._in_flight -= 1
            date_header = headers.get("Date")
            if date_header:
                self._skew.observe(date_header, reservation.sent_at, received_at)
            remaining = _number_header(headers, "X-RateLimit-Remaining")
            reset = _number_header(headers, "X-RateLimit-Reset")
            limit = _number_header(headers, "X-RateLimit-Limit")
            if limit is not None:
                self._advertised_limit = int(limit)
            if remaining is None or reset is None:
                self._metered = bool(self._metered)
                if self._window_end is None:  # a probe's answer that told nothing: another may go
                    self._probing = False
            else:
                self._metered = True
                self._learn(int(remaining), reset, reservation, received_at)
            self._condition.notify_all()

    def _learn(self, remaining: int, reset: float, reservation: Reservation, received_at: float) -> None:
        """Improve the budget bound from one answer (the module docstring says why it stays safe)."""
        sent_at = reservation.sent_at
        self._capacity = max(self._capacity, remaining + 1)
        if self._window_reset is None or reset > self._window_reset:  # a window not seen before
            # Only a capacity learnt in an earlier window can tell that this request opened the window: the
            # first answer may come from a window another process (an earlier run, another tool) opened.
            opened_by_this_request = self._window_reset is not None and remaining + 1 == self._capacity
            if self._window_reset is None:
                self._first_answer = (remaining, reset, sent_at, received_at)
            elif opened_by_this_request:
                self._learn_from_first_window()
            self._window_reset = reset
            self._lowest_remaining = remaining
            self._budget = max(remaining - self._in_flight, 0)
            self._window_end = self._end_of_window(reset, sent_at, received_at, opened_by_this_request)
            self._probing = False
            # This request and, as far as we can tell, every one still in flight count in the new window.
            self._spent_in_window = 1 + self._in_flight
            self._in_flight_before = self._admitted + 1
        elif reset == self._window_reset:
            self._lowest_remaining = min(self._lowest_remaining, remaining)
            self._budget = max(self._budget, self._lowest_remaining - self._in_flight)
            if self._window_end is None and sent_at >= self._ended_at:  # sent after we took it for over
                if reservation.probes_estimated_window:  # the window outlived its estimated length
                    self._length.enabled = False
                self._window_end = self._end_of_window(reset, sent_at, received_at, opened_by_it=False)
                self._probing = False
        elif reservation.number < self._in_flight_before:  # counted in an older window after all
            self._spent_in_window -= 1

    def _learn_from_first_window(self) -> None:
        """Once a window we opened shows the capacity, the first window's opening is known too: an answer
        with `Remaining = capacity - 1` was the first request that window counted. Its length bounds then
        count as well, so the estimate is usable a window sooner (each held-back probe costs up to a second).
        Read with today's skew bounds, narrower than they were at the first answer."""
        if self._first_answer is None:
            return
        remaining, reset, sent_at, received_at = self._first_answer
        self._first_answer = None
        if remaining + 1 == self._capacity and self._length.enabled:
            skew_low, skew_high = self._skew.bounds()
            self._length.observe(reset, sent_at + skew_low, received_at + skew_high)

    def _end_of_window(self, reset: float, sent_at: float, received_at: float, opened_by_it: bool) -> float:
        """The local time by which a window answered by this request has surely ended."""
        skew_low, skew_high = self._skew.bounds()
        end = reset - skew_low
        self._ended_by_length = False
        if opened_by_it and self._length.enabled:
            self._length.observe(reset, sent_at + skew_low, received_at + skew_high)
        if opened_by_it and self._length.usable and received_at + self._length.high < end:
            end, self._ended_by_length = received_at + self._length.high, True
        end += _SAFETY_MARGIN_SECONDS
        if self._length.usable and not self._length.precise:
            end += self._length.learning_delay(end + (skew_low + skew_high) / 2)
        return end

    def throttled(
        self, reservation: Reservation, headers: Mapping[str, str], retry_after: float | None
    ) -> None:
        """A 429: nobody sends until its `Retry-After` has passed; then pacing goes on from its headers.

        `Remaining: 0` means the window's budget is gone (someone else spent it, or the estimate ended the
        last window too soon): wait for the window's end. Budget left means the 429 came from something
        else than the quota (an overloaded host in front of the API), and that budget may be spent.
        """
        self.record(reservation, headers)
        remaining = _number_header(headers, "X-RateLimit-Remaining")
        reset = _number_header(headers, "X-RateLimit-Reset")
        with self._condition:
            if remaining is not None and reset is not None and reset == self._window_reset:  # not a late one
                self._budget = min(self._budget, max(int(remaining) - self._in_flight, 0))
                if remaining <= 0 and reservation.probes_estimated_window:  # it let this one in too early
                    self._length.enabled = False
            if retry_after is not None:
                self._paused_until = max(self._paused_until, time.time() + retry_after)

    def cancel(self, reservation: Reservation) -> None:
        """Release a reservation whose request got no answer; its budget stays spent (it may have counted)."""
        with self._condition:
            self._in_flight -= 1
            self._probing = False
            self._condition.notify_all()


_shared: dict[tuple[str, str, int | None, float], RateLimiter] = {}
_shared_lock = threading.Lock()


def limiter_for(
    base_url: str, api_key: str, requests_per_minute: int | None = None, quota_share: float = 1.0
) -> RateLimiter:
    """The one limiter of this process for an organization's key at a base URL (and our own caps).

    Keyed by a digest of the key, never the key itself. Limiters stay for the life of the process: a few
    small objects per key, and dropping one between two Dagster runs would forget the window it learnt. The
    clients of one limiter share its quota share: the runs of a process together spend at most that part.
    """
    key = (base_url, hashlib.sha256(api_key.encode()).hexdigest(), requests_per_minute, quota_share)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = RateLimiter(requests_per_minute, quota_share)
        return _shared[key]


def forget_shared_limiters() -> None:
    """Start every later client from nothing: for a process that talks to servers that come and go on one
    address (the test suite's fakes), where a learnt window would belong to an earlier server."""
    with _shared_lock:
        _shared.clear()


def _number_header(headers: Mapping[str, str], name: str) -> float | None:
    """A numeric header (a fractional `Reset` keeps its fraction), or None when absent or garbled."""
    try:
        value = float(headers[name])
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) else None
