"""New alerts for the live stream: the store's alerts read on in storage order, by severity.

One ``AlertFeed`` per app reads on from the store's end (``Store.alerts_after``) at most once
per interval, however many pages are open, and keeps a running tally per viewer scope; each
stream sends the difference from the tally it last sent. Alerts carry no unit: a unit viewer
counts the alerts whose source or destination address is in one of its units.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from correlator.organisation import OrganisationMap
from correlator.storage import Store
from detectors.alert import Alert, Severity

PAGE = 5000
"""Alerts read per store call."""
MAX_PAGES = 20
"""Pages read per interval at most: a burst is counted over the next intervals, not in one."""
MAX_SCOPES = 64
"""Viewer scopes tallied at most (one per distinct set of units); pages of more count none."""
CORRELATOR_CURSOR = "correlator"
"""The correlate daemon's saved position (``nssa.correlated.CURSOR``): near the store's end."""


@dataclass(frozen=True, kw_only=True)
class AlertTally:
    """Alerts counted since the feed started, per severity (in ``Severity`` order)."""

    counts: tuple[int, ...] = (0,) * len(Severity)

    def added(self, alert_severities: Sequence[Severity]) -> AlertTally:
        """This tally with ``alert_severities`` counted too."""
        order = list(Severity)
        counts = list(self.counts)
        for severity in alert_severities:
            counts[order.index(severity)] += 1
        return AlertTally(counts=tuple(counts))

    def since(self, earlier: AlertTally) -> AlertTally:
        """The alerts counted after ``earlier`` (a tally of the same feed)."""
        return AlertTally(
            counts=tuple(a - b for a, b in zip(self.counts, earlier.counts, strict=True))
        )

    @property
    def total(self) -> int:
        """Alerts of every severity."""
        return sum(self.counts)


def alerts_message(new: AlertTally) -> str:
    """One ``alerts`` event: the alerts stored since the stream's previous one, by severity."""
    data = {s.value: n for s, n in zip(Severity, new.counts, strict=True)} | {"total": new.total}
    return f"event: alerts\ndata: {json.dumps(data, sort_keys=True)}\n\n"


class AlertFeed:
    """The store's new alerts, read on at most every ``interval`` seconds, tallied per scope."""

    def __init__(
        self,
        store: Store,
        organisation: OrganisationMap,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        page: int = PAGE,
        max_pages: int = MAX_PAGES,
    ) -> None:
        self._store, self._organisation = store, organisation
        self.interval, self._clock = interval, clock
        self._page_size, self._max_pages = page, max_pages
        self._lock = threading.Lock()
        # Alerts stored before the first page opened are not new: the feed reads on from the
        # correlate daemon's position (else the start) without counting until it reaches the end.
        self._position = store.cursor(CORRELATOR_CURSOR)
        self._catching_up = True
        self._read_at = float("-inf")
        self._tallies: dict[frozenset[str] | None, AlertTally] = {}

    def tally(self, units: frozenset[str] | None) -> AlertTally:
        """The running tally of ``units`` (None: every unit), counted from its first request."""
        with self._lock:
            if units not in self._tallies and len(self._tallies) >= MAX_SCOPES:
                return AlertTally()  # never another scope's counts: this page just sees none
            if self._clock() - self._read_at >= self.interval:
                self._read_on()
                self._read_at = self._clock()
            return self._tallies.setdefault(units, AlertTally())

    def _read_on(self) -> None:
        for _ in range(self._max_pages):
            alerts = self._page()
            if not self._catching_up:
                for key, tally in self._tallies.items():
                    in_scope = [a.severity for a in alerts if self._in(a, key)]
                    self._tallies[key] = tally.added(in_scope)
            if len(alerts) < self._page_size:
                self._catching_up = False  # at the end: from now on every alert read is new
                return

    def _page(self) -> list[Alert]:
        page = self._store.alerts_after(self._position, self._page_size)
        self._position = page.position
        return page.alerts

    def _in(self, alert: Alert, units: frozenset[str] | None) -> bool:
        if units is None:
            return True
        for address in (alert.source_ip, alert.destination_ip):
            unit = self._organisation.locate(address)
            if unit is not None and unit.code in units:
                return True
        return False
