"""Bounded state for detectors: an LRU table with a cap, and a distinct-item time window.

Detectors keep per-source or per-target state; an attacker controls how many keys there are,
so every table here has a cap, drops the least recently used entry beyond it and counts what
it dropped (an alert or a stats line can then say how much was forgotten).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedMap(Generic[K, V]):
    """A dict in least-recently-used order that never holds more than ``cap`` entries."""

    def __init__(self, cap: int) -> None:
        if cap < 1:
            raise ValueError("cap: must be at least 1")
        self.cap = cap
        self.evictions = 0
        self._items: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def get(self, key: K) -> V | None:
        """The entry for ``key`` (now the most recently used), or None."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def touch(self, key: K, make: Callable[[], V]) -> V:
        """The entry for ``key``, created by ``make`` when absent; evicts beyond the cap."""
        value = self.get(key)
        if value is None:
            value = self._items[key] = make()
            while len(self._items) > self.cap:
                self._items.popitem(last=False)
                self.evictions += 1
        return value

    def pop(self, key: K) -> V | None:
        """Remove and return the entry for ``key`` (None when absent)."""
        return self._items.pop(key, None)

    def items(self) -> Iterator[tuple[K, V]]:
        """Entries from least to most recently used."""
        return iter(list(self._items.items()))

    def expire(self, stale: Callable[[V], bool]) -> list[tuple[K, V]]:
        """Pop stale entries from the least recently used end, stopping at the first live one.

        Events arrive in (nearly) time order, so the LRU end holds the oldest state and an
        expiry pass costs only what it removes.
        """
        gone: list[tuple[K, V]] = []
        while self._items:
            key, value = next(iter(self._items.items()))
            if not stale(value):
                break
            self._items.popitem(last=False)
            gone.append((key, value))
        return gone


class DistinctWindow:
    """Distinct items (ports, hosts, sources) seen within the last ``window`` seconds."""

    def __init__(self, window: float, cap: int) -> None:
        self.window = window
        self.total = 0
        self._seen: BoundedMap[Hashable, float] = BoundedMap(cap)

    def __len__(self) -> int:
        return len(self._seen)

    @property
    def evictions(self) -> int:
        """Items dropped because the window was full."""
        return self._seen.evictions

    def add(self, item: Hashable, t: float) -> None:
        """Record ``item`` at time ``t`` and forget items older than the window."""
        self.total += 1
        self._seen.pop(item)
        self._seen.touch(item, lambda: t)
        self._seen.expire(lambda last: last < t - self.window)

    def items(self) -> list[Hashable]:
        """The distinct items still inside the window, oldest first."""
        return [item for item, _ in self._seen.items()]
