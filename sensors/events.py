"""The events sensors produce: flows, protocol metadata and log records.

Each event is a frozen, keyword-only dataclass whose fields declare their Elastic Common Schema
path; ``event_from_document`` turns a stored document back into the right event type.
Times are epoch seconds (UTC) taken from the capture or the log line, never from the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from sensors.ecs import cached_document, ecs, from_document, record_id


class Transport(StrEnum):
    """Transport protocol of a flow or request (ECS ``network.transport`` values)."""

    TCP = "tcp"
    UDP = "udp"
    ICMP = "icmp"
    ICMPV6 = "ipv6-icmp"
    ARP = "arp"
    OTHER = "other"


class TcpOutcome(StrEnum):
    """How a flow's handshake ended, from both directions (UDP: whether anything answered)."""

    ESTABLISHED = "established"  # handshake completed, not yet closed (UDP: answered)
    CLOSED = "closed"  # established, then FIN or RST
    REJECTED = "rejected"  # SYN answered by RST, or a probe by ICMP unreachable: closed
    UNANSWERED = "unanswered"  # SYN (or any probe) with no reply at all
    HALF_OPEN = "half_open"  # SYN, SYN-ACK, but the initiator never completed (SYN scan)
    MIDSTREAM = "midstream"  # no SYN from the initiator: stealth probe or capture started late
    NOT_TCP = "none"  # ICMP, ARP and others; see packets_in for whether anything answered


class AuthOutcome(StrEnum):
    """Result of an authentication attempt (ECS ``event.outcome``)."""

    SUCCESS = "success"
    FAILURE = "failure"
    UNKNOWN = "unknown"


class FirewallAction(StrEnum):
    """What a firewall did with a packet or connection (ECS ``event.action``)."""

    ALLOW = "allow"
    DENY = "deny"
    DROP = "drop"
    UNKNOWN = "unknown"


class _Record:
    """Mixin giving every event its ECS mapping and deterministic id."""

    ECS_CONSTANTS: ClassVar[Mapping[str, Any]] = {}

    @property
    def id(self) -> str:
        """Deterministic id: the same event always gets the same id."""
        return record_id(self)

    def to_ecs(self) -> dict[str, Any]:
        """Return the ECS document for this event (computed once per event)."""
        return cached_document(self)


@dataclass(frozen=True, kw_only=True)
class Flow(_Record):
    """A bidirectional conversation between an initiator (source) and a responder."""

    ECS_CONSTANTS: ClassVar[Mapping[str, Any]] = {
        "event.kind": "event",
        "event.category": ["network"],
        "event.dataset": "nssa.flow",
    }

    start: float = ecs("@timestamp", time=True)
    end: float = ecs("event.end", time=True)
    sensor: str = ecs("observer.name")
    src_ip: str = ecs("source.ip")
    src_port: int = ecs("source.port")
    dst_ip: str = ecs("destination.ip")
    dst_port: int = ecs("destination.port")
    transport: Transport = ecs("network.transport")
    packets_out: int = ecs("source.packets")
    packets_in: int = ecs("destination.packets")
    bytes_out: int = ecs("source.bytes")
    bytes_in: int = ecs("destination.bytes")
    outcome: TcpOutcome = ecs("nssa.flow.outcome")
    flags_out: str = ecs("nssa.flow.flags_out", default="")
    flags_in: str = ecs("nssa.flow.flags_in", default="")
    vlan: int | None = ecs("network.vlan.id", default=None)
    tunnel: str = ecs("nssa.flow.tunnel.type", default="")
    tunnel_id: int | None = ecs("nssa.flow.tunnel.id", default=None)
    outer_src_ip: str | None = ecs("nssa.flow.tunnel.source_ip", default=None)
    outer_dst_ip: str | None = ecs("nssa.flow.tunnel.destination_ip", default=None)
    iana_number: int | None = ecs("network.iana_number", default=None)
    beats: tuple[float, ...] | None = ecs("nssa.flow.beats", default=None)
    """Seconds from ``start`` at which each payload burst began (``sensors.beats``); None
    when the flow had fewer than two, so short flows' documents and ids are unchanged."""

    @property
    def answered(self) -> bool:
        """Whether the responder sent anything back."""
        return self.packets_in > 0


@dataclass(frozen=True, kw_only=True)
class DnsQuery(_Record):
    """One DNS question and, when seen, its answer."""

    ECS_CONSTANTS: ClassVar[Mapping[str, Any]] = {
        "event.kind": "event",
        "event.category": ["network"],
        "event.dataset": "nssa.dns",
    }

    time: float = ecs("@timestamp", time=True)
    sensor: str = ecs("observer.name")
    src_ip: str = ecs("source.ip")
    src_port: int = ecs("source.port")
    dst_ip: str = ecs("destination.ip")
    dst_port: int = ecs("destination.port")
    transport: Transport = ecs("network.transport")
    query: str = ecs("dns.question.name")
    qtype: str = ecs("dns.question.type")
    rcode: str | None = ecs("dns.response_code", default=None)
    answers: int = ecs("nssa.dns.answer_count", default=0)
    request_bytes: int = ecs("source.bytes", default=0)
    response_bytes: int = ecs("destination.bytes", default=0)


