"""ClientHello reassembly across TCP segments and the :class:`TlsHello` events.

A ClientHello larger than one segment (post-quantum key shares make Chrome's ~1.8 kB) is
collected from the following in-order segments of the same direction, with bounded state;
retransmitted hellos are recognised by their sequence number and dropped.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from sensors.events import TlsHello
from sensors.segment import Segment
from sensors.tls import (
    MAX_HELLO,
    VERSION_TEXT,
    ClientHello,
    fingerprints,
    handshake_message,
    hello_end,
    parse_client_hello,
)

RECENT = 4096  # ClientHellos remembered to drop retransmissions (they come within seconds)


@dataclass(frozen=True, slots=True)
class _Partial:
    """A ClientHello still being collected: the first segment and the bytes so far."""

    first: Segment
    stream: bytes
    next_seq: int


@dataclass
class TlsStats:
    """Counters of the ClientHello tracker."""

    hellos: int = 0
    malformed: int = 0
    reassembled: int = 0  # hellos that needed more than one segment
    incomplete: int = 0  # gave up: a gap, the timeout, or the end of input
    retransmits: int = 0
    evicted: int = 0


class TlsTracker:
    """Turns ClientHello segments into :class:`TlsHello` events, reassembling when needed."""

    def __init__(self, sensor: str, timeout: float, cap: int) -> None:
        self.sensor, self.timeout, self.cap = sensor, timeout, cap
        self.stats = TlsStats()
        self.following: OrderedDict[int, _Partial] = OrderedDict()
        self._recent: OrderedDict[tuple[int, int], None] = OrderedDict()  # (direction, seq)

    def add(self, seg: Segment) -> list[TlsHello]:
        """Take a segment whose payload starts with a handshake record carrying a ClientHello."""
        held = self.following.get(seg.key)
        if (held is not None and held.first.seq == seg.seq) or self._seen(seg):
            self.stats.retransmits += 1
            return []
        end = hello_end(seg.data)
        if end and len(seg.data) >= end:  # the common case: a whole hello in the first record
            self.following.pop(seg.key, None)
            return self._hello(seg, seg.data[5:end])
        return self._try(_Partial(seg, seg.data, seg.seq + len(seg.data)))

    def _seen(self, seg: Segment) -> bool:
        """Whether this segment repeats a recent ClientHello (TCP retransmission)."""
        mark = (seg.key, seg.seq)
        if mark in self._recent:
            return True
        self._recent[mark] = None
        if len(self._recent) > RECENT:
            self._recent.popitem(last=False)
        return False

    def follow(self, seg: Segment) -> list[TlsHello]:
        """Take a later segment of a direction whose ClientHello is incomplete."""
        held = self.following.get(seg.key)
        if held is None or not seg.data:
            return []
        if seg.seq != held.next_seq:
            gap = (seg.seq - held.next_seq) & 0xFFFFFFFF < 1 << 31  # ahead of us, not behind
            if gap:
                del self.following[seg.key]
                self.stats.incomplete += 1
            else:
                self.stats.retransmits += 1
            return []
        self.stats.reassembled += 1
        joined = _Partial(held.first, held.stream + seg.data, held.next_seq + len(seg.data))
        return self._try(joined)

    def _try(self, part: _Partial) -> list[TlsHello]:
        """Parse when whole, hold when short, count when broken."""
        key = part.first.key
        self.following.pop(key, None)
        if len(part.stream) < hello_end(part.stream):  # the record is still obviously short
            message, more = None, True
        else:
            message, more = handshake_message(part.stream)
        if more and part.first.tcp and len(part.stream) < MAX_HELLO:
            self.following[key] = part
            if len(self.following) > self.cap:
                self.following.popitem(last=False)
                self.stats.evicted += 1
            return []
        return self._hello(part.first, message)

    def _hello(self, first: Segment, message: bytes | None) -> list[TlsHello]:
        """Parse a whole handshake message (None: not TLS after all) started by ``first``."""
        hello = parse_client_hello(message) if message else None
        if hello is None:
            self.stats.malformed += 1
            return []
        self.stats.hellos += 1
        return [self._event(first, hello)]

    def expire(self, now: float) -> list[TlsHello]:
        """Give up on ClientHellos still incomplete after the timeout (packet time)."""
        while self.following:
            first = next(iter(self.following.values())).first
            if now - first.ts <= self.timeout:
                break
            self.following.popitem(last=False)
            self.stats.incomplete += 1
        return []

    def flush(self) -> list[TlsHello]:
        """Drop incomplete ClientHellos at the end of input (counted)."""
        self.stats.incomplete += len(self.following)
        self.following.clear()
        return []

    def __len__(self) -> int:
        return len(self.following)

    def _event(self, seg: Segment, hello: ClientHello) -> TlsHello:
        version = hello.highest_version
        ja3, ja4 = fingerprints(hello)
        return TlsHello(
            time=seg.ts,
            sensor=self.sensor,
            src_ip=seg.src,
            src_port=seg.sport,
            dst_ip=seg.dst,
            dst_port=seg.dport,
            server_name=hello.server_name,
            version=VERSION_TEXT.get(version, f"0x{version:04x}"),
            ja3=ja3,
            ja4=ja4,
        )
