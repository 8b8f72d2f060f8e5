"""``nssa correlate``: the central daemon that turns stored alerts into stored incidents.

Sensors write alerts; this daemon reads them in storage order (``Store.alerts_after``), hides
what exceptions cover (marking those alerts), correlates the alerts of the recent past in
memory and writes the incidents a new alert touched. Its position is saved in the store after
the incidents are written: a crash repeats at most the last page, and rewriting the same
incidents changes nothing, so restarts have no gaps and no duplicates.

It must be the only incident writer: two daemons would each rebuild incidents from their own
memory and overwrite each other. A lease in the store (taken at start, renewed on every step,
expiring ``LEASE_SECONDS`` after the last renewal) keeps a second one from starting, and a
daemon that finds its lease taken over (it stalled past the expiry) stops writing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from correlator.correlate import correlate_normal
from correlator.exceptions import apply as apply_exceptions
from correlator.incident import Incident
from correlator.lifecycle import carry_over, supersede, supersessions
from correlator.normalise import NormalAlert, normalise
from correlator.storage import AlertQuery, Store
from detectors.alert import Alert
from nssa.errors import LeaseHeldError
from nssa.settings import Settings

log = logging.getLogger("nssa.correlate")

CURSOR = "correlator"
"""Name of the daemon's saved position in the store."""
PAGE = 5000
"""Alerts read per step."""
WARM_LIMIT = 200_000
"""Most alerts reloaded at start to rebuild the open incidents."""
POLL_SECONDS = 2.0
"""Wait between reads when there is nothing new."""
LEASE = "correlator"
"""Name of the single-writer lease in the store."""
LEASE_SECONDS = 60.0
"""How long a lease lasts without renewal: a crashed daemon's successor waits at most this."""


@dataclass
class CorrelateReport:
    """What the daemon read and wrote."""

    alerts: int = 0
    suppressed: int = 0
    incidents_written: int = 0


class Follower:
    """Reads new alerts page by page and keeps the incidents they belong to up to date."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        page: int = PAGE,
        holder: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = store
        self.page = page
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.clock = clock
        self.renew()
        self.position = store.cursor(CURSOR)
        self.report = CorrelateReport()
        # The alerts of the recent past, normalised once (alert ids are content hashes, not
        # free): incidents are rebuilt from them on every step.
        self.recent: dict[str, NormalAlert] = {}
        # The incidents of the last step: what a new step compares with, to rewrite incidents
        # whose figures changed and to retire those a new alert folded into another.
        self.incidents: dict[str, Incident] = {}
        if self.position is not None:
            self._remember(self._warm())
            self.incidents = {i.id: i for i in self._correlate()}

    def renew(self) -> None:
        """Take or renew the single-writer lease; raise LeaseHeldError if another holds it."""
        lease = self.store.take_lease(LEASE, self.holder, self.clock(), LEASE_SECONDS)
        if lease.holder != self.holder:
            until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(lease.expires))
            raise LeaseHeldError(
                f"another correlator ({lease.holder}) is the incident writer until {until};"
                " stop it first, or wait for its lease to expire"
            )

    def release(self) -> None:
        """Give the lease up (a clean stop): a successor need not wait for it to expire."""
        self.store.take_lease(LEASE, self.holder, self.clock(), 0.0)

    def step(self) -> int:
        """Process one page of new alerts; return how many were read (0: caught up)."""
        self.renew()  # before writing anything: a daemon that lost its lease must not write
        page = self.store.alerts_after(self.position, self.page)
        if not page.alerts or page.position is None:
            return 0
        fresh = self._remember(page.alerts)
        incidents = self._correlate()
        previous, self.incidents = self.incidents, {i.id: i for i in incidents}
        # Changed, not only holding a new alert id: an incident's id list stops at
        # max_alerts_per_incident, but its count and last_seen still move.
        touched = [
            i for i in incidents if fresh.intersection(i.alert_ids) or previous.get(i.id, i) != i
        ]
        written = [carry_over(i, self.store.incident(i.id)) for i in touched]
        gone = (i for i in previous.values() if i.id not in self.incidents)
        for old, survivor in supersessions(gone, incidents).items():
            written.append(supersede(self.store.incident(old) or previous[old], survivor))
        if written:
            self.report.incidents_written += self.store.put_incidents(written)
        self.store.put_cursor(CURSOR, page.position)
        self.position = page.position
        self.report.alerts += len(page.alerts)
        return len(page.alerts)

    def _correlate(self) -> list[Incident]:
        return correlate_normal(
            self.recent.values(), self.settings.organisation, self.settings.correlator
        )

    def catch_up(self) -> None:
        """Process pages until no new alert is left."""
        while self.step():
            pass

    def _remember(self, alerts: Iterable[Alert]) -> set[str]:
        """Add alerts no exception hides (marking the others); return the added ids."""
        visible, marks = apply_exceptions(
            alerts, self.store.exceptions(), self.settings.organisation
        )
        if marks:
            self.report.suppressed += self.store.mark_alerts(marks)
        added = [normalise(alert, self.settings.organisation) for alert in visible]
        for item in added:
            self.recent[item.id] = item
        self._forget_old()
        return {item.id for item in added}

    def _forget_old(self) -> None:
        """Drop alerts too old to join an incident with anything new (two quiet gaps)."""
        if not self.recent:
            return
        newest = max(n.alert.time for n in self.recent.values())
        horizon = newest - 2 * self.settings.correlator.incident_gap
        self.recent = {k: n for k, n in self.recent.items() if n.alert.time >= horizon}

    def _warm(self) -> list[Alert]:
        """The stored alerts of the recent past, to rebuild open incidents after a restart."""
        newest = self.store.alerts(AlertQuery(limit=1))
        if not newest:
            return []
        # Not before 1970: Elasticsearch's nanosecond dates cannot hold earlier ones.
        since = max(0.0, newest[0].time - 2 * self.settings.correlator.incident_gap)
        return self.store.alerts(AlertQuery(since=since, limit=WARM_LIMIT))


def run_correlator(
    settings: Settings, store: Store, stop: threading.Event, *, poll: float = POLL_SECONDS
) -> CorrelateReport:
    """Follow new alerts until ``stop`` is set."""
    follower = Follower(settings, store)
    log.info("correlating from position %s", follower.position or "the start")
    while not stop.is_set():
        if not follower.step():
            stop.wait(poll)
    follower.release()
    return follower.report
