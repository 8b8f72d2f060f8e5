"""TLS ClientHello: parsing from handshake records, and the JA3 and JA4 fingerprints.

JA3 follows the public Salesforce definition (decimal fields, GREASE removed, MD5 of the
string); JA4 follows FoxIO's JA4 (TLS client) specification. Reassembly across segments and
the events are in :mod:`sensors.tls_stream`.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

EXT_SNI, EXT_GROUPS, EXT_POINTS, EXT_SIGALGS, EXT_ALPN, EXT_VERSIONS = 0, 10, 11, 13, 16, 43
MAX_HELLO = 1 << 16  # a ClientHello beyond 64 KiB is not one a real client sends
VERSION_TEXT = {0x0304: "1.3", 0x0303: "1.2", 0x0302: "1.1", 0x0301: "1.0", 0x0300: "3.0"}
JA4_VERSION = {
    0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3", 0x0200: "s2",
    0x0002: "s2", 0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3",
}  # fmt: skip
EMPTY_HASH = "000000000000"


def is_grease(value: int) -> bool:
    """Whether a 16-bit value is an RFC 8701 GREASE value (0x0A0A, 0x1A1A, … 0xFAFA)."""
    return value & 0x0F0F == 0x0A0A and value >> 8 == value & 0xFF


@dataclass(frozen=True, slots=True)
class ClientHello:
    """The fingerprinted fields of a ClientHello, in wire order, GREASE values included."""

    version: int  # legacy_version of the handshake
    ciphers: tuple[int, ...]
    extensions: tuple[int, ...]
    server_name: str = ""
    groups: tuple[int, ...] = ()
    point_formats: tuple[int, ...] = ()
    signature_algorithms: tuple[int, ...] = ()
    alpn: tuple[bytes, ...] = ()
    versions: tuple[int, ...] = ()  # supported_versions

    @property
    def highest_version(self) -> int:
        """The highest version offered: supported_versions when present, else legacy_version."""
        offered = [v for v in self.versions if not is_grease(v)]
        return max(offered) if offered else self.version


class _Reader:
    """Bounds-checked reads; any read past the end raises IndexError, caught by the parser."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.data):
            raise IndexError("truncated")
        out = self.data[self.at : self.at + size]
        self.at += size
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2))

    def vector(self, width: int) -> bytes:
        """A length-prefixed byte string with a ``width``-byte length."""
        return self.take(int.from_bytes(self.take(width)))


