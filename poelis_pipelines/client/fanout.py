"""Ordered fan-out over a bounded thread pool: results in input order, never more than a window in flight."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

Key = TypeVar("Key")
Result = TypeVar("Result")


def ordered_fan_out(
    function: Callable[[Key], Result], keys: Iterable[Key], *, workers: int, in_flight: int | None = None
) -> Iterator[tuple[Key, Result]]:
    """Yield `(key, function(key))` for each key, in input order, computed on `workers` threads.

    At most `in_flight` calls (default twice the workers, so the pool never idles while the consumer works)
    are submitted ahead of the consumer; keys are read lazily, so an endless iterable is fine. The first
    failure is raised when its turn comes; closing the iterator early cancels the calls not yet started.
    """
    window = max(in_flight or 2 * workers, 1)
    pending: deque[tuple[Key, Future[Result]]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poelis-fan-out") as pool:
        try:
            for key in keys:
                pending.append((key, pool.submit(function, key)))
                if len(pending) >= window:
                    head_key, head = pending.popleft()
                    yield head_key, head.result()
            while pending:
                head_key, head = pending.popleft()
                yield head_key, head.result()
        finally:
            for _, future in pending:
                future.cancel()