@dataclass(frozen=True, kw_only=True)
class HttpRequest(_Record):
    """One HTTP/1.x request, with its response when seen; the URI is kept raw."""

    ECS_CONSTANTS: ClassVar[Mapping[str, Any]] = {
        "event.kind": "event",
        "event.category": ["network", "web"],
        "event.dataset": "nssa.http",
    }

    time: float = ecs("@timestamp", time=True)
    sensor: str = ecs("observer.name")
    src_ip: str = ecs("source.ip")
    src_port: int | None = ecs("source.port", default=None)
    dst_ip: str | None = ecs("destination.ip", default=None)
    dst_port: int | None = ecs("destination.port", default=None)
    method: str = ecs("http.request.method")
    host: str = ecs("url.domain", default="")
    uri: str = ecs("url.original")
    user_agent: str = ecs("user_agent.original", default="")
    status: int | None = ecs("http.response.status_code", default=None)
    request_bytes: int = ecs("http.request.bytes", default=0)
    response_bytes: int = ecs("http.response.bytes", default=0)
    origin: str = ecs("log.origin.file.name", default="")
    user: str | None = ecs("user.name", default=None)
    line: int | None = ecs("log.origin.file.line", default=None)
    log_source: str | None = ecs("log.source.address", default=None)
    form: str = field(default="", repr=False, compare=False)
    """The URL-encoded form body seen with the head (capped), raw, for detectors only: it has
    no ECS path, so it is never stored nor hashed into the id (forms carry passwords)."""


@dataclass(frozen=True, kw_only=True)
class TlsHello(_Record):
    """A TLS ClientHello: who the client wanted to reach and how it fingerprints."""

    ECS_CONSTANTS: ClassVar[Mapping[str, Any]] = {
        "event.kind": "event",
        "event.category": ["network"],
        "event.dataset": "nssa.tls",
    }

    time: float = ecs("@timestamp", time=True)
    sensor: str = ecs("observer.name")
    src_ip: str = ecs("source.ip")
    src_port: int = ecs("source.port")
    dst_ip: str = ecs("destination.ip")
    dst_port: int = ecs("destination.port")
    server_name: str = ecs("tls.client.server_name", default="")
    version: str = ecs("tls.version", default="")
    ja3: str = ecs("tls.client.ja3", default="")
    ja4: str = ecs("tls.client.ja4", default="")


@dataclass(frozen=True, kw_only=True)
class AuthEvent(_Record):
    """An authentication attempt from a log (sshd, web login, RDP logon events)."""

    ECS_CONSTANTS: ClassVar[Mapping[str, Any]] = {
        "event.kind": "event",
        "event.category": ["authentication"],
        "event.dataset": "nssa.auth",
    }

    time: float = ecs("@timestamp", time=True)
    sensor: str = ecs("observer.name")
    src_ip: str | None = ecs("source.ip", default=None)
    dst_ip: str | None = ecs("destination.ip", default=None)
    dst_port: int | None = ecs("destination.port", default=None)
    host: str = ecs("host.name", default="")
    service: str = ecs("service.name")
    user: str = ecs("user.name", default="")
    outcome: AuthOutcome = ecs("event.outcome")
    method: str = ecs("nssa.auth.method", default="")
    reason: str = ecs("event.reason", default="")
    origin: str = ecs("log.origin.file.name", default="")
    line: int | None = ecs("log.origin.file.line", default=None)
    original: str = ecs("event.original", default="")
    src_domain: str | None = ecs("source.domain", default=None)
    log_source: str | None = ecs("log.source.address", default=None)


@dataclass(frozen=True, kw_only=True)
class FirewallEvent(_Record):
    """A firewall decision logged by a unit's firewall (iptables, nftables, appliances)."""

    ECS_CONSTANTS: ClassVar[Mapping[str, Any]] = {
        "event.kind": "event",
        "event.category": ["network"],
        "event.dataset": "nssa.firewall",
    }

    time: float = ecs("@timestamp", time=True)
    sensor: str = ecs("observer.name")
    action: FirewallAction = ecs("event.action")
    src_ip: str = ecs("source.ip")
    src_port: int | None = ecs("source.port", default=None)
    dst_ip: str = ecs("destination.ip")
    dst_port: int | None = ecs("destination.port", default=None)
    transport: Transport = ecs("network.transport")
    interface_in: str = ecs("observer.ingress.interface.name", default="")
    rule: str = ecs("rule.name", default="")
    origin: str = ecs("log.origin.file.name", default="")
    line: int | None = ecs("log.origin.file.line", default=None)
    original: str = ecs("event.original", default="")
    log_source: str | None = ecs("log.source.address", default=None)


