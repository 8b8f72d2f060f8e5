"""ClientHello parsing, JA3/JA4 against published values, reassembly and bad input."""

from __future__ import annotations

import hashlib
import random

from sensors.segment import Segment
from sensors.tls import (
    handshake_message,
    is_grease,
    ja3,
    ja3_string,
    ja4,
    parse_client_hello,
)
from sensors.tls_stream import TlsTracker

# A Chrome 143 ClientHello as published by browserleaks (ja4_ro / ja3_text) with its JA3 and JA4.
CHROME_CIPHERS = [
    0x1301,
    0x1302,
    0x1303,
    0xC02B,
    0xC02F,
    0xC02C,
    0xC030,
    0xCCA9,
    0xCCA8,
    0xC013,
    0xC014,
    0x009C,
    0x009D,
    0x002F,
    0x0035,
]
CHROME_EXTENSIONS = [
    0x002D,
    0x0033,
    0x0010,
    0xFE0D,
    0x0017,
    0x44CD,
    0x0000,
    0x000B,
    0x000A,
    0x002B,
    0xFF01,
    0x0023,
    0x0012,
    0x0005,
    0x000D,
    0x001B,
]
CHROME_SIGALGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]
CHROME_GROUPS = [4588, 29, 23, 24]
CHROME_JA3_TEXT = (
    "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"
    "45-51-16-65037-23-17613-0-11-10-43-65281-35-18-5-13-27,4588-29-23-24,0"
)
CHROME_JA3 = "98487aa16281980e7d1120d399efb6a4"
CHROME_JA4 = "t13d1516h2_8daaf6152771_d8a2da3f94cd"
SNI = "tls.browserleaks.com"


def u16s(values: list[int]) -> bytes:
    return b"".join(v.to_bytes(2) for v in values)


def vec(data: bytes, width: int = 2) -> bytes:
    return len(data).to_bytes(width) + data


def ext_body(
    kind: int,
    sni: str,
    alpn: list[bytes],
    groups: list[int],
    sigalgs: list[int],
    versions: list[int],
) -> bytes:
    """A plausible body for the extensions the parser reads; others are empty."""
    bodies = {
        0x0000: vec(b"\x00" + vec(sni.encode())),
        0x0010: vec(b"".join(vec(p, 1) for p in alpn)),
        0x000A: vec(u16s(groups)),
        0x000B: vec(b"\x00", 1),
        0x000D: vec(u16s(sigalgs)),
        0x002B: vec(u16s(versions), 1),
    }
    return bodies.get(kind, b"")


def client_hello(
    ciphers: list[int] = CHROME_CIPHERS,
    extensions: list[int] = CHROME_EXTENSIONS,
    *,
    sni: str = SNI,
    alpn: tuple[bytes, ...] = (b"h2", b"http/1.1"),
    groups: list[int] = CHROME_GROUPS,
    sigalgs: list[int] = CHROME_SIGALGS,
    versions: tuple[int, ...] = (0x0304, 0x0303),
    version: int = 0x0303,
) -> bytes:
    """A TLS record carrying one ClientHello with the given fields, in wire order."""
    exts = b"".join(
        k.to_bytes(2) + vec(ext_body(k, sni, list(alpn), groups, sigalgs, list(versions)))
        for k in extensions
    )
    body = (
        version.to_bytes(2)
        + bytes(32)
        + vec(bytes(32), 1)
        + vec(u16s(ciphers))
        + b"\x01\x00"
        + vec(exts)
    )
    message = b"\x01" + len(body).to_bytes(3) + body
    return b"\x16\x03\x01" + vec(message)


def hello_of(record: bytes):  # type: ignore[no-untyped-def]
    message, more = handshake_message(record)
    assert message is not None and not more
    return parse_client_hello(message)


