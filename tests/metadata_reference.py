"""Side-by-side application metadata: ours from a capture, and tshark's from the same file."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sensors.capture import read_batches
from sensors.decode import decode
from sensors.dns import qtype_text, rcode_text
from sensors.events import DnsQuery, Event, HttpRequest, SshHello, TlsHello
from sensors.metadata import MetadataExtractor


def extract(path: Path, extractor: MetadataExtractor | None = None) -> list[Event]:
    """All metadata events of a capture, flushed at the end."""
    extractor = extractor or MetadataExtractor("test")
    events: list[Event] = []
    for batch in read_batches(path):
        events.extend(extractor.add(batch, decode(batch)))
    return events + extractor.flush()


def tshark_rows(
    path: Path, display: str, fields: list[str], options: tuple[str, ...] = ()
) -> list[list[str]]:
    """Rows of ``tshark -T fields`` for the packets matching a display filter."""
    args = ["tshark", "-n", "-r", str(path), *options, "-Y", display, "-T", "fields"]
    args += ["-E", "occurrence=f"]
    for name in fields:
        args += ["-e", name]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=120).stdout
    return [line.split("\t") for line in out.splitlines()]


@dataclass
class Side:
    """Multisets of the compared fields, one per protocol."""

    dns_queries: Counter[tuple[str, str]] = field(default_factory=Counter)
    dns_responses: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    http_requests: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    http_status: Counter[int] = field(default_factory=Counter)
    tls: Counter[tuple[str, str]] = field(default_factory=Counter)
    ssh: Counter[str] = field(default_factory=Counter)


def ours(events: list[Event]) -> Side:
    """Our events as multisets."""
    side = Side()
    for e in events:
        if isinstance(e, DnsQuery):
            name = presentation_to_tshark(e.query)
            if e.request_bytes:
                side.dns_queries[name, e.qtype] += 1
            if e.rcode is not None:
                side.dns_responses[name, e.rcode, e.answers] += 1
        elif isinstance(e, HttpRequest):
            side.http_requests[e.method, e.host, e.uri, e.user_agent] += 1
            if e.status is not None:
                side.http_status[e.status] += 1
        elif isinstance(e, TlsHello):
            side.tls[e.server_name, e.ja3] += 1
        elif isinstance(e, SshHello):
            side.ssh.update(b for b in (e.client, e.server) if b)
    return side


def presentation_to_tshark(name: str) -> str:
    """Our RFC 1035 presentation escapes (``\\228``) as tshark prints them: raw bytes as text."""
    raw = re.sub(rb"\\(\d{3})", lambda m: bytes([int(m.group(1))]), name.encode())
    return raw.replace(b"\\.", b".").decode("utf-8", "replace")


DNS_FIELDS = ["ip.src", "ipv6.src", "udp.srcport", "tcp.srcport", "dns.id", "dns.flags.response"]
DNS_FIELDS += ["dns.qry.name", "dns.qry.type", "dns.flags.rcode", "dns.count.answers"]
OTHER_FIELDS = ["tls.handshake.type", "tls.handshake.extensions_server_name", "tls.handshake.ja3"]
OTHER_FIELDS += ["ssh.protocol"]
HTTP_FIELDS = ["http.request.method", "http.host", "http.request.uri", "http.user_agent"]
HTTP_FIELDS += ["http.response.code"]
DNS_FILTER = "((dns || mdns) && dns.count.queries > 0 && !icmp && !icmpv6)"
OTHER_FILTER = f"{DNS_FILTER} || (tls.handshake.type == 1 && tcp) || ssh.protocol"


def theirs(path: Path, decode_as: tuple[str, ...] = ()) -> Side:
    """tshark's view of the same capture, normalised to what we report.

    DNS quoted inside ICMP errors is left out, and a query repeated with the same client,
    port and id (a retransmission) counts once, as in our pending table. HTTP heads are read
    per segment (no reassembly), which is what we do, so a response whose body was not fully
    captured still counts; HTTP over UDP (SSDP) is left out. ``decode_as`` are ``-d`` rules
    for SSH and TLS on ports tshark does not know.
    """
    side = Side()
    options = tuple(arg for rule in decode_as for arg in ("-d", rule))
    repeated: set[tuple[str, ...]] = set()
    for row in tshark_rows(path, OTHER_FILTER, DNS_FIELDS + OTHER_FIELDS, options):
        dns, (hs_type, sni, ja3, banner) = row[: len(DNS_FIELDS)], row[len(DNS_FIELDS) :]
        if dns[4]:
            _dns_row(side, dns, repeated)
        if hs_type == "1":
            side.tls[sni, ja3] += 1
        if banner:
            side.ssh[banner] += 1
    per_segment = (*options, "-o", "tcp.desegment_tcp_streams:FALSE")
    http = "(http.request || http.response) && tcp"
    for method, host, uri, agent, code in tshark_rows(path, http, HTTP_FIELDS, per_segment):
        if method:
            side.http_requests[method, host, uri, agent] += 1
        if code:
            side.http_status[int(code)] += 1
    return side


def _dns_row(side: Side, row: list[str], repeated: set[tuple[str, ...]]) -> None:
    """Count one DNS packet of tshark's output."""
    src4, src6, usport, tsport, txid, resp, name, qtype, rcode, count = row
    if not qtype:
        return  # tshark could not read the question: we count it malformed
    name = presentation_to_tshark(name) if name else "."
    if resp == "0":
        key = (src4 or src6, usport or tsport, txid, name)
        if key not in repeated:
            side.dns_queries[name, qtype_text(int(qtype))] += 1
        repeated.add(key)
    else:
        side.dns_responses[name, rcode_text(int(rcode)), int(count)] += 1
