"""A bounded queue of received messages that takes and hands out whole batches.

``queue.Queue`` takes its lock and signals its condition once per message; a receiver that
reads datagrams in batches would then still contend with the consumer once per message. Here
both sides lock once per batch, and a full queue drops (and counts) what does not fit.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class BatchQueue(Generic[T]):
    """Bounded FIFO: ``put_many`` keeps what fits, ``take`` returns up to a limit at once."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: deque[T] = deque()
        self._ready = threading.Condition(threading.Lock())

    def put_many(self, items: Sequence[T]) -> int:
        """Append as many of ``items`` as fit; how many were kept (the rest are dropped)."""
        with self._ready:
            room = self.maxsize - len(self._items)
            kept = items if len(items) <= room else items[: max(room, 0)]
            if kept:
                self._items.extend(kept)
                self._ready.notify()
            return len(kept)

    def put_nowait(self, item: T) -> None:
        """Append one item; ``queue.Full`` when there is no room."""
        if not self.put_many((item,)):
            raise queue.Full

    def take(self, limit: int, wait: float) -> list[T]:
        """Up to ``limit`` items, waiting at most ``wait`` seconds for the first."""
        with self._ready:
            if not self._items and wait > 0:
                self._ready.wait_for(lambda: bool(self._items), timeout=wait)
            count = min(limit, len(self._items))
            return [self._items.popleft() for _ in range(count)]

    def get(self, timeout: float | None = None) -> T:
        """One item, waiting up to ``timeout`` seconds (forever: None); ``queue.Empty`` else."""
        with self._ready:
            if not self._ready.wait_for(lambda: bool(self._items), timeout=timeout):
                raise queue.Empty
            return self._items.popleft()

    def get_nowait(self) -> T:
        """One item if any is queued; ``queue.Empty`` otherwise."""
        return self.get(timeout=0)

    def empty(self) -> bool:
        """Whether nothing is queued."""
        return not self._items

    def qsize(self) -> int:
        """How many items are queued."""
        return len(self._items)
