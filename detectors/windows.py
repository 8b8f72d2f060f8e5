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

    __slots__ = ("_items", "cap", "evictions")

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
        items = self._items  # inlined get: this is the detectors' per-event hot path
        value = items.get(key)
        if value is not None:
            items.move_to_end(key)
            return value
        value = items[key] = make()
        while len(items) > self.cap:
            items.popitem(last=False)
            self.evictions += 1
        return value

    def insert(self, key: K, value: V) -> V:
        """Store ``value`` for an absent ``key`` (most recently used); evicts beyond the cap.

        What :meth:`touch` does after a miss, for callers that have just looked the key up:
        no second lookup and no factory closure per new key.
        """
        items = self._items
        items[key] = value
        if len(items) > self.cap:
            items.popitem(last=False)
            self.evictions += 1
        return value

    def oldest(self) -> V | None:
        """The least recently used entry (the first :meth:`expire` looks at), or None."""
        for value in self._items.values():
            return value
        return None

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
        items = self._items
        while items:
            key, value = next(iter(items.items()))
            if not stale(value):
                break
            del items[key]
            gone.append((key, value))
        return gone


class DistinctWindow:
    """Distinct items (ports, hosts, sources) seen within the last ``window`` seconds."""

    __slots__ = ("_seen", "cap", "evictions", "total", "window")

    def __init__(self, window: float, cap: int) -> None:
        if cap < 1:
            raise ValueError("cap: must be at least 1")
        self.window = window
        self.cap = cap
        self.total = 0
        self.evictions = 0  # items dropped because the window was full
        self._seen: OrderedDict[Hashable, float] = OrderedDict()  # item -> last time, oldest first

    def __len__(self) -> int:
        return len(self._seen)

    def add(self, item: Hashable, t: float) -> None:
        """Record ``item`` at time ``t`` and forget items older than the window."""
        self.total += 1
        seen = self._seen  # plain OrderedDict operations: called for every counted event
        seen.pop(item, None)
        seen[item] = t
        if len(seen) > self.cap:
            seen.popitem(last=False)
            self.evictions += 1
        horizon = t - self.window
        while seen:  # stops at the first live item, like BoundedMap.expire
            first, last = next(iter(seen.items()))
            if last >= horizon:
                return
            del seen[first]

    def items(self) -> list[Hashable]:
        """The distinct items still inside the window, oldest first."""
        return list(self._seen)
