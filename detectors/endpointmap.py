"""RPC endpoint-mapper dumps: one connection that walks a host's whole table of RPC services.

A Windows client asks the endpoint mapper (TCP 135) where one interface listens: a bind and
one ``ept_map`` call, a handful of packets each way. Enumeration tools (``rpcdump``, nmap's
``msrpc-enum``, Metasploit's ``endpoint_mapper`` scanner) instead call ``ept_lookup`` once per
registered endpoint, and a host registers scores of them, so the one connection carries
dozens of request/response exchanges: a list of the host's services, ports and pipes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from detectors.ranges import check_ranges
from sensors.events import Event, Flow, Transport


@dataclass(frozen=True, kw_only=True)
class EndpointMapConfig:
    """Where the endpoint mapper listens and how many exchanges make a dump."""

    port: int = 135
    """TCP port of the RPC endpoint mapper."""
    min_exchanges: int = 40
    """Packets each way in one connection that make a dump: resolving one interface takes
    under ten (the benign MAPI and DCOM sessions we replayed take 3 to 6)."""

    def __post_init__(self) -> None:
        checks = {
            "port": 1 <= self.port <= 65_535,
            "min_exchanges": 2 <= self.min_exchanges <= 1_000_000,
        }
        check_ranges(self, checks)


class EndpointMap:
    """One alert per endpoint-mapper connection long enough to have listed every service."""

    name: ClassVar[str] = "endpointmap"
    Config: ClassVar[type[EndpointMapConfig]] = EndpointMapConfig
    accepts: ClassVar[tuple[type[Event], ...]] = (Flow,)

    def __init__(self, config: EndpointMapConfig) -> None:
        self.config = config

    def observe(self, event: Event) -> list[Alert]:
        """Alert on a finished endpoint-mapper connection with a dump's number of exchanges."""
        if not isinstance(event, Flow) or event.transport is not Transport.TCP:
            return []
        if event.dst_port != self.config.port:
            return []
        exchanges = min(event.packets_out, event.packets_in)
        if exchanges < self.config.min_exchanges:
            return []
        return [self._alert(event, exchanges)]

    def flush(self, now: float) -> list[Alert]:
        """Nothing is windowed: each connection is judged when its flow ends."""
        return []

    def _alert(self, flow: Flow, exchanges: int) -> Alert:
        c = self.config
        return Alert(
            time=flow.end,
            first_seen=flow.start,
            last_seen=flow.end,
            detector=self.name,
            rule="scan.endpoint_map",
            severity=Severity.MEDIUM,
            sensor=flow.sensor,
            source_ip=flow.src_ip,
            destination_ip=flow.dst_ip,
            destinations=(flow.dst_ip,),
            destination_ports=(flow.dst_port,),
            tactic=Tactic.DISCOVERY,
            technique="T1046",
            identifier=f"scan.endpoint_map:{flow.src_ip}:{flow.dst_ip}",
            explanation=(
                f"{flow.src_ip} exchanged {exchanges} packets each way with the RPC endpoint "
                f"mapper of {flow.dst_ip} in {flow.end - flow.start:.2f}s (threshold "
                f"{c.min_exchanges}): it walked the table of the host's RPC services"
            ),
            facts={
                "exchanges": exchanges,
                "threshold": c.min_exchanges,
                "request_bytes": flow.bytes_out,
                "response_bytes": flow.bytes_in,
                "duration_seconds": round(flow.end - flow.start, 3),
            },
            evidence=(flow.id,),
        )
