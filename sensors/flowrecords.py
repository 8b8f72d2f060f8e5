"""Turning flow-table rows into :class:`Flow` records: direction, outcome, flags, addresses.

Every column is computed vectorised; only the final record objects are built one by one.
"""

from __future__ import annotations

import dataclasses
import gc
import ipaddress
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from socket import AF_INET6, inet_ntoa, inet_ntop
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from sensors.decode import PROTO_ARP, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP
from sensors.events import Flow, TcpOutcome, Transport
from sensors.tunnels import Tunnel

T = TypeVar("T")
COUNTERS = ("pkts", "bytes", "refusal")
"""Per-side sums of a flow row; the counts matrix holds side a's, then side b's."""
FLAG_BITS = ("syn", "synack", "ack", "F", "S", "R", "P", "A", "U")
"""Per-side flags of a flow row, OR-ed rather than counted: records only ask whether a side
ever sent each one, and one bit column costs 8 bytes a row where counts cost 144.
Side a's bits are the low ones, side b's start at ``SIDE_B_SHIFT``."""
SIDE_B_SHIFT = 16
TIMES = ("first", "last", "a_first", "b_first", "a_syn", "b_syn")
"""Time columns of a flow row (epoch seconds; inf when never seen)."""
FLAG_LETTERS = "FSRPAU"
TRANSPORTS = {
    PROTO_TCP: Transport.TCP,
    PROTO_UDP: Transport.UDP,
    PROTO_ICMP: Transport.ICMP,
    PROTO_ICMPV6: Transport.ICMPV6,
    PROTO_ARP: Transport.ARP,
}
FLAG_TEXT = np.array(
    ["".join(ch for n, ch in enumerate(FLAG_LETTERS) if bits >> n & 1) for bits in range(64)],
    dtype=object,
)
OUTCOMES = {o.value: o for o in TcpOutcome}
TUNNEL_NAMES = {t.value: t.name.lower() for t in Tunnel if t is not Tunnel.NONE}
IPV4_MAPPED_HI = 0xFFFF


def addresses(hi: npt.NDArray[np.uint64], lo: npt.NDArray[np.uint64]) -> npt.NDArray[np.object_]:
    """Render 128-bit keys as IPv4 (when IPv4-mapped) or IPv6 strings, once per distinct one."""
    out = np.empty(hi.shape[0], dtype=object)
    v4 = (hi == 0) & (lo >> np.uint64(32) == IPV4_MAPPED_HI)
    codes, uniques = pd.factorize(lo[v4])
    # inet_ntoa formats an IPv4 address ten times faster than ipaddress does; the 4-byte
    # void view hands it each address as bytes with no Python step per address.
    packed = (uniques & np.uint64(0xFFFFFFFF)).astype(">u4").view("V4").tolist()
    names = _objects(list(map(inet_ntoa, packed)))
    out[v4] = names[codes] if len(names) else []
    # inet_ntop writes IPv6 as ipaddress does (RFC 5952) except where the upper 64 bits are
    # zero, where it may print an embedded IPv4 address dotted: those take the slow way.
    wide = np.flatnonzero(~v4 & (hi != 0))
    raw = np.column_stack([hi[wide], lo[wide]]).astype(">u8").view("V16").reshape(-1)
    out[wide] = _objects([inet_ntop(AF_INET6, b) for b in raw.tolist()])
    for n in np.flatnonzero(~v4 & (hi == 0)):  # rare: ::, ::1, IPv4-compatible forms
        out[n] = str(ipaddress.IPv6Address((int(hi[n]) << 64) | int(lo[n])))
    return out