class IdsKind(StrEnum):
    """What an existing IDS reported: a signature alert, a protocol anomaly or a notice."""

    ALERT = "alert"  # Suricata/Snort signature match
    ANOMALY = "anomaly"  # Suricata protocol anomaly (malformed or unexpected traffic)
    NOTICE = "notice"  # Zeek notice (a policy script flagged something)


@dataclass(frozen=True, kw_only=True)
class IdsAlert(_Record):
    """A finding of another IDS (Suricata EVE alert or anomaly, Zeek notice), kept as logged."""

    ECS_CONSTANTS: ClassVar[Mapping[str, Any]] = {
        "event.kind": "alert",
        "event.category": ["intrusion_detection"],
        "event.dataset": "nssa.ids",
    }

    time: float = ecs("@timestamp", time=True)
    sensor: str = ecs("observer.name")
    product: str = ecs("observer.product")
    kind: IdsKind = ecs("nssa.ids.kind")
    src_ip: str | None = ecs("source.ip", default=None)
    src_port: int | None = ecs("source.port", default=None)
    dst_ip: str | None = ecs("destination.ip", default=None)
    dst_port: int | None = ecs("destination.port", default=None)
    transport: Transport = ecs("network.transport", default=Transport.OTHER)
    signature: str = ecs("rule.name")
    signature_id: int = ecs("rule.id", default=0)
    category: str = ecs("rule.category", default="")
    severity: int | None = ecs("nssa.ids.severity", default=None)
    action: str = ecs("event.action", default="")
    message: str = ecs("message", default="")
    origin: str = ecs("log.origin.file.name", default="")
    line: int | None = ecs("log.origin.file.line", default=None)
    log_source: str | None = ecs("log.source.address", default=None)


@dataclass(frozen=True, kw_only=True)
class WebError(_Record):
    """A web server's error-log entry about a client (denied, not found, rate-limited)."""

    ECS_CONSTANTS: ClassVar[Mapping[str, Any]] = {
        "event.kind": "event",
        "event.category": ["web"],
        "event.dataset": "nssa.weberror",
    }

    time: float = ecs("@timestamp", time=True)
    sensor: str = ecs("observer.name")
    src_ip: str | None = ecs("source.ip", default=None)
    src_port: int | None = ecs("source.port", default=None)
    level: str = ecs("log.level", default="")
    module: str = ecs("log.logger", default="")
    reason: str = ecs("event.reason", default="")
    method: str = ecs("http.request.method", default="")
    uri: str = ecs("url.original", default="")
    host: str = ecs("url.domain", default="")
    outcome: AuthOutcome = ecs("event.outcome", default=AuthOutcome.FAILURE)
    origin: str = ecs("log.origin.file.name", default="")
    line: int | None = ecs("log.origin.file.line", default=None)
    log_source: str | None = ecs("log.source.address", default=None)


@dataclass(frozen=True, kw_only=True)
class SshHello(_Record):
    """The SSH version banners of one connection: client and server software."""

    ECS_CONSTANTS: ClassVar[Mapping[str, Any]] = {
        "event.kind": "event",
        "event.category": ["network"],
        "event.dataset": "nssa.ssh",
    }

    time: float = ecs("@timestamp", time=True)
    sensor: str = ecs("observer.name")
    src_ip: str = ecs("source.ip")
    src_port: int = ecs("source.port")
    dst_ip: str = ecs("destination.ip")
    dst_port: int = ecs("destination.port")
    client: str = ecs("nssa.ssh.client", default="")  # e.g. SSH-2.0-libssh_0.9.6; "" if unseen
    server: str = ecs("nssa.ssh.server", default="")  # e.g. SSH-2.0-OpenSSH_7.4


Event = (
    Flow
    | DnsQuery
    | HttpRequest
    | TlsHello
    | AuthEvent
    | FirewallEvent
    | IdsAlert
    | SshHello
    | WebError
)
"""Any record a sensor or log collector produces."""

EVENT_TYPES: Mapping[str, type[Event]] = {
    str(cls.ECS_CONSTANTS["event.dataset"]): cls
    for cls in (
        Flow,
        DnsQuery,
        HttpRequest,
        TlsHello,
        AuthEvent,
        FirewallEvent,
        IdsAlert,
        SshHello,
        WebError,
    )
}
"""Event types by their ``event.dataset`` value."""


def event_from_document(doc: Mapping[str, Any]) -> Event:
    """Rebuild an event of the right type from its stored ECS document."""
    dataset = doc.get("event", {}).get("dataset")
    cls = EVENT_TYPES.get(str(dataset))
    if cls is None:
        raise ValueError(f"not an NSSA event document: event.dataset={dataset!r}")
    return from_document(cls, doc)
