"""Thread-safe request statistics, so a run can report what the API cost it (requests, retries, waiting)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

RETRY_CAUSES = ("429", "5xx", "connection", "timeout", "invalid_json")


@dataclass(frozen=True)
class StatsSnapshot:
    """The figures at one moment; `later - earlier` gives what happened in between (e.g. for one asset)."""

    requests: int = 0
    retries: MappingProxyType[str, int] = field(
        default_factory=lambda: MappingProxyType(dict.fromkeys(RETRY_CAUSES, 0))
    )
    rate_limited: int = 0
    seconds_waited: float = 0.0
    bytes_received: int = 0

    def __sub__(self, earlier: StatsSnapshot) -> StatsSnapshot:
        return StatsSnapshot(
            requests=self.requests - earlier.requests,
            retries=MappingProxyType(
                {cause: self.retries[cause] - earlier.retries[cause] for cause in RETRY_CAUSES}
            ),
            rate_limited=self.rate_limited - earlier.rate_limited,
            seconds_waited=self.seconds_waited - earlier.seconds_waited,
            bytes_received=self.bytes_received - earlier.bytes_received,
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values, for logs and Dagster metadata."""
        return {
            "requests": self.requests,
            "retries": dict(self.retries),
            "retries_total": sum(self.retries.values()),
            "rate_limited": self.rate_limited,
            "seconds_waited": round(self.seconds_waited, 3),
            "bytes_received": self.bytes_received,
        }


class ClientStats:
    """Counters shared by every thread of one client; read them as attributes or take a `snapshot()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = 0
        self._retries = dict.fromkeys(RETRY_CAUSES, 0)
        self._rate_limited = 0
        self._seconds_waited = 0.0
        self._bytes_received = 0

    def record_response(self, size: int) -> None:
        """One HTTP answer (any status) of `size` body bytes."""
        with self._lock:
            self._requests += 1
            self._bytes_received += size

    def record_failed_request(self) -> None:
        """One request that got no answer (dropped connection, timeout)."""
        with self._lock:
            self._requests += 1

    def record_retry(self, cause: str) -> None:
        with self._lock:
            self._retries[cause] += 1

    def record_rate_limited(self) -> None:
        """One 429 received (retried or not)."""
        with self._lock:
            self._rate_limited += 1

    def record_wait(self, seconds: float) -> None:
        """Time spent not sending: pacing by the limiter or backoff between attempts.

        Summed over threads: four fan-out workers waiting one second each add four seconds.
        """
        with self._lock:
            self._seconds_waited += seconds

    @property
    def requests(self) -> int:
        return self._requests

    @property
    def retries(self) -> dict[str, int]:
        with self._lock:
            return dict(self._retries)

    @property
    def rate_limited(self) -> int:
        return self._rate_limited

    @property
    def seconds_waited(self) -> float:
        return self._seconds_waited

    @property
    def bytes_received(self) -> int:
        return self._bytes_received

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            return StatsSnapshot(
                requests=self._requests,
                retries=MappingProxyType(dict(self._retries)),
                rate_limited=self._rate_limited,
                seconds_waited=self._seconds_waited,
                bytes_received=self._bytes_received,
            )

    def as_dict(self) -> dict[str, Any]:
        return self.snapshot().as_dict()

    def __repr__(self) -> str:
        return f"ClientStats({self.as_dict()})"
