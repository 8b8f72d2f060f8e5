"""Login rate limiting: too many failures for one name or from one address pause logins."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

MAX_FAILURES = 5
"""Failed logins allowed per name and per address within ``WINDOW`` seconds."""
WINDOW = 300.0
"""Seconds a failure counts against its name and address (five minutes: slow for a guesser,
short for a colleague who mistyped)."""
MAX_KEYS = 10_000
"""Names and addresses remembered; beyond it the oldest are forgotten, bounding memory."""


class LoginThrottle:
    """Failure counts per key (a user name or a client address) in a sliding window."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, *keys: str) -> bool:
        """Whether any of ``keys`` has used up its failures in the window."""
        now = self._clock()
        with self._lock:
            return any(len(self._recent(key, now)) >= MAX_FAILURES for key in keys)

    def failed(self, *keys: str) -> None:
        """Count one failed login against each of ``keys``."""
        now = self._clock()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)
            while len(self._failures) > MAX_KEYS:
                del self._failures[next(iter(self._failures))]

    def succeeded(self, *keys: str) -> None:
        """Forget the failures of ``keys`` after a good login."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - WINDOW:
            times.popleft()
        return times
