"""Application metadata: pick out the few packets that carry DNS, HTTP, TLS or SSH, parse those.

Selection is vectorised over the decoded batch (ports and the first payload bytes), so the
parsers only ever see candidate packets: DNS on its ports over UDP and TCP, payloads
that start like an HTTP/1.x request or response, a TLS handshake record holding a ClientHello,
or an SSH banner, on any port. Parsers that need later segments of a connection (a ClientHello
spanning segments, a response without Content-Length) name the direction's key; packets with
a followed key are selected too. All timing comes from packet timestamps. The byte parsing
is compiled (``sensors/_dnswire.pyx``, ``sensors/_tlshello.pyx``); DNS datagrams, most of
the candidates, are parsed straight from the batch buffer in one call per batch.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import repeat

import numpy as np
import numpy.typing as npt

from sensors.capture import PacketBatch
from sensors.decode import PROTO_TCP, PROTO_UDP, Decoded
from sensors.dns import (
    HEADER,
    MAX_OPCODE,
    MAX_QUESTIONS,
    DnsStats,
    DnsTracker,
    parse_datagrams,
)
from sensors.events import Event
from sensors.http import PREFIXES, HttpStats, HttpTracker
from sensors.segment import FIN, RST, Segment
from sensors.ssh import SshStats, SshTracker
from sensors.tls_stream import TlsStats, TlsTracker

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
Mask = npt.NDArray[np.bool_]
Handler = Callable[[Segment], Sequence[Event]]

HTTP_WORDS = np.array([int.from_bytes(p) for p in PREFIXES], dtype=np.int64)
SSH_WORD = int.from_bytes(b"SSH-")
DNS, HTTP, TLS, SSH, FOLLOW_HTTP, FOLLOW_TLS = 1, 2, 4, 8, 16, 32  # candidate reasons
DATAGRAM_TAIL = (b"", False, 0, 0, 0)  # a parsed datagram's Segment: no data, seq, flags, key
MIX = [np.uint64(c) for c in (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB)]


@dataclass(frozen=True, kw_only=True)
class MetadataConfig:
    """Timeouts (packet time) and state caps of the application parsers."""

    dns_ports: tuple[int, ...] = (53, 5353)
    dns_timeout: float = 10.0  # resolvers give up well before this; later answers are orphans
    http_timeout: float = 120.0  # longer than common keep-alive idle (nginx 75 s)
    tls_timeout: float = 10.0  # the rest of a split ClientHello follows within an RTT or two
    ssh_timeout: float = 30.0  # both banners are exchanged right after the handshake
    max_pending: int = 65_536  # per parser: pending queries, connections, partial hellos

    def __post_init__(self) -> None:
        for name in ("dns_timeout", "http_timeout", "tls_timeout", "ssh_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be positive")
        if self.max_pending < 1:
            raise ValueError("max_pending: must be at least 1")


@dataclass
class MetadataStats:
    """Counters of the extractor and of each parser."""

    packets: int = 0
    candidates: int = 0
    dns: DnsStats = field(default_factory=DnsStats)
    http: HttpStats = field(default_factory=HttpStats)
    tls: TlsStats = field(default_factory=TlsStats)
    ssh: SshStats = field(default_factory=SshStats)


@lru_cache(maxsize=1 << 16)
def address(hi: int, lo: int) -> str:
    """Render a 128-bit address key as IPv4 (when IPv4-mapped) or IPv6 text."""
    if hi == 0 and lo >> 32 == 0xFFFF:  # inet_ntoa is the same dotted quad, made in C
        return socket.inet_ntoa((lo & 0xFFFFFFFF).to_bytes(4))
    return str(ipaddress.IPv6Address(hi << 64 | lo))


def direction_keys(d: Decoded, rows: I64) -> U64:
    """A 64-bit hash of each row's directed (src, sport, dst, dport); equal for one direction."""
    ports = (d.sport[rows] << 16 | d.dport[rows]).astype(np.uint64)
    key = d.src_lo[rows] * MIX[0] + d.dst_lo[rows] * MIX[1]
    key = key ^ (d.src_hi[rows] * MIX[2] + d.dst_hi[rows] * MIX[0])
    return np.asarray(key ^ ports * MIX[1], dtype=np.uint64)


