"""Batched UDP reads (recvmmsg, or the plain fallback) and the batch queue, on loopback."""

from __future__ import annotations

import queue
import socket
from collections.abc import Iterator

import pytest

from sensors.logs.datagrams import DatagramReader
from sensors.logs.messages import BatchQueue
from sensors.logs.receiver import Listener, SyslogReceiver


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client,
    ):
        server.bind(("127.0.0.1", 0))
        client.bind(("127.0.0.1", 0))
        server.settimeout(0.2)  # as the receiver does: the descriptor is non-blocking
        yield server, client


@pytest.mark.parametrize("batched", [True, False])
def test_batches_keep_order_sender_and_flag_oversized(
    pair: tuple[socket.socket, socket.socket], batched: bool
) -> None:
    server, client = pair
    reader = DatagramReader(server, max_message=100, batch=2)
    if not batched:
        reader.batched = False  # the fallback for systems without recvmmsg
    elif not reader.batched:
        pytest.skip("no recvmmsg here")
    payloads = [b"one", b"x" * 101, b"three", b"y" * 100, b"five"]
    for payload in payloads:
        client.sendto(payload, server.getsockname())
    host, port = client.getsockname()
    sender = f"{host}:{port}"
    got = reader.read(timeout=5)
    while batch := reader.drain():
        got += batch
    assert got == [(p if len(p) <= 100 else None, sender) for p in payloads]
    assert reader.read(timeout=0) == []


def test_batch_queue_keeps_what_fits_and_hands_out_batches() -> None:
    box: BatchQueue[int] = BatchQueue(5)
    assert box.put_many([1, 2, 3]) == 3 and box.put_many([4, 5, 6, 7]) == 2
    with pytest.raises(queue.Full):
        box.put_nowait(8)
    assert box.take(2, wait=0) == [1, 2] and box.get(timeout=0) == 3
    assert box.take(10, wait=0.01) == [4, 5] and box.take(10, wait=0.01) == []
    with pytest.raises(queue.Empty):
        box.get_nowait()


def test_receiver_counts_oversized_and_non_utf8_and_keeps_the_rest() -> None:
    receiver = SyslogReceiver(queue_size=100, max_message=200)
    receiver.start([Listener(transport="udp", host="127.0.0.1", port=0)])
    (address,) = receiver.addresses.values()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for payload in (b"x" * 201, b"\xff bad\n", b"good\x00", b"y" * 200):
            udp.sendto(payload, address)
    got = receiver.queue.take(10, wait=5)
    while len(got) < 3:
        more = receiver.queue.take(10, wait=5)
        assert more, got
        got += more
    receiver.stop(grace=0.5)
    assert [m.text for m in got] == ["\ufffd bad", "good", "y" * 200]
    assert (receiver.stats.received, receiver.stats.oversized, receiver.stats.non_utf8) == (3, 1, 1)