def _u16s(raw: bytes) -> tuple[int, ...]:
    """Big-endian 16-bit values of a byte string (an odd trailing byte is ignored)."""
    return struct.unpack(f"!{len(raw) // 2}H", raw[: len(raw) // 2 * 2])


def _server_name(body: bytes) -> str:
    """The host_name entry of a server_name extension (RFC 6066 §3)."""
    names = _Reader(_Reader(body).vector(2))
    while names.at < len(names.data):
        kind, name = names.u8(), names.vector(2)
        if kind == 0:
            return name.decode("ascii", "backslashreplace")
    return ""


def _alpn(body: bytes) -> tuple[bytes, ...]:
    """Protocol names of an ALPN extension (RFC 7301 §3.1)."""
    items = _Reader(_Reader(body).vector(2))
    out = []
    while items.at < len(items.data):
        out.append(items.vector(1))
    return tuple(out)


def _vector(body: bytes | None, width: int) -> bytes:
    """The length-prefixed payload of an extension body (empty when the extension is absent)."""
    return _Reader(body).vector(width) if body is not None else b""


def parse_client_hello(message: bytes) -> ClientHello | None:
    """Parse a handshake message (type byte first); None unless it is a whole ClientHello."""
    try:
        reader = _Reader(message)
        if reader.u8() != 1:
            return None
        body = _Reader(reader.take(int.from_bytes(reader.take(3))))
        version = body.u16()
        body.take(32)  # random
        body.vector(1)  # session id
        ciphers = _u16s(body.vector(2))
        body.vector(1)  # compression methods
        exts = _Reader(body.vector(2) if body.at < len(body.data) else b"")
        kinds: list[int] = []
        bodies: dict[int, bytes] = {}
        while exts.at < len(exts.data):
            kinds.append(exts.u16())
            bodies.setdefault(kinds[-1], exts.vector(2))
        sni = bodies.get(EXT_SNI)
        return ClientHello(
            version=version,
            ciphers=ciphers,
            extensions=tuple(kinds),
            server_name=_server_name(sni) if sni is not None else "",
            groups=_u16s(_vector(bodies.get(EXT_GROUPS), 2)),
            point_formats=tuple(_vector(bodies.get(EXT_POINTS), 1)),
            signature_algorithms=_u16s(_vector(bodies.get(EXT_SIGALGS), 2)),
            alpn=_alpn(bodies[EXT_ALPN]) if EXT_ALPN in bodies else (),
            versions=_u16s(_vector(bodies.get(EXT_VERSIONS), 1)),
        )
    except (IndexError, struct.error):
        return None


def handshake_message(stream: bytes) -> tuple[bytes | None, bool]:
    """Join handshake records at the start of a TCP stream: (message, False) when whole,
    (None, True) when more bytes are needed, (None, False) when it is not TLS."""
    body = bytearray()
    at = 0
    while at + 5 <= len(stream):
        if stream[at] != 0x16 or stream[at + 1] != 3:
            return None, False
        length = int.from_bytes(stream[at + 3 : at + 5])
        body += stream[at + 5 : at + 5 + length]
        if len(body) >= 4:
            need = 4 + int.from_bytes(body[1:4])
            if body[0] != 1 or need > MAX_HELLO:
                return None, False
            if len(body) >= need:
                return bytes(body[:need]), False
        at += 5 + length
    return None, True


def ja3_string(hello: ClientHello) -> str:
    """The JA3 string: version, ciphers, extensions, groups, point formats (GREASE removed)."""

    def join(values: tuple[int, ...]) -> str:
        return "-".join(str(v) for v in values if not is_grease(v))

    return ",".join(
        [
            str(hello.version),
            join(hello.ciphers),
            join(hello.extensions),
            join(hello.groups),
            "-".join(str(v) for v in hello.point_formats),
        ]
    )


def ja3(hello: ClientHello) -> str:
    """The JA3 fingerprint: MD5 of the JA3 string."""
    return hashlib.md5(ja3_string(hello).encode(), usedforsecurity=False).hexdigest()


def _alpn_code(alpn: tuple[bytes, ...]) -> str:
    """JA4's two ALPN characters: first and last of the first value (hex when not alphanumeric)."""
    if not alpn or not alpn[0]:
        return "00"
    first, last = chr(alpn[0][0]), chr(alpn[0][-1])
    if first.isascii() and first.isalnum() and last.isascii() and last.isalnum():
        return first + last
    text = alpn[0].hex()
    return text[0] + text[-1]


def _hash12(text: str) -> str:
    """JA4's truncated SHA-256."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def ja4(hello: ClientHello, transport: str = "t") -> str:
    """The JA4 (TLS client) fingerprint, e.g. ``t13d1516h2_8daaf6152771_02713d6af862``."""
    ciphers = [v for v in hello.ciphers if not is_grease(v)]
    exts = [v for v in hello.extensions if not is_grease(v)]
    sigalgs = [v for v in hello.signature_algorithms if not is_grease(v)]
    head = "{}{}{}{:02d}{:02d}{}".format(
        transport,
        JA4_VERSION.get(hello.highest_version, "00"),
        "d" if EXT_SNI in exts else "i",
        min(len(ciphers), 99),
        min(len(exts), 99),
        _alpn_code(hello.alpn),
    )
    cipher_hash = _hash12(",".join(f"{v:04x}" for v in sorted(ciphers))) if ciphers else EMPTY_HASH
    hashed = sorted(v for v in exts if v not in (EXT_SNI, EXT_ALPN))
    ext_text = ",".join(f"{v:04x}" for v in hashed)
    if sigalgs:
        ext_text += "_" + ",".join(f"{v:04x}" for v in sigalgs)
    return f"{head}_{cipher_hash}_{_hash12(ext_text) if hashed else EMPTY_HASH}"