def flow_records(
    keys: npt.NDArray[np.uint64],
    counts: npt.NDArray[np.int64],
    bits: npt.NDArray[np.int64],
    times: npt.NDArray[np.float64],
    outer: npt.NDArray[np.uint64],
    sensor: str,
    beats: list[tuple[float, ...] | None] | None = None,
) -> list[Flow]:
    """Build the flow records of table rows (``beats``: each row's beat offsets, if known)."""
    width = len(COUNTERS)
    a_init = _initiator_is_a(times)
    col = {name: n for n, name in enumerate(COUNTERS)}
    bit = {name: n for n, name in enumerate(FLAG_BITS)}
    # Fin and rst are the F and R flags; the outcome rules read them by their long names.
    bit["fin"], bit["rst"] = bit["F"], bit["R"]

    def side(name: str, initiator: bool) -> npt.NDArray[np.int64]:
        if name in col:
            a, b = counts[:, col[name]], counts[:, width + col[name]]
        else:
            a = bits >> bit[name] & 1
            b = bits >> (SIDE_B_SHIFT + bit[name]) & 1
        return np.where(a_init == initiator, a, b)

    proto = keys[:, 6].astype(np.int64)
    ported = (proto == PROTO_TCP) | (proto == PROTO_UDP)
    ends = (keys[:, 0], keys[:, 1], keys[:, 4]), (keys[:, 2], keys[:, 3], keys[:, 5])
    src = [np.where(a_init, x, y) for x, y in zip(*ends, strict=True)]
    dst = [np.where(a_init, y, x) for x, y in zip(*ends, strict=True)]
    # ICMP and ARP "ports" (type/code, opcode) stay as first sent, whatever the direction.
    sport = np.where(ported, src[2], keys[:, 4]).astype(np.int64)
    dport = np.where(ported, dst[2], keys[:, 5]).astype(np.int64)
    outcome = _outcomes(proto, side)
    flags_out = np.where(proto == PROTO_TCP, _flag_text(bits, a_init), "")
    flags_in = np.where(proto == PROTO_TCP, _flag_text(bits, ~a_init), "")
    tunnel = (keys[:, 8] >> np.uint64(32)).astype(np.int64)
    tunnel_id = (keys[:, 8] & np.uint64(0xFFFFFFFF)).astype(np.int64)
    outer_src, outer_dst = _outer(outer, tunnel > 0)
    vlan = keys[:, 7].astype(np.int64)
    columns = {
        "start": times[:, 0].tolist(),
        "end": times[:, 1].tolist(),
        "sensor": [sensor] * len(proto),
        "src_ip": addresses(src[0], src[1]).tolist(),
        "src_port": sport.tolist(),
        "dst_ip": addresses(dst[0], dst[1]).tolist(),
        "dst_port": dport.tolist(),
        "transport": _lookup(proto, TRANSPORTS, Transport.OTHER),
        "packets_out": side("pkts", True).tolist(),
        "packets_in": side("pkts", False).tolist(),
        "bytes_out": side("bytes", True).tolist(),
        "bytes_in": side("bytes", False).tolist(),
        "outcome": _lookup(outcome, OUTCOMES, TcpOutcome.NOT_TCP),
        "flags_out": flags_out.tolist(),
        "flags_in": flags_in.tolist(),
        "vlan": _or_none(vlan, (vlan >= 0) & (vlan < 4096)),
        "tunnel": _lookup(tunnel, TUNNEL_NAMES, ""),
        "tunnel_id": _or_none(tunnel_id, (tunnel > 0) & (tunnel_id != 0xFFFFFFFF)),
        "outer_src_ip": outer_src.tolist(),
        "outer_dst_ip": outer_dst.tolist(),
        "iana_number": _or_none(proto, proto < 256),  # ARP is not an IP protocol
        "beats": beats if beats is not None else [None] * len(proto),
    }
    if tuple(columns) != FIELDS:  # records are filled by position below
        raise AssertionError(f"flow columns {tuple(columns)} differ from Flow fields")
    return _records(zip(*columns.values(), strict=True))


FIELDS = tuple(f.name for f in dataclasses.fields(Flow))


def _records(rows: Iterator[tuple[object, ...]]) -> list[Flow]:
    """Flow records from rows of column values, in ``FIELDS`` order.

    The values were computed and checked as columns, so each record's attribute dict is
    filled in directly instead of through the frozen dataclass ``__init__``: several times
    faster on the hot path, where scans produce one record per packet. One loop, no call per
    record: at a million flows the call overhead alone is about a second.
    """
    with _collector_paused():
        return _BUILD_FLOWS(rows, object.__new__, Flow)


