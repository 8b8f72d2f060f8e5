"""SSH version banners (RFC 4253 §4.2), paired per connection into client and server software.

Which side is the server is decided by port: 22 if either side uses it, else the lower port
(the ephemeral side is almost always the higher one), and on a tie the side that spoke first,
since servers send their banner without waiting.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field

from sensors.events import SshHello
from sensors.segment import Segment

MAX_BANNER = 255  # RFC 4253 §4.2: the identification string is at most 255 characters
BANNER = re.compile(rb"SSH-(\d+\.\d+)-([\x21-\x7e]+)(?: [\x20-\x7e]*)?")
SSH_PORT = 22

Endpoint = tuple[str, int]


def parse_banner(data: bytes) -> str | None:
    """The identification line (``SSH-2.0-OpenSSH_9.6p1 Debian-4``) or None when malformed."""
    end = data.find(b"\n", 0, MAX_BANNER + 1)
    if end < 0:
        return None  # cut off, or longer than the protocol allows
    line = data[:end].removesuffix(b"\r")
    if not BANNER.fullmatch(line):
        return None
    return line.decode("ascii")


def software(banner: str) -> str:
    """The software-and-comments part of a banner (``OpenSSH_9.6p1 Debian-4``)."""
    return banner.split("-", 2)[2] if banner.count("-") >= 2 else ""


@dataclass
class SshStats:
    """Counters of the banner tracker."""

    banners: int = 0
    malformed: int = 0
    duplicates: int = 0  # a second banner from the same side (retransmission)
    one_sided: int = 0  # sessions emitted with only one side's banner
    evicted: int = 0


@dataclass
class _Session:
    """Banners seen on one connection, by the endpoint that sent them."""

    ts: float
    first: Endpoint
    banners: dict[Endpoint, str] = field(default_factory=dict)


ConnKey = tuple[Endpoint, Endpoint]


class SshTracker:
    """Collects both banners of a connection into one :class:`SshHello`, with bounded state."""

    def __init__(self, sensor: str, timeout: float, cap: int) -> None:
        self.sensor, self.timeout, self.cap = sensor, timeout, cap
        self.stats = SshStats()
        self._sessions: OrderedDict[ConnKey, _Session] = OrderedDict()

    def add(self, seg: Segment) -> list[SshHello]:
        """Take a TCP segment whose payload starts with ``SSH-``."""
        banner = parse_banner(seg.data)
        if banner is None:
            self.stats.malformed += 1
            return []
        self.stats.banners += 1
        me, peer = (seg.src, seg.sport), (seg.dst, seg.dport)
        key = (min(me, peer), max(me, peer))
        session = self._sessions.get(key)
        if session is None:
            session = self._sessions[key] = _Session(seg.ts, me)
        if me in session.banners:
            self.stats.duplicates += 1
            return []
        session.banners[me] = banner
        if len(session.banners) == 2:
            del self._sessions[key]
            return [self._event(key, session)]
        if len(self._sessions) > self.cap:
            self.stats.evicted += 1
            return [self._event(*self._sessions.popitem(last=False))]
        return []

    def expire(self, now: float) -> list[SshHello]:
        """Emit sessions whose other banner has not come within the timeout (packet time)."""
        out = []
        while self._sessions:
            key, session = next(iter(self._sessions.items()))
            if now - session.ts <= self.timeout:
                break
            del self._sessions[key]
            out.append(self._event(key, session))
        return out

    def flush(self) -> list[SshHello]:
        """Emit every one-sided session (end of input)."""
        out = [self._event(key, s) for key, s in self._sessions.items()]
        self._sessions.clear()
        return out

    def __len__(self) -> int:
        return len(self._sessions)

    def _event(self, key: ConnKey, session: _Session) -> SshHello:
        low, high = key
        server = _server(low, high, session.first)
        client = high if server == low else low
        if len(session.banners) < 2:
            self.stats.one_sided += 1
        return SshHello(
            time=session.ts,
            sensor=self.sensor,
            src_ip=client[0],
            src_port=client[1],
            dst_ip=server[0],
            dst_port=server[1],
            client=session.banners.get(client, ""),
            server=session.banners.get(server, ""),
        )


def _server(low: Endpoint, high: Endpoint, first: Endpoint) -> Endpoint:
    """Guess the server endpoint of a connection (see the module docstring)."""
    if (low[1] == SSH_PORT) != (high[1] == SSH_PORT):
        return low if low[1] == SSH_PORT else high
    if low[1] != high[1]:
        return low if low[1] < high[1] else high
    return first
