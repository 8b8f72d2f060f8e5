"""DNS wire format: a header-and-question parser and a query/response pairing table.

Only the header and the question section are read; the answer count comes from the header, so
a response truncated by the snap length still yields its rcode and count. DNS over TCP is read
from the segment that starts each message (RFC 1035 §4.2.2 length prefix), joined with the next
in-order segment when the question itself is cut (some servers send the 2-byte prefix alone);
segments in the middle of a long message are rejected as malformed, since nothing is reported
from the answer records.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from sensors.events import DnsQuery, Transport
from sensors.segment import Segment

HEADER = struct.Struct("!HHHHHH")
MAX_JUMPS = 16  # real names need a handful of pointers; more means a loop or an attack
MAX_NAME = 255  # RFC 1035 §3.1 limit on a name's wire length
MAX_QUESTIONS = 4  # every real resolver sends one question; more is garbage
MAX_OPCODE = 6  # DSO (RFC 8490) is the highest assigned opcode; above it is garbage
MAX_HELD = 2 + 12 + MAX_NAME + 4  # a cut TCP message is held only until its question is whole

QTYPES = {
    1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 10: "NULL", 12: "PTR", 13: "HINFO", 15: "MX",
    16: "TXT", 17: "RP", 28: "AAAA", 29: "LOC", 33: "SRV", 35: "NAPTR", 39: "DNAME", 41: "OPT",
    43: "DS", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 50: "NSEC3", 52: "TLSA", 64: "SVCB",
    65: "HTTPS", 99: "SPF", 251: "IXFR", 252: "AXFR", 255: "ANY", 256: "URI", 257: "CAA",
}  # fmt: skip
RCODES = {
    0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
    6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE",
}  # fmt: skip


class DnsMessage(NamedTuple):
    """The parts of a DNS message the sensor reports.

    A named tuple rather than a frozen dataclass: one is built for every DNS message on the
    sensor's hot path, and a tuple is built four times faster; it never leaves this module's
    tracker (events carry its fields).
    """

    txid: int
    response: bool
    opcode: int
    rcode: int
    name: str
    qtype: int
    questions: int
    answers: int
    size: int


def qtype_text(qtype: int) -> str:
    """Mnemonic of a query type, or RFC 3597's ``TYPEnnn`` for unknown ones."""
    return QTYPES.get(qtype, f"TYPE{qtype}")


def rcode_text(rcode: int) -> str:
    """Mnemonic of a response code (header rcode only; EDNS extended bits are not read)."""
    return RCODES.get(rcode, f"RCODE{rcode}")


PLAIN = bytes(b for b in range(0x21, 0x7F) if b not in (0x2E, 0x5C))
"""Label bytes shown as themselves; anything else is escaped."""


def _label_text(raw: bytes) -> str:
    """Presentation form of one label (RFC 1035 §5.1 escapes for dots and non-printables)."""
    if not raw.translate(None, PLAIN):  # the common case, checked in C: nothing to escape
        return raw.decode("ascii")
    out = []
    for byte in raw:
        if byte in (0x2E, 0x5C):
            out.append("\\" + chr(byte))
        elif 0x21 <= byte <= 0x7E:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return "".join(out)


def read_name(data: bytes, at: int) -> tuple[str, int] | None:
    """Read a possibly compressed name at ``at``; return it and the offset after it."""
    labels: list[str] = []
    end = -1  # offset after the name in the original position, set at the first pointer
    jumps = wire = 0
    while True:
        if at >= len(data):
            return None
        length = data[at]
        if length == 0:
            break
        if length & 0xC0 == 0xC0:
            if at + 1 >= len(data) or jumps >= MAX_JUMPS:
                return None
            target = (length & 0x3F) << 8 | data[at + 1]
            if target >= at:  # only backward pointers: a forward or self pointer can loop
                return None
            end = at + 2 if end < 0 else end
            at, jumps = target, jumps + 1
            continue
        if length & 0xC0 or at + 1 + length > len(data):
            return None  # 0x40/0x80 label types are obsolete; or the label is cut off
        wire += length + 1
        if wire > MAX_NAME:
            return None
        labels.append(_label_text(data[at + 1 : at + 1 + length]))
        at += 1 + length
    return (".".join(labels) or "."), (end if end >= 0 else at + 1)


