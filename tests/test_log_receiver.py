"""Syslog framing and the UDP/TCP/TLS receivers, on loopback only."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sensors.logs.framing import FrameSplitter
from sensors.logs.receiver import Listener, SyslogReceiver

LINE = "<38>Feb 25 14:34:10 belka sshd[1]: Failed password for root from 192.0.2.{n} port 2 ssh2"


def test_octet_counted_and_newline_frames_in_pieces() -> None:
    splitter = FrameSplitter(max_message=1000)
    stream = b"5 hello3 abcplain line\n10 with\nspace"
    got = [m for n in range(0, len(stream), 3) for m in splitter.feed(stream[n : n + 3])]
    assert got == [b"hello", b"abc", b"plain line", b"with\nspace"]


def test_oversized_frames_are_skipped_and_the_stream_resyncs() -> None:
    splitter = FrameSplitter(max_message=480)
    data = b"9999 " + b"x" * 9999 + b"ok\n" + b"y" * 2000 + b"\nafter\n"
    assert splitter.feed(data) == [b"ok", b"after"] and splitter.oversized == 2


@pytest.fixture
def receiver() -> Iterator[SyslogReceiver]:
    got = SyslogReceiver(queue_size=1000)
    yield got
    got.stop(grace=0.5)


def listen(receiver: SyslogReceiver, *listeners: Listener) -> dict[str, tuple[str, int]]:
    receiver.start(list(listeners))
    return {name.split(":")[0]: address for name, address in receiver.addresses.items()}


def test_udp_and_tcp_messages_keep_their_sender(receiver: SyslogReceiver) -> None:
    bound = listen(
        receiver,
        Listener(transport="udp", host="127.0.0.1", port=0),
        Listener(transport="tcp", host="127.0.0.1", port=0),
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        udp.sendto(LINE.format(n=1).encode(), bound["udp"])
        sender = udp.getsockname()
    with socket.create_connection(bound["tcp"]) as tcp:
        message = LINE.format(n=2).encode()
        tcp.sendall(b"%d %s" % (len(message), message) + LINE.format(n=3).encode() + b"\n")
    got = [receiver.queue.get(timeout=5) for _ in range(3)]
    assert {m.text for m in got} == {LINE.format(n=n) for n in (1, 2, 3)}
    udp_message = next(m for m in got if m.transport == "udp")
    assert udp_message.sender == f"{sender[0]}:{sender[1]}"


def test_full_queue_drops_and_counts(tmp_path: Path) -> None:
    small = SyslogReceiver(queue_size=10)
    bound = listen(small, Listener(transport="udp", host="127.0.0.1", port=0))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for n in range(50):
            udp.sendto(LINE.format(n=n).encode(), bound["udp"])
    small.stop(grace=0.5)  # stopping reads what the kernel still holds
    assert (small.stats.received, small.stats.dropped) == (10, 40)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_tls_listener(tmp_path: Path, receiver: SyslogReceiver) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    bound = listen(receiver, Listener(transport="tls", host="127.0.0.1", port=0, tls=server))
    client = ssl.create_default_context(cafile=str(cert))
    client.check_hostname = False
    with socket.create_connection(bound["tls"]) as raw, client.wrap_socket(raw) as tls:
        message = LINE.format(n=4).encode()
        tls.sendall(b"%d %s" % (len(message), message))
    assert receiver.queue.get(timeout=5).text == LINE.format(n=4)