class MetadataExtractor:
    """Turns decoded batches into DnsQuery, HttpRequest, TlsHello and SshHello events."""

    def __init__(self, sensor: str, config: MetadataConfig | None = None) -> None:
        self.sensor = sensor
        self.config = config or MetadataConfig()
        cap = self.config.max_pending
        self.dns = DnsTracker(sensor, self.config.dns_timeout, cap)
        self.http = HttpTracker(sensor, self.config.http_timeout, cap)
        self.tls = TlsTracker(sensor, self.config.tls_timeout, cap)
        self.ssh = SshTracker(sensor, self.config.ssh_timeout, cap)
        self.stats = MetadataStats(
            dns=self.dns.stats, http=self.http.stats, tls=self.tls.stats, ssh=self.ssh.stats
        )
        self._dns_ports = np.asarray(self.config.dns_ports, dtype=np.int64)

    def add(self, batch: PacketBatch, decoded: Decoded) -> list[Event]:
        """Parse a batch's candidate packets; return the events completed by it."""
        self.stats.packets += len(batch)
        rows, reasons = self._select(batch, decoded)
        self.stats.candidates += int(rows.shape[0])
        rows, reasons = self._drop_garbage_dns(batch, decoded, rows, reasons)
        events = self._route(batch, decoded, rows, reasons)
        if len(batch):
            events.extend(self._expire(float(decoded.ts.max())))
        return events

    def flush(self) -> list[Event]:
        """Emit everything still pending (end of input)."""
        parts: list[Iterable[Event]] = [
            self.dns.flush(),
            self.http.flush(),
            self.tls.flush(),
            self.ssh.flush(),
        ]
        return [event for part in parts for event in part]

    def _expire(self, now: float) -> list[Event]:
        parts: list[Iterable[Event]] = [
            self.dns.expire(now),
            self.http.expire(now),
            self.tls.expire(now),
            self.ssh.expire(now),
        ]
        return [event for part in parts for event in part]

    def _route(self, batch: PacketBatch, d: Decoded, rows: I64, why: I64) -> list[Event]:
        """Hand each parser the candidates it asked for; events come out in packet order.

        Parsers keep separate state, so each can take its whole share of the batch in one
        loop; a stable sort by candidate index then restores the order of one loop over
        packets (and, within a packet, of DNS, HTTP, TLS, SSH). UDP candidates are DNS
        datagrams only: their messages are parsed in one compiled call straight from the
        batch, and they get segments without a payload.
        """
        udp = d.proto[rows] == PROTO_UDP
        streams = np.flatnonzero(~udp)
        segs = _segments(batch, d, rows[streams])
        slot = np.cumsum(~udp) - 1  # candidate index -> its segment in ``segs`` (TCP rows)
        done = self._dns_route(batch, d, rows, why & DNS, udp, segs, slot)
        # (rows for the parser, rows that start something, start handler, follow handler);
        # a parser's starts and follows stay interleaved in packet order.
        routes: list[tuple[I64, I64, Handler, Handler]] = [
            (why & (HTTP | FOLLOW_HTTP), why & HTTP, self.http.add, self.http.follow),
            (why & (TLS | FOLLOW_TLS), why & TLS, self.tls.add, self.tls.follow),
            (why & SSH, why, self.ssh.add, self.ssh.add),
        ]
        for wanted, starts, start, follow in routes:
            picked = np.flatnonzero(wanted)
            columns = (picked.tolist(), starts[picked].tolist(), slot[picked].tolist())
            for n, first, k in zip(*columns, strict=True):
                if out := (start if first else follow)(segs[k]):
                    done.append((n, out))
        done.sort(key=_first)
        return [event for _, out in done for event in out]

    def _dns_route(
        self,
        batch: PacketBatch,
        d: Decoded,
        rows: I64,
        wanted: I64,
        udp: Mask,
        segs: list[Segment],
        slot: I64,
    ) -> list[tuple[int, Sequence[Event]]]:
        """The DNS tracker's share: datagrams parsed in one compiled call and taken by runs,
        TCP segments one by one, all in candidate order (they share the query table)."""
        picked = np.flatnonzero(wanted)
        is_udp = udp[picked]
        datagrams = rows[picked[is_udp]]
        messages = parse_datagrams(batch.data, d.payload[datagrams], d.payload_len[datagrams])
        heads = _datagrams(d, datagrams)
        done: list[tuple[int, Sequence[Event]]] = []
        taken = 0  # datagrams taken so far
        for run in np.split(np.arange(picked.shape[0]), np.flatnonzero(np.diff(is_udp)) + 1):
            if run.shape[0] == 0:
                continue
            index = picked[run].tolist()
            if is_udp[run[0]]:
                end = taken + len(index)
                done += self.dns.datagrams(index, heads[taken:end], messages[taken:end])
                taken = end
                continue
            for n, k in zip(index, slot[picked[run]].tolist(), strict=True):
                if out := self.dns.add(segs[k]):
                    done.append((n, out))
        return done

    def _select(self, batch: PacketBatch, d: Decoded) -> tuple[I64, I64]:
        """Rows of candidate packets, in packet order, with a bit set of why each was chosen."""
        usable = d.l4_ok & ~d.later_fragment
        tcp = usable & (d.proto == PROTO_TCP)
        udp = usable & (d.proto == PROTO_UDP)
        has_data = np.flatnonzero((tcp | udp) & (d.payload_len > 0))
        why = np.zeros(d.ts.shape[0], dtype=np.int64)
        ports = self._dns_ports
        on_dns = np.isin(d.sport[has_data], ports) | np.isin(d.dport[has_data], ports)
        why[has_data[on_dns]] |= DNS
        on_tcp = has_data[tcp[has_data]]
        word, byte5 = _leading(batch, d, on_tcp)
        why[on_tcp[np.isin(word, HTTP_WORDS)]] |= HTTP
        hello = (word >> 16 == 0x1603) & (byte5 == 1)
        why[on_tcp[hello]] |= TLS
        why[on_tcp[word == SSH_WORD]] |= SSH
        self._follow(d, tcp, why)
        rows = np.flatnonzero(why)
        return rows, why[rows]

    def _drop_garbage_dns(
        self, batch: PacketBatch, d: Decoded, rows: I64, why: I64
    ) -> tuple[I64, I64]:
        """Count as malformed, and drop, UDP DNS-port datagrams whose header parse_dns rejects.

        Done over the batch before any per-packet work, so floods of junk to port 53 stay
        cheap. Only UDP rows are dropped: they have no other reason to be parsed, and unlike
        TCP no state (a held message start) depends on them.
        """
        udp = d.proto[rows] == PROTO_UDP
        if not udp.any():
            return rows, why
        start, size = d.payload[rows], d.payload_len[rows]
        data, last = batch.data, max(batch.data.shape[0] - 1, 0)
        flags = data[np.minimum(start + 2, last)].astype(np.int64)
        questions = data[np.minimum(start + 4, last)].astype(np.int64) << 8
        questions |= data[np.minimum(start + 5, last)]
        plausible = (size >= HEADER.size) & (flags >> 3 & 0xF <= MAX_OPCODE)
        plausible &= (questions >= 1) & (questions <= MAX_QUESTIONS)
        garbage = udp & ~plausible
        dropped = int(garbage.sum())
        if not dropped:
            return rows, why
        self.dns.stats.messages += dropped
        self.dns.stats.malformed += dropped
        return rows[~garbage], why[~garbage]

    def _follow(self, d: Decoded, tcp: Mask, why: I64) -> None:
        """Mark later segments of directions a parser is following (data, FIN or RST)."""
        if not self.http.following and not self.tls.following:
            return
        flagged = (d.payload_len > 0) | (d.tcp_flags & (FIN | RST) > 0)
        rows = np.flatnonzero(tcp & flagged)
        keys = direction_keys(d, rows)
        for keyset, reason in (
            (self.http.following, FOLLOW_HTTP),
            (self.tls.following, FOLLOW_TLS),
        ):
            if keyset:
                wanted = np.fromiter(keyset, dtype=np.uint64, count=len(keyset))
                why[rows[np.isin(keys, wanted)]] |= reason


