"""The metadata fast paths: each must agree with the general code it short-cuts."""

from __future__ import annotations

from pathlib import Path

from sensors.dns import parse_dns, read_name
from sensors.events import DnsQuery, TlsHello, Transport
from sensors.metadata import MetadataExtractor
from sensors.tls import handshake_message, hello_end, parse_client_hello
from tests.captures import tcp, udp, write_pcap
from tests.metadata_reference import extract
from tests.test_tls import client_hello

C, S = "10.21.3.4", "10.10.0.53"
HEADER = bytes.fromhex("123401000001000000000000")  # id 0x1234, RD, one question
LONG = b"".join(b"\x3f" + bytes([c]) * 63 for c in b"abc")  # three 63-byte labels


def question(wire: bytes) -> bytes:
    """A query whose question name is ``wire`` (labels and terminator), type A, class IN."""
    return HEADER + wire + b"\x00\x01\x00\x01"


def test_question_fast_path_agrees_with_the_full_reader() -> None:
    names = [
        b"\x03www\x07example\x03com\x00",
        b"\x03a.b\x03com\x00",  # a dot inside a label: escaped
        b"\x04a\\bc\x00",  # a backslash: escaped
        b"\x03a\x00b\x00",  # a zero byte inside a label
        b"\x02\xff\x01\x00",  # non-printable bytes
        LONG + b"\x3e" + b"d" * 62 + b"\x00",  # 255 bytes of labels: the longest allowed
        LONG + b"\x3f" + b"d" * 63 + b"\x00",  # 256 bytes: too long
        b"\x00",  # the root
        b"\xc0\x0c",  # a pointer to itself
        b"\x41" + b"a" * 65 + b"\x00",  # an obsolete label type
    ]
    for wire in names:
        data = question(wire)
        full = read_name(data, len(HEADER))
        msg = parse_dns(data)
        assert (msg.name if msg else None) == (full[0] if full else None), wire
    assert parse_dns(question(b"\x03a.b\x03com\x00")).name == "a\\.b.com"  # type: ignore[union-attr]
    assert parse_dns(question(names[5])) is not None and parse_dns(question(names[6])) is None
    cut = question(b"\x03www\x07exam")
    assert parse_dns(cut[: len(cut) - 4]) is None


def test_hello_end_marks_only_prefixes_that_cannot_be_whole() -> None:
    record = client_hello(sni="update.cloudsvc.example.com")
    end = hello_end(record)
    assert end == len(record)
    for size in (9, 100, end - 1):
        assert hello_end(record[:size]) == end and handshake_message(record[:size]) == (None, True)
    message, more = handshake_message(record)
    assert not more and parse_client_hello(message or b"") is not None
    assert hello_end(record[:8]) == 0 and hello_end(b"\x17" + record[1:]) == 0


def test_junk_datagrams_on_the_dns_port_are_counted_without_parsing(tmp_path: Path) -> None:
    junk = [b"\x00" * 11, b"\x12\x34\x78\x00\x00\x01" + bytes(6), HEADER[:4] + bytes(8)]
    junk.append(HEADER[:4] + b"\x00\x05" + bytes(6))  # five questions: garbage
    frames = [udp(C, S, 40000 + n, 53, data) for n, data in enumerate(junk)]
    frames.append(udp(C, S, 41000, 53, question(b"\x03www\x07example\x03com\x00")))
    path = write_pcap(tmp_path / "junk.pcap", [(1.0 + n, f) for n, f in enumerate(frames)])
    extractor = MetadataExtractor("s")
    [event] = extract(path, extractor)
    assert isinstance(event, DnsQuery) and event.query == "www.example.com"
    stats = extractor.stats
    assert (stats.candidates, stats.dns.messages, stats.dns.malformed) == (5, 5, 4)


def test_events_keep_packet_order_across_parsers(tmp_path: Path) -> None:
    hello = client_hello(sni="first.example")
    query = question(b"\x03www\x07example\x03com\x00")
    answer = bytearray(query)
    answer[2] |= 0x80  # the response to it
    frames = [
        tcp(C, S, 50000, 443, "PA", hello),
        udp(C, S, 41000, 53, query),
        udp(S, C, 53, 41000, bytes(answer)),
        tcp(C, S, 50001, 443, "PA", client_hello(sni="second.example")),
    ]
    path = write_pcap(tmp_path / "mixed.pcap", [(1.0 + n, f) for n, f in enumerate(frames)])
    events = extract(path)
    assert [type(e) for e in events] == [TlsHello, DnsQuery, TlsHello]
    assert [e.time for e in events if isinstance(e, TlsHello | DnsQuery)] == [1.0, 2.0, 4.0]


def test_dns_datagrams_and_tcp_messages_in_one_batch_pair_in_packet_order(tmp_path: Path) -> None:
    query = question(b"\x03www\x07example\x03com\x00")
    answer = bytearray(query)
    answer[2] |= 0x80
    frames = [
        udp(C, S, 40000, 53, query),
        tcp(S, C, 53, 40000, "PA", len(answer).to_bytes(2) + answer),  # answers it over TCP
        udp(S, C, 53, 40000, bytes(answer)),  # so this one finds nothing pending
    ]
    path = write_pcap(tmp_path / "dns.pcap", [(1.0 + n, f) for n, f in enumerate(frames)])
    events = extract(path)
    assert all(isinstance(e, DnsQuery) for e in events)
    got = [(e.time, e.transport, e.request_bytes) for e in events if isinstance(e, DnsQuery)]
    assert got == [(1.0, Transport.UDP, len(query)), (3.0, Transport.UDP, 0)]