def test_published_chrome_fingerprints() -> None:
    hello = hello_of(client_hello())
    assert hello is not None and hello.server_name == SNI and hello.alpn == (b"h2", b"http/1.1")
    assert ja3_string(hello) == CHROME_JA3_TEXT
    assert hashlib.md5(CHROME_JA3_TEXT.encode()).hexdigest() == CHROME_JA3 == ja3(hello)
    assert ja4(hello) == CHROME_JA4


def test_grease_is_ignored_everywhere() -> None:
    greased = client_hello(
        [0x0A0A, *CHROME_CIPHERS],
        [0x1A1A, *CHROME_EXTENSIONS, 0xFAFA],
        groups=[0x2A2A, *CHROME_GROUPS],
        versions=(0x3A3A, 0x0304, 0x0303),
    )
    hello = hello_of(greased)
    assert hello is not None and hello.ciphers[0] == 0x0A0A
    assert (ja3(hello), ja4(hello)) == (CHROME_JA3, CHROME_JA4)
    assert all(is_grease(v) for v in (0x0A0A, 0xFAFA)) and not is_grease(0x0A1A)


def test_ja4_prefix_rules() -> None:
    old = hello_of(
        client_hello([0x002F, 0x0035], [0x000A, 0x000B], alpn=(), versions=(), version=0x0301)
    )
    assert old is not None and ja4(old).startswith("t10i0202" + "00_")
    odd_alpn = hello_of(client_hello(alpn=(b"\xab\xcd",)))
    assert odd_alpn is not None and ja4(odd_alpn)[8:10] == "ad"
    bare = hello_of(client_hello([], [], versions=()))
    assert bare is not None and ja4(bare) == "t12i000000_000000000000_000000000000"
    many = hello_of(client_hello(list(range(1, 120)), [0x000D]))
    assert many is not None and ja4(many)[4:8] == "9901"


def test_truncated_and_corrupt_hellos() -> None:
    record = client_hello()
    for cut in range(len(record)):
        message, more = handshake_message(record[:cut])
        assert message is None and more
    message, _ = handshake_message(record)
    assert message is not None
    for cut in range(len(message)):
        assert parse_client_hello(message[:cut]) is None
    rng = random.Random(11)
    for _ in range(3000):
        flipped = bytearray(message)
        flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
        parse_client_hello(bytes(flipped))
    assert handshake_message(b"\x17\x03\x03\x00\x10" + bytes(16)) == (None, False)


def seg(data: bytes, seq: int, ts: float = 5.0) -> Segment:
    return Segment(
        ts=ts,
        src="10.25.2.30",
        sport=50123,
        dst="198.51.100.77",
        dport=443,
        data=data,
        tcp=True,
        seq=seq,
        key=42,
    )


def test_hello_split_over_segments_is_reassembled() -> None:
    record = client_hello(sni="update.cloudsvc.example.com")
    t = TlsTracker("s", timeout=10, cap=10)
    assert t.add(seg(record[:100], 1000)) == [] and 42 in t.following
    assert t.follow(seg(record[:100], 1000)) == []  # retransmission of the first part
    [event] = t.follow(seg(record[100:], 1100))
    assert (event.server_name, event.version, event.ja4) == (
        "update.cloudsvc.example.com",
        "1.3",
        CHROME_JA4,
    )
    assert (event.src_ip, event.dst_port, t.stats.reassembled) == ("10.25.2.30", 443, 1)
    assert t.add(seg(record, 1000)) == []  # the whole hello again: a retransmission


def test_gap_timeout_and_cap_are_counted() -> None:
    record = client_hello()
    t = TlsTracker("s", timeout=10, cap=1)
    t.add(seg(record[:100], 1))
    assert t.follow(seg(record[150:], 151)) == [] and t.stats.incomplete == 1
    t.add(seg(record[:100], 5000, ts=1.0))
    t.expire(20.0)
    assert t.stats.incomplete == 2 and len(t) == 0
    t.add(seg(record[:100], 9000))
    t.add(
        Segment(ts=1, src="a", sport=1, dst="b", dport=2, data=record[:50], tcp=True, seq=1, key=7)
    )
    assert t.stats.evicted == 1
