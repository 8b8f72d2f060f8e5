"""SSH banners: parsing, pairing both sides of a connection, deciding which side serves."""

from __future__ import annotations

from sensors.events import SshHello, event_from_document
from sensors.segment import Segment
from sensors.ssh import SshTracker, parse_banner, software

A, B = "198.51.100.23", "10.10.1.22"


def seg(src: str, sport: int, dst: str, dport: int, data: bytes, ts: float = 1.0) -> Segment:
    return Segment(ts=ts, src=src, sport=sport, dst=dst, dport=dport, data=data, tcp=True)


def test_parse_banner() -> None:
    assert parse_banner(b"SSH-2.0-OpenSSH_7.4\r\n\x00\x00\x05") == "SSH-2.0-OpenSSH_7.4"
    assert parse_banner(b"SSH-2.0-OpenSSH_9.6p1 Debian-4\r\n") == "SSH-2.0-OpenSSH_9.6p1 Debian-4"
    assert parse_banner(b"SSH-1.99-libssh-0.6.3\n") == "SSH-1.99-libssh-0.6.3"
    assert software("SSH-2.0-OpenSSH_9.6p1 Debian-4") == "OpenSSH_9.6p1 Debian-4"
    for bad in (
        b"SSH-2.0-OpenSSH",
        b"SSH-2.0-\r\n",
        b"SSH-x-y\r\n",
        b"SSH-2.0-a\tb\r\n",
        b"SSH-2.0-" + b"a" * 300 + b"\r\n",
    ):
        assert parse_banner(bad) is None


def test_both_banners_make_one_event_with_the_server_on_22() -> None:
    t = SshTracker("s", timeout=30, cap=10)
    assert t.add(seg(B, 22, A, 40000, b"SSH-2.0-OpenSSH_7.4\r\n")) == []
    assert t.add(seg(B, 22, A, 40000, b"SSH-2.0-OpenSSH_7.4\r\n")) == []  # retransmission
    [event] = t.add(seg(A, 40000, B, 22, b"SSH-2.0-libssh_0.9.6\r\n", 1.1))
    assert (event.src_ip, event.src_port, event.dst_ip, event.dst_port) == (A, 40000, B, 22)
    assert (event.client, event.server, event.time) == (
        "SSH-2.0-libssh_0.9.6",
        "SSH-2.0-OpenSSH_7.4",
        1.0,
    )
    assert t.stats.duplicates == 1
    assert event_from_document(event.to_ecs()) == event


def test_server_guess_without_port_22() -> None:
    t = SshTracker("s", timeout=30, cap=10)
    t.add(seg(A, 50000, B, 2222, b"SSH-2.0-client\r\n"))
    [event] = t.add(seg(B, 2222, A, 50000, b"SSH-2.0-server\r\n"))
    assert (event.dst_port, event.server) == (2222, "SSH-2.0-server")
    t.add(seg(A, 3000, B, 3000, b"SSH-2.0-first\r\n"))
    [tie] = t.add(seg(B, 3000, A, 3000, b"SSH-2.0-second\r\n"))
    assert (tie.dst_ip, tie.server) == (A, "SSH-2.0-first")


def test_one_sided_sessions_timeout_flush_and_cap() -> None:
    t = SshTracker("s", timeout=30, cap=1)
    t.add(seg(A, 40000, B, 22, b"SSH-2.0-scanner\r\n", 1.0))
    [evicted] = t.add(seg(A, 40001, B, 22, b"SSH-2.0-scanner\r\n", 2.0))
    assert (evicted.client, evicted.server, t.stats.evicted) == ("SSH-2.0-scanner", "", 1)
    assert t.expire(10.0) == [] and len(t.expire(40.0)) == 1
    t.add(seg(A, 40002, B, 22, b"SSH-2.0-x\r\n", 50.0))
    assert isinstance(t.flush()[0], SshHello) and t.stats.one_sided == 3
    assert t.add(seg(A, 1, B, 22, b"SSH-garbage")) == [] and t.stats.malformed == 1
