"""Capture filters: compile a tcpdump-style expression to classic BPF with libpcap.

libpcap is used only to compile (``pcap_compile`` on a dead handle); the program is then
attached to our own AF_PACKET socket, so the kernel drops unwanted packets before we see them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import socket
import struct

SO_ATTACH_FILTER = 26
DLT_EN10MB = 1
PCAP_NETMASK_UNKNOWN = 0xFFFFFFFF


class FilterError(ValueError):
    """A capture filter expression that libpcap rejects, or no libpcap to compile it."""


class _Program(ctypes.Structure):
    _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.c_void_p)]


class _Instruction(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint32),
    ]


def _libpcap() -> ctypes.CDLL:
    name = ctypes.util.find_library("pcap") or "libpcap.so.0.8"
    try:
        lib = ctypes.CDLL(name)
    except OSError as exc:
        raise FilterError(f"libpcap is needed to compile capture filters: {exc}") from exc
    lib.pcap_open_dead.restype = ctypes.c_void_p
    lib.pcap_open_dead.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.pcap_compile.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(_Program),
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_uint32,
    ]
    lib.pcap_geterr.restype = ctypes.c_char_p
    lib.pcap_geterr.argtypes = [ctypes.c_void_p]
    lib.pcap_freecode.argtypes = [ctypes.POINTER(_Program)]
    lib.pcap_close.argtypes = [ctypes.c_void_p]
    return lib


def compile_filter(expression: str, snaplen: int = 65535) -> bytes:
    """Compile ``expression`` for Ethernet; return the packed ``sock_filter`` instructions."""
    lib = _libpcap()
    handle = lib.pcap_open_dead(DLT_EN10MB, snaplen)
    program = _Program()
    try:
        if (
            lib.pcap_compile(
                handle, ctypes.byref(program), expression.encode(), 1, PCAP_NETMASK_UNKNOWN
            )
            != 0
        ):
            problem = (lib.pcap_geterr(handle) or b"").decode(errors="replace")
            raise FilterError(f"bad capture filter {expression!r}: {problem}")
        insns = ctypes.cast(program.bf_insns, ctypes.POINTER(_Instruction))
        code = b"".join(
            struct.pack("HBBI", i.code, i.jt, i.jf, i.k)
            for i in (insns[n] for n in range(program.bf_len))
        )
        lib.pcap_freecode(ctypes.byref(program))
        return code
    finally:
        lib.pcap_close(handle)


def attach_filter(sock: socket.socket, code: bytes) -> None:
    """Attach compiled BPF ``code`` to a packet socket."""
    buffer = ctypes.create_string_buffer(code)
    fprog = struct.pack("HL", len(code) // 8, ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
