"""Cutting the packets of given flows out of registered capture files.

The files are read with the sensor's own batch reader and decoder, and every packet is keyed
exactly as the flow table keys it (``sensors.flowkeys``: canonical 5-tuple, VLAN, tunnel,
ICMP errors filed under the flow they quote), so the packets written for a flow are the
packets the flow counted. Matching is vectorised per batch: a hash lookup, an exact key check
and each flow's time span (with a small margin for stored-time rounding).

Output: classic pcap when every file used has one link type; pcapng with one interface per
link type when they differ (a copy of each packet's own link layer, never rewritten). The
output is capped (bytes and packets); packets beyond the cap are counted, not written.
Files missing or changed since registration are reported and skipped, never fatal.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import pandas as pd

from sensors.capture import CaptureFormatError, PacketBatch, read_batches
from sensors.capturefiles import CaptureFile, FileCheck, check
from sensors.decode import decode
from sensors.decoded import IPV4_MAPPED, PROTO_ARP, PROTO_ICMP, PROTO_ICMPV6, Decoded
from sensors.events import Flow, Transport
from sensors.fastpath import subset
from sensors.flowkeys import KEY_COLUMNS, hash_rows, packet_keys, usable_rows
from sensors.flowrecords import TRANSPORTS
from sensors.pcapwrite import CaptureWriter, OutputFormat
from sensors.tunnels import Tunnel

MAX_BYTES = 64 << 20
"""Default cap on an extraction's output: 64 MiB, a download an analyst's laptop takes."""
MAX_PACKETS = 200_000
"""Default cap on the packets written (a flood's evidence can be millions)."""
TIME_MARGIN = 0.001
"""Default seconds added around each flow's span: stored times are rounded to microseconds."""
_PROTOCOLS = {transport: number for number, transport in TRANSPORTS.items()}
_TUNNELS = {t.name.lower(): int(t) for t in Tunnel if t is not Tunnel.NONE}
_NO_VLAN = np.uint64(0xFFFFFFFFFFFFFFFF)  # the decoder's -1, as an unsigned key column


@dataclass(frozen=True, kw_only=True)
class ExtractLimits:
    """How much an extraction may write and how loosely it matches times."""

    max_bytes: int = MAX_BYTES
    """Output size cap in bytes (headers included); 1 KiB-4 GiB."""
    max_packets: int = MAX_PACKETS
    """Packets written at most; 1-100,000,000."""
    margin: float = TIME_MARGIN
    """Seconds of slack around each flow's span; 0-60."""

    def __post_init__(self) -> None:
        if not 1024 <= self.max_bytes <= 4 << 30:
            raise ValueError("max_bytes: must be 1024-4294967296")
        if not 1 <= self.max_packets <= 100_000_000:
            raise ValueError("max_packets: must be 1-100000000")
        if not 0 <= self.margin <= 60:
            raise ValueError("margin: must be 0-60 seconds")


@dataclass(frozen=True, kw_only=True)
class FileProblem:
    """A registered file that could not be used, and why."""

    path: str
    check: FileCheck
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class Extraction:
    """What an extraction wrote and what it could not."""

    format: OutputFormat
    packets: int  # written
    bytes: int  # written, file header included
    left_out: int  # matching packets beyond the caps
    scanned: int  # packets read from the files
    files: tuple[str, ...]  # files read
    problems: tuple[FileProblem, ...] = ()


@dataclass(frozen=True)
class FlowTargets:
    """The flows to cut out: their canonical keys (one row per distinct key) and, per key,
    the time spans its flows cover (``spans[j]``: each key's j-th span, NaN when none)."""

    keys: npt.NDArray[np.uint64]
    hashes: npt.NDArray[np.uint64]
    spans: tuple[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]], ...]

    @classmethod
    def of(cls, flows: Sequence[Flow], margin: float) -> FlowTargets:
        """Targets for ``flows`` (each span widened by ``margin`` on both sides)."""
        rows = np.asarray([flow_key(f) for f in flows], dtype=np.uint64).reshape(-1, 9)
        unique, which = np.unique(rows, axis=0, return_inverse=True)
        which = which.reshape(-1)
        starts = np.asarray([f.start - margin for f in flows], dtype=np.float64)
        ends = np.asarray([f.end + margin for f in flows], dtype=np.float64)
        order = np.lexsort((starts, which))
        rank = np.arange(which.shape[0]) - np.searchsorted(which[order], which[order])
        spans = []
        for j in range(int(rank.max()) + 1 if rank.size else 0):
            lo = np.full(unique.shape[0], np.nan)
            hi = np.full(unique.shape[0], np.nan)
            pick = order[rank == j]
            lo[which[pick]], hi[which[pick]] = starts[pick], ends[pick]
            spans.append((lo, hi))
        return cls(unique, hash_rows(unique), tuple(spans))

    def select(self, batch: PacketBatch, shift: float) -> npt.NDArray[np.int64]:
        """Positions in ``batch`` of the packets of these flows (file times + ``shift``)."""
        if not self.spans or not len(batch):
            return np.zeros(0, dtype=np.int64)
        decoded = decode(batch)
        near = np.flatnonzero(self._near(decoded))
        if not near.size:
            return np.zeros(0, dtype=np.int64)
        few = _subset(decoded, near)
        keyed = packet_keys(few)
        row = pd.Index(self.hashes).get_indexer(pd.Index(keyed.hash)).astype(np.int64)
        hit = np.flatnonzero(row >= 0)
        if not hit.size:
            return np.zeros(0, dtype=np.int64)
        target = row[hit]
        exact = (keyed.keys[hit] == self.keys[target]).all(axis=1)  # hashes may collide
        ts = keyed.ts[hit] + shift
        inside = np.zeros(hit.shape[0], dtype=bool)
        for lo, hi in self.spans:
            inside |= (ts >= lo[target]) & (ts <= hi[target])  # NaN compares false
        picked: npt.NDArray[np.int64] = near[usable_rows(few)[hit[exact & inside]]]
        return picked

    def _near(self, d: Decoded) -> npt.NDArray[np.bool_]:
        """Packets with an address (or, in an ICMP error, a quoted address) of a target: a
        cheap superset, so only those are keyed (addresses' low 64 bits suffice for that)."""
        ends = np.unique(self.keys[:, [1, 3]])
        near = np.isin(d.src_lo, ends) | np.isin(d.dst_lo, ends)
        if d.quoted.any():
            near |= d.quoted & (np.isin(d.q_src_lo, ends) | np.isin(d.q_dst_lo, ends))
        return near


