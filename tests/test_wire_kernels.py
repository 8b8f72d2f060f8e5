"""The compiled DNS and ClientHello readers agree with the Python parsers they replaced.

Every input here is hostile or broken on purpose: pointer loops and chains, pointers past the
end, obsolete label types, labels and names over their limits, every truncation, random bytes
and random corruptions of real messages. The kernels index without checks, so each case also
proves they neither crash nor read outside the message.
"""

from __future__ import annotations

import ctypes
import mmap
import random

import numpy as np
import pytest

from sensors import _tlshello
from sensors.dns import parse_datagrams, parse_dns, read_name
from sensors.tls import parse_client_hello
from tests import wire_reference as reference
from tests.test_tls import client_hello

HEADER = bytes.fromhex("123401000001000000000000")  # id 0x1234, RD, one question
QUESTION = b"\x03www\x07example\x03com\x00\x00\x01\x00\x01"
LABEL63 = b"\x3f" + b"a" * 63
SEED = 20261130  # fixed: a failure must reproduce
RANDOM_CASES = 20_000


class Fenced:
    """One readable page between two unreadable ones: a kernel reading a message placed
    against either fence outside its bounds faults, failing the test run."""

    def __init__(self) -> None:
        size = mmap.PAGESIZE
        self._map = mmap.mmap(-1, 3 * size, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        base = ctypes.addressof(ctypes.c_char.from_buffer(self._map))
        libc = ctypes.CDLL(None, use_errno=True)
        for fence in (base, base + 2 * size):  # PROT_NONE
            assert libc.mprotect(ctypes.c_void_p(fence), ctypes.c_size_t(size), 0) == 0
        self.page = np.frombuffer(self._map, dtype=np.uint8, count=size, offset=size)


FENCED = Fenced()


def fenced_dns(data: bytes) -> list[object]:
    """``parse_datagrams`` of ``data`` placed against each fence of the fenced page."""
    size = FENCED.page.shape[0]
    results: list[object] = []
    for start in (0, size - len(data)):
        FENCED.page[start : start + len(data)] = np.frombuffer(data, dtype=np.uint8)
        spans = np.array([start], dtype=np.int64), np.array([len(data)], dtype=np.int64)
        results.append(parse_datagrams(FENCED.page, *spans)[0])
    return results


def fenced_hello(message: bytes) -> list[object]:
    """The ClientHello kernel's result for ``message`` placed against each fence."""
    size = FENCED.page.shape[0]
    results: list[object] = []
    for start in (0, size - len(message)):
        FENCED.page[start : start + len(message)] = np.frombuffer(message, dtype=np.uint8)
        results.append(_tlshello.parse(FENCED.page[start : start + len(message)]))
    return results


def same_dns(data: bytes) -> None:
    """The kernel's message and every name offset agree with the reference."""
    want = reference.parse_dns(data)
    assert parse_dns(data) == want, data.hex()
    assert fenced_dns(data) == [None if want is None else tuple(want)] * 2, data.hex()
    for at in range(len(data) + 2):
        assert read_name(data, at) == reference.read_name(data, at), (data.hex(), at)


def same_hello(message: bytes) -> None:
    """The kernel's ClientHello agrees with the reference."""
    want = reference.parse_client_hello(message)
    assert parse_client_hello(message) == want, message.hex()
    assert fenced_hello(message) == [None if want is None else tuple(want)] * 2, message.hex()


HOSTILE_NAMES = [
    b"\xc0\x0c",  # a pointer to itself
    b"\xc0\x0d\x00",  # a forward pointer
    b"\x01a\xc0\x0c",  # a loop through a label
    b"\xc0",  # a pointer cut after its first byte
    b"\xff\xff",  # a pointer far past the end
    b"\x01a\xc0\x0e\x01b\xc0\x0c",  # backward pointer chains
    b"\x40" + b"a" * 64 + b"\x00",  # label over 63: an obsolete type
    b"\x80\x00",  # the other obsolete type
    LABEL63 * 4 + b"\x00",  # 256 wire bytes: one over the limit
    LABEL63 * 3 + b"\x3e" + b"b" * 62 + b"\x00",  # exactly 255
    b"\x05ab",  # a label past the end
    b"\x03a.b\x02\\\x00\x01\xff\x00",  # escapes: dot, backslash, zero, high byte
    b"\x00",  # the root
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_match_the_reference(name: bytes) -> None:
    data = HEADER + name + b"\x00\x01\x00\x01"
    same_dns(data)
    same_dns(HEADER + name)  # without room for the type and class


def test_a_long_backward_pointer_chain_is_cut_at_the_jump_limit() -> None:
    for hops in (15, 16, 17, 40):
        # The name "z" sits at 12; each pointer after it points at the one before.
        chain = bytearray(HEADER + b"\x01z\x00" + bytes(2 * hops))
        for k in range(hops):
            target = 12 if k == 0 else 15 + 2 * (k - 1)
            chain[15 + 2 * k : 17 + 2 * k] = (0xC000 | target).to_bytes(2)
        data = bytes(chain)
        for start in range(12, len(data)):
            assert read_name(data, start) == reference.read_name(data, start)
        last = read_name(data, len(data) - 2)
        assert (last is not None) == (hops <= 16)  # MAX_JUMPS


def test_header_limits_match_at_their_edges() -> None:
    for opcode in range(16):
        for questions in range(7):
            head = bytearray(HEADER)
            head[2] = opcode << 3
            head[4:6] = questions.to_bytes(2)
            same_dns(bytes(head) + QUESTION)


def test_every_truncation_of_a_message_matches() -> None:
    answer = bytearray(HEADER + b"\x03www\x07example\x03com\x00\x00\x01\x00\x01")
    answer[2] |= 0x80
    answer += b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\x00\x00\x01"
    for cut in range(len(answer) + 1):
        same_dns(bytes(answer[:cut]))


def test_random_bytes_and_corrupted_messages_match() -> None:
    rng = random.Random(SEED)
    alphabet = [0, 1, 2, 3, 0x2E, 0x3F, 0x40, 0x5C, 0x80, 0xC0, 0x0C, 0xFF]
    message = HEADER + QUESTION
    for _ in range(RANDOM_CASES):
        body = bytes(rng.choice(alphabet) for _ in range(rng.randrange(40)))
        same_dns(HEADER + body)
        corrupt = bytearray(message)
        for _ in range(rng.randrange(1, 4)):
            corrupt[rng.randrange(len(corrupt))] = rng.randrange(256)
        same_dns(bytes(corrupt))
    for _ in range(RANDOM_CASES // 10):
        same_dns(rng.randbytes(rng.randrange(64)))


def test_batch_parse_equals_one_by_one_and_rejects_spans_outside_the_buffer() -> None:
    messages = [HEADER + QUESTION, HEADER + b"\xc0\x0c", b"", HEADER + LABEL63 * 4 + b"\x00"]
    buf = b"junk" + b"".join(messages)
    starts, at = [], 4
    for m in messages:
        starts.append(at)
        at += len(m)
    data = np.frombuffer(buf, dtype=np.uint8)
    start = np.array([*starts, -1, len(buf) - 2, len(buf)], dtype=np.int64)
    size = np.array([len(m) for m in messages] + [4, 30, 0], dtype=np.int64)
    got = parse_datagrams(data, start, size)
    want = [reference.parse_dns(m) for m in messages] + [None, None, None]
    assert [None if g is None else tuple(g) for g in got] == [
        None if w is None else tuple(w) for w in want
    ]
    empty = np.zeros(0, dtype=np.int64)
    assert parse_datagrams(np.zeros(0, dtype=np.uint8), empty, empty) == []


def hello_message() -> bytes:
    """A whole ClientHello handshake message (no record header) with every read extension."""
    return client_hello(sni="update.cloudsvc.example.com")[5:]


def test_every_truncation_of_a_hello_matches() -> None:
    message = hello_message()
    assert parse_client_hello(message) is not None
    for cut in range(len(message) + 1):
        same_hello(message[:cut])
        # the same prefix with its handshake length patched to fit: inner vectors are cut
        patched = bytearray(message[:cut])
        if cut >= 4:
            patched[1:4] = (cut - 4).to_bytes(3)
            same_hello(bytes(patched))


def test_hostile_hello_lengths_match() -> None:
    message = bytearray(hello_message())
    for at in range(len(message)):  # every byte set to extremes: lengths over their parents
        for value in (0x00, 0x01, 0x7F, 0xFF):
            corrupt = bytearray(message)
            corrupt[at] = value
            same_hello(bytes(corrupt))


def test_hellos_with_odd_extension_bodies_match() -> None:
    odd = [
        (b"\x00\x00", b"\x00\x05\x01\x00\x02ab"),  # SNI: a non-host entry, then cut
        (b"\x00\x00", b"\x00\x08\x01\x00\x01x\x00\x00\x01\xff"),  # host after another kind
        (b"\x00\x00", b"\x00\x04\x00\x00\x01\x80"),  # a non-ASCII host name
        (b"\x00\x10", b"\x00\x04\x00\x05h2"),  # ALPN name past its list
        (b"\x00\x10", b"\x00\x02\x00\x00"),  # an empty protocol name
        (b"\x00\x0a", b"\x00\x03\x00\x1d\x00"),  # an odd-length group list
        (b"\x00\x0b", b"\x05\x00"),  # point formats past the body
        (b"\x00\x2b", b""),  # supported_versions without its length byte
        (b"\x00\x0d", b"\x00"),  # signature algorithms without their length
    ]
    other = b"\x00\x00\x00\x06\x00\x04\x00\x00\x01z"  # a later, valid SNI extension
    for kind, body in odd:
        for later in (b"", other):  # the first occurrence of a type counts
            exts = kind + len(body).to_bytes(2) + body + later
            hello_body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
            hello_body += len(exts).to_bytes(2) + exts
            same_hello(b"\x01" + len(hello_body).to_bytes(3) + hello_body)


def test_random_hellos_match() -> None:
    rng = random.Random(SEED)
    message = hello_message()
    for _ in range(RANDOM_CASES):
        corrupt = bytearray(message)
        for _ in range(rng.randrange(1, 4)):
            corrupt[rng.randrange(len(corrupt))] = rng.randrange(256)
        same_hello(bytes(corrupt))
    for _ in range(RANDOM_CASES // 10):
        same_hello(b"\x01" + rng.randbytes(rng.randrange(80)))