def _compile_builder(fields: tuple[str, ...]) -> Callable[..., list[Flow]]:
    """The record loop unrolled for ``fields`` (as ``dataclasses`` writes ``__init__``): each
    row is unpacked into locals and stored key by key into the new record's dict, in field
    order, a third faster than ``dict.update`` over a zip. A row of the wrong length raises."""
    names = [f"v{n}" for n in range(len(fields))]
    lines = [
        "def build(rows, new, cls):",
        "    out = []",
        "    append = out.append",
        f"    for ({', '.join(names)},) in rows:",
        "        record = new(cls)",
        "        values = record.__dict__",
        *(f"        values[{field!r}] = {name}" for field, name in zip(fields, names, strict=True)),
        "        append(record)",
        "    return out",
    ]
    namespace: dict[str, Any] = {}
    exec("\n".join(lines), namespace)  # our own field names, never input
    build: Callable[..., list[Flow]] = namespace["build"]
    return build


_BUILD_FLOWS = _compile_builder(FIELDS)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while records are built: each record and its
    dict count as allocations, so a batch of scan flows would otherwise trigger hundreds of
    collections that find nothing (records hold no cycles). Restores the previous state."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _or_none(values: npt.NDArray[np.int64], keep: npt.NDArray[np.bool_]) -> list[int | None]:
    """The values where ``keep`` holds, None elsewhere."""
    boxed = values.astype(object)  # Python ints, made in one C loop
    boxed[~keep] = None
    out: list[int | None] = boxed.tolist()
    return out


def _lookup(codes: npt.NDArray[Any], table: Mapping[Any, T], default: T) -> list[T]:
    """Map codes to objects through a small table, once per distinct code."""
    distinct, inverse = np.unique(codes, return_inverse=True)
    objects = _objects([table.get(code, default) for code in distinct.tolist()])
    out: list[T] = objects[inverse.reshape(-1)].tolist()
    return out


def _objects(values: list[Any]) -> npt.NDArray[np.object_]:
    """A 1-d object array holding exactly ``values`` (no conversion of str or tuples)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _outer(
    outer: npt.NDArray[np.uint64], tunnelled: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]]:
    """Tunnel endpoints as strings for tunnelled flows, None for the others."""
    src = np.full(outer.shape[0], None, dtype=object)
    dst = np.full(outer.shape[0], None, dtype=object)
    if tunnelled.any():
        src[tunnelled] = addresses(outer[tunnelled, 0], outer[tunnelled, 1])
        dst[tunnelled] = addresses(outer[tunnelled, 2], outer[tunnelled, 3])
    return src, dst


def _initiator_is_a(times: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """The side that sent the first SYN initiated; without SYNs, the side that spoke first."""
    a_first, b_first, a_syn, b_syn = (times[:, k] for k in range(2, 6))
    any_syn = np.isfinite(a_syn) | np.isfinite(b_syn)
    return np.where(any_syn, a_syn <= b_syn, a_first <= b_first)


def _outcomes(proto: npt.NDArray[np.int64], side: object) -> npt.NDArray[np.str_]:
    """How each flow's handshake (TCP) or exchange (UDP) went."""
    get = side  # get(name, initiator) -> counts of the initiator's or responder's side

    def i(name: str) -> npt.NDArray[np.int64]:
        return get(name, True)  # type: ignore[operator, no-any-return]

    def r(name: str) -> npt.NDArray[np.int64]:
        return get(name, False)  # type: ignore[operator, no-any-return]

    completed = i("ack") > 0
    answered_syn = (r("synack") > 0) | completed
    only_refused = (r("refusal") > 0) & (r("refusal") == r("pkts"))
    tcp = np.select(
        [
            i("syn") == 0,
            r("pkts") == 0,
            answered_syn & ~completed,
            answered_syn & ((i("fin") + r("fin") + i("rst") + r("rst")) > 0),
            answered_syn,
            (r("rst") > 0) | only_refused,
        ],
        ["midstream", "unanswered", "half_open", "closed", "established", "rejected"],
        "half_open",
    )
    udp = np.select([r("pkts") == 0, only_refused], ["unanswered", "rejected"], "established")
    return np.where(proto == PROTO_TCP, tcp, np.where(proto == PROTO_UDP, udp, "none"))


def _flag_text(
    bits: npt.NDArray[np.int64], side_a: npt.NDArray[np.bool_]
) -> npt.NDArray[np.object_]:
    """The TCP flag letters each flow's chosen side used (e.g. ``FSPA``)."""
    first = FLAG_BITS.index("F")
    letters = np.where(side_a, bits >> first, bits >> (SIDE_B_SHIFT + first)) & 0x3F
    text: npt.NDArray[np.object_] = FLAG_TEXT[letters]
    return text
