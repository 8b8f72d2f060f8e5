"""Suricata EVE JSON (alert, anomaly, flow, dns, http, tls) → typed events.

Alerts and anomalies become ``IdsAlert`` with the signature, its id, category and severity
kept as Suricata logged them; the ``ids`` detector turns them into our alerts. Other event
types (stats, fileinfo, netflow...) are recognised but yield nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from sensors.events import (
    DnsQuery,
    Event,
    Flow,
    HttpRequest,
    IdsAlert,
    IdsKind,
    TcpOutcome,
    TlsHello,
    Transport,
)
from sensors.logs.addresses import canonical_ip
from sensors.logs.parser import LogContext
from sensors.logs.timestamps import iso_time

Row = Mapping[str, Any]
TRANSPORTS = {
    "TCP": Transport.TCP,
    "UDP": Transport.UDP,
    "ICMP": Transport.ICMP,
    "IPV6-ICMP": Transport.ICMPV6,
}
TCP_STATES = {
    "new": TcpOutcome.UNANSWERED,
    "syn_sent": TcpOutcome.UNANSWERED,
    "syn_recv": TcpOutcome.HALF_OPEN,
    "established": TcpOutcome.ESTABLISHED,
}


class EveParser:
    """One EVE JSON object per line (or per array element) → events."""

    name: ClassVar[str] = "eve"

    def __init__(self, context: LogContext) -> None:
        self.context = context

    def parse(self, text: str, line: int | None) -> list[Event] | None:
        """Events of one EVE record; None when the line is not an EVE JSON object."""
        try:
            row = json.loads(text)
        except ValueError:
            return None
        if not isinstance(row, dict) or "event_type" not in row:
            return None
        build = BUILDERS.get(str(row["event_type"]))
        time = iso_time(str(row.get("timestamp", "")))
        if build is None or time is None:
            return []
        try:
            event = build(self, row, time, line)
        except (KeyError, TypeError, ValueError, AttributeError):
            return None  # a record of the right type with the wrong shape
        return [] if event is None else [event]

    def _alert(self, row: Row, time: float, line: int | None) -> Event | None:
        alert = row["alert"]
        return IdsAlert(
            time=time,
            sensor=self.context.sensor,
            product="suricata",
            kind=IdsKind.ALERT,
            **_endpoints(row),
            signature=str(alert.get("signature", "")),
            signature_id=int(alert.get("signature_id", 0)),
            category=str(alert.get("category", "")),
            severity=_severity(alert.get("severity")),
            action=str(alert.get("action", "")),
            origin=self.context.origin,
            line=line,
        )

    def _anomaly(self, row: Row, time: float, line: int | None) -> Event | None:
        anomaly = row.get("anomaly", {})
        what = anomaly.get("event") or anomaly.get("code") or "anomaly"
        return IdsAlert(
            time=time,
            sensor=self.context.sensor,
            product="suricata",
            kind=IdsKind.ANOMALY,
            **_endpoints(row),
            signature=f"{anomaly.get('type', 'anomaly')}: {what}",
            category=str(anomaly.get("layer", "")),
            origin=self.context.origin,
            line=line,
        )

    def _flow(self, row: Row, time: float, line: int | None) -> Event | None:
        flow, ends = row["flow"], _endpoints(row)
        if ends["src_ip"] is None or ends["dst_ip"] is None:
            return None
        start = iso_time(str(flow.get("start", ""))) or time
        return Flow(
            start=start,
            end=iso_time(str(flow.get("end", ""))) or start,
            sensor=self.context.sensor,
            src_ip=ends["src_ip"],
            src_port=ends["src_port"] or 0,
            dst_ip=ends["dst_ip"],
            dst_port=ends["dst_port"] or 0,
            transport=ends["transport"],
            packets_out=int(flow.get("pkts_toserver", 0)),
            packets_in=int(flow.get("pkts_toclient", 0)),
            bytes_out=int(flow.get("bytes_toserver", 0)),
            bytes_in=int(flow.get("bytes_toclient", 0)),
            outcome=_outcome(ends["transport"], row.get("tcp", {}), flow),
        )

    def _dns(self, row: Row, time: float, line: int | None) -> Event | None:
        dns, ends = row["dns"], _endpoints(row)
        if ends["src_ip"] is None or ends["dst_ip"] is None:
            return None
        query = dns.get("rrname") or _first_query(dns)
        if not query:
            return None
        answered = dns.get("type") == "answer" or "answers" in dns
        return DnsQuery(
            time=time,
            sensor=self.context.sensor,
            src_ip=ends["src_ip"],
            src_port=ends["src_port"] or 0,
            dst_ip=ends["dst_ip"],
            dst_port=ends["dst_port"] or 0,
            transport=ends["transport"],
            query=str(query),
            qtype=str(dns.get("rrtype", "")),
            rcode=str(dns["rcode"]) if answered and "rcode" in dns else None,
            answers=len(dns.get("answers", []) or []),
        )

    def _http(self, row: Row, time: float, line: int | None) -> Event | None:
        http, ends = row["http"], _endpoints(row)
        if ends["src_ip"] is None:
            return None
        return HttpRequest(
            time=time,
            sensor=self.context.sensor,
            src_ip=ends["src_ip"],
            src_port=ends["src_port"],
            dst_ip=ends["dst_ip"],
            dst_port=ends["dst_port"],
            method=str(http.get("http_method", "")),
            host=str(http.get("hostname", "")),
            uri=str(http.get("url", "")),
            user_agent=str(http.get("http_user_agent", "")),
            status=int(http["status"]) if http.get("status") is not None else None,
            response_bytes=int(http.get("length", 0)),
            origin=self.context.origin,
            line=line,
        )

    def _tls(self, row: Row, time: float, line: int | None) -> Event | None:
        tls, ends = row["tls"], _endpoints(row)
        if ends["src_ip"] is None or ends["dst_ip"] is None:
            return None
        return TlsHello(
            time=time,
            sensor=self.context.sensor,
            src_ip=ends["src_ip"],
            src_port=ends["src_port"] or 0,
            dst_ip=ends["dst_ip"],
            dst_port=ends["dst_port"] or 0,
            server_name=str(tls.get("sni", "")),
            version=str(tls.get("version", "")),
            ja3=str((tls.get("ja3") or {}).get("hash", "")),
            ja4=str(tls.get("ja4", "") or ""),
        )


BUILDERS: Mapping[str, Callable[[EveParser, Row, float, int | None], Event | None]] = {
    "alert": EveParser._alert,
    "anomaly": EveParser._anomaly,
    "flow": EveParser._flow,
    "dns": EveParser._dns,
    "http": EveParser._http,
    "tls": EveParser._tls,
}
"""The EVE event types we turn into events, by ``event_type``."""


def _endpoints(row: Row) -> dict[str, Any]:
    """Source/destination address, port and transport of an EVE record."""
    return {
        "src_ip": canonical_ip(str(row.get("src_ip", ""))),
        "src_port": _port(row.get("src_port")),
        "dst_ip": canonical_ip(str(row.get("dest_ip", ""))),
        "dst_port": _port(row.get("dest_port")),
        "transport": TRANSPORTS.get(str(row.get("proto", "")).upper(), Transport.OTHER),
    }


def _port(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and 0 <= value <= 65_535 else None


def _severity(value: Any) -> int | None:
    return int(value) if isinstance(value, int) else None


def _first_query(dns: Row) -> str:
    """EVE v3 DNS records list their questions under ``queries``."""
    queries = dns.get("queries") or []
    return str(queries[0].get("rrname", "")) if queries else ""


def _outcome(transport: Transport, tcp: Row, flow: Row) -> TcpOutcome:
    """Our handshake outcome from Suricata's TCP state and packet counts."""
    answered = int(flow.get("pkts_toclient", 0)) > 0
    if transport is Transport.UDP:
        return TcpOutcome.ESTABLISHED if answered else TcpOutcome.UNANSWERED
    if transport is not Transport.TCP:
        return TcpOutcome.NOT_TCP
    state = str(tcp.get("state", ""))
    if tcp.get("rst") and not tcp.get("ack") and answered:
        return TcpOutcome.REJECTED
    if state in TCP_STATES:
        return TCP_STATES[state] if answered or state != "new" else TcpOutcome.UNANSWERED
    return TcpOutcome.CLOSED if tcp.get("syn") else TcpOutcome.MIDSTREAM
