"""Reading UDP datagrams in batches: one ``recvmmsg`` system call for up to BATCH of them.

A receive thread that calls ``recvfrom`` once per datagram releases and retakes the GIL once
per datagram, and each time the consumer thread is runnable it may keep the GIL for a whole
switch interval (5 ms) before the receiver gets it back: that convoy, not the system calls,
is what made a Python UDP receiver drop. ``recvmmsg`` (Linux, through ctypes) brings the GIL
hand-offs down to one per batch; elsewhere a non-blocking ``recvfrom`` loop does the same job.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import select
import socket
import struct
from typing import Any

BATCH = 64  # datagrams per system call (memory: BATCH × (max_message + 1) bytes of buffers)
_SOCKADDR = 128  # sizeof(struct sockaddr_storage)
_MSG_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0x40)


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _MsgHdr(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_void_p),
        ("namelen", ctypes.c_uint32),
        ("iov", ctypes.POINTER(_IoVec)),
        ("iovlen", ctypes.c_size_t),
        ("control", ctypes.c_void_p),
        ("controllen", ctypes.c_size_t),
        ("flags", ctypes.c_int),
    ]


class _MMsgHdr(ctypes.Structure):
    _fields_ = [("hdr", _MsgHdr), ("len", ctypes.c_uint)]


def _recvmmsg() -> Any:
    """libc's ``recvmmsg``, or None where there is none (not Linux)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        function = libc.recvmmsg
    except (OSError, AttributeError, TypeError):
        return None
    function.argtypes = [
        ctypes.c_int,
        ctypes.POINTER(_MMsgHdr),
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_void_p,
    ]
    function.restype = ctypes.c_int
    return function


_RECVMMSG = _recvmmsg()
_STRIDE = ctypes.sizeof(_MMsgHdr)
# Each header's received length (``msg_len``), read for a whole batch in one unpacking pass.
_LENGTHS = struct.Struct(f"{_MMsgHdr.len.offset}xI{_STRIDE - _MMsgHdr.len.offset - 4}x")

Datagram = tuple[bytes | None, str]
"""A datagram's bytes (None when longer than the maximum) and its sender ``host:port``."""


class DatagramReader:
    """Batches of datagrams from one UDP socket, waiting at most a timeout for the first."""

    def __init__(self, sock: socket.socket, max_message: int, *, batch: int = BATCH) -> None:
        self.sock = sock
        self.size = max_message + 1  # one byte more, so a longer datagram shows as too long
        self.batched = _RECVMMSG is not None
        self._poll = select.poll()
        self._poll.register(sock.fileno(), select.POLLIN)
        self._senders: dict[bytes, str] = {}  # raw sockaddr -> "host:port" (few senders)
        if self.batched:
            self._data = ctypes.create_string_buffer(batch * self.size)
            self._names = ctypes.create_string_buffer(batch * _SOCKADDR)
            self._view = memoryview(self._data)
            self._names_view = memoryview(self._names)
            self._vecs = (_IoVec * batch)()
            self._msgs = (_MMsgHdr * batch)()
            base, names = ctypes.addressof(self._data), ctypes.addressof(self._names)
            for n in range(batch):
                self._vecs[n].base, self._vecs[n].len = base + n * self.size, self.size
                header = self._msgs[n].hdr
                header.name, header.iovlen = names + n * _SOCKADDR, 1
                header.iov = ctypes.pointer(self._vecs[n])
                header.namelen = _SOCKADDR
            # The headers as set up here: restored in one copy before each call, since the
            # kernel overwrites each sender's length (cheaper than 64 ctypes field writes).
            self._pristine = bytes(memoryview(self._msgs).cast("B"))
            self._raw = memoryview(self._msgs).cast("B")
        self.batch = batch

    def read(self, timeout: float) -> list[Datagram]:
        """The datagrams waiting now (after at most ``timeout`` seconds); [] when none came."""
        if not self._poll.poll(timeout * 1000):
            return []
        return self.drain()

    def drain(self) -> list[Datagram]:
        """Up to one batch of the datagrams already waiting, without blocking."""
        if not self.batched:
            return self._drain_plain()
        self._raw[:] = self._pristine
        count = _RECVMMSG(self.sock.fileno(), self._msgs, self.batch, _MSG_DONTWAIT, None)
        if count <= 0:
            return []
        got: list[Datagram] = []
        view, names, size = self._view, self._names_view, self.size
        for n, (length,) in enumerate(_LENGTHS.iter_unpack(self._raw[: count * _STRIDE])):
            start, named = n * size, n * _SOCKADDR
            data = bytes(view[start : start + length]) if length < size else None
            # 28 bytes cover sockaddr_in6; an IPv4 sender's key may carry stale bytes after
            # its 16, which only costs a cache entry, never a wrong address.
            got.append((data, self._sender(bytes(names[named : named + 28]))))
        return got

    def _drain_plain(self) -> list[Datagram]:
        got: list[Datagram] = []
        # poll first: a socket with a timeout would wait that long in recvfrom when empty
        while len(got) < self.batch and self._poll.poll(0):
            try:
                data, addr = self.sock.recvfrom(self.size, _MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError, TimeoutError):
                break
            got.append((data if len(data) < self.size else None, f"{addr[0]}:{addr[1]}"))
        return got

    def _sender(self, name: bytes) -> str:
        """``host:port`` of a raw sockaddr_in/sockaddr_in6 (cached: senders are few)."""
        known = self._senders.get(name)
        if known is None:
            family = int.from_bytes(name[:2], "little")
            port = int.from_bytes(name[2:4], "big")
            if family == socket.AF_INET6:
                host = socket.inet_ntop(socket.AF_INET6, name[8:24])
            else:
                host = socket.inet_ntop(socket.AF_INET, name[4:8])
            known = f"{host}:{port}"
            if len(self._senders) < 65_536:
                self._senders[name] = known
        return known
