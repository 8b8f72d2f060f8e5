"""Live updates as server-sent events: the picture a viewer sees, sent again when it changes.

Pure apart from the injected ``read``, ``clock`` and ``wait``: the route supplies the store
read and real time, tests a scripted one.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from dataclasses import asdict, dataclass

from dashboard.live_alerts import AlertTally, alerts_message

RETRY_MS = 5000
"""How long a browser waits before reconnecting once a stream ends (its lifetime is up)."""


@dataclass(frozen=True, kw_only=True)
class LivePicture:
    """The few figures whose change means a viewer's page is out of date."""

    incidents: int  # every incident in the viewer's units
    open_incidents: int
    critical: int  # live incidents of critical severity
    latest_ms: int  # newest activity of any of them, epoch milliseconds; 0 when none
    score: int = 0  # the overview's posture score: worst hourly risk over its window


@dataclass(frozen=True, kw_only=True)
class StreamTiming:
    """How often the store is read, when a silent stream sends a keep-alive, and its lifetime."""

    poll: float = 5.0
    heartbeat: float = 20.0  # below the usual 30-60 s idle timeout of proxies
    lifetime: float = 300.0  # a stream holds a server thread; the browser reconnects after


class SharedReads:
    """One store read per scope and ``max_age``, however many open pages ask for it.

    Every city-wide viewer sees the same picture: without sharing, each open page would read
    the store at every poll.
    """

    def __init__(self, max_age: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._held: dict[Hashable, tuple[float, LivePicture]] = {}

    def get(self, key: Hashable, read: Callable[[], LivePicture]) -> LivePicture:
        """The picture for ``key`` (a viewer's units), read again once older than ``max_age``."""
        with self._lock:  # a reader that finds a fresh picture waits instead of reading too
            held = self._held.get(key)
            if held is not None and self._clock() - held[0] < self.max_age:
                return held[1]
            picture = read()
            self._held[key] = (self._clock(), picture)
            return picture


def message(picture: LivePicture) -> str:
    """One ``picture`` event in the text/event-stream format."""
    return f"event: picture\ndata: {json.dumps(asdict(picture), sort_keys=True)}\n\n"


def stream(
    read: Callable[[], LivePicture],
    timing: StreamTiming,
    *,
    alerts: Callable[[], AlertTally] | None = None,
    clock: Callable[[], float] = time.monotonic,
    wait: Callable[[float], None] = time.sleep,
) -> Iterator[str]:
    """The event stream: the picture at once, then each changed one, keep-alives in between.

    With ``alerts`` (a running tally), an ``alerts`` event follows each poll that found alerts
    stored since the previous one (never at once: what was there when the page opened is old).
    """
    yield f"retry: {RETRY_MS}\n\n"
    start = last_write = clock()
    sent: LivePicture | None = None
    counted = alerts() if alerts is not None else None
    while True:
        picture = read()
        tally = alerts() if alerts is not None else None
        if picture != sent:
            yield message(picture)
            sent, last_write = picture, clock()
        if tally is not None and counted is not None and tally != counted:
            yield alerts_message(tally.since(counted))
            counted, last_write = tally, clock()
        elif picture == sent and clock() - last_write >= timing.heartbeat:
            yield ": keep-alive\n\n"  # a comment: browsers ignore it, proxies see traffic
            last_write = clock()
        if clock() + timing.poll - start > timing.lifetime:
            return
        wait(timing.poll)
