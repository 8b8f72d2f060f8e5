"""FTP bounce scans (``nmap -b``): an FTP server's data port probes, its client is the scanner.

In active-mode FTP the server opens each data connection from port 20 to the address and
port its client named in a PORT command. Clients name their own unprivileged ports, and
RFC 2577 (section 3) tells servers to refuse PORT to ports below 1024 for this reason: a
client that may name any address and port can walk a port list through the server, which
then looks like the scanner. So data connections from port 20 to many privileged ports are
a bounce scan, and the scanner is the client that held the server's FTP control connection
(TCP 21) while they were made. The control connection is reported when it ends (or at the
flow table's active timeout), so the alert comes then; probes are kept that long.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from detectors.ranges import check_ranges
from detectors.windows import BoundedMap
from sensors.events import Event, Flow, Transport

DATA_PORT = 20
"""Source port of active-mode FTP data connections (the server's ftp-data)."""
CONTROL_PORT = 21
"""The FTP control connection's server port."""
PRIVILEGED = 1024
"""Ports below this are never a client's data port (RFC 2577 section 3)."""
MAX_PROBES = 65_536
"""Distinct (host, port) probes one server's episode remembers (counts then stop growing)."""
MAX_CONTROLS = 1024
"""Control clients one server remembers (a public server's oldest are dropped beyond it)."""


@dataclass(frozen=True, kw_only=True)
class FtpBounceConfig:
    """Thresholds of the FTP bounce detector."""

    min_ports: int = 10
    """Distinct privileged (host, port) pairs one server's data port reached that make a
    bounce scan; ordinary transfers reach none."""
    memory_seconds: float = 3600.0
    """Probes are kept this long after the last one, for the control connection's report
    (the flow table's default active timeout)."""
    slack_seconds: float = 5.0
    """Probes this close outside a control connection's span still belong to it."""
    sample_size: int = 20
    """How many targets and evidence flows an alert lists."""
    max_servers: int = 10_000
    """State cap: the least recently active servers are dropped beyond it."""

    def __post_init__(self) -> None:
        checks = {
            "min_ports": 1 <= self.min_ports <= 65_535,
            "memory_seconds": 1.0 <= self.memory_seconds <= 86_400.0,
            "slack_seconds": 0.0 <= self.slack_seconds <= 3600.0,
            "sample_size": 1 <= self.sample_size <= 1000,
            "max_servers": 1 <= self.max_servers <= 10_000_000,
        }
        check_ranges(self, checks)


@dataclass
class _Server:
    """Privileged data connections one FTP server made, and its control clients."""

    last: float  # latest activity: probe start or control connection end
    sensor: str
    first: float = float("inf")  # first probe
    probed: float = float("-inf")  # latest probe
    probes: set[tuple[str, int]] = field(default_factory=set)
    evidence: list[str] = field(default_factory=list)
    controls: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    """Client -> (start, end, packets) of its control connections to the server."""
    fired: bool = False


class FtpBounce:
    """Names the FTP client behind data connections its server made to privileged ports."""

    name: ClassVar[str] = "ftpbounce"
    Config: ClassVar[type[FtpBounceConfig]] = FtpBounceConfig
    accepts: ClassVar[tuple[type[Event], ...]] = (Flow,)

    def __init__(self, config: FtpBounceConfig) -> None:
        self.config = config
        self._servers: BoundedMap[str, _Server] = BoundedMap(config.max_servers)

    def observe(self, event: Event) -> list[Alert]:
        """Count data connections to privileged ports; note control connections."""
        if not isinstance(event, Flow) or event.transport is not Transport.TCP:
            return []
        if event.src_port == DATA_PORT and event.dst_port < PRIVILEGED:
            server = self._server(event.src_ip, event.start, event.sensor)
            server.first = min(server.first, event.start)
            server.probed = max(server.probed, event.start)
            if len(server.probes) < MAX_PROBES:
                server.probes.add((event.dst_ip, event.dst_port))
            if len(server.evidence) < self.config.sample_size:
                server.evidence.append(event.id)
        elif event.dst_port == CONTROL_PORT and event.packets_in > 0:
            known = self._server(event.dst_ip, event.start, event.sensor)
            known.last = max(known.last, event.end)
            start, end, packets = known.controls.pop(event.src_ip, (event.start, event.end, 0))
            if len(known.controls) >= MAX_CONTROLS:
                del known.controls[next(iter(known.controls))]
            known.controls[event.src_ip] = (
                min(start, event.start),
                max(end, event.end),
                packets + event.packets_out,
            )
        else:
            return []
        return self._judge(event.src_ip if event.src_port == DATA_PORT else event.dst_ip)

    def flush(self, now: float) -> list[Alert]:
        """Forget servers silent (no probe, no control connection) for the whole memory."""
        horizon = now - self.config.memory_seconds
        self._servers.expire(lambda server: server.last < horizon)
        return []

    def _server(self, address: str, time: float, sensor: str) -> _Server:
        server = self._servers.touch(address, lambda: _Server(last=time, sensor=sensor))
        if time - server.last > self.config.memory_seconds:
            server = _Server(last=time, sensor=sensor)
            self._servers.pop(address)
            self._servers.touch(address, lambda: server)
        server.last = max(server.last, time)
        return server

    def _judge(self, address: str) -> list[Alert]:
        server = self._servers.get(address)
        c = self.config
        if server is None or server.fired or len(server.probes) < c.min_ports:
            return []
        # the client sent at least one PORT command per data connection it caused
        during = {
            client: packets
            for client, (start, end, packets) in server.controls.items()
            if start - c.slack_seconds <= server.first
            and server.probed <= end + c.slack_seconds
            and packets >= len(server.probes)
        }
        if not during:
            return []
        server.fired = True
        client = max(during, key=lambda k: (during[k], k))  # the session that sent the PORTs
        return [self._alert(address, client, server)]

    def _alert(self, bouncer: str, client: str, server: _Server) -> Alert:
        c = self.config
        hosts = sorted({host for host, _ in server.probes})
        ports = sorted({port for _, port in server.probes})
        return Alert(
            time=server.probed,
            first_seen=server.first,
            last_seen=server.probed,
            detector=self.name,
            rule="scan.ftp_bounce",
            severity=Severity.MEDIUM,
            sensor=server.sensor,
            source_ip=client,
            destination_ip=hosts[0],
            destinations=tuple(hosts[: c.sample_size]),
            destination_ports=tuple(ports[: c.sample_size]),
            tactic=Tactic.RECONNAISSANCE,
            technique="T1595",
            identifier=f"scan.ftp_bounce:{client}:{bouncer}",
            explanation=(
                f"FTP server {bouncer} opened data connections from port {DATA_PORT} to "
                f"{len(server.probes)} privileged ports on {len(hosts)} host(s) within "
                f"{server.probed - server.first:.0f}s while {client} held its FTP control "
                f"connection (threshold {c.min_ports}; RFC 2577 forbids such PORT targets): "
                f"{client} is scanning through the server (FTP bounce)"
            ),
            facts={
                "bouncer": bouncer,
                "ports": len(server.probes),
                "hosts": len(hosts),
                "threshold": c.min_ports,
                "control_clients": len(server.controls),
            },
            evidence=tuple(server.evidence),
        )