PLAIN_OR_DOT = PLAIN + b"."
"""Bytes of a dotted name that need no escape once no label holds a dot itself."""
MAX_LABEL = 63  # RFC 1035 §2.3.4; larger length bytes are pointers or obsolete label types
NAME_CACHE = 8192  # names repeat (a few popular domains); tunnels' unique names just miss
QTYPE = struct.Struct("!H")


def _question_name(data: bytes) -> tuple[str, int] | None:
    """Fast path for the question name at offset 12: plain uncompressed labels only.

    Nothing precedes the question, so a real one never needs a pointer; in a plain name no
    byte is zero but the terminator, so one C-level search finds the whole name. Anything
    unusual (a pointer, an escape, a cut or overlong name) returns None for the full reader.
    """
    end = data.find(0, HEADER.size)
    if end < 0:
        return None
    name = _plain_name(data[HEADER.size : end])
    return None if name is None else (name, end + 1)


@lru_cache(maxsize=NAME_CACHE)
def _plain_name(wire: bytes) -> str | None:
    """Dotted text of a name's labels (no terminator), or None when not plain and whole."""
    if not wire or len(wire) > MAX_NAME:
        return None
    labels = []
    at = 0
    while at < len(wire):
        length = wire[at]
        if length > MAX_LABEL:
            return None
        labels.append(wire[at + 1 : at + 1 + length])
        at += 1 + length
    name = b".".join(labels)
    if (
        at != len(wire)  # the last label ran over the terminator: it holds a zero byte
        or name.translate(None, PLAIN_OR_DOT)
        or name.count(b".") >= len(labels)  # a dot inside a label must be escaped
    ):
        return None
    return name.decode("ascii")


def parse_dns(data: bytes) -> DnsMessage | None:
    """Parse a DNS message's header and first question; None when it is not plausible DNS."""
    if len(data) < HEADER.size:
        return None
    txid, flags, qd, an, _ns, _ar = HEADER.unpack_from(data)
    opcode = flags >> 11 & 0xF
    if opcode > MAX_OPCODE or not 1 <= qd <= MAX_QUESTIONS:
        return None  # no question: mDNS announcements and garbage carry nothing to report
    read = _question_name(data) or read_name(data, HEADER.size)
    if read is None or read[1] + 4 > len(data):
        return None
    name, at = read
    qtype = QTYPE.unpack_from(data, at)[0]
    response = bool(flags & 0x8000)
    return DnsMessage(txid, response, opcode, flags & 0xF, name, qtype, qd, an, len(data))


def tcp_messages(data: bytes) -> tuple[list[bytes], int]:
    """Split a DNS-over-TCP stream into messages by length prefix; the last may be cut off.

    Returns the messages (a cut last one included once its header is there) and the offset
    where a cut last message starts, or -1 when the data ends on a message boundary.
    """
    out = []
    at = 0
    while at < len(data):
        length = data[at] << 8 | data[at + 1] if at + 1 < len(data) else HEADER.size
        if length < HEADER.size:
            break  # not a message start: a continuation segment or garbage
        if at + 2 + HEADER.size <= len(data):
            out.append(data[at + 2 : at + 2 + length])
        if at + 2 + length > len(data):
            return out, at
        at += 2 + length
    return out, -1


@dataclass
class DnsStats:
    """Counters of the DNS tracker."""

    messages: int = 0
    queries: int = 0
    responses: int = 0
    malformed: int = 0
    retransmits: int = 0  # a query repeated while the first is still pending
    orphans: int = 0  # responses with no pending query (capture started late, or reflection)
    unanswered: int = 0
    evicted: int = 0


@dataclass
class _Pending:
    """A query waiting for its response."""

    seg: Segment
    msg: DnsMessage


PendingKey = tuple[str, int, str, int]


