"""DNS parser and pairing table: wire format, compression, truncation, timeouts, caps."""

from __future__ import annotations

import random

from scapy.layers.dns import DNS, DNSQR, DNSRR

from sensors.dns import DnsTracker, parse_dns, read_name, tcp_messages
from sensors.events import Transport
from sensors.segment import Segment

C, S = "10.21.3.4", "10.10.0.53"


def query(name: str = "www.smx.gov.example", qtype: str = "A", txid: int = 7) -> bytes:
    return bytes(DNS(id=txid, rd=1, qd=DNSQR(qname=name, qtype=qtype)))


def answer(name: str = "www.smx.gov.example", txid: int = 7, rcode: int = 0, n: int = 2) -> bytes:
    rrs = [DNSRR(rrname=name, type="A", rdata=f"10.10.0.{k + 1}") for k in range(n)]
    return bytes(DNS(id=txid, qr=1, rd=1, ra=1, rcode=rcode, qd=DNSQR(qname=name), an=rrs))


def seg(
    data: bytes, ts: float = 100.0, *, back: bool = False, tcp: bool = False, seq: int = 0
) -> Segment:
    if back:
        return Segment(
            ts=ts, src=S, sport=53, dst=C, dport=40000, data=data, tcp=tcp, seq=seq, key=2
        )
    return Segment(ts=ts, src=C, sport=40000, dst=S, dport=53, data=data, tcp=tcp, seq=seq, key=1)


def test_parses_query_and_response() -> None:
    q = parse_dns(query("abc.t.cdn-sync.example.net", "TXT", 0x1234))
    assert q is not None
    assert (q.txid, q.response, q.name, q.qtype, q.answers) == (
        0x1234,
        False,
        "abc.t.cdn-sync.example.net",
        16,
        0,
    )
    r = parse_dns(answer(rcode=3, n=0))
    assert r is not None and (r.response, r.rcode, r.answers) == (True, 3, 0)
    assert parse_dns(answer(n=3)).answers == 3  # type: ignore[union-attr]


def test_compression_pointers_backward_only_and_bounded() -> None:
    name = b"\x03www\x03smx\x00"
    assert read_name(name + b"\xc0\x04", len(name)) == ("smx", len(name) + 2)
    assert read_name(b"\xc0\x00", 0) is None  # points at itself
    assert read_name(b"\xc0\x02\x00", 0) is None  # forward
    chain = b"\x00" + b"".join(bytes([0xC0, 2 * k + 1 - 2 if k else 0]) for k in range(20))
    assert read_name(chain, len(chain) - 2) is None  # more jumps than allowed
    assert read_name(b"\x01a\xc0", 0) is None  # pointer cut off
    assert read_name(b"\x3f" + b"a" * 63 + b"\x00", 0) is not None
    assert read_name((b"\x3f" + b"a" * 63) * 5 + b"\x00", 0) is None  # longer than 255


def test_label_escapes() -> None:
    raw = b"\x03a.b\x02\xe4\x5c\x00"
    assert read_name(raw, 0) == ("a\\.b.\\228\\\\", len(raw))
    assert read_name(b"\x00", 0) == (".", 1)


def test_truncated_and_garbage_never_raise() -> None:
    whole = answer(n=3)
    for cut in range(len(whole)):
        msg = parse_dns(whole[:cut])
        assert msg is None or msg.name == "www.smx.gov.example"
    rng = random.Random(3)
    for _ in range(3000):
        blob = bytes(rng.getrandbits(8) for _ in range(rng.randrange(40)))
        parse_dns(blob)
        flipped = bytearray(whole)
        flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
        parse_dns(bytes(flipped))
    assert parse_dns(bytes(12)) is None  # no question


def test_pairs_query_with_response_and_reports_sizes() -> None:
    t = DnsTracker("s", timeout=10, cap=100)
    q, r = query(), answer(n=2)
    assert t.add(seg(q)) == []
    [event] = t.add(seg(r, 100.05, back=True))
    assert (event.src_ip, event.src_port, event.dst_ip, event.dst_port) == (C, 40000, S, 53)
    assert (event.query, event.qtype, event.rcode, event.answers) == (
        "www.smx.gov.example",
        "A",
        "NOERROR",
        2,
    )
    assert (event.request_bytes, event.response_bytes, event.time) == (len(q), len(r), 100.0)
    assert event.transport is Transport.UDP and len(t) == 0


def test_unanswered_on_timeout_and_flush() -> None:
    t = DnsTracker("s", timeout=5, cap=100)
    t.add(seg(query(txid=1), 100.0))
    t.add(seg(query("b.example", txid=2), 104.0))
    [late] = t.expire(105.5)
    assert (late.query, late.rcode, late.answers) == ("www.smx.gov.example", None, 0)
    [rest] = t.flush()
    assert rest.query == "b.example" and t.stats.unanswered == 2


def test_retransmit_orphan_and_nxdomain() -> None:
    t = DnsTracker("s", timeout=5, cap=100)
    t.add(seg(query(txid=9)))
    t.add(seg(query(txid=9), 101.0))
    assert t.stats.retransmits == 1
    [nx] = t.add(seg(answer(txid=9, rcode=3, n=0), back=True))
    assert nx.rcode == "NXDOMAIN"
    [orphan] = t.add(seg(answer(txid=77), back=True))
    assert (orphan.src_ip, orphan.request_bytes, orphan.rcode) == (C, 0, "NOERROR")
    assert t.stats.orphans == 1


def test_state_cap_evicts_oldest_as_unanswered() -> None:
    t = DnsTracker("s", timeout=60, cap=3)
    out = [e for k in range(5) for e in t.add(seg(query(f"n{k}.example", txid=k), 100.0 + k))]
    assert [e.query for e in out] == ["n0.example", "n1.example"]
    assert t.stats.evicted == 2 and len(t) == 3


def test_tcp_length_prefix_several_messages_and_split_prefix() -> None:
    q1, q2 = query(txid=1), query("b.example", txid=2)
    framed = len(q1).to_bytes(2) + q1 + len(q2).to_bytes(2) + q2
    assert tcp_messages(framed) == ([q1, q2], -1)
    t = DnsTracker("s", timeout=10, cap=100)
    t.add(seg(framed, tcp=True))
    assert len(t) == 2
    r = answer(txid=1)
    wire = len(r).to_bytes(2) + r
    assert t.add(seg(wire[:1], back=True, tcp=True, seq=1000)) == []  # BIND sends 1 byte first
    [event] = t.add(seg(wire[1:], back=True, tcp=True, seq=1001))
    assert (event.transport, event.rcode, event.answers) == (Transport.TCP, "NOERROR", 2)


def test_tcp_continuation_segment_is_not_a_message() -> None:
    t = DnsTracker("s", timeout=10, cap=100)
    assert t.add(seg(b"\x00\x05garbage-continuation", tcp=True)) == []
    assert t.stats.queries == 0
