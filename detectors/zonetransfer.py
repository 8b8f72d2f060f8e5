"""DNS zone transfers to hosts that are not the zone's secondaries: the whole map in one query.

An AXFR (or IXFR) request asks a server for every name of a zone. Only a zone's secondary
servers have a reason to send one, so a transfer requested by any other host is enumeration
(the ``dig axfr`` step of reconnaissance) whether or not the server complied. One request is
enough evidence; a transfer that was answered is worse than one that was refused.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import ClassVar

from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from detectors.ranges import check_ranges
from sensors.events import DnsQuery, Event

TRANSFERS = frozenset({"AXFR", "IXFR"})
"""Query types that ask for a whole zone (full, incremental)."""


@dataclass(frozen=True, kw_only=True)
class ZoneTransferConfig:
    """Who may transfer zones, and the state bound."""

    secondaries: tuple[str, ...] = ()
    """Addresses or networks of the site's secondary DNS servers: their transfers are normal."""
    max_pairs: int = 100_000
    """(requester, server, zone) triples remembered so each fires once; the oldest go first."""

    def __post_init__(self) -> None:
        for net in self.secondaries:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError as exc:
                raise ValueError(f"secondaries: {net!r} is not a network ({exc})") from exc
        check_ranges(self, {"max_pairs": 1 <= self.max_pairs <= 10_000_000})


class ZoneTransfer:
    """One alert per host that asks a server for a whole zone without being its secondary."""

    name: ClassVar[str] = "zonetransfer"
    Config: ClassVar[type[ZoneTransferConfig]] = ZoneTransferConfig
    accepts: ClassVar[tuple[type[Event], ...]] = (DnsQuery,)

    def __init__(self, config: ZoneTransferConfig) -> None:
        self.config = config
        self._peers = tuple(ipaddress.ip_network(n, strict=False) for n in config.secondaries)
        self._fired: dict[tuple[str, str, str], None] = {}  # insertion-ordered set

    def observe(self, event: Event) -> list[Alert]:
        """Alert on the first zone-transfer request of a requester, server and zone."""
        if not isinstance(event, DnsQuery) or event.qtype.upper() not in TRANSFERS:
            return []
        key = (event.src_ip, event.dst_ip, event.query.lower())
        if key in self._fired or self._is_secondary(event.src_ip):
            return []
        if len(self._fired) >= self.config.max_pairs:
            del self._fired[next(iter(self._fired))]
        self._fired[key] = None
        return [_alert(event)]

    def flush(self, now: float) -> list[Alert]:
        """Nothing is windowed: each request is judged as it is seen."""
        return []

    def _is_secondary(self, ip: str) -> bool:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(addr in net for net in self._peers)


def _alert(query: DnsQuery) -> Alert:
    """The alert for one transfer request; answered transfers rank higher than refused ones."""
    answered = query.answers > 0 and query.rcode in (None, "NOERROR")
    outcome = f"answered with {query.answers} records" if answered else "refused or unanswered"
    return Alert(
        time=query.time,
        first_seen=query.time,
        last_seen=query.time,
        detector=ZoneTransfer.name,
        rule="scan.zone_transfer",
        severity=Severity.MEDIUM if answered else Severity.LOW,
        sensor=query.sensor,
        source_ip=query.src_ip,
        destination_ip=query.dst_ip,
        destinations=(query.dst_ip,),
        destination_ports=(query.dst_port,),
        tactic=Tactic.RECONNAISSANCE,
        technique="T1590.002",
        identifier=f"scan.zone_transfer:{query.src_ip}:{query.dst_ip}:{query.query.lower()}",
        explanation=(
            f"{query.src_ip} asked {query.dst_ip} for the whole zone {query.query} "
            f"({query.qtype}) without being a listed secondary: {outcome}"
        ),
        facts={
            "zone": query.query,
            "qtype": query.qtype,
            "rcode": query.rcode or "",
            "answers": query.answers,
            "response_bytes": query.response_bytes,
            "answered": int(answered),
        },
        evidence=(query.id,),
    )
