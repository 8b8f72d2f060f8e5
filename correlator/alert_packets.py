"""The packets behind an alert: its evidence flows, the registered captures holding them, and
the extraction (``sensors.extract``) that cuts them out. Used by the dashboard and the CLI.

Only flow evidence has packets to cut: other evidence (DNS, HTTP, log events) is counted as
left aside. Whether an alert's packets can be offered at all is decided cheaply, from its
sensor and span against the registry (``with_captures``), without reading its evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from correlator.storage import Store
from detectors.alert import Alert
from sensors.capturefiles import CaptureFile, CaptureQuery
from sensors.events import Flow
from sensors.extract import Extraction, ExtractLimits, covering, extract

MAX_CAPTURES = 10_000
"""Registered files considered for one alert or page (a day of 10-second rotations)."""


@dataclass(frozen=True, kw_only=True)
class PacketSource:
    """What an alert's packets would be cut from: its flows and the files covering them."""

    flows: tuple[Flow, ...]
    captures: tuple[CaptureFile, ...]
    other_evidence: int  # evidence that is not a flow (no packets of its own to cut)

    @property
    def available(self) -> bool:
        """Whether any registered capture covers the alert's flows."""
        return bool(self.flows and self.captures)


def packet_source(store: Store, alert: Alert, margin: float | None = None) -> PacketSource:
    """The alert's evidence flows and the registered captures overlapping them."""
    margin = ExtractLimits().margin if margin is None else margin
    events = store.events_by_id(alert.evidence) if alert.evidence else []
    flows = tuple(e for e in events if isinstance(e, Flow))
    if not flows:
        return PacketSource(flows=(), captures=(), other_evidence=len(events))
    registered: list[CaptureFile] = []
    for sensor in sorted({f.sensor for f in flows}):
        mine = [f for f in flows if f.sensor == sensor]
        query = CaptureQuery(
            sensor=sensor,
            since=min(f.start for f in mine) - margin,
            until=max(f.end for f in mine) + margin,
            limit=MAX_CAPTURES,
        )
        registered.extend(store.captures(query))
    return PacketSource(
        flows=flows,
        captures=tuple(covering(registered, flows, margin)),
        other_evidence=len(events) - len(flows),
    )


def write_packets(
    source: PacketSource, out: BinaryIO, limits: ExtractLimits | None = None
) -> Extraction:
    """Cut the source's packets out of its captures into ``out`` (a pcap or pcapng)."""
    return extract(source.flows, source.captures, out, limits)


def with_captures(store: Store, alerts: Sequence[Alert]) -> frozenset[str]:
    """Ids of the alerts some registered capture of their sensor overlaps in time.

    A cheap pre-check for offering a download link (one registry query per sensor); the
    download itself reads the evidence flows and may still find no packet.
    """
    found: set[str] = set()
    for sensor in sorted({a.sensor for a in alerts}):
        mine = [a for a in alerts if a.sensor == sensor and a.evidence]
        if not mine:
            continue
        query = CaptureQuery(
            sensor=sensor or None,
            since=min(a.first_seen for a in mine),
            until=max(a.last_seen for a in mine),
            limit=MAX_CAPTURES,
        )
        files = store.captures(query)
        found.update(
            a.id for a in mine if any(c.overlaps(a.first_seen, a.last_seen) for c in files)
        )
    return frozenset(found)
