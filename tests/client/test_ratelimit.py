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
