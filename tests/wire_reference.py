"""The pure-Python DNS and ClientHello parsers the compiled kernels replaced, as references.

Kept only for the tests, which prove the kernels (``sensors/_dnswire.pyx``,
``sensors/_tlshello.pyx``) give the same result on every input, hostile ones included.
"""

from __future__ import annotations

import struct

from sensors.dns import HEADER, MAX_JUMPS, MAX_NAME, MAX_OPCODE, MAX_QUESTIONS, DnsMessage
from sensors.tls import (
    EXT_ALPN,
    EXT_GROUPS,
    EXT_POINTS,
    EXT_SIGALGS,
    EXT_SNI,
    EXT_VERSIONS,
    ClientHello,
)


def label_text(raw: bytes) -> str:
    """Presentation form of one label (RFC 1035 §5.1 escapes)."""
    out = []
    for byte in raw:
        if byte in (0x2E, 0x5C):
            out.append("\\" + chr(byte))
        elif 0x21 <= byte <= 0x7E:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return "".join(out)


def read_name(data: bytes, at: int) -> tuple[str, int] | None:
    """Read a possibly compressed name at ``at``; return it and the offset after it."""
    labels: list[str] = []
    end = -1
    jumps = wire = 0
    while True:
        if at >= len(data):
            return None
        length = data[at]
        if length == 0:
            break
        if length & 0xC0 == 0xC0:
            if at + 1 >= len(data) or jumps >= MAX_JUMPS:
                return None
            target = (length & 0x3F) << 8 | data[at + 1]
            if target >= at:
                return None
            end = at + 2 if end < 0 else end
            at, jumps = target, jumps + 1
            continue
        if length & 0xC0 or at + 1 + length > len(data):
            return None
        wire += length + 1
        if wire > MAX_NAME:
            return None
        labels.append(label_text(data[at + 1 : at + 1 + length]))
        at += 1 + length
    return (".".join(labels) or "."), (end if end >= 0 else at + 1)


def parse_dns(data: bytes) -> DnsMessage | None:
    """Parse a DNS message's header and first question; None when it is not plausible DNS."""
    if len(data) < HEADER.size:
        return None
    txid, flags, qd, an, _ns, _ar = HEADER.unpack_from(data)
    opcode = flags >> 11 & 0xF
    if opcode > MAX_OPCODE or not 1 <= qd <= MAX_QUESTIONS:
        return None
    read = read_name(data, HEADER.size)
    if read is None or read[1] + 4 > len(data):
        return None
    name, at = read
    qtype = struct.unpack_from("!H", data, at)[0]
    response = bool(flags & 0x8000)
    return DnsMessage(txid, response, opcode, flags & 0xF, name, qtype, qd, an, len(data))


class _TruncatedError(IndexError):
    """A length field points past the end of its enclosing structure."""


def _span(data: bytes, at: int, end: int, width: int) -> tuple[int, int]:
    if at + width > end:
        raise _TruncatedError(at)
    start = at + width
    stop = start + (data[at] if width == 1 else data[at] << 8 | data[at + 1])
    if stop > end:
        raise _TruncatedError(at)
    return start, stop


def _u16s(data: bytes, start: int, stop: int) -> tuple[int, ...]:
    return struct.unpack_from(f"!{(stop - start) // 2}H", data, start)


def _inner(data: bytes, span: tuple[int, int] | None, width: int) -> tuple[int, int]:
    return _span(data, span[0], span[1], width) if span is not None else (0, 0)


def _server_name(data: bytes, start: int, stop: int) -> str:
    at, end = _span(data, start, stop, 2)
    while at < end:
        kind = data[at]
        name_at, at = _span(data, at + 1, end, 2)
        if kind == 0:
            return data[name_at:at].decode("ascii", "backslashreplace")
    return ""


def _alpn(data: bytes, start: int, stop: int) -> tuple[bytes, ...]:
    at, end = _span(data, start, stop, 2)
    out = []
    while at < end:
        name_at, at = _span(data, at, end, 1)
        out.append(data[name_at:at])
    return tuple(out)


def _extensions(data: bytes, at: int, end: int) -> tuple[list[int], dict[int, tuple[int, int]]]:
    kinds: list[int] = []
    bodies: dict[int, tuple[int, int]] = {}
    while at < end:
        if at + 4 > end:
            raise _TruncatedError(at)
        kind, length = struct.unpack_from("!HH", data, at)
        at += 4 + length
        if at > end:
            raise _TruncatedError(at)
        kinds.append(kind)
        if kind not in bodies:
            bodies[kind] = (at - length, at)
    return kinds, bodies


def parse_client_hello(message: bytes) -> ClientHello | None:
    """Parse a handshake message (type byte first); None unless it is a whole ClientHello."""
    try:
        if len(message) < 4:
            return None
        kind, high, low = struct.unpack_from("!BBH", message)
        end = 4 + (high << 16 | low)
        if kind != 1 or end > len(message) or end < 6 + 32:
            return None
        version = message[4] << 8 | message[5]
        _, at = _span(message, 38, end, 1)
        cipher_span = _span(message, at, end, 2)
        _, at = _span(message, cipher_span[1], end, 1)
        ext_at, ext_end = _span(message, at, end, 2) if at < end else (at, at)
        kinds, bodies = _extensions(message, ext_at, ext_end)
        sni, alpn = bodies.get(EXT_SNI), bodies.get(EXT_ALPN)
        points = _inner(message, bodies.get(EXT_POINTS), 1)
        return ClientHello(
            version=version,
            ciphers=_u16s(message, *cipher_span),
            extensions=tuple(kinds),
            server_name=_server_name(message, *sni) if sni is not None else "",
            groups=_u16s(message, *_inner(message, bodies.get(EXT_GROUPS), 2)),
            point_formats=tuple(message[points[0] : points[1]]),
            signature_algorithms=_u16s(message, *_inner(message, bodies.get(EXT_SIGALGS), 2)),
            alpn=_alpn(message, *alpn) if alpn is not None else (),
            versions=_u16s(message, *_inner(message, bodies.get(EXT_VERSIONS), 1)),
        )
    except (IndexError, struct.error):
        return None
