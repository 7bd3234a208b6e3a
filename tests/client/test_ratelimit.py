"""The limiter's window-length estimate, driven with scripted answers on a scripted clock.

Timing through real servers is covered in test_client_crawl.py; here the answers and their times are chosen,
so the bounds the limiter learns can be stated exactly.
"""

from __future__ import annotations

import pytest

from poelis_pipelines.client import ratelimit
from poelis_pipelines.client.ratelimit import RateLimiter

CAPACITY = 10


def exchange(
    monkeypatch: pytest.MonkeyPatch, limiter: RateLimiter, *, sent: float, remaining: int, reset: int
) -> None:
    """One request sent at `sent` and answered 1 ms later with these rate headers (no Date header)."""
    monkeypatch.setattr(ratelimit.time, "time", lambda: sent)
    reservation = limiter.acquire()
    monkeypatch.setattr(ratelimit.time, "time", lambda: sent + 0.001)
    headers = {"X-RateLimit-Remaining": str(remaining), "X-RateLimit-Reset": str(reset)}
    limiter.record(reservation, headers)


def test_the_first_window_counts_once_a_window_we_opened_shows_the_capacity(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 5 s windows opened on demand, Reset rounded up: opened at 100.6 -> Reset 106; at 106.02 -> Reset 112.
    limiter = RateLimiter()
    exchange(monkeypatch, limiter, sent=100.6, remaining=CAPACITY - 1, reset=106)
    assert not limiter._length.usable, "one window of unknown capacity teaches nothing yet"

    exchange(monkeypatch, limiter, sent=106.02, remaining=CAPACITY - 1, reset=112)

    # The second window alone says (4.979, 5.98]; the first one, now known to be ours, caps it at 5.4.
    assert limiter._length.low == pytest.approx(112 - 1 - 106.021)
    assert limiter._length.high == pytest.approx(106 - 100.6)


def test_a_first_window_someone_else_opened_teaches_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    limiter = RateLimiter()
    exchange(monkeypatch, limiter, sent=100.6, remaining=CAPACITY - 2, reset=106)  # one request before ours
    exchange(monkeypatch, limiter, sent=106.02, remaining=CAPACITY - 1, reset=112)
    exchange(monkeypatch, limiter, sent=112.02, remaining=CAPACITY - 1, reset=118)

    assert limiter._length.low == pytest.approx(112 - 1 - 106.021)
    assert limiter._length.high == pytest.approx(112 - 106.02), "the first window's opening is unknown"


class ScriptedClock:
    """The limiter's `time.time()`, moved by hand; `acquire()` must not wait (it would wait on real time)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, now: float) -> None:
        self.now = now
        monkeypatch.setattr(ratelimit.time, "time", lambda: self.now)


def rate_headers(*, limit: int, remaining: int, reset: int) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(reset),
    }


def test_a_429_with_budget_left_holds_requests_back_for_its_retry_after_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An overloaded host in front of the API answers 429 while the window (ending at 160) has budget left:
    pacing resumes after Retry-After, not at the window's end."""
    clock = ScriptedClock(monkeypatch, 100.0)
    limiter = RateLimiter()
    limiter.record(limiter.acquire(), rate_headers(limit=60, remaining=69, reset=160))
    clock.now = 101.0
    limiter.throttled(limiter.acquire(), rate_headers(limit=60, remaining=68, reset=160), retry_after=1.0)

    clock.now = 101.5
    assert limiter._delay(clock.now) == pytest.approx(0.5)
    clock.now = 102.0
    assert limiter._delay(clock.now) == 0.0
    assert limiter._budget == 68, "the budget the headers show is still there"


def test_a_quota_429_waits_for_the_end_of_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ScriptedClock(monkeypatch, 100.0)
    limiter = RateLimiter()
    limiter.record(limiter.acquire(), rate_headers(limit=60, remaining=69, reset=160))
    clock.now = 101.0
    limiter.throttled(limiter.acquire(), rate_headers(limit=60, remaining=0, reset=160), retry_after=59.0)

    clock.now = 130.0
    assert limiter._delay(clock.now) == pytest.approx(30.0, abs=0.1)
    clock.now = 160.1
    assert limiter._delay(clock.now) == 0.0, "a probe explores the next window"


def test_the_share_stops_at_its_part_of_the_limit_and_leaves_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = ScriptedClock(monkeypatch, 100.0)
    limiter = RateLimiter(quota_share=0.5)  # 10 of Limit 20, of the 25 a window admits with its burst
    remaining = 24
    limiter.record(limiter.acquire(), rate_headers(limit=20, remaining=remaining, reset=102))
    for _ in range(9):
        assert limiter._delay(clock.now) == 0.0
        remaining -= 1
        limiter.record(limiter.acquire(), rate_headers(limit=20, remaining=remaining, reset=102))

    assert limiter._budget == 15, "the server would admit 15 more"
    assert limiter._delay(clock.now) == pytest.approx(2.0, abs=0.1), (
        "ours are spent: wait for the next window"
    )


def test_requests_in_flight_when_a_window_begins_count_in_it_until_an_older_window_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ScriptedClock(monkeypatch, 100.0)
    limiter = RateLimiter(quota_share=0.5)
    limiter.record(limiter.acquire(), rate_headers(limit=20, remaining=24, reset=102))
    late = [limiter.acquire() for _ in range(3)]
    limiter.record(limiter.acquire(), rate_headers(limit=20, remaining=24, reset=104))  # a new window
    assert limiter._spent_in_window == 1 + 3, "the three in flight may have counted in the new window"

    limiter.record(late[0], rate_headers(limit=20, remaining=20, reset=102))  # ...but one did not
    limiter.record(late[1], rate_headers(limit=20, remaining=23, reset=104))
    limiter.cancel(late[2])

    assert limiter._spent_in_window == 3


def test_a_server_that_counts_nothing_takes_nothing_from_the_share(monkeypatch: pytest.MonkeyPatch) -> None:
    """`Remaining` stays at the limit (no quota, as the fake sends with its rate limit off)."""
    ScriptedClock(monkeypatch, 100.0)
    limiter = RateLimiter(quota_share=0.5)
    for _ in range(50):
        assert limiter._delay(100.0) == 0.0
        limiter.record(limiter.acquire(), rate_headers(limit=20, remaining=20, reset=101))