def _subset(d: Decoded, rows: npt.NDArray[np.int64]) -> Decoded:
    """The decoded fields of the packets at ``rows`` (every field is one value per packet)."""
    return Decoded(**{f.name: getattr(d, f.name)[rows] for f in dataclasses.fields(Decoded)})


def flow_key(flow: Flow) -> tuple[int, ...]:
    """The flow table's canonical key of a flow record (``KEY_COLUMNS``), as unsigned ints."""
    proto = flow.iana_number if flow.iana_number is not None else _PROTOCOLS.get(flow.transport, 0)
    if flow.transport is Transport.ARP:
        proto = PROTO_ARP
    src, dst = _address(flow.src_ip), _address(flow.dst_ip)
    ported = proto not in (PROTO_ICMP, PROTO_ICMPV6, PROTO_ARP)
    if ported:
        (a, a_port), (b, b_port) = sorted([(src, flow.src_port), (dst, flow.dst_port)])
    else:  # ICMP type/code and ARP keep their places; only the addresses are ordered
        a, b = sorted([src, dst])
        a_port, b_port = flow.src_port, flow.dst_port
    vlan = int(_NO_VLAN) if flow.vlan is None else flow.vlan
    kind = _TUNNELS.get(flow.tunnel, int(Tunnel.NONE))
    ident = 0xFFFFFFFF if flow.tunnel_id is None else flow.tunnel_id & 0xFFFFFFFF
    key = (a >> 64, a & _LOW, b >> 64, b & _LOW, a_port, b_port, proto, vlan, kind << 32 | ident)
    if len(key) != len(KEY_COLUMNS):
        raise AssertionError("flow key columns changed")
    return key


_LOW = (1 << 64) - 1