class DnsTracker:
    """Pairs queries with responses by (client, client port, server, id) in a bounded table."""

    def __init__(self, sensor: str, timeout: float, cap: int) -> None:
        self.sensor, self.timeout, self.cap = sensor, timeout, cap
        self.stats = DnsStats()
        self._pending: OrderedDict[PendingKey, _Pending] = OrderedDict()
        self._held: OrderedDict[int, tuple[bytes, int]] = OrderedDict()  # cut message starts

    def add(self, seg: Segment) -> list[DnsQuery]:
        """Take one UDP datagram or TCP segment to or from a DNS port."""
        if not seg.tcp:  # the common case: one datagram, one message
            return self._message(seg, seg.data)
        events: list[DnsQuery] = []
        for chunk in self._tcp(seg):
            events.extend(self._message(seg, chunk))
        return events

    def _message(self, seg: Segment, data: bytes) -> list[DnsQuery]:
        """Take one message carried by ``seg``."""
        msg = parse_dns(data)
        self.stats.messages += 1
        if msg is None:
            self.stats.malformed += 1
            return []
        return self._response(seg, msg) if msg.response else self._query(seg, msg)

    def _tcp(self, seg: Segment) -> list[bytes]:
        """Messages starting in a TCP segment, joined to a held message start when in order."""
        held = self._held.pop(seg.key, None)
        data = seg.data
        if held is not None and held[1] == seg.seq:
            data = held[0] + data
        messages, cut = tcp_messages(data)
        if cut >= 0 and len(data) - cut <= MAX_HELD:
            short = len(data) - cut < 2 + HEADER.size
            if short or parse_dns(messages[-1]) is None:
                self._held[seg.key] = (data[cut:], (seg.seq + len(seg.data)) & 0xFFFFFFFF)
                messages = messages if short else messages[:-1]
            if len(self._held) > self.cap:
                self._held.popitem(last=False)
                self.stats.evicted += 1
        return messages

    def _query(self, seg: Segment, msg: DnsMessage) -> list[DnsQuery]:
        self.stats.queries += 1
        key = (seg.src, seg.sport, seg.dst, msg.txid)
        out = []
        held = self._pending.get(key)
        if held is not None and (held.msg.name, held.msg.qtype) == (msg.name, msg.qtype):
            self.stats.retransmits += 1
            return []
        if held is not None:  # the id was reused for another question (mDNS always uses 0)
            del self._pending[key]
            out.append(self._unanswered(held))
        self._pending[key] = _Pending(seg, msg)
        if len(self._pending) > self.cap:
            self.stats.evicted += 1
            out.append(self._unanswered(self._pending.popitem(last=False)[1]))
        return out

    def _response(self, seg: Segment, msg: DnsMessage) -> list[DnsQuery]:
        self.stats.responses += 1
        query = self._pending.pop((seg.dst, seg.dport, seg.src, msg.txid), None)
        if query is None:
            self.stats.orphans += 1
            return [self._event(seg, msg, seg.dst, seg.dport, seg.src, seg.sport, response=msg)]
        q = query.seg
        return [self._event(q, query.msg, q.src, q.sport, q.dst, q.dport, response=msg)]

    def expire(self, now: float) -> list[DnsQuery]:
        """Emit queries unanswered for longer than the timeout (packet time)."""
        out = []
        while self._pending:
            first = next(iter(self._pending.values()))
            if now - first.seg.ts <= self.timeout:
                break
            self._pending.popitem(last=False)
            out.append(self._unanswered(first))
        return out

    def flush(self) -> list[DnsQuery]:
        """Emit every pending query as unanswered (end of input)."""
        out = [self._unanswered(p) for p in self._pending.values()]
        self._pending.clear()
        self._held.clear()
        return out

    def __len__(self) -> int:
        return len(self._pending)

    def _unanswered(self, pending: _Pending) -> DnsQuery:
        self.stats.unanswered += 1
        q = pending.seg
        return self._event(q, pending.msg, q.src, q.sport, q.dst, q.dport, response=None)

    def _event(
        self,
        seg: Segment,
        msg: DnsMessage,
        client: str,
        cport: int,
        server: str,
        sport: int,
        *,
        response: DnsMessage | None,
    ) -> DnsQuery:
        """Build the event; ``seg`` and ``msg`` are the query's (or an orphan response's)."""
        return DnsQuery(
            time=seg.ts,
            sensor=self.sensor,
            src_ip=client,
            src_port=cport,
            dst_ip=server,
            dst_port=sport,
            transport=Transport.TCP if seg.tcp else Transport.UDP,
            query=msg.name,
            qtype=qtype_text(msg.qtype),
            rcode=rcode_text(response.rcode) if response else None,
            answers=response.answers if response else 0,
            request_bytes=0 if msg.response else msg.size,
            response_bytes=response.size if response else 0,
        )
