"""Zeek logs, TSV (``#fields`` header) or JSON: conn, dns, http, ssl and notice → events.

A TSV file declares its columns in ``#fields`` and its log in ``#path``; a JSON line names its
log in ``_path`` or, when Zeek wrote none, is recognised by its columns. Rows stay dicts inside
this module only. Other logs (dhcp, files, x509, weird...) are recognised and yield nothing.
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

Row = Mapping[str, Any]
TRANSPORTS = {"tcp": Transport.TCP, "udp": Transport.UDP, "icmp": Transport.ICMP}
CONN_STATES = {
    "S0": TcpOutcome.UNANSWERED,
    "REJ": TcpOutcome.REJECTED,
    "RSTRH": TcpOutcome.REJECTED,
    "S1": TcpOutcome.ESTABLISHED,
    "SF": TcpOutcome.CLOSED,
    "S2": TcpOutcome.CLOSED,
    "S3": TcpOutcome.CLOSED,
    "RSTO": TcpOutcome.CLOSED,
    "RSTR": TcpOutcome.CLOSED,
    "RSTOS0": TcpOutcome.HALF_OPEN,
    "SH": TcpOutcome.HALF_OPEN,
    "SHR": TcpOutcome.MIDSTREAM,
    "OTH": TcpOutcome.MIDSTREAM,
}
"""Zeek ``conn_state`` → our handshake outcome (see Zeek's conn/main.zeek)."""


class ZeekParser:
    """Zeek TSV and JSON logs; one instance per file, since TSV columns come from its header."""

    name: ClassVar[str] = "zeek"

    def __init__(self, context: LogContext) -> None:
        self.context = context
        self.fields: list[str] = []
        self.path = ""
        self.unset = "-"
        self.empty = "(empty)"

    def parse(self, text: str, line: int | None) -> list[Event] | None:
        """Events of one Zeek line; [] for headers and unmodelled logs; None otherwise."""
        if text.startswith("#"):
            return self._header(text)
        if text.startswith("{"):
            return self._json(text, line)
        if not self.fields or "\t" not in text:
            return None
        values = text.split("\t")
        if len(values) != len(self.fields):
            return None
        row = {k: self._value(v) for k, v in zip(self.fields, values, strict=True)}
        return self._events(self.path, row, line)

    def _header(self, text: str) -> list[Event] | None:
        key, _, rest = text[1:].partition("\t")
        if key.startswith("separator "):  # written "#separator \x09", with a space
            key = "separator"
        if key == "fields":
            self.fields = rest.split("\t")
        elif key == "path":
            self.path = rest
        elif key == "unset_field":
            self.unset = rest
        elif key == "empty_field":
            self.empty = rest
        elif key not in ("separator", "set_separator", "open", "close", "types"):
            return None
        return []

    def _value(self, value: str) -> Any:
        if value == self.unset:
            return None
        return "" if value == self.empty else value

    def _json(self, text: str, line: int | None) -> list[Event] | None:
        try:
            row = json.loads(text)
        except ValueError:
            return None
        if not isinstance(row, dict) or "ts" not in row:
            return None
        return self._events(str(row.get("_path") or _guess_path(row)), row, line)

    def _events(self, path: str, row: Row, line: int | None) -> list[Event] | None:
        build = BUILDERS.get(path)
        if build is None:
            return []
        try:
            event = build(self, row, float(row["ts"]), line)
        except (KeyError, TypeError, ValueError):
            return None
        return [] if event is None else [event]

    def _conn(self, row: Row, time: float, line: int | None) -> Event | None:
        ends = _endpoints(row)
        if ends is None:
            return None
        transport = TRANSPORTS.get(str(row.get("proto")), Transport.OTHER)
        return Flow(
            start=time,
            end=time + float(row.get("duration") or 0.0),
            sensor=self.context.sensor,
            **ends,
            transport=transport,
            packets_out=_count(row, "orig_pkts"),
            packets_in=_count(row, "resp_pkts"),
            bytes_out=_count(row, "orig_ip_bytes") or _count(row, "orig_bytes"),
            bytes_in=_count(row, "resp_ip_bytes") or _count(row, "resp_bytes"),
            outcome=_outcome(transport, row),
            flags_out=str(row.get("history") or ""),
        )

    def _dns(self, row: Row, time: float, line: int | None) -> Event | None:
        ends = _endpoints(row)
        if ends is None or not row.get("query"):
            return None
        answers = row.get("answers") or []
        return DnsQuery(
            time=time,
            sensor=self.context.sensor,
            **ends,
            transport=TRANSPORTS.get(str(row.get("proto")), Transport.UDP),
            query=str(row["query"]),
            qtype=str(row.get("qtype_name") or row.get("qtype") or ""),
            rcode=str(row["rcode_name"]) if row.get("rcode_name") else None,
            answers=len(answers.split(",") if isinstance(answers, str) else answers),
        )

    def _http(self, row: Row, time: float, line: int | None) -> Event | None:
        ends = _endpoints(row)
        if ends is None:
            return None
        return HttpRequest(
            time=time,
            sensor=self.context.sensor,
            **ends,
            method=str(row.get("method") or ""),
            host=str(row.get("host") or ""),
            uri=str(row.get("uri") or ""),
            user_agent=str(row.get("user_agent") or ""),
            status=int(row["status_code"]) if row.get("status_code") else None,
            request_bytes=_count(row, "request_body_len"),
            response_bytes=_count(row, "response_body_len"),
            origin=self.context.origin,
            user=str(row["username"]) if row.get("username") else None,
            line=line,
        )

    def _ssl(self, row: Row, time: float, line: int | None) -> Event | None:
        ends = _endpoints(row)
        if ends is None:
            return None
        return TlsHello(
            time=time,
            sensor=self.context.sensor,
            **ends,
            server_name=str(row.get("server_name") or ""),
            version=str(row.get("version") or ""),
            ja3=str(row.get("ja3") or ""),
            ja4=str(row.get("ja4") or ""),
        )

    def _notice(self, row: Row, time: float, line: int | None) -> Event | None:
        src = canonical_ip(str(row.get("id.orig_h") or row.get("src") or ""))
        dst = canonical_ip(str(row.get("id.resp_h") or row.get("dst") or ""))
        port = row.get("id.resp_p") or row.get("p")
        return IdsAlert(
            time=time,
            sensor=self.context.sensor,
            product="zeek",
            kind=IdsKind.NOTICE,
            src_ip=src,
            dst_ip=dst,
            dst_port=int(port) if port is not None else None,
            transport=TRANSPORTS.get(str(row.get("proto")), Transport.OTHER),
            signature=str(row.get("note") or "notice"),
            message=str(row.get("msg") or ""),
            category=str(row.get("sub") or ""),
            origin=self.context.origin,
            line=line,
        )


BUILDERS: Mapping[str, Callable[[ZeekParser, Row, float, int | None], Event | None]] = {
    "conn": ZeekParser._conn,
    "dns": ZeekParser._dns,
    "http": ZeekParser._http,
    "ssl": ZeekParser._ssl,
    "notice": ZeekParser._notice,
}
"""The Zeek logs we turn into events, by ``#path``/``_path``."""


def _guess_path(row: Row) -> str:
    """Which log a JSON row without ``_path`` comes from, by its distinctive columns."""
    if "note" in row:
        return "notice"
    if "conn_state" in row or "orig_pkts" in row:
        return "conn"
    if "query" in row and ("qtype_name" in row or "trans_id" in row or "rcode_name" in row):
        return "dns"
    if "method" in row and "uri" in row:
        return "http"
    if "server_name" in row or "cipher" in row:
        return "ssl"
    return ""


def _endpoints(row: Row) -> dict[str, Any] | None:
    src = canonical_ip(str(row.get("id.orig_h") or ""))
    dst = canonical_ip(str(row.get("id.resp_h") or ""))
    if src is None or dst is None:
        return None
    return {
        "src_ip": src,
        "src_port": int(row.get("id.orig_p") or 0),
        "dst_ip": dst,
        "dst_port": int(row.get("id.resp_p") or 0),
    }


def _count(row: Row, key: str) -> int:
    value = row.get(key)
    return int(value) if value not in (None, "") else 0


def _outcome(transport: Transport, row: Row) -> TcpOutcome:
    if transport is Transport.UDP:
        return TcpOutcome.ESTABLISHED if _count(row, "resp_pkts") else TcpOutcome.UNANSWERED
    if transport is not Transport.TCP:
        return TcpOutcome.NOT_TCP
    return CONN_STATES.get(str(row.get("conn_state")), TcpOutcome.MIDSTREAM)