def _address(text: str) -> int:
    """A 128-bit address as the decoder keys it (IPv4 mapped into ::ffff:0:0/96)."""
    address = ipaddress.ip_address(text)
    if address.version == 4:
        return int(IPV4_MAPPED) | int(address)
    return int(address)


def covering(
    captures: Iterable[CaptureFile], flows: Sequence[Flow], margin: float = TIME_MARGIN
) -> list[CaptureFile]:
    """The captures of the flows' sensors whose span overlaps one of the flows, oldest first,
    one per distinct content (a file registered under two paths is read once)."""
    spans = {(f.sensor, f.start - margin, f.end + margin) for f in flows}
    chosen: dict[str, CaptureFile] = {}
    for capture in sorted(captures, key=lambda c: (c.first, c.path)):
        if capture.sha256 in chosen:
            continue
        if any(s == capture.sensor and capture.overlaps(lo, hi) for s, lo, hi in spans):
            chosen[capture.sha256] = capture
    return list(chosen.values())


@dataclass
class _Progress:
    """Running totals of one extraction."""

    packets: int = 0
    bytes: int = 0
    left_out: int = 0
    scanned: int = 0
    files: list[str] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)


def extract(
    flows: Sequence[Flow],
    captures: Sequence[CaptureFile],
    out: BinaryIO,
    limits: ExtractLimits | None = None,
) -> Extraction:
    """Write the packets of ``flows`` found in ``captures`` to ``out``; report what happened.

    ``captures`` are read in the order given (``covering`` gives them oldest first); each is
    checked against its registration first. Something is always written: at least a header.
    """
    limits = limits or ExtractLimits()
    targets = FlowTargets.of(flows, limits.margin)
    done = _Progress()
    usable: list[CaptureFile] = []
    for capture in captures:
        state = check(capture)
        if state is FileCheck.OK:
            usable.append(capture)
        else:
            done.problems.append(FileProblem(path=capture.path, check=state))
    links = sorted({link for c in usable for link in c.link_types}) or [1]  # empty: Ethernet
    writer = CaptureWriter(links)
    head = writer.header()
    out.write(head)
    done.bytes = len(head)
    for capture in usable:
        _extract_file(capture, targets, writer, out, limits, done)
    return Extraction(
        format=writer.format,
        packets=done.packets,
        bytes=done.bytes,
        left_out=done.left_out,
        scanned=done.scanned,
        files=tuple(done.files),
        problems=tuple(done.problems),
    )


def _extract_file(
    capture: CaptureFile,
    targets: FlowTargets,
    writer: CaptureWriter,
    out: BinaryIO,
    limits: ExtractLimits,
    done: _Progress,
) -> None:
    """Append one file's matching packets, within the caps."""
    try:
        for batch in read_batches(Path(capture.path)):
            done.scanned += len(batch)
            chosen = targets.select(batch, capture.time_shift)
            if not chosen.size:
                continue
            kept = _within_caps(batch, chosen, limits, done)
            if kept.size and not set(batch.linktype[kept].tolist()) <= set(writer.link_types):
                raise CaptureFormatError(f"{capture.path}: link types differ from registration")
            records = writer.records(subset(batch, kept))
            out.write(records)
            done.packets += int(kept.size)
            done.bytes += len(records)
            done.left_out += int(chosen.size - kept.size)
    except (CaptureFormatError, OSError) as exc:
        done.problems.append(
            FileProblem(path=capture.path, check=FileCheck.UNREADABLE, detail=str(exc))
        )
        return
    done.files.append(capture.path)


def _within_caps(
    batch: PacketBatch, chosen: npt.NDArray[np.int64], limits: ExtractLimits, done: _Progress
) -> npt.NDArray[np.int64]:
    """The leading part of ``chosen`` that still fits under both caps."""
    room_packets = limits.max_packets - done.packets
    record = 28 + (batch.caplen[chosen] + 3) // 4 * 4 + 4  # pcapng's size, pcap's is smaller
    room = np.searchsorted(np.cumsum(record), limits.max_bytes - done.bytes, side="right")
    return chosen[: max(0, min(room_packets, int(room)))]
