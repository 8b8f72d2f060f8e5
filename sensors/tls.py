"""TLS ClientHello: parsing from handshake records, and the JA3 and JA4 fingerprints.

JA3 follows the public Salesforce definition (decimal fields, GREASE removed, MD5 of the
string); JA4 follows FoxIO's JA4 (TLS client) specification. Reassembly across segments and
the events are in :mod:`sensors.tls_stream`.
"""

from __future__ import annotations

import hashlib
import struct
from functools import lru_cache
from typing import NamedTuple

from sensors import _tlshello

# The compiled reader (sensors/_tlshello.pyx) reads the bodies of these same types.
EXT_SNI, EXT_GROUPS, EXT_POINTS, EXT_SIGALGS, EXT_ALPN, EXT_VERSIONS = 0, 10, 11, 13, 16, 43
MAX_HELLO = 1 << 16  # a ClientHello beyond 64 KiB is not one a real client sends
VERSION_TEXT = {0x0304: "1.3", 0x0303: "1.2", 0x0302: "1.1", 0x0301: "1.0", 0x0300: "3.0"}
JA4_VERSION = {
    0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3", 0x0200: "s2",
    0x0002: "s2", 0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3",
}  # fmt: skip
EMPTY_HASH = "000000000000"
GREASE = frozenset(0x0A0A + 0x1010 * n for n in range(16))
"""The sixteen RFC 8701 GREASE values; a set lookup is cheaper than :func:`is_grease`."""


def is_grease(value: int) -> bool:
    """Whether a 16-bit value is an RFC 8701 GREASE value (0x0A0A, 0x1A1A, … 0xFAFA)."""
    return value & 0x0F0F == 0x0A0A and value >> 8 == value & 0xFF


class ClientHello(NamedTuple):
    """The fingerprinted fields of a ClientHello, in wire order, GREASE values included.

    A named tuple rather than a frozen dataclass: one is built per hello on the sensor's hot
    path, several times faster; it stays inside the sensors package (events carry strings).
    """

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
        offered = [v for v in self.versions if v not in GREASE]
        return max(offered) if offered else self.version


FINGERPRINT_CACHE = 4096  # distinct client stacks are few; randomised extension orders are not


def parse_client_hello(message: bytes) -> ClientHello | None:
    """Parse a handshake message (type byte first); None unless it is a whole ClientHello.

    Compiled (``sensors/_tlshello.pyx``): every vector is bounded by its parent, and one that
    runs past it makes the hello malformed.
    """
    return _tlshello.parse(message, ClientHello)


def handshake_message(stream: bytes) -> tuple[bytes | None, bool]:
    """Join handshake records at the start of a TCP stream: (message, False) when whole,
    (None, True) when more bytes are needed, (None, False) when it is not TLS."""
    end = hello_end(stream)
    if end and len(stream) >= end:  # the common case: the whole hello in the first record
        return stream[5:end], False
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


def hello_end(stream: bytes) -> int:
    """Stream length at which a ClientHello wholly inside the first record is complete, so a
    shorter stream needs no reassembly attempt; 0 when not known (too short, or it spans
    records)."""
    if len(stream) < 9 or stream[0] != 0x16 or stream[1] != 3 or stream[5] != 1:
        return 0
    record = stream[3] << 8 | stream[4]
    need = 4 + (stream[6] << 16 | stream[7] << 8 | stream[8])
    return 5 + need if need <= record else 0


def _decimal(values: tuple[int, ...]) -> str:
    """JA3's dash-separated decimal list, GREASE removed."""
    return "-".join([str(v) for v in values if v not in GREASE])


def ja3_string(hello: ClientHello) -> str:
    """The JA3 string: version, ciphers, extensions, groups, point formats (GREASE removed)."""
    points = "-".join(map(str, hello.point_formats))
    return (
        f"{hello.version},{_decimal(hello.ciphers)},{_decimal(hello.extensions)},"
        f"{_decimal(hello.groups)},{points}"
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


def _hex_list(values: list[int]) -> str:
    """JA4's comma-separated four-digit hex list (formatted in C: pack, then hex by pairs)."""
    return struct.pack(f"!{len(values)}H", *values).hex(",", 2)


def ja4(hello: ClientHello, transport: str = "t") -> str:
    """The JA4 (TLS client) fingerprint, e.g. ``t13d1516h2_8daaf6152771_02713d6af862``."""
    ciphers = [v for v in hello.ciphers if v not in GREASE]
    exts = [v for v in hello.extensions if v not in GREASE]
    sigalgs = [v for v in hello.signature_algorithms if v not in GREASE]
    head = "{}{}{}{:02d}{:02d}{}".format(
        transport,
        JA4_VERSION.get(hello.highest_version, "00"),
        "d" if EXT_SNI in exts else "i",
        min(len(ciphers), 99),
        min(len(exts), 99),
        _alpn_code(hello.alpn),
    )
    cipher_hash = _hash12(_hex_list(sorted(ciphers))) if ciphers else EMPTY_HASH
    hashed = sorted([v for v in exts if v not in (EXT_SNI, EXT_ALPN)])
    ext_text = _hex_list(hashed)
    if sigalgs:
        ext_text += "_" + _hex_list(sigalgs)
    return f"{head}_{cipher_hash}_{_hash12(ext_text) if hashed else EMPTY_HASH}"


def fingerprints(hello: ClientHello) -> tuple[str, str]:
    """JA3 and JA4 (over TCP) of a ClientHello; cached, since a client stack repeats its hello."""
    return _fingerprints(
        hello.version,
        hello.ciphers,
        hello.extensions,
        hello.groups,
        hello.point_formats,
        hello.signature_algorithms,
        hello.alpn,
        hello.versions,
    )


@lru_cache(maxsize=FINGERPRINT_CACHE)
def _fingerprints(
    version: int,
    ciphers: tuple[int, ...],
    extensions: tuple[int, ...],
    groups: tuple[int, ...],
    point_formats: tuple[int, ...],
    signature_algorithms: tuple[int, ...],
    alpn: tuple[bytes, ...],
    versions: tuple[int, ...],
) -> tuple[str, str]:
    """Both fingerprints of the hello fields they depend on (the server name is not one)."""
    hello = ClientHello(
        version,
        ciphers,
        extensions,
        groups=groups,
        point_formats=point_formats,
        signature_algorithms=signature_algorithms,
        alpn=alpn,
        versions=versions,
    )
    return ja3(hello), ja4(hello)