def _first(item: tuple[int, Sequence[Event]]) -> int:
    """Sort key: the candidate index of a parser's output."""
    return item[0]


def _leading(batch: PacketBatch, d: Decoded, rows: I64) -> tuple[I64, I64]:
    """First four payload bytes as a big-endian word (-1 when shorter) and the sixth byte."""
    start, size = d.payload[rows], d.payload_len[rows]
    data, last = batch.data, max(batch.data.shape[0] - 1, 0)
    word = np.zeros(rows.shape[0], dtype=np.int64)
    for k in range(4):
        word = word << 8 | data[np.minimum(start + k, last)].astype(np.int64)
    byte5 = np.where(size > 5, data[np.minimum(start + 5, last)], -1)
    return np.where(size >= 4, word, -1), byte5.astype(np.int64)


def _datagrams(d: Decoded, rows: I64) -> list[Segment]:
    """A :class:`Segment` without payload for each UDP row (its message is parsed already)."""
    n = rows.shape[0]
    columns = zip(
        d.ts[rows].tolist(),
        map(address, d.src_hi[rows].tolist(), d.src_lo[rows].tolist()),
        d.sport[rows].tolist(),
        map(address, d.dst_hi[rows].tolist(), d.dst_lo[rows].tolist()),
        d.dport[rows].tolist(),
        *(repeat(value, n) for value in DATAGRAM_TAIL),
        strict=True,
    )
    # One tuple per row made by C-level map and zip, not by the named tuple's Python
    # ``__new__``: these are most of the candidates.
    return list(map(tuple.__new__, repeat(Segment, n), columns))


