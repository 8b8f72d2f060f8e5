"""Syslog receivers: UDP, TCP and TLS (RFC 5425) listeners feeding one bounded queue.

The receivers run an asyncio loop in their own thread (UDP: a thread per socket reading
datagrams in batches) and only frame and enqueue; parsing and detection happen in the consumer,
which takes whole batches. When the queue is full a message is dropped and counted
(``stats.dropped``) rather than blocking the socket, so the kernel buffer never silently
overflows behind a slow consumer. The sender's address is kept with every message.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import NamedTuple

from sensors.logs.datagrams import Datagram, DatagramReader
from sensors.logs.framing import FrameSplitter
from sensors.logs.messages import BatchQueue

UDP_BUFFER = 8 << 20  # kernel receive buffer asked for: absorbs bursts while Python catches up
STOP_GRACE = 5.0  # seconds open TCP/TLS connections get to finish sending after a stop


class Received(NamedTuple):
    """One syslog message as it arrived: text, sender address and listener.

    A named tuple, not a frozen dataclass: built once per datagram on the receive thread,
    where the dataclass's ``object.__setattr__`` per field cost several times more."""

    text: str
    sender: str
    transport: str
    time: float


@dataclass
class ReceiverStats:
    """Counts of what the listeners accepted, dropped and rejected."""

    received: int = 0
    dropped: int = 0  # queue full
    oversized: int = 0
    non_utf8: int = 0
    connections: int = 0
    by_transport: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Listener:
    """One socket to listen on: ``udp``, ``tcp`` or ``tls`` at host:port."""

    transport: str
    host: str
    port: int
    tls: ssl.SSLContext | None = None


class SyslogReceiver:
    """Listeners on a background asyncio loop, all feeding ``self.queue``."""

    def __init__(self, queue_size: int = 100_000, max_message: int = 65_536) -> None:
        self.queue: BatchQueue[Received] = BatchQueue(queue_size)
        self.stats = ReceiverStats()
        self.max_message = max_message
        self.addresses: dict[str, tuple[str, int]] = {}  # listener -> bound address
        self.udp_buffers: dict[str, int] = {}  # listener -> kernel receive buffer it got
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._closers: list[asyncio.AbstractServer | asyncio.BaseTransport] = []
        self._udp: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._streams: set[asyncio.Task[None]] = set()

    def start(self, listeners: list[Listener]) -> None:
        """Bind every listener (port 0: any free port, see ``addresses``); ready on return."""
        self._thread.start()
        for listener in listeners:
            future = asyncio.run_coroutine_threadsafe(self._listen(listener), self._loop)
            future.result(timeout=10)

    def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop accepting, then take in what was already sent: the UDP socket buffers, and
        open connections until they end (at most ``grace`` seconds). Queued messages stay."""
        if self._thread.is_alive():
            future = asyncio.run_coroutine_threadsafe(self._close(grace), self._loop)
            future.result(timeout=grace + 10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def offer(self, raw: bytes, sender: str, transport: str) -> None:
        """Queue one message, or count it as dropped when the consumer is behind."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.stats.non_utf8 += 1
            text = raw.decode("utf-8", errors="replace")
        try:
            self.queue.put_nowait(
                Received(text=text, sender=sender, transport=transport, time=time.time())
            )
        except queue.Full:
            self.stats.dropped += 1
            return
        self.stats.received += 1

    async def _close(self, grace: float) -> None:
        for server in self._closers:
            if isinstance(server, asyncio.AbstractServer):
                server.close()
        self._stopping.set()  # UDP readers empty their socket buffers, then end
        for reader in self._udp:
            await asyncio.to_thread(reader.join)
        if self._streams:
            await asyncio.wait(self._streams, timeout=grace)
        for closer in self._closers:
            closer.close()

    def _read_udp(self, sock: socket.socket) -> None:
        """Batched reads in a thread of their own (see :mod:`sensors.logs.datagrams`): far
        cheaper per datagram than the event loop's readiness callbacks."""
        with sock:
            reader = DatagramReader(sock, self.max_message)
            while not self._stopping.is_set():
                self.datagrams(reader.read(timeout=0.2))
            while batch := reader.drain():  # stopping: take what the kernel still holds
                self.datagrams(batch)

    def datagrams(self, batch: list[Datagram]) -> None:
        """Queue a batch of UDP datagrams (one message each, RFC 5426) in one go."""
        now, kept = time.time(), []
        for data, sender in batch:
            if data is None:
                self.stats.oversized += 1
                continue
            try:
                text = data.rstrip(b"\n\x00").decode("utf-8")
            except UnicodeDecodeError:
                self.stats.non_utf8 += 1
                text = data.rstrip(b"\n\x00").decode("utf-8", errors="replace")
            kept.append(Received(text=text, sender=sender, transport="udp", time=now))
        queued = self.queue.put_many(kept)
        self.stats.received += queued
        self.stats.dropped += len(kept) - queued

    async def _listen(self, listener: Listener) -> None:
        name = f"{listener.transport}://{listener.host}:{listener.port}"
        if listener.transport == "udp":
            sock = _udp_socket(listener.host, listener.port)
            self.addresses[name] = sock.getsockname()[:2]
            self.udp_buffers[name] = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
            reader = threading.Thread(target=self._read_udp, args=(sock,), daemon=True)
            self._udp.append(reader)
            reader.start()
            return
        server = await asyncio.start_server(
            lambda r, w: self._stream(r, w, listener.transport),
            listener.host,
            listener.port,
            ssl=listener.tls,
        )
        self._closers.append(server)
        self.addresses[name] = server.sockets[0].getsockname()[:2]

    async def _stream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, transport: str
    ) -> None:
        peer = writer.get_extra_info("peername")
        sender = f"{peer[0]}:{peer[1]}" if peer else "?"
        splitter = FrameSplitter(self.max_message)
        self.stats.connections += 1
        task = asyncio.current_task()
        if task is not None:
            self._streams.add(task)
            task.add_done_callback(self._streams.discard)
        try:
            while data := await reader.read(65_536):
                for message in splitter.feed(data):
                    self.offer(message, sender, transport)
        except (ConnectionError, ssl.SSLError, OSError):
            pass  # a peer that resets or fails the handshake only ends its own connection
        finally:
            self.stats.oversized += splitter.oversized
            writer.close()


def _udp_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_BUFFER)  # capped at rmem_max
    force = getattr(socket, "SO_RCVBUFFORCE", None)
    if force is not None:  # beyond net.core.rmem_max; allowed with CAP_NET_ADMIN only
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, force, UDP_BUFFER)
    sock.bind((host, port))
    sock.settimeout(0.2)  # how quickly a reader notices a stop
    return sock
