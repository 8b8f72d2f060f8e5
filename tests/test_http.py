"""HTTP/1.x heads and per-connection pairing: sizes, pipelining, chunked bodies, bad input."""

from __future__ import annotations

import random

from sensors.http import HttpTracker, parse_head
from sensors.segment import FIN, Segment

C, S = "192.0.2.66", "10.10.3.10"
REQ = (
    b"GET /news.php?id=12%27%20AND%20SLEEP%285%29--%20- HTTP/1.1\r\n"
    b"Host: yjj.smx.gov.example\r\nUser-Agent: sqlmap/1.8.4\r\nAccept: */*\r\n\r\n"
)


def resp(status: int = 200, body: bytes = b"hello", length: bool = True) -> bytes:
    head = f"HTTP/1.1 {status} OK\r\nServer: nginx\r\n".encode()
    head += (
        f"Content-Length: {len(body)}\r\n".encode() if length else b"Transfer-Encoding: chunked\r\n"
    )
    return head + b"\r\n" + body


def up(data: bytes, ts: float = 10.0, seq: int = 1, port: int = 50000) -> Segment:
    return Segment(
        ts=ts, src=C, sport=port, dst=S, dport=80, data=data, tcp=True, seq=seq, key=port
    )


def down(data: bytes, ts: float = 10.1, seq: int = 1, port: int = 50000, flags: int = 0) -> Segment:
    key = port + 1_000_000
    return Segment(
        ts=ts,
        src=S,
        sport=80,
        dst=C,
        dport=port,
        data=data,
        tcp=True,
        seq=seq,
        flags=flags,
        key=key,
    )


def test_parse_request_keeps_uri_raw() -> None:
    head = parse_head(REQ)
    assert head is not None
    assert head.method == "GET" and head.uri.startswith("/news.php?id=12%27%20AND")
    assert (head.host, head.user_agent, head.head_bytes) == (
        "yjj.smx.gov.example",
        "sqlmap/1.8.4",
        len(REQ),
    )
    odd = parse_head(b"GET /\xe4\xb8\xad?q=\xff HTTP/1.0\r\n\r\n")
    assert odd is not None and odd.uri == "/中?q=\\xff"


def test_parse_response_and_cut_head() -> None:
    head = parse_head(resp(404, b"x" * 10))
    assert head is not None and (head.status, head.content_length, head.method) == (404, 10, "")
    cut = parse_head(REQ[:60])
    assert cut is not None and cut.head_bytes is None and cut.host == ""
    partial = parse_head(REQ[: REQ.index(b"User-Agent") + 5])
    assert (
        partial is not None and partial.host == "yjj.smx.gov.example" and partial.user_agent == ""
    )


def test_not_http() -> None:
    for bad in (
        b"GETX / HTTP/1.1\r\n",
        b"HTTP/2 200\r\n",
        b"FOO / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\n",
        b"",
    ):
        assert parse_head(bad) is None
    assert parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n").content_length is None  # type: ignore[union-attr]


def test_garbage_never_raises() -> None:
    rng = random.Random(5)
    for _ in range(3000):
        blob = bytearray(REQ)
        for _ in range(rng.randrange(1, 6)):
            blob[rng.randrange(len(blob))] = rng.getrandbits(8)
        parse_head(bytes(blob[: rng.randrange(len(blob) + 1)]))


def test_request_paired_with_response_and_sizes() -> None:
    t = HttpTracker("s", timeout=120, cap=100)
    assert t.add(up(REQ)) == []
    body = b"<html>" * 50
    [event] = t.add(down(resp(500, body)))
    assert (event.status, event.method, event.src_ip, event.dst_port) == (500, "GET", C, 80)
    assert event.request_bytes == len(REQ) and event.response_bytes == len(resp(500, body))


def test_pipelined_responses_pair_in_order_and_retransmission_is_ignored() -> None:
    t = HttpTracker("s", timeout=120, cap=100)
    t.add(up(REQ.replace(b"SLEEP", b"ONE"), seq=1))
    t.add(up(REQ, seq=1))  # retransmission of the first request
    t.add(up(REQ.replace(b"SLEEP", b"TWO"), seq=500))
    first = t.add(down(resp(200), seq=1))
    second = t.add(down(resp(403), seq=300))
    assert [e.status for e in first + second] == [200, 403]
    assert "ONE" in first[0].uri and "TWO" in second[0].uri
    assert t.stats.retransmits == 1


def test_chunked_response_counts_bytes_until_fin() -> None:
    t = HttpTracker("s", timeout=120, cap=100)
    t.add(up(REQ))
    head = resp(200, b"5\r\nhello\r\n", length=False)
    assert t.add(down(head)) == []
    assert set(t.following) == {1_050_000}
    assert t.follow(down(b"0\r\n\r\n", seq=500)) == []
    [event] = t.follow(down(b"", seq=505, flags=FIN))
    assert event.response_bytes == len(head) + 5 and t.following == {}


def test_interim_100_continue_and_head_method() -> None:
    t = HttpTracker("s", timeout=120, cap=100)
    t.add(
        up(b"POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
    )
    assert t.add(down(b"HTTP/1.1 100 Continue\r\n\r\n")) == []
    [event] = t.add(down(resp(302, b"moved"), seq=30))
    assert (event.method, event.status) == ("POST", 302)
    t.add(up(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", seq=900))
    [head] = t.add(down(b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n", seq=90))
    assert head.response_bytes == len(b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n")


def test_unanswered_timeout_orphans_and_cap() -> None:
    t = HttpTracker("s", timeout=60, cap=2)
    assert t.add(down(resp())) == [] and t.stats.orphans == 1
    t.add(up(REQ, ts=10.0, port=1))
    t.add(up(REQ, ts=11.0, port=2))
    [evicted] = t.add(up(REQ, ts=12.0, port=3))
    assert (evicted.src_port, evicted.status, t.stats.evicted) == (1, None, 1)
    assert [e.src_port for e in t.expire(71.5)] == [2]
    assert [e.src_port for e in t.flush()] == [3] and len(t) == 0
