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
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from sensors import _dnswire
from sensors.events import DnsQuery, Transport
from sensors.segment import Segment

HEADER = struct.Struct("!HHHHHH")
# Pointer jumps, wire bytes of a name, questions and the highest opcode a message may have:
# defined (and explained) with the compiled reader that enforces them, sensors/_dnswire.pyx.
MAX_JUMPS, MAX_NAME, MAX_QUESTIONS, MAX_OPCODE = _dnswire.LIMITS
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


I64 = npt.NDArray[np.int64]


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


def read_name(data: bytes, at: int) -> tuple[str, int] | None:
    """Read a possibly compressed name at ``at``; return it and the offset after it.

    Only backward pointers, at most ``MAX_JUMPS`` of them, and at most ``MAX_NAME`` wire
    bytes; labels in presentation form (RFC 1035 §5.1 escapes). Compiled: ``_dnswire``.
    """
    return _dnswire.read_name(data, at)


def parse_dns(data: bytes) -> DnsMessage | None:
    """Parse a DNS message's header and first question; None when it is not plausible DNS."""
    fields = _dnswire.parse(data)  # compiled: the header, the name and its type in one call
    return None if fields is None else DnsMessage._make(fields)


def parse_datagrams(buf: npt.NDArray[np.uint8], start: I64, size: I64) -> list[DnsMessage | None]:
    """``parse_dns`` of each message ``buf[start[i]:start[i] + size[i]]``: a batch's datagrams
    in one compiled call."""
    return _dnswire.parse_many(buf, start, size, DnsMessage)


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

    def datagrams(
        self, index: list[int], segs: list[Segment], messages: list[DnsMessage | None]
    ) -> list[tuple[int, list[DnsQuery]]]:
        """Take a run of UDP datagrams in order, their messages parsed by ``parse_datagrams``
        (their segments need no payload); return (index, events) for those that made some."""
        self.stats.messages += len(messages)  # counted per run: nothing reads them mid-run
        self.stats.malformed += messages.count(None)
        done = []
        for n, seg, msg in zip(index, segs, messages, strict=True):
            if msg is None:
                continue
            if events := self._response(seg, msg) if msg.response else self._query(seg, msg):
                done.append((n, events))
        return done

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