def _segments(batch: PacketBatch, d: Decoded, rows: I64) -> list[Segment]:
    """Build a :class:`Segment` for each selected TCP row (the per-packet Python work)."""
    if rows.shape[0] == 0:
        return []
    data = batch.data
    tcp = d.proto[rows] == PROTO_TCP
    seq_at = np.where(tcp, d.l4[rows] + 4, 0)
    seq = np.zeros(rows.shape[0], dtype=np.int64)
    for k in range(4):
        seq = seq << 8 | np.where(tcp, data[seq_at + k], 0).astype(np.int64)
    keys = direction_keys(d, rows).tolist()
    columns = zip(
        d.ts[rows].tolist(),
        d.src_hi[rows].tolist(),
        d.src_lo[rows].tolist(),
        d.dst_hi[rows].tolist(),
        d.dst_lo[rows].tolist(),
        d.sport[rows].tolist(),
        d.dport[rows].tolist(),
        d.payload[rows].tolist(),
        d.payload_len[rows].tolist(),
        tcp.tolist(),
        seq.tolist(),
        d.tcp_flags[rows].tolist(),
        keys,
        strict=True,
    )
    raw = data.data  # a memoryview: slicing it copies only the payload bytes
    # Positional arguments, in Segment's field order: a third cheaper than keywords here.
    return [
        Segment(
            ts,
            address(shi, slo),
            sport,
            address(dhi, dlo),
            dport,
            bytes(raw[at : at + size]) if size > 0 else b"",
            is_tcp,
            sq,
            flags,
            key,
        )
        for ts, shi, slo, dhi, dlo, sport, dport, at, size, is_tcp, sq, flags, key in columns
    ]
